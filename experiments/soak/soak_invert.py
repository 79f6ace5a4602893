"""Soak test of `inversion3d invert` (issue 20 B5): many invert calls in one process, memory and compilations.

  python experiments/soak/soak_invert.py --calls 500 --out out/soak
  python experiments/soak/soak_invert.py --calls 50 --encoder psp.pt   # an encoder file instead of the tiny one

The models are loaded once (the embedded default EG3D generator and, without --encoder, a tiny pSp
encoder with random weights built in memory); then each call is what `invert` does per image
(app/invert.invert_images: read and convert the photo, encode, render the reconstruction and the
views, write the PNGs and the npz), on a cycle of photos of other sizes and modes (RGB, L, RGBA), so
every call has new content but the same compiled shapes. Measured per call: wall time, resident
memory (RSS), live JAX arrays, and compilations (jax.monitoring: jaxpr traces, MLIR lowerings,
backend compiles; a lowering without a backend compile is a persistent-cache hit).
Checks (exit status 1 if one fails): no trace or lowering after the first call, and RSS growth from
the end of warm-up (--warmup calls) to the last call below --max-growth-mib (default 50 MiB).
Writes OUT/soak.json (settings, per-call records, summary) and prints a table.
Hardware: the 2-core CPU; about 1 s per call after a first call of about a minute (compilation).
"""
import argparse
import contextlib
import io
import json
import os
import resource
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

EVENTS = {"/jax/core/compile/jaxpr_trace_duration": "traces",
          "/jax/core/compile/jaxpr_to_mlir_module_duration": "lowerings",
          "/jax/core/compile/backend_compile_duration": "backend_compiles"}
TINY_PSP = dict(n_styles=14, input_nc=3, style_dim=512, style_hidden=32, image_size=32, num_layers=50,
                widths=[16, 16, 32, 32])  # tests/inversion/synthetic.psp_config(): 14 x 512 codes of the default


class CompileCounter:
    """Counts jax.monitoring compilation events (see EVENTS) since the last `take()`."""

    def __init__(self):
        import jax

        self.counts = dict.fromkeys(EVENTS.values(), 0)
        jax.monitoring.register_event_duration_secs_listener(self._on_event)

    def _on_event(self, event, duration, **kwargs):
        if event in EVENTS:
            self.counts[EVENTS[event]] += 1

    def take(self):
        out = dict(self.counts)
        self.counts = dict.fromkeys(EVENTS.values(), 0)
        return out


