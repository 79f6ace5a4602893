"""Alternating generator-side / discriminator-side updates with lazy R1 (StyleGAN2 §B, training.md §2).

One step = the generator-side network's update (the encoder, or a generator in PTI-style tuning)
-> the discriminator's update -> every `r1_every` steps an extra discriminator update on the R1
penalty, scaled by r1_every (lazy regularisation). The two step variants (with and without R1)
are compiled separately and picked on the host, so no step pays for R1 it does not use.

Loss functions have the `step.net_update` signature; their last argument is a context dict
{'frozen': frozen arrays, 'params': all nets' current params, 'batch_stats': ...}, so the
discriminator loss can run the (already updated) encoder and the encoder loss the discriminator,
both as constants of their gradient.
"""
from typing import Callable, Optional

import jax

from inversion3d.losses import adversarial
from inversion3d.training import step as step_lib


def r1_penalty(d_apply: Callable, gamma: float, every: int, real_key: str = "real"):
    """-> loss_fn on the discriminator params: gamma / 2 * E_batch[sum |dD(x)/dx|^2] * every
    (`losses.adversarial.r1_penalty`, lazily scaled like `losses.adversarial.r1_loss`).

    d_apply(params, batch_stats, x) -> (N,) or (N, 1) logits on real inputs batch[real_key].
    Samples are independent inside D (no minibatch statistics), so the input gradient of the
    summed logits is the per-sample gradient.
    """

    def loss_fn(params, batch_stats, batch, rng, ctx):
        del rng, ctx
        penalty = adversarial.r1_penalty(lambda x: d_apply(params, batch_stats, x), batch[real_key])
        return 0.5 * gamma * penalty * every, ({"r1_penalty": penalty}, batch_stats)

    return loss_fn


def make_gan_step(g_loss_fn, d_loss_fn, r1_loss_fn, g_net: str = "encoder", d_net: str = "discriminator",
                  mode: str = "jit", mesh=None, skip_nonfinite: bool = False):
    """-> step(state, batch, frozen, regularize: bool static) -> (state, metrics).

    Metrics are prefixed 'g/', 'd/' and (on R1 steps) 'r1/'. skip_nonfinite: each update keeps its
    network's old state when its loss terms or gradients are not finite (step.net_update).
    """
    updates = {"skip_nonfinite": skip_nonfinite}
    g_update = step_lib.net_update(g_loss_fn, g_net, mode, mesh, prefix="g/", **updates)
    d_update = step_lib.net_update(d_loss_fn, d_net, mode, mesh, prefix="d/", **updates)
    r1_update = step_lib.net_update(r1_loss_fn, d_net, mode, mesh, prefix="r1/", **updates) if r1_loss_fn else None

    def context(state, frozen):
        return {"frozen": frozen, "params": state.params, "batch_stats": state.batch_stats}

    def step(state, batch, frozen, regularize=False):
        k_g, k_d, k_r = jax.random.split(jax.random.fold_in(state.rng, state.step), 3)
        state, metrics = g_update(state, batch, k_g, context(state, frozen))
        state, d_metrics = d_update(state, batch, k_d, context(state, frozen))
        metrics.update(d_metrics)
        if regularize and r1_update is not None:
            state, r_metrics = r1_update(state, batch, k_r, context(state, frozen))
            metrics.update(r_metrics)
        return state.next_step(), metrics

    return step


class LazyRegularizedStep:
    """Compiles `make_gan_step`'s two variants; call(state, batch, frozen, step_index) runs the R1
    variant when step_index % r1_every == 0 (StyleGAN2's phase schedule). r1_every None: a method
    without a regulariser; only the regularize=False variant exists (one compilation).

    r1_every may also be a tuple of intervals (several lazy regularisers, e.g. EG3D's G density
    regulariser every 4 and D's R1 every 16): `regularize` is then the tuple of the per-interval
    flags (step_index % k == 0 for each k; an interval None: that regulariser is off, its flag always
    False, so no variant is compiled for it); each variant compiles on its first use.

    stage: optional host function step_index -> a hashable static value that shapes the step (EG3D's
    neural rendering resolution fade); the step is then called step(s, b, f, regularize, stage_value)
    and compiled once per (variant, stage value) on first use. Variants of a stage the run has left
    are dropped when a new stage starts (schedules only move forward), so at most one stage's
    executables are held."""

    def __init__(self, step: Callable, r1_every, mesh, state_shardings, batch_shardings, frozen_shardings,
                 stage: Optional[Callable] = None):
        self.intervals = (tuple(None if k is None else int(k) for k in r1_every)
                          if isinstance(r1_every, (tuple, list)) else None)
        for k in self.intervals or (() if r1_every is None else (r1_every,)):
            if k is not None and k < 1:
                raise ValueError(f"r1_every: expected intervals >= 1 or None, got {r1_every}")
        self.r1_every = None if r1_every is None or self.intervals else int(r1_every)
        self.stage = stage
        self.compiles = 0  # executables built so far (all stages)
        self._stage_value = None

        def compile_(reg, *static):
            self.compiles += 1
            return step_lib.compile_step(lambda s, b, f: step(s, b, f, reg, *static), mesh,
                                         state_shardings, batch_shardings, frozen_shardings)

        self._compile = compile_
        self._fns = {}
        if not self.intervals and stage is None:
            for reg in (False,) if self.r1_every is None else (False, True):
                self._fns[reg] = compile_(reg)

    def __call__(self, state, batch, frozen, step_index: int):
        if self.intervals:
            regularize = tuple(k is not None and int(step_index) % k == 0 for k in self.intervals)
        else:
            regularize = self.r1_every is not None and int(step_index) % self.r1_every == 0
        if self.stage is None:
            key, static = regularize, ()
        else:
            value = self.stage(int(step_index))
            if value != self._stage_value:  # a new stage: the old stage's executables are not needed again
                self._fns = {k: f for k, f in self._fns.items() if k[1] == value}
                self._stage_value = value
            key, static = (regularize, value), (value,)
        if key not in self._fns:
            self._fns[key] = self._compile(regularize, *static)
        return self._fns[key](state, batch, frozen)
