"""GOAE benchmark at real sizes with random weights: the Swin-V2 encoder, AFA, and the full inversion.

  .venv/bin/python experiments/benchmarks/bench_encoders.py [--parts encoder,afa,goae] [--batch 1]
      [--iters 2] [--config configs/eg3d_ffhq512.py] [--json PATH]

Parts (encoders.md §1): `encoder` = GOAEncoder (swinv2.yaml, 111 M parameters) on (B, 256, 256, 3);
`afa` = AFA on img / rec_img (B, 512, 512, 3) and F (B, 32, 32, 512); `goae` = the whole
inversion (inversion3d/inversion/goae.py: encoder, backbone split at b32, render 1 + SR, AFA,
render 2, visibility mix, final render) on the ffhq512-128 EG3D generator.
For each: AOT lower and compile times (compile separated from running), the first call after
compiling, steady-state min / median over --iters (block_until_ready), XLA cost-analysis FLOPs and
achieved GFLOP/s (median), as a fraction of a 2048^2 fp32 matmul measured in the same process, and
peak RSS. The chunked renderer is a `lax.map`, whose body XLA counts once, so the FLOPs of `goae`
come from the same program lowered with ray_chunk=None (lowered only, never run).
Nothing is asserted; these are measurements.
"""
import argparse
import dataclasses
import functools
import math
import sys
import time

import _common as C

PARTS = ("encoder", "afa", "goae")


def random_tree(shapes, seed):
    """numpy draws shaped like `shapes` (ShapeDtypeStructs): running_var 1 + |0.2 u|, the rest 0.05 u."""
    import jax
    import numpy as np

    rng = np.random.default_rng(seed)

    def draw(path, leaf):
        u = rng.standard_normal(leaf.shape, dtype=np.float32)
        return 1.0 + 0.2 * np.abs(u) if getattr(path[-1], "key", "") == "running_var" else 0.05 * u

    return jax.tree_util.tree_map_with_path(draw, shapes)


def measure(name, fn, args, iters, peak, flops_stage=None):
    """AOT lower + compile of jit(fn), first call, steady state, FLOPs -> dict (also printed)."""
    import jax

    jitted = jax.jit(fn)
    t0 = time.perf_counter()
    lowered = jitted.lower(*args)
    t_lower = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled = lowered.compile()
    t_compile = time.perf_counter() - t0
    flops, err = C.cost_flops(flops_stage() if flops_stage else compiled)
    _, t_first = C.timed(compiled, *args)
    times = C.repeat(lambda: compiled(*args), iters)
    res = {"lower_s": t_lower, "compile_s": t_compile, "first_call_s": t_first, **C.summarize(times),
           "flops": flops, "flops_error": err, "memory": C.memory_stats(compiled)}
    if flops:
        res["gflops_per_s"] = flops / res["median_s"] / 1e9
        res["fraction_of_matmul_peak"] = res["gflops_per_s"] / peak if peak else None
    res["peak_rss_mib_so_far"] = C.peak_rss_mib()
    print(f"  {name}: lower {t_lower:.1f} s, compile {t_compile:.1f} s, first call {t_first:.2f} s, steady median "
          f"{res['median_s']:.2f} s (min {res['min_s']:.2f}); {C.fmt(flops and flops / 1e9, '.1f')} GFLOP -> "
          f"{C.fmt(res.get('gflops_per_s'), '.1f')} GFLOP/s"
          + (f" ({100 * res['fraction_of_matmul_peak']:.0f}% of matmul)" if res.get("fraction_of_matmul_peak") else "")
          + f"; peak RSS {res['peak_rss_mib_so_far']:.0f} MiB", flush=True)
    return res


def goae_networks(seed):
    """Real-size GOAE encoder and AFA as `Encoder`s with random weights (-> (encoder, afa, parameter counts))."""
    import jax

    from inversion3d.encoders.build import template
    from inversion3d.encoders.swin_v2 import SwinConfig
    from inversion3d.encoders_api import Encoder

    configs = {"goae": dict(swin=SwinConfig()._asdict(), w_dim=512, dim_feedforward=1024),
               "afa": dict(feature_dim=512, dim_feedforward=1024)}
    out, counts = [], {}
    for i, (name, cfg) in enumerate(configs.items()):
        module, shapes = template(name, cfg)
        variables = random_tree(shapes, seed + i)
        counts[name] = sum(int(x.size) for x in jax.tree.leaves(variables))
        out.append(Encoder("goae", "random", {name: cfg}, {name: module}, {name: variables}))
    return out[0], out[1], counts


