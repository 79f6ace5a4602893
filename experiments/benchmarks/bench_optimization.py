"""Optimisation-based inversion benchmark: one W+ projector step and one PTI tuning step
(inversion3d/inversion/wplus.py, pti.py) with random weights, at the embedded tiny size and the real
ffhq512-128 EG3D size.

  .venv/bin/python experiments/benchmarks/bench_optimization.py [--sizes tiny,real] [--iters 2]
      [--parts wplus,pti] [--no-lpips] [--pose-opt] [--quick] [--json PATH]

tiny = configs/tiny_eg3d.py (the random-weight tiny EG3D, the former `default`: 128 px, neural rendering 64, 24 + 24
depth samples); real = configs/eg3d_ffhq512.py (512 px, neural rendering 128, 48 + 48 samples,
ray_chunk 4096). Each step is the jitted function `run` loops over, with the losses of the configs
(W+: LPIPS-VGG at 256; PTI: MSE + LPIPS-Alex at full size) on random LPIPS weights (--no-lpips: the
MSE fallback). For each: AOT lower and compile times, first call, steady min / median over --iters,
XLA cost-analysis FLOPs (lowered without ray chunking: XLA counts a chunk loop's body once) and
GFLOP/s as a fraction of a 2048^2 fp32 matmul measured in the same process, and peak RSS.
--quick: the tiny size only, 1 iter (unless --sizes / --iters are given). Nothing is asserted.
"""
import argparse
import dataclasses
import os
import sys
import time

import _common as C

SIZES = {"tiny": "configs/tiny_eg3d.py", "real": "configs/eg3d_ffhq512.py"}
PARTS = ("wplus", "pti")


def random_lpips(net, seed):
    """LPIPS variables with random weights (trunk 0.05 N(0, 1), non-negative heads), no init run."""
    import jax
    import numpy as np

    from inversion3d.losses.lpips import LPIPS

    x = jax.ShapeDtypeStruct((1, 64, 64, 3), np.float32)
    shapes = jax.eval_shape(LPIPS(net).init, jax.random.PRNGKey(0), x, x)
    rng = np.random.default_rng(seed)

    def draw(path, leaf):
        u = rng.standard_normal(leaf.shape, dtype=np.float32)
        head = str(getattr(path[1], "key", "")).startswith("lin")
        return np.abs(u) * 0.1 if head else 0.05 * u

    return jax.tree_util.tree_map_with_path(draw, shapes)


def bench_size(size, args, peak):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from inversion3d import camera
    from inversion3d.api import load_generator
    from inversion3d.app.loading import load_config
    from inversion3d.inversion import optimization as opt
    from inversion3d.inversion import pti, wplus

    gconf = load_config(os.path.join(C.REPO_ROOT, SIZES[size]))
    t0 = time.perf_counter()
    gen = load_generator(None, kind=gconf.kind, init_kwargs=gconf.init_kwargs, seed=args.seed,
                         neural_rendering_resolution=gconf.neural_rendering_resolution, ray_chunk=gconf.ray_chunk)
    C.block(gen.params)
    cfg = gen.config
    full = dataclasses.replace(cfg, render=dataclasses.replace(cfg.render, ray_chunk=None))  # for the FLOP count
    print(f"{size}: EG3D {cfg.img_resolution} px, neural {cfg.neural_rendering_resolution}, ray_chunk "
          f"{cfg.render.ray_chunk}; random init {time.perf_counter() - t0:.1f} s", flush=True)
    rng = np.random.default_rng(args.seed)
    s = cfg.img_resolution
    target = jnp.asarray(rng.uniform(-1, 1, (1, s, s, 3)), jnp.float32)
    cam = jnp.asarray(camera.generator_frontal_label(gen))[None]
    out = {"generator": {"config": SIZES[size], "img_resolution": s,
                         "neural_rendering_resolution": cfg.neural_rendering_resolution,
                         "ray_chunk": cfg.render.ray_chunk,
                         "parameters": int(sum(x.size for x in jax.tree.leaves(gen.params["params"])))}}
    if "wplus" in args.parts:
        config = load_config(os.path.join(C.REPO_ROOT, "configs/wplus.py"))
        config.pose_opt.enabled = args.pose_opt
        net = None if args.no_lpips else config.losses.lpips_net
        static = wplus.static_settings(config, net)
        state = wplus.init(jnp.zeros(cfg.w_dim), 1.0, cfg.num_ws, 1, config).replace(step=jnp.asarray(100))
        params = {"generator": gen.params, "lpips": {} if net is None else random_lpips(net, args.seed)}
        step_args = (state, params, target, cam, jax.random.PRNGKey(0))
        out["wplus"] = C.measure_jit(f"W+ step ({'MSE' if net is None else 'LPIPS-' + net} at "
                                     f"{min(s, config.losses.resolution)})", wplus.make_step(cfg, static), step_args,
                                     args.iters, peak, lambda: wplus.make_step(full, static).lower(*step_args))
        out["wplus"]["loss"] = "mse" if net is None else f"lpips-{net}"
    if "pti" in args.parts:
        config = load_config(os.path.join(C.REPO_ROOT, "configs/pti.py"))
        config.pose_opt.enabled = args.pose_opt
        net = None if args.no_lpips else config.tune.lpips_net
        static = pti.static_settings(config.tune, config.pose_opt, net)
        state = pti.init(gen.params, 1, config.tune, config.pose_opt)
        frozen = {"buffers": gen.params["buffers"], "lpips": {} if net is None else random_lpips(net, args.seed)}
        ws = jnp.asarray(rng.standard_normal((1, cfg.num_ws, cfg.w_dim)), jnp.float32)
        step_args = (state, frozen, ws, target, cam)
        out["pti"] = C.measure_jit(f"PTI step (MSE{'' if net is None else ' + LPIPS-' + net} at {s})",
                                   pti.make_step(cfg, static), step_args, args.iters, peak,
                                   lambda: pti.make_step(full, static).lower(*step_args))
        out["pti"]["loss"] = "mse" if net is None else f"mse+lpips-{net}"
    return out


