"""The E3DGE-style training step (methods/e3dge/train.py): compile and steady time, FLOPs, memory.

  .venv/bin/python experiments/benchmarks/bench_e3dge.py [--iters 2] [--json PATH]

tiny (measured): configs/e3dge.py as the loop runs it on a one-device mesh with the state donated:
both updates on (encoder: global render at the input and query views, latent / depth / density terms;
local: reference features, local renders at the input view and, aligned, at the query view), batch
2 pairs = 4 rows, LPIPS-Alex with random weights. real (listed, not run: minutes per step on a CPU
and > 40 GiB for its gradients): configs/e3dge_full.py, EG3D ffhq512-128, batch 4 pairs = 8 rows.
The tiny renders need no ray chunking, so XLA's FLOP count covers the whole step.
"""
import argparse
import sys

import _common as C
import bench_train

WORKLOAD = "train step: E3DGE (encoder + local)"
REAL = "train step: E3DGE real size"


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iters", type=int, default=2, help="steady-state steps")
    p.add_argument("--seed", type=int, default=0)
    return C.add_run_flags(p)


def tiny_step(args, peak):
    import jax
    import jax.numpy as jnp

    from inversion3d.app.loading import load_config
    from inversion3d.methods.e3dge.train import Method
    from inversion3d.training import optim

    config = load_config("configs/e3dge.py")
    config.phases.add_local, config.phases.stop_global = 0, 10 ** 9  # both updates every step
    method = Method(config)
    k_init, k_frozen, k_data, k_state = jax.random.split(jax.random.PRNGKey(args.seed), 4)
    frozen = method.frozen(k_frozen)
    b = int(config.batch_size)
    batch = jax.jit(method.pair_fn)(frozen, k_data, jnp.arange(b))
    txs = {n: optim.make_optimizer(config.optim[n]) for n in method.nets}
    state = bench_train.init_state(k_state, method.init_variables(k_init), txs)
    step, _ = method.make_step("jit", None)
    res = bench_train.measure_step(WORKLOAD, lambda s, bt, f: step(s, bt, f, False), state, batch, frozen,
                                   args.iters, peak)
    g = config.generator
    size = (f"tiny: configs/e3dge.py, batch {b} pairs ({2 * b} rows), {config.data.resolution}² images, "
            f"{g.neural_rendering_resolution}² renders x {g.init_kwargs.rendering_kwargs.depth_resolution}+"
            f"{g.init_kwargs.rendering_kwargs.depth_resolution_importance} samples, local side {config.model.local.resolution}")
    return res, C.row_from_measure(WORKLOAD, size, res, peak)


def run(args):
    jax = C.configure_jax(args.compilation_cache)
    report, peak = C.start_report("e3dge_train", {"iters": args.iters})
    mm = report["matmul"]
    print(f"E3DGE train step on {jax.default_backend()}; matmul {mm['n']}^2: {peak:.1f} GFLOP/s", flush=True)
    res, row = tiny_step(args, peak)
    real = C.workload_row(REAL, "real: configs/e3dge_full.py, EG3D ffhq512-128, batch 4 pairs (8 rows), 128² renders "
                          "x 48+48 samples, local 256 ch at 128²", status="missing",
                          note="listed, not run (needs an accelerator with > 40 GiB)")
    return C.end_report(report, {"tiny": res}, [row, real], markdown, args.json, peak_rows=[row])


def markdown(report):
    return C.steps_markdown(report)


def main(argv=None):
    args = build_parser().parse_args(argv)
    return C.run_cli("bench_e3dge", run, args)


if __name__ == "__main__":
    sys.exit(main())
