"""EG3D GAN training steps (inversion3d/methods/eg3d_gan): compile and steady time, FLOPs, memory.

  .venv/bin/python experiments/benchmarks/bench_gan.py [--sizes tiny,real] [--iters 2] [--json PATH]

The step is the method's own (`Method.make_step`: Gmain + Dmain, and the variant with the lazy
density regulariser and R1 as well), compiled like the loop compiles it (one-device mesh, state
donated, bench_train.measure_step), with random weights and a random batch.
  tiny  configs/eg3d_gan.py as it trains on the 2-core CPU (64 px, 32 px rendering, batch 8)
  real  configs/eg3d_gan_full.py (ffhq512: 512 px, 64 px rendering, 48 + 48 samples), batch 1 per
        device of the official batch 32 on 8 GPUs = 4; a CPU takes hours to compile and run it: run
        it on an accelerator (--sizes real).
FLOPs: the same step lowered with ray_chunk=None (XLA counts a `lax.map` body once).
"""
import argparse
import sys

import _common as C
from bench_train import measure_step

SIZES = {"tiny": ("eg3d_gan", 8), "real": ("eg3d_gan_full", 4)}


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="tiny", help=f"comma list of {tuple(SIZES)} (real: accelerators)")
    p.add_argument("--iters", type=int, default=2, help="steady-state steps per workload")
    p.add_argument("--seed", type=int, default=0)
    return C.add_run_flags(p)


def gan_rows(args, size, peak):
    import importlib

    import jax
    import numpy as np

    from inversion3d.methods.eg3d_gan.train import Method
    from inversion3d.training import optim
    from inversion3d.training.state import create_train_state

    name, batch_size = SIZES[size]
    config = importlib.import_module(f"configs.{name}").get_config()
    config.batch_size = batch_size
    method = Method(config)
    flops_config = importlib.import_module(f"configs.{name}").get_config()
    flops_config.batch_size, flops_config.generator.ray_chunk = batch_size, None
    flops_method = Method(flops_config)
    s = method.cfg.img_resolution
    rng = np.random.default_rng(args.seed)
    labels = np.tile(np.asarray(method.rig.frontal(), np.float32), (batch_size, 1))
    batch = {"image": rng.uniform(-1, 1, (batch_size, s, s, 3)).astype(np.float32), "c": labels}
    txs = {n: optim.make_optimizer(config.optim[n]) for n in method.nets}
    out, rows = {}, []
    for reg in ((False, False), (True, True)):
        state = jax.jit(lambda: create_train_state(jax.random.PRNGKey(args.seed), method.init_variables(
            jax.random.PRNGKey(args.seed)), txs, manual_ema=("generator",)))()
        step = method.make_step("jit", None)[0]
        flops_step = flops_method.make_step("jit", None)[0]
        label = "train step: EG3D GAN" + (" + density reg + R1" if reg[0] else "")
        res = out[f"gan{'_reg' if reg[0] else ''}"] = measure_step(
            f"{label} ({size})", lambda st, b, f, reg=reg: step(st, b, f, reg), state, batch, {}, args.iters, peak,
            flops_step=lambda st, b, f, reg=reg: flops_step(st, b, f, reg))
        r = method.cfg
        rows.append(C.row_from_measure(label, f"{size}: configs/{name}.py, {s}² out, {r.neural_rendering_resolution}² "
                                       f"render, {r.render.depth_resolution}+{r.render.depth_resolution_importance} "
                                       f"samples, batch {batch_size}", res, peak))
    return out, rows


def run(args):
    jax = C.configure_jax(args.compilation_cache)
    sizes = [s for s in args.sizes.split(",") if s]
    if not sizes or any(s not in SIZES for s in sizes):
        raise ValueError(f"--sizes: expected a comma list of {tuple(SIZES)}, got {args.sizes!r}")
    report, peak = C.start_report("gan", {"sizes": sizes, "iters": args.iters})
    mm = report["matmul"]
    print(f"EG3D GAN steps at {sizes} on {jax.default_backend()}; matmul {mm['n']}^2: {peak:.1f} GFLOP/s", flush=True)
    results, rows = {}, []
    for size in SIZES:
        if size in sizes:
            res, more = gan_rows(args, size, peak)
            results.update({f"{k}_{size}": v for k, v in res.items()})
            rows += more
        else:
            rows += [C.missing_row("train step: EG3D GAN" + extra, f"{size}: configs/{SIZES[size][0]}.py",
                                   f"not run (--sizes {size}; an accelerator for real)")
                     for extra in ("", " + density reg + R1")]
    return C.end_report(report, results, rows, markdown, args.json)


def markdown(report):
    return C.steps_markdown(report)


def main(argv=None):
    args = build_parser().parse_args(argv)
    return C.run_cli("bench_gan", run, args)


if __name__ == "__main__":
    sys.exit(main())
