"""The generator's pieces alone (random weights): backbone, renderer (forward and forward+backward), SR.

  .venv/bin/python experiments/benchmarks/bench_components.py [--config configs/eg3d_ffhq512.py]
      [--resolutions 64,128] [--iters 2] [--parts backbone,render,render_grad,sr] [--json PATH]

Pieces, each jitted with every array an argument (never a closure constant):
  backbone     ws (1, num_ws, 512) -> tri-planes (the StyleGAN2 synthesis network);
  render       random tri-planes (1, 3, 256, 256, 32) -> feature image, depth, weights at R x R rays
               through the config's decoder, sample counts and ray_chunk (frontal camera, no jitter);
  render_grad  the same render and the gradient of sum(feature image) w.r.t. the planes: what W+ /
               PTI optimisation and encoder training differentiate through;
  sr           the config's super-resolution module alone: rgb (1, R, R, 3) + features (1, R, R, 32)
               + ws -> (1, S, S, 3) at the config's neural rendering resolution R (128 -> 512 for
               ffhq512-128, SuperresolutionHybrid8XDC).
Per piece: compile (lower + compile), steady min / median over --iters, XLA FLOPs (the renderer's
from the unchunked lowering: XLA counts a `lax.map` body once), XLA temp / argument bytes, peak RSS,
and GFLOP/s against a dense matmul measured in this process; rows under report['rows'].
"""
import argparse
import dataclasses
import functools
import os
import sys

import _common as C

PARTS = ("backbone", "render", "render_grad", "sr")


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="configs/eg3d_ffhq512.py", help="generator config with get_config()")
    p.add_argument("--resolutions", default="64,128", help="renderer output resolutions (rays per side)")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma list of {PARTS}")
    p.add_argument("--iters", type=int, default=2, help="steady-state calls per piece")
    p.add_argument("--seed", type=int, default=0)
    return C.add_run_flags(p)


def frontal_rays(resolution, batch=1):
    import jax.numpy as jnp

    from inversion3d import camera
    from inversion3d.rendering.rays import sample_rays

    pose, k = camera.split_label(jnp.asarray(camera.frontal_label("eg3d"))[None])
    pose = jnp.broadcast_to(pose, (batch, 4, 4))
    return sample_rays(pose, jnp.broadcast_to(k, (batch, 3, 3)), resolution)


def render_fns(cfg):
    """(forward, forward+backward) of the renderer alone for EG3DConfig `cfg`."""
    import jax
    import jax.numpy as jnp

    from inversion3d.generators import eg3d
    from inversion3d.rendering.renderer import render

    def forward(planes, variables, origins, dirs):
        out = render(planes, functools.partial(eg3d.decode_apply(cfg), variables), origins, dirs, cfg.render)
        return out["rgb"], out["depth"], out["weights_sum"]

    def forward_backward(planes, variables, origins, dirs):
        (total, outs), grads = jax.value_and_grad(
            lambda p: (lambda o: (jnp.sum(o[0]), o))(forward(p, variables, origins, dirs)), has_aux=True)(planes)
        return total, grads

    return forward, forward_backward