def rss_mib() -> float:
    """Resident set size now (not the peak), from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def tiny_psp_encoder(seed=0):
    """A pSp `Encoder` with random weights (inversion3d.networks.build + init), as load_encoder returns."""
    import jax

    from inversion3d.encoders_api import Encoder
    from inversion3d.networks import build

    module, args = build("psp", TINY_PSP)
    variables = jax.jit(module.init)(jax.random.PRNGKey(seed), *args)
    return Encoder("psp", "tiny random pSp (in memory)", {"psp": dict(TINY_PSP)}, {"psp": module}, {"psp": variables})


def write_photos(folder, count=3):
    """Photos of other sizes and modes (RGB 100x100, L 48x48, RGBA 64x64, ...), all needing conversion/resize."""
    from PIL import Image

    rng = np.random.default_rng(0)
    specs = [("RGB", 100, (100, 100, 3)), ("L", 48, (48, 48)), ("RGBA", 64, (64, 64, 4))]
    paths = []
    for i in range(count):
        mode, _, shape = specs[i % len(specs)]
        path = os.path.join(folder, f"photo{i}.png")
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)
        paths.append(path)
    return paths


def soak(args):
    import jax

    from inversion3d.app import loading
    from inversion3d.app.invert import invert_images
    from inversion3d.methods.registry import make_inverter

    counter = CompileCounter()
    start = time.perf_counter()
    gen = loading.open_generator(args.generator)
    encoders = loading.open_encoders(args.method, [args.encoder]) if args.encoder else [tiny_psp_encoder()]
    inverter = make_inverter(args.method, gen, encoders)
    load_s = time.perf_counter() - start
    photos = write_photos(os.path.join(args.out, "photos"))
    out_dir = os.path.join(args.out, "invert")
    counter.take()  # loading's own compilations are not the calls'
    records = []
    for i in range(args.calls):
        path = photos[i % len(photos)]
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            written = invert_images(inverter, gen, [path], out_dir, views=args.views, batch=1)
        seconds = time.perf_counter() - t0
        assert len(written[path]) == 4, written
        records.append(dict(call=i + 1, seconds=seconds, rss_mib=rss_mib(), live_arrays=len(jax.live_arrays()),
                            **counter.take()))
        if i == 0 or (i + 1) % args.report_every == 0 or i + 1 == args.calls:
            _row(records[-1])
    return dict(load_s=load_s, records=records)


def summarize(records, warmup, max_growth_mib):
    later = records[1:]
    after_warmup = records[min(warmup, len(records)) - 1]
    last = records[-1]
    summary = dict(
        calls=len(records), first_call_s=records[0]["seconds"],
        median_call_s=float(np.median([r["seconds"] for r in later])) if later else None,
        first_call_compiles={k: records[0][k] for k in EVENTS.values()},
        later_compiles={k: sum(r[k] for r in later) for k in EVENTS.values()},
        calls_with_compiles=[r["call"] for r in later if r["traces"] or r["lowerings"] or r["backend_compiles"]],
        rss_first_mib=records[0]["rss_mib"], rss_after_warmup_mib=after_warmup["rss_mib"], rss_last_mib=last["rss_mib"],
        rss_max_mib=max(r["rss_mib"] for r in records),
        rss_growth_after_warmup_mib=last["rss_mib"] - after_warmup["rss_mib"],
        live_arrays_after_warmup=after_warmup["live_arrays"], live_arrays_last=last["live_arrays"],
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        warmup_calls=warmup, max_growth_mib=max_growth_mib)
    summary["no_recompilation"] = not summary["calls_with_compiles"]
    summary["memory_bounded"] = summary["rss_growth_after_warmup_mib"] < max_growth_mib
    return summary


def _row(r):
    print(f"{r['call']:>6} {r['seconds']:>8.2f} {r['rss_mib']:>9.1f} {r['live_arrays']:>7} {r['traces']:>7} "
          f"{r['lowerings']:>9} {r['backend_compiles']:>8}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="invert calls in the one process")
    parser.add_argument("--warmup", type=int, default=5, help="calls before the memory baseline")
    parser.add_argument("--max-growth-mib", type=float, default=50.0, help="RSS growth bound after warm-up")
    parser.add_argument("--generator", default="default", help="as `invert --generator` (default: embedded EG3D)")
    parser.add_argument("--method", default="psp", choices=["psp", "e4e"], help="encoder method")
    parser.add_argument("--encoder", default=None, help="encoder file (default: a tiny random pSp in memory)")
    parser.add_argument("--views", type=int, default=2, help="novel views per call")
    parser.add_argument("--report-every", type=int, default=10, help="print a table row every N calls")
    parser.add_argument("--out", default="out/soak", help="output folder (photos, invert outputs, soak.json)")
    args = parser.parse_args(argv)
    if args.calls < 2 or not 1 <= args.warmup <= args.calls:
        parser.error("--calls must be >= 2 and --warmup in [1, calls]")
    os.makedirs(os.path.join(args.out, "photos"), exist_ok=True)
    print(f"{'call':>6} {'seconds':>8} {'RSS MiB':>9} {'arrays':>7} {'traces':>7} {'lowerings':>9} {'compiles':>8}")
    run = soak(args)
    summary = summarize(run["records"], args.warmup, args.max_growth_mib)
    summary["load_s"] = run["load_s"]
    with open(os.path.join(args.out, "soak.json"), "w") as f:
        json.dump(dict(settings=vars(args), summary=summary, records=run["records"]), f, indent=1)
    print(json.dumps(summary, indent=1))
    ok = summary["no_recompilation"] and summary["memory_bounded"]
    print(f"soak: {'OK' if ok else 'FAILED'} ({len(run['records'])} calls; RSS +{summary['rss_growth_after_warmup_mib']:.1f} "
          f"MiB after warm-up, bound {args.max_growth_mib:g}; compilations after the first call: "
          f"{summary['later_compiles']}) -> {os.path.join(args.out, 'soak.json')}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
