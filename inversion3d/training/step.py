"""Pure update steps of one network, and their compilation with explicit shardings.

A method supplies `loss_fn(params, batch_stats, batch, rng, frozen) -> (loss, (metrics,
new_batch_stats))` for one network; `net_update` turns it into a state -> state update, in one of
two data-parallel forms:
  'jit'        the global batch is one array sharded on 'data'; XLA (GSPMD) inserts the
               all-reduces, BatchNorm statistics are over the global batch automatically.
  'shard_map'  the loss runs per device on its rows (`jax.shard_map`); gradients and metrics are
               averaged with an explicit `lax.pmean` over 'data', and BatchNorm layers built with
               `axis_name='data'` average their statistics across devices (sync BN).
Both equal the single-device step (tests/training/test_sharding.py).
Every update also tests its loss terms, loss and gradient norm for NaN / Inf (`nonfinite.flags`
in the metrics) and, with skip_nonfinite, keeps the old state of the net when one is not finite.
"""
from typing import Callable

import jax
import jax.numpy as jnp
import optax
from jax.sharding import PartitionSpec as P

from inversion3d.training import nonfinite
from inversion3d.training.sharding import DATA, replicated

MODES = ("jit", "shard_map")


def _value_and_grad(loss_fn, params, batch_stats, batch, rng, frozen):
    (loss, (metrics, new_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        params, batch_stats, batch, rng, frozen)
    return loss, metrics, new_stats, grads


def net_update(loss_fn: Callable, net: str, mode: str = "jit", mesh=None, prefix: str = "",
               skip_nonfinite: bool = False):
    """-> update(state, batch, rng, frozen) -> (state, metrics) for network `net`.

    metrics: the loss_fn's scalars plus loss, grad_norm, param_norm, update_norm and the
    non-finite flags `nonfinite/<name>`, `nonfinite` (prefixed). skip_nonfinite: a step whose
    flags are set leaves the state unchanged (no update, no batch-stats / EMA change).
    `rng` is the same on every device in 'shard_map' mode: draw per-example noise from the data
    or fold in `lax.axis_index('data')` inside loss_fn.
    """
    if mode not in MODES:
        raise ValueError(f"mesh.mode: expected one of {MODES}, got {mode!r}")

    if mode == "jit":
        grads_fn = lambda *args: _value_and_grad(loss_fn, *args)
    else:
        if mesh is None:
            raise ValueError("mesh: required for mode='shard_map'")

        def per_device(params, batch_stats, batch, rng, frozen):
            loss, metrics, new_stats, grads = _value_and_grad(loss_fn, params, batch_stats, batch, rng, frozen)
            # BatchNorm with axis_name='data' already averaged its statistics (sync BN).
            loss, metrics, grads = jax.lax.pmean((loss, metrics, grads), DATA)
            return loss, metrics, new_stats, grads

        grads_fn = jax.shard_map(per_device, mesh=mesh, in_specs=(P(), P(), P(DATA), P(), P()),
                                 out_specs=P(), check_vma=False)

    def update(state, batch, rng, frozen):
        params = state.params[net]
        loss, metrics, new_stats, grads = grads_fn(params, state.batch_stats[net], batch, rng, frozen)
        grad_norm = optax.tree.norm(grads)
        flags = nonfinite.flags(dict(metrics, loss=loss), grad_norm)
        new = state.apply_gradients(net, grads, batch_stats=new_stats)
        state = nonfinite.keep_if_finite(flags[nonfinite.PREFIX], new, state) if skip_nonfinite else new
        delta = jax.tree.map(jnp.subtract, state.params[net], params)
        metrics = dict(metrics, loss=loss, grad_norm=grad_norm, param_norm=optax.tree.norm(state.params[net]),
                       update_norm=optax.tree.norm(delta), **flags)
        return state, {prefix + k: v for k, v in metrics.items()}

    return update


def make_train_step(loss_fn: Callable, net: str, mode: str = "jit", mesh=None, skip_nonfinite: bool = False,
                    poison_at: int = 0):
    """Single-network step(state, batch, frozen) -> (state, metrics); rng = fold_in(root, step).

    poison_at: test hook, step `poison_at` (1-based) sees NaN inputs (0: off)."""
    update = net_update(loss_fn, net, mode, mesh, skip_nonfinite=skip_nonfinite)

    def step(state, batch, frozen):
        batch = nonfinite.poison(batch, state.step, poison_at)
        rng = jax.random.fold_in(state.rng, state.step)
        state, metrics = update(state, batch, rng, frozen)
        return state.next_step(), metrics

    return step


def compile_step(step: Callable, mesh, state_shardings, batch_shardings, frozen_shardings):
    """jit with explicit in/out shardings and the state donated (its buffers are reused)."""
    return jax.jit(step, in_shardings=(state_shardings, batch_shardings, frozen_shardings),
                   out_shardings=(state_shardings, replicated(mesh)), donate_argnums=0)
