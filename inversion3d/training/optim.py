"""Optimisers and learning-rate schedules from a config section (training.md §2-§4).

`make_optimizer(cfg)` reads one `config.optim.<net>` section:
  name: 'adam' | 'adamw' | 'ranger' | 'sgd'; lr; b1, b2, eps; weight_decay (adamw);
  schedule: 'constant' | 'cosine' with warmup_steps, decay_steps, end_lr_factor;
  clip_norm (global-norm clipping, 0 = off); ranger: lookahead_k, lookahead_alpha,
  sma_threshold, centralize.
"Ranger" is RAdam + gradient centralisation + Lookahead exactly as TriPlaneNet's
training/ranger.py (training.md §3), written as optax transformations so that the params tree
keeps its shape (optax.lookahead would turn params into a fast/slow pair).
"""
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

OPTIMIZERS = ("adam", "adamw", "ranger", "sgd")
SCHEDULES = ("constant", "cosine")


def make_schedule(cfg):
    """cfg.lr with optional linear warmup then cosine decay to lr * end_lr_factor -> optax schedule."""
    name = cfg.get("schedule", "constant")
    lr = float(cfg.lr)
    warmup = int(cfg.get("warmup_steps", 0))
    if name == "constant":
        if warmup <= 0:
            return optax.constant_schedule(lr)
        return optax.linear_schedule(0.0, lr, warmup)
    if name == "cosine":
        decay = int(cfg.decay_steps)
        if decay <= warmup:
            raise ValueError(f"optim.decay_steps: expected > warmup_steps ({warmup}), got {decay}")
        return optax.warmup_cosine_decay_schedule(0.0, lr, warmup, decay, lr * float(cfg.get("end_lr_factor", 0.0)))
    raise ValueError(f"optim.schedule: expected one of {SCHEDULES}, got {name!r}")


def centralize_gradients() -> optax.GradientTransformation:
    """Gradient centralisation: subtract the mean over all axes but the last (output) one.

    torch conv/linear weights are (out, in, ...) and ranger.py averages over every axis except the
    first (out); Flax kernels are (..., in, out), so the output axis is the last. Arrays with one
    dimension (biases) are left alone (gc_conv_only=False, training.md §3).
    """

    def update_fn(updates, state, params=None):
        del params
        centred = jax.tree.map(
            lambda g: g - jnp.mean(g, axis=tuple(range(g.ndim - 1)), keepdims=True) if g.ndim > 1 else g, updates)
        return centred, state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update_fn)


class RAdamState(NamedTuple):
    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates


def scale_by_torch_radam(b1=0.95, b2=0.999, eps=1e-5, threshold=5.0) -> optax.GradientTransformation:
    """RAdam as ranger.py computes it (training.md §3): eps is added to sqrt(v) (not to the
    bias-corrected sqrt(v_hat) as optax.scale_by_radam does) and the rectified step needs N_t > 5."""

    def init_fn(params):
        zeros = lambda p: jnp.zeros_like(p)
        return RAdamState(jnp.zeros([], jnp.int32), jax.tree.map(zeros, params), jax.tree.map(zeros, params))

    def update_fn(updates, state, params=None):
        del params
        t = state.count + 1
        tf = t.astype(jnp.float32)
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, updates)
        nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state.nu, updates)
        # 1 - b^t via expm1 of a log taken in double precision: in float32, 1 - 0.999^t loses
        # about 1e-5 relative to cancellation, which shifts every early step by as much.
        bc2 = -jnp.expm1(tf * math.log(b2))
        bc1 = -jnp.expm1(tf * math.log(b1))
        n_max = 2.0 / (1.0 - b2) - 1.0
        n_t = n_max - 2.0 * tf * (1.0 - bc2) / bc2
        rect = jnp.sqrt(jnp.maximum(bc2 * (n_t - 4) * (n_t - 2) * n_max / ((n_max - 4) * (n_max - 2) * n_t), 0.0))
        use_rect = n_t > threshold
        out = jax.tree.map(
            lambda m, v: jnp.where(use_rect, rect / bc1 * m / (jnp.sqrt(v) + eps), m / bc1), mu, nu)
        return out, RAdamState(t, mu, nu)

    return optax.GradientTransformation(init_fn, update_fn)


class LookaheadState(NamedTuple):
    count: jax.Array
    slow: optax.Params


def lookahead_inplace(k=6, alpha=0.5) -> optax.GradientTransformation:
    """Lookahead (Zhang et al. 2019) on an unchanged params tree: every k-th step the slow weights
    move alpha of the way to the fast ones and the fast ones are reset onto them (training.md §3).
    Must be the last transformation (it turns the final update into a params delta)."""

    def init_fn(params):
        return LookaheadState(jnp.zeros([], jnp.int32), jax.tree.map(jnp.asarray, params))

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("lookahead_inplace: params are required (pass params to tx.update)")
        count = state.count + 1
        sync = count % k == 0
        fast = jax.tree.map(lambda p, u: p + u, params, updates)
        slow = jax.tree.map(lambda s, f: jnp.where(sync, s + alpha * (f - s), s), state.slow, fast)
        new_updates = jax.tree.map(lambda u, s, p: jnp.where(sync, s - p, u), updates, slow, params)
        return new_updates, LookaheadState(count, slow)

    return optax.GradientTransformation(init_fn, update_fn)


def make_optimizer(cfg) -> optax.GradientTransformation:
    """One network's optax optimiser from its `config.optim.<net>` section (see module doc)."""
    name = cfg.get("name", "adam")
    if name not in OPTIMIZERS:
        raise ValueError(f"optim.name: expected one of {OPTIMIZERS}, got {name!r}")
    lr = make_schedule(cfg)
    chain = []
    clip = float(cfg.get("clip_norm", 0.0))
    if clip > 0:
        chain.append(optax.clip_by_global_norm(clip))
    if name == "adam":
        chain.append(optax.scale_by_adam(cfg.get("b1", 0.9), cfg.get("b2", 0.999), cfg.get("eps", 1e-8)))
    elif name == "adamw":
        chain += [optax.scale_by_adam(cfg.get("b1", 0.9), cfg.get("b2", 0.999), cfg.get("eps", 1e-8)),
                  optax.add_decayed_weights(float(cfg.get("weight_decay", 1e-4)))]
    elif name == "sgd":
        momentum = float(cfg.get("momentum", 0.0))
        if momentum > 0:
            chain.append(optax.trace(momentum))
    else:  # ranger
        if cfg.get("centralize", True):
            chain.append(centralize_gradients())
        chain.append(scale_by_torch_radam(cfg.get("b1", 0.95), cfg.get("b2", 0.999), cfg.get("eps", 1e-5),
                                          cfg.get("sma_threshold", 5.0)))
        if float(cfg.get("weight_decay", 0.0)) > 0:
            chain.append(optax.add_decayed_weights(float(cfg.weight_decay)))
    chain.append(optax.scale_by_learning_rate(lr))
    if name == "ranger":
        chain.append(lookahead_inplace(int(cfg.get("lookahead_k", 6)), float(cfg.get("lookahead_alpha", 0.5))))
    return optax.chain(*chain)
