"""Runs every benchmark and writes DIR/bench.json and DIR/bench.md (Markdown tables).

  .venv/bin/python experiments/benchmarks/run_all.py --out out/bench [--quick]

Each benchmark runs in its own Python process (so peak RSS and JAX caches are per benchmark)
with `--json DIR/raw/<name>.json`; this script collects the JSON files, writes the combined
bench.json and bench.md, and prints the Markdown. `make bench` calls it with --out out/bench.

Full: EG3D ffhq512-128 forward at batch 1 and 4 (3 steady iters), the renderer memory sweeps
with two timed renders per setting, the upfirdn2d / modconv op micro-benchmarks, and the GOAE
encoder / AFA / full inversion timings (bench_encoders.py).
--quick: forward at batch 1 with 1 iter, a smaller untimed memory sweep, one modconv layer.
Nothing is asserted; a failing benchmark is reported and makes the exit status 1.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import _common as C

HERE = os.path.dirname(os.path.abspath(__file__))


def plans(args):
    forward = ["--config", args.config]
    if args.quick:
        forward += ["--batch", args.batch or "1", "--iters", str(args.iters or 1)]
        renderer = ["--chunks", "none,4096,1024", "--resolutions", "64,128,256", "--time-iters", "0"]
        modconv = ["--layers", "0", "--iters", "1"]
        fir = ["--iters", "1"]
        encoders = ["--iters", "1"]
    else:
        forward += ["--batch", args.batch or "1,4", "--iters", str(args.iters or 3)]
        renderer = ["--time-iters", "2"]
        modconv = ["--iters", "2"]
        fir = ["--iters", "3"]
        encoders = ["--iters", "2"]
    todo = [("eg3d_forward", "bench_eg3d_forward.py", forward, args.skip_forward),
            ("renderer_memory", "bench_renderer_memory.py", renderer, args.skip_renderer),
            ("upfirdn2d", "bench_upfirdn2d.py", fir, args.skip_ops),
            ("modconv", "bench_modconv.py", modconv, args.skip_ops),
            ("encoders", "bench_encoders.py", encoders, args.skip_encoders)]
    extra = ["--compilation-cache"] if args.compilation_cache else []
    return [(name, script, cli + extra) for name, script, cli, skip in todo if not skip]


def run_one(name, script, extra, raw_dir):
    json_path = os.path.join(raw_dir, f"{name}.json")
    if os.path.exists(json_path):
        os.remove(json_path)
    cmd = [sys.executable, os.path.join(HERE, script), *extra, "--json", json_path]
    print(f"\n=== {name}: {' '.join(cmd)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=C.REPO_ROOT)
    wall = time.perf_counter() - t0
    result = {"command": cmd, "returncode": proc.returncode, "wall_s": wall}
    if proc.returncode == 0 and os.path.exists(json_path):
        with open(json_path) as fh:
            result["report"] = json.load(fh)
    else:
        print(f"=== {name}: FAILED (exit {proc.returncode})", flush=True)
    return result


def build_markdown(results, quick):
    import bench_eg3d_forward
    import bench_encoders
    import bench_modconv
    import bench_renderer_memory
    import bench_upfirdn2d

    env = C.environment()
    lines = ["# inversion3d benchmarks", "",
             f"{'Quick' if quick else 'Full'} run, {env['time']}; backend {env['backend']}, {env['cpu_count']} CPUs "
             f"({env['processor']}), jax {env['jax']}, Python {env['python']}. Load average (1/5/15 min) at the "
             f"end: {env['loadavg_1_5_15']}. Timings are measurements, never asserted; other processes on the "
             f"machine skew them.", ""]
    sections = (("eg3d_forward", "EG3D ffhq512-128 forward (random weights)", bench_eg3d_forward.markdown),
                ("renderer_memory", "Renderer memory vs ray_chunk and resolution", bench_renderer_memory.markdown),
                ("upfirdn2d", "FIR resampling (upfirdn2d) on the calls of one forward", bench_upfirdn2d.markdown),
                ("modconv", "Modulated conv: fused (grouped) vs non-fused vs per-sample", bench_modconv.markdown),
                ("encoders", "GOAE encoder, AFA and full inversion (real sizes, random weights)",
                 bench_encoders.markdown))
    for name, title, render_md in sections:
        if name not in results:
            continue
        res = results[name]
        lines += [f"## {title}", ""]
        if "report" in res:
            lines.append(render_md(res["report"]))
        else:
            lines.append(f"FAILED (exit status {res['returncode']}); command: `{' '.join(res['command'])}`")
        lines += ["", f"_wall time of this benchmark process: {res['wall_s']:.0f} s_", ""]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output directory (bench.json, bench.md, raw/)")
    p.add_argument("--quick", action="store_true", help="fewer iterations and a smaller sweep")
    p.add_argument("--config", default="configs/eg3d_ffhq512.py", help="EG3D config for the forward benchmark")
    p.add_argument("--batch", default=None, help="forward batch sizes (default: 1,4; quick: 1)")
    p.add_argument("--iters", type=int, default=None, help="forward steady iters (default: 3; quick: 1)")
    p.add_argument("--skip-forward", action="store_true")
    p.add_argument("--skip-renderer", action="store_true")
    p.add_argument("--skip-ops", action="store_true", help="skip the upfirdn2d and modconv micro-benchmarks")
    p.add_argument("--skip-encoders", action="store_true", help="skip the GOAE encoder / AFA / inversion benchmark")
    p.add_argument("--compilation-cache", action="store_true",
                   help="leave JAX's persistent compilation cache on (default: off, for cold compile times)")
    args = p.parse_args(argv)

    raw_dir = os.path.join(args.out, "raw")
    os.makedirs(raw_dir, exist_ok=True)
    t0 = time.perf_counter()
    results = {}
    for name, script, extra in plans(args):
        results[name] = run_one(name, script, extra, raw_dir)
    md = build_markdown(results, args.quick)
    payload = {"mode": "quick" if args.quick else "full", "env": C.environment(),
               "total_wall_s": time.perf_counter() - t0, "benchmarks": results}
    C.write_json(os.path.join(args.out, "bench.json"), payload)
    md_path = os.path.join(args.out, "bench.md")
    with open(md_path, "w") as fh:
        fh.write(md + "\n")
    print(f"wrote {md_path}\n")
    print(md)
    return 0 if all(r["returncode"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
