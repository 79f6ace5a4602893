"""In-N-Out benchmark: one stage-B composite-inversion step and one stage-C SR step
(inversion3d/methods/innout/stage_b.py, stage_c.py) with random weights, at the embedded tiny size and the
real ffhq512-128 EG3D size.

  .venv/bin/python experiments/benchmarks/bench_innout.py [--sizes tiny,real] [--iters 2] [--json PATH]

tiny = configs/tiny_eg3d.py + configs/innout_tiny.py (OOD tri-plane 32²); real = configs/eg3d_ffhq512.py +
configs/innout.py (neural rendering 128, 48 + 48 samples, OOD tri-plane 3 x 32 x 256²). The stage-B step
is the jitted forward + backward + three-group Adam of `stage_b.frame_loss` on one frame (MSE terms,
blend entropy / area / sparsity, no LPIPS weights: the MSE-only path `invert` takes without --lpips);
the SR step is stage C's Adam step on the SR parameters. Rows: compile, steady min / median, XLA
FLOPs (lowered without ray chunking) and their fraction of the 2048² matmul peak. Spec step counts:
10,000 stage-B steps and 100 epochs x T stage-C steps per clip (in-n-out.md §2.5, §3), so a 1-frame
run costs about 10,000 x (B step) + 100 x (SR step) plus the compiles. Nothing is asserted.
"""
import argparse
import dataclasses
import os
import sys
import time

import _common as C

SIZES = {"tiny": ("configs/tiny_eg3d.py", "configs/innout_tiny.py"), "real": ("configs/eg3d_ffhq512.py",
                                                                        "configs/innout.py")}
NAMES = {"stage_b": "In-N-Out stage-B step", "stage_c": "In-N-Out SR step (stage C)"}


def bench_size(size, args, peak):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from inversion3d import camera
    from inversion3d.api import load_generator
    from inversion3d.app.loading import load_config
    from inversion3d.methods.innout import stage_b, stage_c

    gen_path, method_path = SIZES[size]
    gconf = load_config(os.path.join(C.REPO_ROOT, gen_path))
    config = load_config(os.path.join(C.REPO_ROOT, method_path))
    t0 = time.perf_counter()
    gen = load_generator(None, kind=gconf.kind, init_kwargs=gconf.init_kwargs, seed=args.seed,
                         neural_rendering_resolution=gconf.neural_rendering_resolution, ray_chunk=gconf.ray_chunk)
    C.block(gen.params)
    cfg = gen.config
    full = dataclasses.replace(cfg, render=dataclasses.replace(cfg.render, ray_chunk=None))
    print(f"{size}: EG3D {cfg.img_resolution} px, neural {cfg.neural_rendering_resolution}, OOD planes "
          f"{config.stage_b.plane_resolution}²; random init {time.perf_counter() - t0:.1f} s", flush=True)
    rng = np.random.default_rng(args.seed)
    s = cfg.img_resolution
    target = rng.uniform(-1, 1, (1, s, s, 3)).astype(np.float32)
    mask = np.ones((1, s, s, 1), np.float32)
    mask[:, s // 3:s // 2, s // 3:s // 2] = 0
    cam = np.asarray(camera.generator_frontal_label(gen))[None]
    data = stage_b.prepare_data(cfg, target, cam, mask)
    ws = jnp.asarray(rng.standard_normal((1, cfg.num_ws, cfg.w_dim)) * 0.1, jnp.float32)
    params = stage_b.init_params(jax.random.PRNGKey(args.seed), config, ws)
    tx = stage_b.optimizer(config, 1)
    static = stage_b.Static(None, False, float(config.stage_b.losses.l2_sr_ood) > 0)
    weights = stage_b.loss_weights(config, True)
    step_b = stage_b._step.__wrapped__  # the step without donation (the benchmark reuses its inputs)
    b_args = (cfg, static, tx, params, tx.init(params), gen.params, {}, weights, jnp.zeros(cfg.w_dim), 0, data,
              jax.random.PRNGKey(1))
    out = {"generator": {"config": gen_path, "img_resolution": s, "neural_rendering_resolution":
                         cfg.neural_rendering_resolution, "ray_chunk": cfg.render.ray_chunk}}
    rows = []
    if "stage_b" in args.parts:
        res = C.measure_jit(NAMES["stage_b"], step_b, b_args, args.iters, peak,
                            lambda: jax.jit(step_b, static_argnums=(0, 1, 2)).lower(full, *b_args[1:]),
                            static_argnums=(0, 1, 2))
        out["stage_b"] = res
        rows.append(C.row_from_measure(NAMES["stage_b"], size, res, peak, note="MSE terms + blend regularisers"))
    if "stage_c" in args.parts:
        feats = jnp.asarray(rng.uniform(-1, 1, (1, cfg.neural_rendering_resolution, cfg.neural_rendering_resolution,
                                                cfg.plane_channels)), jnp.float32)
        sr = gen.params["params"]["superresolution"]
        adam = stage_c._adam(float(config.stage_c.lr))
        step_c = stage_c._step.__wrapped__
        c_args = (cfg, None, adam, sr, adam.init(sr), gen.params, {}, {"mse": jnp.float32(1), "lpips": jnp.float32(1)},
                  feats, ws, data["targets"][:1])
        res = C.measure_jit(NAMES["stage_c"], step_c, c_args, args.iters, peak, static_argnums=(0, 1, 2))
        out["stage_c"] = res
        rows.append(C.row_from_measure(NAMES["stage_c"], size, res, peak, note="MSE"))
    return out, rows


def run(args):
    jax = C.configure_jax(args.compilation_cache)
    report = {"benchmark": "innout", "env": C.environment(),
              "settings": {"sizes": args.sizes, "parts": args.parts, "iters": args.iters}}
    print(f"In-N-Out benchmark: sizes {args.sizes}, iters {args.iters}, backend {jax.default_backend()}", flush=True)
    report["matmul"] = C.matmul_peak()
    peak = report["matmul"]["gflops_per_s"]
    report["results"], report["rows"] = {}, []
    for size in args.sizes:
        report["results"][size], rows = bench_size(size, args, peak)
        report["rows"] += rows
    report["peak_rss_mib"] = C.peak_rss_mib()
    return C.finish(report, markdown, args.json)


def markdown(report):
    lines = [C.summary_table(report["rows"]), "",
             "Spec step counts per clip: 10,000 stage-B steps, 100 epochs x frames stage-C steps (in-n-out.md §2.5, §3)."]
    return "\n".join(lines)


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="tiny,real", help=f"comma list of {tuple(SIZES)}")
    p.add_argument("--parts", default="stage_b,stage_c", help=f"comma list of {tuple(NAMES)}")
    p.add_argument("--iters", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    return C.add_run_flags(p)


def main(argv=None):
    args = build_parser().parse_args(argv)
    args.sizes = [x for x in args.sizes.split(",") if x]
    args.parts = [x for x in args.parts.split(",") if x]
    bad = [x for x in args.sizes if x not in SIZES] + [x for x in args.parts if x not in NAMES]
    if bad or not args.sizes or args.iters < 1:
        print(f"bench_innout: error: --sizes / --parts / --iters: bad {bad}", file=sys.stderr)
        return 2
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
