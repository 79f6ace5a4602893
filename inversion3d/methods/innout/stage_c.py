"""In-N-Out stage C: super-resolution fine-tuning (in-n-out.md §3), saved as a delta over the base SR.

T_O, D_O, phi and w+ are frozen, so the composite feature image of each frame is rendered once
(deterministically: no renderer jitter, ours) and only the generator's SR runs per step: Adam
(lr 1e-3) on the SR parameters, MSE + LPIPS-VGG of the composite SR vs the target, one frame per
step, `epochs` passes over the frames in shuffled order.
"""
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from inversion3d.losses.lpips import LPIPS, lpips_loss
from inversion3d.methods.innout import losses
from inversion3d.methods.innout.field import composite_synthesize, superresolve
from inversion3d.methods.innout.stage_a import _progress


@functools.partial(jax.jit, static_argnums=0)
def feature_images(cfg, gen_vars, field, codes, ws, cams):
    """(T, R, R, C) composite feature images of every frame (lax.map over frames)."""
    def one(args):
        w, code, c = args
        return composite_synthesize(cfg, gen_vars, field, w[None], code[None], c[None])["feature_image"][0]
    return jax.lax.map(one, (ws, codes, cams))


@functools.lru_cache(maxsize=None)
def _adam(lr):
    return optax.adam(lr, b1=0.9, b2=0.999, eps=1e-8)


@functools.partial(jax.jit, static_argnums=(0, 1, 2), donate_argnums=(3, 4))
def _step(cfg, lpips_net, tx, sr, opt_state, gen_vars, lpips_vars, weights, feats, ws, target):
    def fn(sr):
        img = superresolve(cfg, gen_vars, sr, feats, ws)
        err = losses.mse(img, target)
        metrics = {"mse": err}
        loss = weights["mse"] * err
        if lpips_net is not None:
            metrics["lpips"] = lpips_loss(LPIPS(lpips_net), lpips_vars, img, target)
            loss = loss + weights["lpips"] * metrics["lpips"]
        return loss, dict(metrics, loss=loss)

    (_, metrics), grads = jax.value_and_grad(fn, has_aux=True)(sr)
    updates, opt_state = tx.update(grads, opt_state, sr)
    return optax.apply_updates(sr, updates), opt_state, metrics


def run(gen, data, params, config, lpips=None, log=print, epochs=None):
    """Stage C -> {'sr_delta' (tuned - base SR params), 'losses' (steps,), 'step_time' (s)}.

    data: stage_b.prepare_data; params: stage B's {'field', 'codes', 'ws'}.
    """
    from inversion3d.inversion.optimization import pick_lpips

    c = config.stage_c
    cfg = gen.config
    base = gen.params["params"]["superresolution"]
    feats = feature_images(cfg, gen.params, params["field"], params["codes"], params["ws"], data["cams"])
    net, lpips_vars = pick_lpips(lpips, "vgg", log, "innout C")
    weights = {"mse": jnp.float32(c.mse), "lpips": jnp.float32(c.lpips)}
    tx = _adam(float(c.lr))
    sr = jax.tree.map(jnp.array, base)  # a copy: the step donates its input
    opt_state = tx.init(sr)
    num = feats.shape[0]
    total = int(c.epochs if epochs is None else epochs) * num
    order, history, start, step_time, t_mark = np.random.RandomState(config.seed), [], time.time(), 0.0, 0.0
    step = 0
    while step < total:
        for t in order.permutation(num):
            sr, opt_state, metrics = _step(cfg, net, tx, sr, opt_state, gen.params, lpips_vars, weights,
                                           feats[t][None], params["ws"][t][None], data["targets"][t][None])
            history.append(metrics["loss"])
            step += 1
            if step == 1 or (step == total and total > 2):  # seconds per step after the compile
                jax.block_until_ready(metrics)
                t_mark = time.time() if step == 1 else t_mark
                step_time = (time.time() - t_mark) / max(step - 1, 1)
            if step % max(1, int(config.log_every)) == 0 or step == total:
                _progress(log, "C", step, total, start, metrics)
            if step == total:
                break
    delta = jax.tree.map(lambda a, b: a - b, sr, base)
    return {"sr_delta": delta, "losses": np.asarray(jnp.stack(history)) if history else np.zeros(0, np.float32),
            "step_time": step_time}


def apply_delta(gen_vars, sr_delta):
    """The SR parameters of a sequence: base + delta (None: the base)."""
    base = gen_vars["params"]["superresolution"]
    return base if sr_delta is None else jax.tree.map(lambda a, b: a + b, base, sr_delta)
