"""EG3D GAN training steps (inversion3d/methods/eg3d_gan): compile and steady time, FLOPs, memory.

  .venv/bin/python experiments/benchmarks/bench_gan.py [--sizes tiny,real,real128] [--iters 2] [--json PATH]

The steps are the method's own (`Method.make_step`, compiled like the loop compiles it: one-device mesh,
state donated, bench_train.measure_step), with random weights and a random batch. Rows per size:
  G step       the generator's update alone (phase Gmain: G forward + D forward, backward into G; G_ema)
  D step       the discriminator's update alone (phase Dmain: G forward, D on fake and real, backward into D)
  G + D + reg  one full step with both lazy regularisers (Gmain, Greg density reg, Dmain, Dreg R1): the
               step the loop runs every 16th step (the other steps are G step + D step)
Sizes:
  tiny     configs/eg3d_gan.py as it trains on the 2-core CPU (64 px, 32 px rendering, batch 8)
  real     configs/eg3d_gan_full.py (ffhq512-64: 512 px, 64 px rendering, 48 + 48 samples), batch 4 = the
           official 32 over 8 GPUs, or --batch (1 on a 24 GiB CPU host: batch 4 took > 17 GiB)
  real128  configs/eg3d_gan_full128.py at the end of its fade (ffhq512-128: 128 px rendering), as real
  On the 2-core CPU the real rows take minutes each (compile 20-60 s, 10-40 s a step at batch 1).
FLOPs: the same step lowered with ray_chunk=None (XLA counts a `lax.map` body once); the FLOP fraction is
of the matmul peak measured by the same run (experiments/benchmarks/_common.py).
"""
import argparse
import sys

import _common as C
from bench_train import measure_step

SIZES = {"tiny": ("eg3d_gan", 8), "real": ("eg3d_gan_full", 4), "real128": ("eg3d_gan_full128", 4)}
# row label -> (phases of Method.make_step, regularize flags)
STEPS = {"G step": (("Gmain",), (False, False)),
         "D step": (("Dmain",), (False, False)),
         "G + D + density reg + R1": (("Gmain", "Greg", "Dmain", "Dreg"), (True, True))}


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="tiny", help=f"comma list of {tuple(SIZES)}")
    p.add_argument("--batch", type=int, default=None, help="batch of the real sizes (default: the official 4)")
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
    batch_size = (args.batch or batch_size) if size != "tiny" else batch_size
    config = importlib.import_module(f"configs.{name}").get_config()
    config.batch_size = batch_size
    method = Method(config)
    flops_config = importlib.import_module(f"configs.{name}").get_config()
    flops_config.batch_size, flops_config.generator.ray_chunk = batch_size, None
    flops_method = Method(flops_config)
    res = method.res_final or method.res_initial  # the last stage of a fade
    s = method.cfg.img_resolution
    rng = np.random.default_rng(args.seed)
    labels = np.tile(np.asarray(method.rig.frontal(), np.float32), (batch_size, 1))
    batch = {"image": rng.uniform(-1, 1, (batch_size, s, s, 3)).astype(np.float32), "c": labels}
    if method.disc.with_mask:
        batch["mask"] = rng.uniform(0, 1, (batch_size, s, s, 1)).astype(np.float32)
    txs = {n: optim.make_optimizer(config.optim[n]) for n in method.nets}
    out, rows = {}, []
    for label, (phases, reg) in STEPS.items():
        state = jax.jit(lambda: create_train_state(jax.random.PRNGKey(args.seed), method.init_variables(
            jax.random.PRNGKey(args.seed)), txs, manual_ema=("generator",)))()
        step = method.make_step("jit", None, phases=phases)[0]
        flops_step = flops_method.make_step("jit", None, phases=phases)[0]
        key = "gan_" + "_".join(p.lower() for p in phases)
        out[key] = measure_step(
            f"{label} ({size})", lambda st, b, f, step=step, reg=reg: step(st, b, f, reg, res), state, batch, {},
            args.iters, peak, flops_step=lambda st, b, f, step=flops_step, reg=reg: step(st, b, f, reg, res))
        r = method.cfg.render
        rows.append(C.row_from_measure(f"train step: EG3D GAN {label}", f"{size}: configs/{name}.py, {s}² out, "
                                       f"{res}² render, {r.depth_resolution}+{r.depth_resolution_importance} "
                                       f"samples, batch {batch_size}", out[key], peak))
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
            rows += [C.missing_row(f"train step: EG3D GAN {label}", f"{size}: configs/{SIZES[size][0]}.py",
                                   f"not run (--sizes {size})")
                     for label in STEPS]
    return C.end_report(report, results, rows, markdown, args.json)


def markdown(report):
    return C.steps_markdown(report)


def main(argv=None):
    args = build_parser().parse_args(argv)
    return C.run_cli("bench_gan", run, args)


if __name__ == "__main__":
    sys.exit(main())