def run(args):
    jax = C.configure_jax(args.compilation_cache)
    import jax.numpy as jnp
    import numpy as np

    from inversion3d.api import load_generator
    from inversion3d.app.loading import load_config
    from inversion3d.generators import eg3d

    parts = [p for p in args.parts.split(",") if p]
    if not parts or any(p not in PARTS for p in parts):
        raise ValueError(f"--parts: expected a comma list of {PARTS}, got {args.parts!r}")
    resolutions = [int(r) for r in args.resolutions.split(",") if r.strip()]
    config = load_config(args.config)
    report, peak = C.start_report("components", {"config": args.config, "resolutions": resolutions, "parts": parts,
                                                 "iters": args.iters})
    mm = report["matmul"]
    print(f"generator pieces of {args.config}; matmul {mm['n']}^2 fp32: {peak:.1f} GFLOP/s", flush=True)
    gen = load_generator(None, kind=config.get("kind", "eg3d"), init_kwargs=config.init_kwargs, seed=args.seed,
                         neural_rendering_resolution=int(config.neural_rendering_resolution),
                         ray_chunk=config.get("ray_chunk", None))
    cfg, variables = gen.config, C.block(gen.params)
    name = os.path.splitext(os.path.basename(args.config))[0]
    rng = np.random.default_rng(args.seed)
    ws = jnp.asarray(0.5 * rng.standard_normal((1, cfg.num_ws, cfg.w_dim)), jnp.float32)
    results, rows = {}, []
    if "backbone" in parts:
        fn = lambda v, ws: gen.module.apply(v, ws, "const", method=eg3d.TriPlaneGenerator.planes)  # noqa: E731
        res = results["backbone"] = C.measure_jit("backbone (ws -> tri-planes)", fn, (variables, ws), args.iters, peak)
        rows.append(C.row_from_measure("generator backbone", f"{name}, batch 1, planes {cfg.triplane_resolution}²",
                                       res, peak))
    r = cfg.render
    planes_shape = (1, 3, cfg.triplane_resolution, cfg.triplane_resolution, cfg.plane_channels * r.triplane_depth)
    planes = jnp.asarray(rng.standard_normal(planes_shape), jnp.float32)
    fwd, fwd_bwd = render_fns(cfg)
    unchunked = dataclasses.replace(cfg, render=dataclasses.replace(r, ray_chunk=None))
    u_fwd, u_fwd_bwd = render_fns(unchunked)
    for res_px in resolutions:
        origins, dirs = frontal_rays(res_px)
        args_ = (planes, variables, origins, dirs)
        size = (f"{name} decoder, {res_px}² rays × {r.depth_resolution}+{r.depth_resolution_importance} samples, "
                f"chunk {r.ray_chunk}")
        for part, fn, ufn, label in (("render", fwd, u_fwd, "renderer forward"),
                                     ("render_grad", fwd_bwd, u_fwd_bwd, "renderer fwd+bwd (d/d planes)")):
            if part not in parts:
                continue
            stage = lambda ufn=ufn, a=args_: jax.jit(ufn).lower(*a)  # noqa: E731
            out = results[f"{part}_{res_px}"] = C.measure_jit(f"{label} {res_px}²", fn, args_, args.iters, peak, stage)
            rows.append(C.row_from_measure(f"{label} {res_px}²", size, out, peak, note="FLOPs: unchunked lowering"))
    if "sr" in parts:
        n_res = cfg.neural_rendering_resolution
        rgb = jnp.asarray(rng.uniform(-1, 1, (1, n_res, n_res, 3)), jnp.float32)
        feats = jnp.asarray(rng.standard_normal((1, n_res, n_res, cfg.plane_channels)), jnp.float32)
        fn = lambda v, rgb, f, ws: gen.module.apply(  # noqa: E731
            v, rgb, f, ws, cfg.sr_noise_mode, method=eg3d.TriPlaneGenerator.superresolve)
        res = results["sr"] = C.measure_jit(f"SR {cfg.sr_module} {n_res}->{cfg.img_resolution}", fn,
                                            (variables, rgb, feats, ws), args.iters, peak)
        rows.append(C.row_from_measure("super-resolution", f"{name}, {cfg.sr_module.split('.')[-1]} "
                                       f"{n_res}²→{cfg.img_resolution}², batch 1", res, peak))
    return C.end_report(report, results, rows, markdown, args.json)


def markdown(report):
    s = report["settings"]
    return C.steps_markdown(report, head=f"Config `{s['config']}` (random weights), {s['iters']} steady iters;")


def main(argv=None):
    args = build_parser().parse_args(argv)
    return C.run_cli("bench_components", run, args)


if __name__ == "__main__":
    sys.exit(main())