def run(args):
    jax = C.configure_jax(args.compilation_cache)
    import jax.numpy as jnp
    import numpy as np

    parts = [p for p in args.parts.split(",") if p]
    if not parts or any(p not in PARTS for p in parts):
        raise ValueError(f"--parts: expected a comma list of {PARTS}, got {args.parts!r}")
    report = {"benchmark": "encoders", "env": C.environment(),
              "settings": {"parts": parts, "batch": args.batch, "iters": args.iters, "config": args.config}}
    print(f"GOAE benchmark: parts {parts}, batch {args.batch}, iters {args.iters}, backend "
          f"{jax.default_backend()} ({report['env']['cpu_count']} CPUs)", flush=True)
    peak = None
    if not args.no_matmul:
        report["matmul"] = C.matmul_peak()
        peak = report["matmul"]["gflops_per_s"]
        print(f"matmul 2048^2 fp32: {peak:.1f} GFLOP/s", flush=True)
    t0 = time.perf_counter()
    enc, afa, counts = goae_networks(args.seed)
    report["parameters"] = counts
    print(f"random weights: encoder {counts['goae'] / 1e6:.1f} M, AFA {counts['afa'] / 1e6:.1f} M "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)
    rng = np.random.default_rng(args.seed)
    b = args.batch
    image = jnp.asarray(rng.uniform(-1, 1, (b, 512, 512, 3)), jnp.float32)
    results = {}
    if "encoder" in parts:
        module = enc.modules["goae"]
        x = image.reshape(b, 256, 2, 256, 2, 3).mean(axis=(2, 4))
        results["encoder"] = measure("GOAE encoder (B,256,256,3)", lambda v, x: module.apply(v, x)[0],
                                     (enc.variables["goae"], x), args.iters, peak)
    if "afa" in parts:
        module = afa.modules["afa"]
        rec = jnp.asarray(rng.uniform(-1, 1, image.shape), jnp.float32)
        feat = jnp.asarray(rng.standard_normal((b, 32, 32, 512)), jnp.float32)
        results["afa"] = measure("AFA (512x512 images, F 32x32x512)", lambda v, i, r, f: module.apply(v, i, r, f)[0],
                                 (afa.variables["afa"], image, rec, feat), args.iters, peak)
    if "goae" in parts:
        results["goae"] = bench_inversion(args, enc, afa, image, peak)
    report["results"] = results
    report["peak_rss_mib"] = C.peak_rss_mib()
    report["loadavg_end"] = C.loadavg()
    print()
    print(markdown(report))
    C.write_json(args.json, report)
    return report


def bench_inversion(args, enc, afa, image, peak):
    import jax

    from inversion3d import camera
    from inversion3d.api import load_generator
    from inversion3d.cli import load_config_file
    from inversion3d.inversion import goae
    from inversion3d.inversion.pipelines import make_inverter

    config = load_config_file(args.config)
    t0 = time.perf_counter()
    gen = load_generator(None, kind="eg3d", init_kwargs=config.init_kwargs, seed=args.seed,
                         neural_rendering_resolution=config.neural_rendering_resolution, ray_chunk=config.ray_chunk)
    C.block(gen.params)
    print(f"  generator random init: {time.perf_counter() - t0:.1f} s", flush=True)
    inv = make_inverter("goae", gen, [enc, afa])
    c = camera.make_label(camera.lookat_pose(math.pi / 2, math.pi / 2), camera.intrinsics_matrix())
    c = jax.numpy.repeat(c, image.shape[0], axis=0)
    cfg = gen.config
    full = dataclasses.replace(cfg, render=dataclasses.replace(cfg.render, ray_chunk=None))
    unchunked = functools.partial(goae.invert, full, enc.modules["goae"], afa.modules["afa"])
    flops_stage = lambda: jax.jit(unchunked).lower(inv.params, image, c)  # noqa: E731
    fn = functools.partial(goae.invert, cfg, enc.modules["goae"], afa.modules["afa"])
    res = measure(f"full GOAE inversion (EG3D {cfg.img_resolution}, neural {cfg.neural_rendering_resolution}, "
                  f"ray_chunk {cfg.render.ray_chunk})", fn, (inv.params, image, c), args.iters, peak, flops_stage)
    res["generator"] = {"config": args.config, "neural_rendering_resolution": cfg.neural_rendering_resolution,
                        "ray_chunk": cfg.render.ray_chunk}
    return res


HEADERS = ["part", "lower (s)", "compile (s)", "first call (s)", "steady min (s)", "steady median (s)",
           "GFLOP / call", "GFLOP/s", "of matmul peak", "peak RSS so far (MiB)"]


def markdown(report):
    mm = report.get("matmul")
    env, s = report["env"], report["settings"]
    lines = [f"Backend {env['backend']}, {env['cpu_count']} CPUs ({env['processor']}), jax {env['jax']}; batch "
             f"{s['batch']}, {s['iters']} steady iters; random weights (encoder "
             f"{report['parameters']['goae'] / 1e6:.1f} M, AFA {report['parameters']['afa'] / 1e6:.1f} M parameters)."]
    if mm:
        lines.append(f"Dense matmul peak (2048² fp32, same process): **{mm['gflops_per_s']:.1f} GFLOP/s**.")
    rows = []
    for name, r in report["results"].items():
        frac = r.get("fraction_of_matmul_peak")
        rows.append([name, C.fmt(r["lower_s"], ".1f"), C.fmt(r["compile_s"], ".1f"), C.fmt(r["first_call_s"], ".2f"),
                     C.fmt(r["min_s"], ".2f"), C.fmt(r["median_s"], ".2f"),
                     C.fmt(r["flops"] and r["flops"] / 1e9, ".1f"), C.fmt(r.get("gflops_per_s"), ".1f"),
                     C.fmt(frac and 100 * frac, ".0f") + "%", C.fmt(r["peak_rss_mib_so_far"], ".0f")])
    lines += ["", C.md_table(HEADERS, rows), "",
              "GFLOP / call: XLA cost analysis (the full inversion: lowered without ray chunking, since XLA counts "
              "the chunk loop body once). GFLOP/s uses the median steady time."]
    return "\n".join(lines)


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default="encoder,afa,goae", help=f"comma list of {PARTS}")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--iters", type=int, default=2, help="steady-state calls per part")
    p.add_argument("--config", default="configs/eg3d_ffhq512.py", help="generator config for the full inversion")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-matmul", action="store_true", help="skip the matmul peak measurement")
    p.add_argument("--compilation-cache", action="store_true",
                   help="leave JAX's persistent compilation cache on (default: off, for cold compile times)")
    p.add_argument("--json", default=None, help="write the results as JSON here")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.batch < 1 or args.iters < 1:
        print("bench_encoders: error: --batch / --iters: expected >= 1", file=sys.stderr)
        return 2
    try:
        run(args)
    except ValueError as err:
        print(f"bench_encoders: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