def run(args):
    jax = C.configure_jax(args.compilation_cache)
    report = {"benchmark": "optimization", "env": C.environment(),
              "settings": {"sizes": args.sizes, "parts": args.parts, "iters": args.iters, "lpips": not args.no_lpips,
                           "pose_opt": args.pose_opt, "quick": args.quick}}
    print(f"optimisation benchmark: sizes {args.sizes}, parts {args.parts}, iters {args.iters}, backend "
          f"{jax.default_backend()} ({report['env']['cpu_count']} CPUs)", flush=True)
    peak = None
    if not args.no_matmul:
        report["matmul"] = C.matmul_peak()
        peak = report["matmul"]["gflops_per_s"]
        print(f"matmul 2048^2 fp32: {peak:.1f} GFLOP/s", flush=True)
    report["results"] = {size: bench_size(size, args, peak) for size in args.sizes}
    report["peak_rss_mib"] = C.peak_rss_mib()
    return C.finish(report, markdown, args.json)


HEADERS = ["size", "step", "loss", "lower (s)", "compile (s)", "first call (s)", "steady min (s)",
           "steady median (s)", "GFLOP / step", "GFLOP/s", "of matmul peak", "peak RSS so far (MiB)"]


def markdown(report):
    env, s = report["env"], report["settings"]
    mm = report.get("matmul")
    lines = [f"Backend {env['backend']}, {env['cpu_count']} CPUs ({env['processor']}), jax {env['jax']}; batch 1, "
             f"{s['iters']} steady iters, random weights{', pose refinement on' if s['pose_opt'] else ''}."]
    if mm:
        lines.append(f"Dense matmul peak (2048² fp32, same process): **{mm['gflops_per_s']:.1f} GFLOP/s**.")
    rows = []
    for size, res in report["results"].items():
        for part in PARTS:
            if part not in res:
                continue
            r = res[part]
            g = res["generator"]
            rows.append([f"{size} ({g['img_resolution']} px, {g['parameters'] / 1e6:.1f} M)", part, r["loss"]]
                        + C.measure_cells(r))
    lines += ["", C.md_table(HEADERS, rows), "",
              "GFLOP / step: XLA cost analysis of the step lowered without ray chunking (forward + backward + "
              "Adam). GFLOP/s uses the median steady time. The W+ projector runs 1000 such steps, PTI 500 + up to 350."]
    return "\n".join(lines)


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default=None, help=f"comma list of {tuple(SIZES)} (default: both; --quick: tiny)")
    p.add_argument("--parts", default="wplus,pti", help=f"comma list of {PARTS}")
    p.add_argument("--iters", type=int, default=None, help="steady-state calls per step (default 2; --quick: 1)")
    p.add_argument("--quick", action="store_true", help="the tiny size only, 1 iter")
    p.add_argument("--no-lpips", action="store_true", help="MSE only (the loss without LPIPS weights)")
    p.add_argument("--pose-opt", action="store_true", help="with the camera refinement in the steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-matmul", action="store_true", help="skip the matmul peak measurement")
    return C.add_run_flags(p)


def main(argv=None):
    args = build_parser().parse_args(argv)
    args.sizes = [x for x in (args.sizes or ("tiny" if args.quick else "tiny,real")).split(",") if x]
    args.parts = [x for x in args.parts.split(",") if x]
    args.iters = args.iters if args.iters is not None else (1 if args.quick else 2)
    bad = [x for x in args.sizes if x not in SIZES] + [x for x in args.parts if x not in PARTS]
    if bad or not args.sizes or not args.parts or args.iters < 1:
        print(f"bench_optimization: error: --sizes / --parts / --iters: expected sizes of {tuple(SIZES)}, parts of "
              f"{PARTS}, iters >= 1 (bad: {bad})", file=sys.stderr)
        return 2
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
