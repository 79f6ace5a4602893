"""In-N-Out benchmark: one stage-B composite-inversion step, one stage-C SR step
(inversion3d/methods/innout/stage_b.py, stage_c.py) and a full 1-frame run of stages A-C at the spec's
step counts, with random weights, at the embedded tiny size and the real ffhq512-128 EG3D size.

  .venv/bin/python experiments/benchmarks/bench_innout.py [--sizes tiny,real] [--parts stage_b,stage_c,full]
      [--iters 2] [--json PATH]

tiny = configs/tiny_eg3d.py + configs/innout_tiny.py (OOD tri-plane 32²); real = configs/eg3d_ffhq512.py +
configs/innout.py (neural rendering 128, 48 + 48 samples, OOD tri-plane 3 x 32 x 256²). The stage-B step
is the jitted forward + backward + three-group Adam of `stage_b.frame_loss` on one frame (MSE terms,
blend entropy / area / sparsity, no LPIPS weights: the MSE-only path `invert` takes without --lpips);
the SR step is stage C's Adam step on the SR parameters. Rows: compile, steady min / median, XLA
FLOPs (lowered without ray chunking) and their fraction of the 2048² matmul peak. Spec step counts:
10,000 stage-B steps and 100 epochs x T stage-C steps per clip (in-n-out.md §2.5, §3), so a 1-frame
run costs about 10,000 x (B step) + 100 x (SR step) plus the compiles. The `full` row runs that: stage A
(nearest-LPIPS init from init_samples draws, 2 passes x 500 epochs), stage B (10,000 steps), stage C
(100 epochs) on one masked frame with random-weight LPIPS-Alex / VGG nets (the cost of the real terms;
the values mean nothing). Its compile time is a warm-up run of the same programs at minimal counts
(one init chunk, 1 epoch, 2 B steps, 1 C epoch) less the steady cost of those steps; its time is the
spec-count run after it; its FLOPs the sum of each program's XLA count (lowered without ray chunking)
times its calls. On a CPU backend the real-size full run (hours) is listed as missing unless
`--parts` names `full` explicitly. Nothing is asserted.
"""
import argparse
import dataclasses
import os
import sys
import time

import _common as C

SIZES = {"tiny": ("configs/tiny_eg3d.py", "configs/innout_tiny.py"), "real": ("configs/eg3d_ffhq512.py",
                                                                        "configs/innout.py")}
NAMES = {"stage_b": "In-N-Out stage-B step", "stage_c": "In-N-Out SR step (stage C)",
         "full": "In-N-Out full 1-frame run (stages A-C, spec step counts)"}
DEFAULT_PARTS = "stage_b,stage_c,full"


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
    if "full" in args.parts:
        if size == "real" and jax.default_backend() == "cpu" and not args.explicit_full:
            rows.append(C.missing_row(NAMES["full"], size, "not run on a CPU backend (hours); bench_innout.py "
                                      "--sizes real --parts full runs it"))
        else:
            out["full"], row = bench_full(size, gen, full, config, target, cam, mask, args, peak)
            rows.append(row)
    return out, rows


