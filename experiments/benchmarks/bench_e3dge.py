"""The E3DGE-style training step (methods/e3dge/train.py): compile and steady time, FLOPs, memory.

  .venv/bin/python experiments/benchmarks/bench_e3dge.py [--sizes tiny,real] [--batch N] [--iters 2] [--json PATH]

Both sizes run the step as the loop does, on a one-device mesh with the state donated: both updates on
(encoder: global render at the input and query views, latent / depth / density terms; local: reference
features, local renders at the input view and, aligned, at the query view), LPIPS with random weights.
  tiny  configs/e3dge.py, its batch 2 pairs = 4 rows.
  real  configs/e3dge_full.py (EG3D ffhq512-128, random weights, its generator.remat), batch --batch pairs
        (default 1: one pair stayed under 14.3 GB on the CPU host with remat, 45 GB without).
Renders run with the config's ray_chunk; FLOPs come from the same step lowered unchunked (XLA counts a
`lax.map` body once), which is only lowered, never run (unchunked, 1 real pair asks for 56 GB).
"""
import argparse
import sys

import _common as C
import bench_train

WORKLOAD = "train step: E3DGE (encoder + local)"


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="tiny", help="comma list of tiny, real")
    p.add_argument("--batch", type=int, default=1, help="pairs per step at the real size (config: 4)")
    p.add_argument("--iters", type=int, default=2, help="steady-state steps")
    p.add_argument("--seed", type=int, default=0)
    return C.add_run_flags(p)


def step_row(args, peak, size):
    import jax
    import jax.numpy as jnp

    from inversion3d.app.loading import load_config
    from inversion3d.methods.e3dge.train import Method
    from inversion3d.training import optim

    path = {"tiny": "configs/e3dge.py", "real": "configs/e3dge_full.py"}[size]
    config = load_config(path)
    if size == "real":
        config.batch_size = args.batch
    config.phases.add_local, config.phases.stop_global = 0, 10 ** 9  # both updates every step
    unchunked = config.copy_and_resolve_references()
    unchunked.generator.ray_chunk = None
    flops_method = Method(unchunked)
    method = Method(config)
    k_init, k_frozen, k_data, k_state = jax.random.split(jax.random.PRNGKey(args.seed), 4)
    frozen = method.frozen(k_frozen)
    flops_method.loss_modules = method.loss_modules  # the loss networks frozen() loaded (same weights)
    b = int(config.batch_size)
    batch = jax.jit(method.pair_fn)(frozen, k_data, jnp.arange(b))
    txs = {n: optim.make_optimizer(config.optim[n]) for n in method.nets}
    state = bench_train.init_state(k_state, method.init_variables(k_init), txs)
    step, _ = method.make_step("jit", None)
    flops_step, _ = flops_method.make_step("jit", None)
    res = bench_train.measure_step(f"{WORKLOAD} ({size})", lambda s, bt, f: step(s, bt, f, False), state, batch, frozen,
                                   args.iters, peak, lambda s, bt, f: flops_step(s, bt, f, False))
    g = config.generator
    desc = (f"{size}: {path}, batch {b} pairs ({2 * b} rows), {config.data.resolution}² images, "
            f"{g.neural_rendering_resolution}² renders x {g.init_kwargs.rendering_kwargs.depth_resolution}+"
            f"{g.init_kwargs.rendering_kwargs.depth_resolution_importance} samples, local side {config.model.local.resolution}")
    return res, C.row_from_measure(WORKLOAD, desc, res, peak)


def run(args):
    jax = C.configure_jax(args.compilation_cache)
    report, peak = C.start_report("e3dge_train", {"iters": args.iters})
    mm = report["matmul"]
    print(f"E3DGE train step on {jax.default_backend()}; matmul {mm['n']}^2: {peak:.1f} GFLOP/s", flush=True)
    sizes = [s for s in args.sizes.split(",") if s]
    if not sizes or any(s not in ("tiny", "real") for s in sizes):
        raise ValueError(f"--sizes: expected a comma list of tiny, real, got {args.sizes!r}")
    results, rows = {}, []
    for size in sizes:
        results[size], row = step_row(args, peak, size)
        rows.append(row)
    return C.end_report(report, results, rows, markdown, args.json, peak_rows=rows)


def markdown(report):
    return C.steps_markdown(report)


def main(argv=None):
    args = build_parser().parse_args(argv)
    return C.run_cli("bench_e3dge", run, args)


if __name__ == "__main__":
    sys.exit(main())
