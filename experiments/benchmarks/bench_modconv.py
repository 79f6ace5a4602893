"""Modulated-conv micro-benchmark: fused (grouped conv, groups = batch) vs non-fused, batch 1 vs 4.

  .venv/bin/python experiments/benchmarks/bench_modconv.py [--batches 1,4] [--iters 3] [--json PATH]

`inversion3d.ops.modconv.modulated_conv2d(fused=True)` runs one grouped convolution with a
per-sample kernel (feature_group_count = N); fused=False modulates the input and demodulates the
output around one shared-kernel convolution. Both are the same maths. A third mode, a prototype
written here, runs the fused path per sample (lax.map over N, groups = 1): bit-identical to the
fused op at N = 1 for every sample. This measures, for
EG3D-sized 3x3 layers (backbone 512@64², 256@128², 128@256²; SR8XDC 256@256², 128@512²), the time per call
(best / median over --iters), the achieved GFLOP/s (2*N*H*W*9*I*O useful FLOPs), XLA's compiled
temp memory and the process peak RSS after each setting (cumulative). Nothing is asserted.
"""
import argparse
import sys
import time

import _common as C

LAYERS = [  # (name, resolution, in channels, out channels)
    ("backbone b64", 64, 512, 512),
    ("backbone b128", 128, 256, 256),
    ("backbone b256", 256, 128, 128),
    ("SR b256", 256, 256, 256),  # SuperresolutionHybrid8XDC block0 conv1
    ("SR b512", 512, 128, 128),  # SuperresolutionHybrid8XDC block1 conv1
]


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", default="1,4", help="batch sizes, comma separated")
    p.add_argument("--iters", type=int, default=3, help="timed calls per setting after one warm-up")
    p.add_argument("--layers", default=None,
                   help="comma-separated subset of layer indices 0..%d (default: all)" % (len(LAYERS) - 1))
    p.add_argument("--compilation-cache", action="store_true")
    p.add_argument("--json", default=None)
    return p


MODES = ("nonfused", "fused_per_sample", "fused")  # the grouped conv last: RSS is cumulative


def per_sample_fused(x, w, s, **kwargs):
    """Prototype: the fused (per-sample kernel) path run as lax.map over samples with groups=1."""
    import jax

    from inversion3d.ops.modconv import modulated_conv2d

    return jax.lax.map(lambda a: modulated_conv2d(a[0][None], w, a[1][None], fused=True, **kwargs)[0], (x, s))


def measure(name, res, cin, cout, batch, mode, iters):
    import jax
    import jax.numpy as jnp

    from inversion3d.ops.modconv import modulated_conv2d

    kx, kw, ks = jax.random.split(jax.random.PRNGKey(0), 3)
    x = jax.random.normal(kx, (batch, res, res, cin), jnp.float32)
    w = jax.random.normal(kw, (3, 3, cin, cout), jnp.float32)
    s = jax.random.normal(ks, (batch, cin), jnp.float32)
    if mode == "fused_per_sample":
        fn = jax.jit(lambda x, w, s: per_sample_fused(x, w, s, padding=1))
    else:
        fn = jax.jit(lambda x, w, s: modulated_conv2d(x, w, s, padding=1, fused=mode == "fused"))
    t0 = time.perf_counter()
    compiled = fn.lower(x, w, s).compile()
    t_compile = time.perf_counter() - t0
    mem = C.memory_stats(compiled)
    C.block(compiled(x, w, s))
    times = C.repeat(lambda: compiled(x, w, s), iters)
    flops = 2.0 * batch * res * res * 9 * cin * cout
    row = {"layer": name, "resolution": res, "in": cin, "out": cout, "batch": batch, "mode": mode,
           "compile_s": t_compile, "memory": mem, "useful_flops": flops, **C.summarize(times),
           "gflops_per_s": flops / min(times) / 1e9, "peak_rss_mib_so_far": C.peak_rss_mib()}
    print(f"  {name:14s} N={batch} {mode:16s}: best {row['min_s'] * 1e3:8.1f} ms "
          f"({row['min_s'] / batch * 1e3:7.1f} ms/image, {row['gflops_per_s']:6.1f} GFLOP/s), "
          f"temp {C.fmt(mem and C.mib(mem['temp_size_in_bytes']), '.0f')} MiB, "
          f"peak RSS so far {row['peak_rss_mib_so_far']:.0f} MiB")
    return row


HEADERS = ["layer", "N", "mode", "best (ms)", "per image (ms)", "GFLOP/s", "XLA temp (MiB)", "peak RSS so far (MiB)"]


def markdown(report):
    rows = []
    for r in report["rows"]:
        rows.append([f"{r['layer']} ({r['in']}→{r['out']} @ {r['resolution']}²)", r["batch"], r["mode"],
                     C.fmt(r["min_s"] * 1e3, ".1f"), C.fmt(r["min_s"] / r["batch"] * 1e3, ".1f"),
                     C.fmt(r["gflops_per_s"], ".1f"),
                     C.fmt(r["memory"] and C.mib(r["memory"]["temp_size_in_bytes"]), ".0f"),
                     C.fmt(r["peak_rss_mib_so_far"], ".0f")])
    return C.md_table(HEADERS, rows)


def run(args):
    jax = C.configure_jax(args.compilation_cache)
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    idx = range(len(LAYERS)) if args.layers is None else [int(i) for i in args.layers.split(",")]
    report = {"benchmark": "modconv", "env": C.environment(), "settings": {"batches": batches, "iters": args.iters}}
    print(f"modulated_conv2d 3x3, padding 1, fp32; backend {jax.default_backend()}")
    rows = []
    for i in idx:
        name, res, cin, cout = LAYERS[i]
        for batch in batches:
            for mode in MODES:
                if mode == "fused_per_sample" and batch == 1:
                    continue  # identical to fused at N=1
                rows.append(measure(name, res, cin, cout, batch, mode, args.iters))
    report["rows"] = rows
    return C.finish(report, markdown, args.json)


def main(argv=None):
    run(build_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