def spec_counts(config, frames=1):
    """The number of calls of each program of a run: init chunks, stage-A steps, B steps, C steps."""
    a = config.stage_a
    return {"init_chunks": -(-int(a.init_samples) // int(a.init_chunk)),
            "stage_a": int(a.passes) * int(a.epochs) * frames, "stage_b": int(config.stage_b.steps),
            "stage_c": int(config.stage_c.epochs) * frames}


def warmup_config(config):
    """config at the least counts that still compile every program of the run (see module docstring)."""
    warm = config.copy_and_resolve_references()
    warm.stage_a.init_samples, warm.stage_a.epochs, warm.stage_a.passes = int(config.stage_a.init_chunk), 1, 1
    warm.stage_b.steps, warm.stage_c.epochs = 2, 1
    return warm


def run_stages(gen, config, target, cam, mask, lpips, w_avg):
    """Stages A, B, C on one frame -> seconds of each (blocking on each stage's result)."""
    import jax

    from inversion3d.methods.innout import stage_a, stage_b, stage_c

    quiet = lambda *a, **k: None  # noqa: E731
    times = {}
    t0 = time.perf_counter()
    a = stage_a.run(gen, target, cam, mask, config, lpips=lpips, log=quiet)
    C.block(a["ws"])
    times["stage_a"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    data = stage_b.prepare_data(gen.config, target, cam, mask)
    b = stage_b.run(gen, data, a["ws"], config, w_avg, masked=True, lpips=lpips, log=quiet)
    C.block(b["params"])
    times["stage_b"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    c = stage_c.run(gen, data, b["params"], config, lpips=lpips, log=quiet)
    jax.block_until_ready(c["sr_delta"])
    times["stage_c"] = time.perf_counter() - t0
    return times


def full_flops(gen, full_cfg, config, target, cam, mask, lpips):
    """XLA FLOPs of one call of each program of the run (lowered without ray chunking) -> dict, or None."""
    import jax
    import jax.numpy as jnp

    from inversion3d import camera
    from inversion3d.inversion import optimization as opt
    from inversion3d.methods.innout import stage_a, stage_b, stage_c

    a = config.stage_a
    k = int(a.init_chunk)
    z = jnp.zeros((k, gen.config.z_dim), jnp.float32)
    cond = jnp.asarray(camera.generator_frontal_label(gen))
    cams, targets = jnp.asarray(cam), jnp.asarray(target)
    masks = jnp.asarray(mask)
    flops = {}
    try:
        lowered = stage_a._chunk_distances.lower(full_cfg, "alex", gen.params, lpips["alex"], z, cond, cams, targets)
        flops["init_chunks"] = C.cost_flops(lowered)[0]
        ws = jnp.zeros((1, full_cfg.num_ws, full_cfg.w_dim), jnp.float32)
        params = {"w_cano": ws, "r": ws}
        hp = {n: jnp.float32(1) for n in ("mse", "lpips", "delta", "rho")}
        lowered = stage_a._step.lower(full_cfg, "vgg", int(a.delta_last_layer), params, opt.adam_init(params),
                                      jnp.float32(1e-3), hp, gen.params, lpips["vgg"], 0, cams, targets, masks,
                                      jax.random.PRNGKey(0))
        flops["stage_a"] = C.cost_flops(lowered)[0]
        data = stage_b.prepare_data(full_cfg, target, cam, mask)
        params = stage_b.init_params(jax.random.PRNGKey(0), config, ws)
        tx = stage_b.optimizer(config, 1)
        static = stage_b.Static("vgg", False, float(config.stage_b.losses.l2_sr_ood) > 0,
                                int(config.stage_a.delta_last_layer))
        lowered = jax.jit(stage_b._step.__wrapped__, static_argnums=(0, 1, 2)).lower(
            full_cfg, static, tx, params, tx.init(params), gen.params, lpips["vgg"], stage_b.loss_weights(config, True),
            jnp.zeros(full_cfg.w_dim), 0, data, jax.random.PRNGKey(1))
        flops["stage_b"] = C.cost_flops(lowered)[0]
        res = full_cfg.neural_rendering_resolution
        feats = jnp.zeros((1, res, res, full_cfg.plane_channels), jnp.float32)
        sr = gen.params["params"]["superresolution"]
        adam = stage_c._adam(float(config.stage_c.lr))
        lowered = jax.jit(stage_c._step.__wrapped__, static_argnums=(0, 1, 2)).lower(
            full_cfg, "vgg", adam, sr, adam.init(sr), gen.params, lpips["vgg"],
            {"mse": jnp.float32(1), "lpips": jnp.float32(1)}, feats, ws, data["targets"][:1])
        flops["stage_c"] = C.cost_flops(lowered)[0]
    except Exception as err:  # a cost analysis the backend lacks: the row keeps its times
        print(f"  full run FLOPs: {type(err).__name__}: {err}", flush=True)
        return None
    return flops if all(v for v in flops.values()) else None


def bench_full(size, gen, full_cfg, config, target, cam, mask, args, peak):
    """The full 1-frame run: warm-up (compiles) then the spec-count run -> (result dict, summary row)."""
    import jax
    import jax.numpy as jnp

    from inversion3d.losses.lpips import LPIPS

    x = jnp.zeros((1, 64, 64, 3), jnp.float32)
    lpips = {net: jax.jit(LPIPS(net).init)(jax.random.PRNGKey(i), x, x) for i, net in enumerate(("alex", "vgg"))}
    w_avg = jnp.zeros(gen.config.w_dim, jnp.float32)
    warm_cfg = warmup_config(config)
    warm, counts = spec_counts(warm_cfg), spec_counts(config)
    t0 = time.perf_counter()
    warm_times = run_stages(gen, warm_cfg, target, cam, mask, lpips, w_avg)
    warm_s = time.perf_counter() - t0
    print(f"  {NAMES['full']} ({size}): warm-up {warm_s:.1f} s {warm_times}; counts {counts}", flush=True)
    t0 = time.perf_counter()
    times = run_stages(gen, config, target, cam, mask, lpips, w_avg)
    total = time.perf_counter() - t0
    # steady seconds per call of each stage (the init chunks are inside stage A: split by its step count)
    per_call = {k: times[k] / max(counts[k] + (counts["init_chunks"] if k == "stage_a" else 0), 1) for k in times}
    steady_warm = sum(per_call[k] * (warm[k] + (warm["init_chunks"] if k == "stage_a" else 0)) for k in times)
    compile_s = max(warm_s - steady_warm, 0.0)
    flops_each = full_flops(gen, full_cfg, config, target, cam, mask, lpips)
    flops = sum(flops_each[k] * counts[k] for k in counts) if flops_each else None
    print(f"  {NAMES['full']} ({size}): {total:.1f} s {times}; compile ~{compile_s:.1f} s; "
          f"{C.fmt(flops and flops / 1e9, '.4g')} GFLOP", flush=True)
    res = {"warmup_s": warm_s, "warmup_stage_s": warm_times, "stage_s": times, "total_s": total, "counts": counts,
           "compile_s": compile_s, "flops_per_call": flops_each, "flops": flops}
    note = (f"A {times['stage_a']:.0f} s + B {times['stage_b']:.0f} s + C {times['stage_c']:.0f} s; "
            f"{counts['stage_b']} B steps, random-weight LPIPS")
    row = C.workload_row(NAMES["full"], size, compile_s=compile_s, times=[total], flops=flops, peak_gflops=peak,
                         note=note)
    return res, row


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
             "Spec step counts per clip: 10,000 stage-B steps, 100 epochs x frames stage-C steps "
             "(in-n-out.md §2.5, §3).",
             "The full-run row: its compile column is the warm-up run less its steady steps; its time is one run."]
    return "\n".join(lines)


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="tiny,real", help=f"comma list of {tuple(SIZES)}")
    p.add_argument("--parts", default=None, help=f"comma list of {tuple(NAMES)} (default {DEFAULT_PARTS})")
    p.add_argument("--iters", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    return C.add_run_flags(p)


def main(argv=None):
    args = build_parser().parse_args(argv)
    args.sizes = [x for x in args.sizes.split(",") if x]
    args.explicit_full = args.parts is not None and "full" in args.parts.split(",")
    args.parts = [x for x in (args.parts or DEFAULT_PARTS).split(",") if x]
    bad = [x for x in args.sizes if x not in SIZES] + [x for x in args.parts if x not in NAMES]
    if bad or not args.sizes or args.iters < 1:
        print(f"bench_innout: error: --sizes / --parts / --iters: bad {bad}", file=sys.stderr)
        return 2
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
