"""Periodic held-out evaluation in the training loop (config.eval, configs/runs.py).

Every `eval.every` steps the loop runs the method's pure `evaluate(state, batch, frozen) ->
(scalars, columns)` (methods/evaluation.py for the EG3D encoders) on `eval.num_batches` held-out
batches and writes the mean of each scalar as `eval/<name>` and the first batch's columns as the
image grid `eval/input_recon_novel_gt` through the run's writers. The held-out split is pseudo-pairs
of the method's `pair_fn` (they carry the generator's ground truth for novel views) at pair indices
from `eval.first_index` on, which the training source (indices 0, 1, ... in order) does not reach
in any run shorter than first_index / batch_size steps; the batches are drawn once per run.
A method without `evaluate` is not evaluated.
"""
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d import viz
from inversion3d.training import sharding


def enabled(config, method) -> bool:
    return int(config.get("eval", {}).get("every", 0)) > 0 and hasattr(method, "evaluate")


def held_out(config, method, frozen, key):
    """The eval batches: [{'image', 'c', 'ws'}] of eval.batch_size pairs each (module doc)."""
    e = config.eval
    size, first = int(e.batch_size), int(e.first_index)
    if size < 1 or int(e.num_batches) < 1:
        raise ValueError(f"eval.batch_size / eval.num_batches: expected >= 1, got {size} / {e.num_batches}")
    draw = jax.jit(method.pair_fn)
    return [draw(frozen, key, first + k * size + jnp.arange(size, dtype=jnp.int32)) for k in range(int(e.num_batches))]


def run(evaluate, state, frozen, batches, rows: int = 4):
    """(scalars {'eval/<name>': mean over the batches}, grid uint8 of the first batch's columns)."""
    sums, grid = {}, None
    for i, batch in enumerate(batches):
        scalars, columns = sharding.fetch(evaluate(state, batch, frozen))
        for k, v in scalars.items():
            sums[k] = sums.get(k, 0.0) + float(v)
        if i == 0:
            grid = viz.batch_grid([np.asarray(c) for c in columns], max_rows=rows)
    return {f"eval/{k}": v / len(batches) for k, v in sums.items()}, grid
