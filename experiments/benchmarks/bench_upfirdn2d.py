"""FIR resampling micro-benchmark: `inversion3d.ops.upfirdn2d` on the shapes of one EG3D forward.

  .venv/bin/python experiments/benchmarks/bench_upfirdn2d.py [--batch 1] [--iters 3] [--json PATH]

The library's upfirdn2d is one `lax.pad` + one depthwise `lax.conv_general_dilated`
(feature_group_count = C). This times it on the 16 calls that one ffhq512-128 synthesis makes
(recorded from a trace: 8 modconv up=2 FIR passes on the conv output, 8 ToRGB skip upsamples)
and, for comparison, a prototype written here: the same pad followed by a sum of kh*kw strided
slices scaled by the filter taps (plain elementwise work that XLA fuses into one loop). Both are
the same maths; the maximum absolute difference is reported. Nothing is asserted.
"""
import argparse
import sys

import _common as C

# (H, W, C, up, padding (px0, px1, py0, py1)) of every upfirdn2d call in one ffhq512-128
# synthesis at batch 1 (4x4 [1,3,3,1] filter, down=1, gain=up*up), recorded by tracing the forward.
FORWARD_CALLS = [
    ("backbone b8 conv0 FIR", 9, 9, 512, 1, (1, 1, 1, 1)), ("backbone b8 torgb up", 4, 4, 96, 2, (2, 1, 2, 1)),
    ("backbone b16 conv0 FIR", 17, 17, 512, 1, (1, 1, 1, 1)), ("backbone b16 torgb up", 8, 8, 96, 2, (2, 1, 2, 1)),
    ("backbone b32 conv0 FIR", 33, 33, 512, 1, (1, 1, 1, 1)), ("backbone b32 torgb up", 16, 16, 96, 2, (2, 1, 2, 1)),
    ("backbone b64 conv0 FIR", 65, 65, 512, 1, (1, 1, 1, 1)), ("backbone b64 torgb up", 32, 32, 96, 2, (2, 1, 2, 1)),
    ("backbone b128 conv0 FIR", 129, 129, 256, 1, (1, 1, 1, 1)),
    ("backbone b128 torgb up", 64, 64, 96, 2, (2, 1, 2, 1)),
    ("backbone b256 conv0 FIR", 257, 257, 128, 1, (1, 1, 1, 1)),
    ("backbone b256 torgb up", 128, 128, 96, 2, (2, 1, 2, 1)),
    ("SR b256 conv0 FIR", 257, 257, 256, 1, (1, 1, 1, 1)), ("SR b256 torgb up", 128, 128, 3, 2, (2, 1, 2, 1)),
    ("SR b512 conv0 FIR", 513, 513, 128, 1, (1, 1, 1, 1)), ("SR b512 torgb up", 256, 256, 3, 2, (2, 1, 2, 1)),
]


def shifted_sum_upfirdn2d(x, f, up=1, down=1, padding=0, flip_filter=False, gain=1.0):
    """Prototype: same contract as inversion3d.ops.upfirdn2d.upfirdn2d, as a sum of strided slices."""
    import jax
    import jax.numpy as jnp

    from inversion3d.ops.upfirdn2d import parse_padding

    px0, px1, py0, py1 = parse_padding(padding)
    x = jax.lax.pad(x, jnp.array(0, x.dtype),
                    [(0, 0, 0), (py0, py1 + up - 1, up - 1), (px0, px1 + up - 1, up - 1), (0, 0, 0)])
    f = jnp.asarray(f, x.dtype) * jnp.asarray(gain, x.dtype)
    if not flip_filter:
        f = f[::-1, ::-1]
    kh, kw = f.shape
    n, hp, wp, c = x.shape
    h_out, w_out = (hp - kh) // down + 1, (wp - kw) // down + 1
    y = None
    for a in range(kh):
        for b in range(kw):
            tap = jax.lax.slice(x, (0, a, b, 0), (n, a + (h_out - 1) * down + 1, b + (w_out - 1) * down + 1, c),
                                (1, down, down, 1))
            y = f[a, b] * tap if y is None else y + f[a, b] * tap
    return y


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--iters", type=int, default=3, help="timed calls per shape after one warm-up")
    p.add_argument("--compilation-cache", action="store_true")
    p.add_argument("--json", default=None)
    return p


def run(args):
    jax = C.configure_jax(args.compilation_cache)
    import jax.numpy as jnp

    from inversion3d.ops.upfirdn2d import setup_filter, upfirdn2d

    f = setup_filter((1, 3, 3, 1))
    report = {"benchmark": "upfirdn2d", "env": C.environment(), "settings": {"batch": args.batch, "iters": args.iters}}
    print(f"upfirdn2d on the calls of one ffhq512-128 forward, batch {args.batch}; backend {jax.default_backend()}")
    rows = []
    key = jax.random.PRNGKey(0)
    for name, h, w, c, up, pad in FORWARD_CALLS:
        x = jax.random.normal(key, (args.batch, h, w, c), jnp.float32)
        row = {"call": name, "shape": [args.batch, h, w, c], "up": up, "padding": list(pad)}
        outs = {}
        for impl, fn in (("library", upfirdn2d), ("shifted_sum", shifted_sum_upfirdn2d)):
            jitted = jax.jit(lambda x, fn=fn: fn(x, f, up=up, padding=pad, gain=up * up))
            compiled = jitted.lower(x).compile()
            outs[impl] = C.block(compiled(x))
            times = C.repeat(lambda: compiled(x), args.iters)
            row[impl] = {**C.summarize(times), "memory": C.memory_stats(compiled)}
        row["max_abs_diff"] = float(jnp.max(jnp.abs(outs["library"] - outs["shifted_sum"])))
        row["speedup"] = row["library"]["min_s"] / row["shifted_sum"]["min_s"]
        rows.append(row)
        print(f"  {name:24s} {str(tuple(row['shape'])):22s} up={up}: library {row['library']['min_s'] * 1e3:8.1f} ms, "
              f"shifted-sum {row['shifted_sum']['min_s'] * 1e3:7.1f} ms ({row['speedup']:.1f}x), "
              f"max |diff| {row['max_abs_diff']:.1e}")
    report["rows"] = rows
    report["total_library_s"] = sum(r["library"]["min_s"] for r in rows)
    report["total_shifted_sum_s"] = sum(r["shifted_sum"]["min_s"] for r in rows)
    return C.finish(report, markdown, args.json)


def markdown(report):
    headers = ["call", "input (N,H,W,C)", "up", "library (ms)", "shifted-sum prototype (ms)", "speed-up", "max |diff|"]
    rows = [[r["call"], "×".join(map(str, r["shape"])), r["up"], C.fmt(r["library"]["min_s"] * 1e3, ".1f"),
             C.fmt(r["shifted_sum"]["min_s"] * 1e3, ".1f"), C.fmt(r["speedup"], ".1f") + "x",
             format(r["max_abs_diff"], ".1e")] for r in report["rows"]]
    rows.append(["**total (one forward)**", "", "", C.fmt(report["total_library_s"] * 1e3, ".0f"),
                 C.fmt(report["total_shifted_sum_s"] * 1e3, ".0f"),
                 C.fmt(report["total_library_s"] / report["total_shifted_sum_s"], ".1f") + "x", ""])
    return ("Best of the timed calls; the library op is a depthwise grouped conv (feature_group_count=C), the "
            "prototype (in this file) a sum of 16 strided slices.\n\n" + C.md_table(headers, rows))


def main(argv=None):
    run(build_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
