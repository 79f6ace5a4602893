"""Checkpoint conversion time and peak memory for a full-size EG3D network snapshot (30.7M parameters).

  .venv/bin/python experiments/benchmarks/bench_convert.py [--config configs/eg3d_ffhq512.py] [--json out.json]
Hardware: any CPU; on the 2-core CI machine the whole run takes about a minute.

Builds a randomly initialised ffhq512-128 G_ema (`load_generator(None, init_kwargs=...)` with the
config's kwargs), exports it to the official state_dict with the inverse key map
(`converters.keymap.to_state_dict`, 176 entries), writes a persistence pickle {G, D, G_ema} the way
training_loop.py does (tests/converters/snapshots.py; G and G_ema share nothing, so the file holds
two generators), then measures, each in a fresh process:
  - `inversion3d convert PKL DST` (read + key map + Orbax write);
  - `inversion3d info PKL` (read only);
  - `load_generator(DST)` (Orbax restore + checks);
reporting wall time and peak RSS (VmHWM) together with the RSS of the same process right after its
imports, so the increment is what the step itself costs. A measurement: nothing is asserted.
Linux only (reads /proc/self/status).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import _common as C

CHILD = r"""
import json, sys, time
def rss(field):  # /proc: ru_maxrss would include the parent's high-water mark (it survives fork + exec)
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith(field + ":")) / 1024.0
step, src, dst = sys.argv[1:4]
from converters.convert import convert, info
from inversion3d import load_generator
import jax, orbax.checkpoint  # imported before the baseline so that only the step is measured
base = rss("VmRSS")
t0 = time.perf_counter()
if step == "convert":
    convert(src, dst)
elif step == "info":
    info(src)
else:
    jax.block_until_ready(load_generator(dst).params)
print(json.dumps({"step": step, "seconds": time.perf_counter() - t0, "peak_rss_mib": rss("VmHWM"),
                  "rss_after_imports_mib": base}))
"""


def build_pickle(config_path, path):
    from converters.keymap import constant_keys, to_state_dict
    from inversion3d import load_generator
    from inversion3d.app.loading import load_config
    from tests.converters.snapshots import write_snapshot

    config = load_config(config_path)
    init_kwargs = config.init_kwargs.to_dict() if hasattr(config.init_kwargs, "to_dict") else dict(config.init_kwargs)
    t0 = time.perf_counter()
    g_ema = load_generator(None, init_kwargs=init_kwargs, seed=0,
                           neural_rendering_resolution=config.neural_rendering_resolution)
    g = load_generator(None, init_kwargs=init_kwargs, seed=1,
                       neural_rendering_resolution=config.neural_rendering_resolution)
    state = {}
    for name, gen in (("G_ema", g_ema), ("G", g)):
        sd = to_state_dict(gen.params)
        sd.update(to_state_dict({}, constants=constant_keys(sd)))
        state[name] = sd
    t_init = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_snapshot(path, state["G_ema"], init_kwargs, config.neural_rendering_resolution, g=state["G"])
    sd = state["G_ema"]
    return {"init_and_export_s": t_init, "write_pickle_s": time.perf_counter() - t0,
            "pickle_bytes": os.path.getsize(path), "state_dict_entries": len(sd),
            "parameters": int(sum(v.size for k, v in sd.items() if not k.endswith(("resample_filter", "noise_const",
                                                                                  "w_avg")))),
            "buffer_elements": int(sum(v.size for k, v in sd.items() if k.endswith(("resample_filter", "noise_const",
                                                                                   "w_avg"))))}


def run_child(step, src, dst):
    env = dict(os.environ, PYTHONPATH=C.REPO_ROOT, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"))
    proc = subprocess.run([sys.executable, "-c", CHILD, step, src, dst], cwd=C.REPO_ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{step} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def markdown(report):
    pkl = report["pickle"]
    lines = [f"Pickle: {pkl['pickle_bytes'] / 2**20:.0f} MiB ({pkl['state_dict_entries']} entries per generator, "
             f"{pkl['parameters']:,} parameters + {pkl['buffer_elements']:,} buffer elements; G and G_ema).", "",
             "| step | wall s | peak RSS MiB | RSS after imports MiB | increment MiB |", "|---|---|---|---|---|"]
    for row in report["steps"]:
        lines.append(f"| {row['step']} | {row['seconds']:.2f} | {row['peak_rss_mib']:.0f} | "
                     f"{row['rss_after_imports_mib']:.0f} | {row['peak_rss_mib'] - row['rss_after_imports_mib']:.0f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=os.path.join(C.REPO_ROOT, "configs", "eg3d_ffhq512.py"))
    parser.add_argument("--json", default=None, help="write the report here")
    args = parser.parse_args()
    C.configure_jax(compilation_cache=False)
    with tempfile.TemporaryDirectory(prefix="bench_convert_") as tmp:
        pkl = os.path.join(tmp, "ffhq512-128-random.pkl")
        dst = os.path.join(tmp, "converted")
        report = {"pickle": build_pickle(args.config, pkl), "steps": []}
        for step in ("info", "convert", "load"):
            report["steps"].append(run_child(step, pkl, dst))
    report["environment"] = C.environment()
    print(markdown(report))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)


if __name__ == "__main__":
    main()
