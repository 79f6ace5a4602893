"""Pieces shared by optimisation-based inversion (wplus.py: the W+ projector; pti.py: pivotal tuning):
the projector's learning-rate and latent-noise schedules, w statistics, the Adam update of the latent /
generator and of the camera delta, the render loss, and camera refinement alone (the "Pose Opt."
baseline of GOAE Table 1; the camera delta itself is `camera.apply_camera_delta`).

Everything here is a pure function of arrays; the numbers come from configs/wplus.py and
configs/pti.py. Images are NHWC in [-1, 1]; cameras are (N, 25) labels (eg3d.md §8).
"""
import dataclasses
import functools
from typing import Callable, Mapping, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from inversion3d import camera
from inversion3d.generators import eg3d
from inversion3d.inversion import common
from inversion3d.losses.lpips import LPIPS, lpips_loss

NOISE_MODE = common.NOISE_MODE  # 'const': the stored noise buffers, never optimised (no noise regulariser)


@dataclasses.dataclass(frozen=True)
class Static:
    """The settings of a W+ / PTI step that change the compiled program (everything else is a traced
    scalar in the state's hparams)."""

    lpips_net: Optional[str]  # None: MSE only (no LPIPS weights)
    loss_resolution: int
    pose_opt: bool


# --- schedules (the StyleGAN2 / EG3D projector, evaluated at t = step / num_steps) -------------------

def learning_rate(step, num_steps, initial_lr, rampdown_length, rampup_length):
    """Projector lr at `step` of `num_steps`: a cosine ramp-down over the last `rampdown_length` of the
    run times a linear ramp-up over the first `rampup_length` (fractions of the run). The first step
    (t = 0) therefore has lr 0, as in the official loop."""
    t = jnp.asarray(step, jnp.float32) / jnp.asarray(num_steps, jnp.float32)
    ramp = jnp.minimum(1.0, (1.0 - t) / rampdown_length)
    ramp = 0.5 - 0.5 * jnp.cos(jnp.pi * ramp)
    ramp = ramp * jnp.minimum(1.0, t / rampup_length)
    return initial_lr * ramp


def w_noise_scale(step, num_steps, w_std, noise_factor, noise_ramp_length):
    """Std of the Gaussian noise added to the latent: w_std * factor * max(0, 1 - t / ramp)^2."""
    t = jnp.asarray(step, jnp.float32) / jnp.asarray(num_steps, jnp.float32)
    return w_std * noise_factor * jnp.square(jnp.maximum(0.0, 1.0 - t / noise_ramp_length))


# --- w statistics --------------------------------------------------------------------------------

def sample_z(seed: int, num: int, z_dim: int) -> np.ndarray:
    """(num, z_dim) float32 standard normal draws from numpy's RandomState(seed) (the projector's
    `np.random.RandomState(123).randn(w_avg_samples, z_dim)`, cast to float32 as its mapping does)."""
    return np.random.RandomState(seed).randn(num, z_dim).astype(np.float32)


def w_statistics(cfg, variables, z, c):
    """z (N, z_dim), c (N, 25) conditioning cameras -> (w_avg (w_dim,), w_std ()).

    w = mapping(z, c)[:, 0] (psi 1); w_avg = mean over N; w_std = sqrt(sum ||w - w_avg||^2 / N)
    (a single scalar over all coordinates, as the projector computes it).
    """
    w = eg3d.mapping(cfg, variables, z, c)[:, 0]
    avg = jnp.mean(w, axis=0)
    std = jnp.sqrt(jnp.sum(jnp.square(w - avg)) / w.shape[0])
    return avg, std


_w_statistics = jax.jit(w_statistics, static_argnums=0)


def compute_w_statistics(gen, cond_camera, num_samples: int, seed: int):
    """Host helper: w statistics of `gen` (a Generator) for `num_samples` z from `seed`, every z
    mapped with the (25,) conditioning camera `cond_camera` -> (w_avg (w_dim,), w_std ())."""
    z = sample_z(seed, num_samples, gen.config.z_dim)
    c = np.repeat(np.asarray(cond_camera, np.float32).reshape(1, 25), num_samples, axis=0)
    return _w_statistics(gen.config, gen.params, z, c)


# --- shared update pieces of the W+ / PTI steps and camera refinement ------------------------------

def adam(b1, b2, eps):
    """torch.optim.Adam's direction m_hat / (sqrt(v_hat) + eps); the caller scales it by -lr. The
    arguments may be traced scalars (the steps keep them in their state: no recompilation)."""
    return optax.scale_by_adam(b1=b1, b2=b2, eps=eps)


def adam_init(params):
    """Zero Adam moments for `params` (independent of b1, b2, eps)."""
    return optax.scale_by_adam().init(params)


def adam_update(params, grads, opt_state, lr, b1, b2, eps):
    """One torch.optim.Adam step on a pytree: params - lr * m_hat / (sqrt(v_hat) + eps).
    lr, b1, b2, eps may be traced scalars. Returns (params, opt_state)."""
    updates, opt_state = adam(b1, b2, eps).update(grads, opt_state)
    return jax.tree.map(lambda p, u: p - lr * u, params, updates), opt_state


def loss_and_grads(fn, x, pose, pose_opt: bool):
    """fn(x, pose) -> (loss, metrics): (metrics, d loss / d x, d loss / d pose or None when not
    `pose_opt`: then the camera delta is a constant of the step and no pose gradient is computed)."""
    argnums = (0, 1) if pose_opt else 0
    (_, metrics), grads = jax.value_and_grad(fn, argnums=argnums, has_aux=True)(x, pose)
    return (metrics, grads[0], grads[1]) if pose_opt else (metrics, grads, None)


def update_pose(state, grad, hp):
    """The camera delta's own Adam step at the constant lr hp['pose_lr'] (hp['pose_b1' | 'pose_b2' |
    'pose_eps']) on a step state with fields pose (N, 6), pose_opt; grad None leaves the state."""
    if grad is None:
        return state
    pose, pose_opt = adam_update(state.pose, grad, state.pose_opt, hp["pose_lr"], hp["pose_b1"], hp["pose_b2"],
                                 hp["pose_eps"])
    return state.replace(pose=pose, pose_opt=pose_opt)


def refine_camera(label, render_loss: Callable, steps: int, lr: float, args: Sequence = (), b1: float = 0.9,
                  b2: float = 0.999, eps: float = 1e-8):
    """Camera refinement alone: Adam on a zero-initialised delta (N, 6) (see `camera.apply_camera_delta`) of
    `label` (25,) or (N, 25), minimising `render_loss(corrected (N, 25), *args) -> scalar` (a jax
    function; pass big arrays such as generator variables through `args`, not closed over).
    Returns (refined labels shaped like `label` (float32 numpy), losses (steps,) before each update).
    """
    label = np.asarray(label, np.float32)
    if steps <= 0:
        return label, np.zeros(0, np.float32)
    if not callable(render_loss):
        raise ValueError(f"render_loss: expected a function of the camera, got {type(render_loss).__name__}")
    c = jnp.asarray(label.reshape(-1, 25))

    @jax.jit
    def step(delta, opt_state, c, args):
        loss, grad = jax.value_and_grad(lambda d: render_loss(camera.apply_camera_delta(c, d), *args))(delta)
        delta, opt_state = adam_update(delta, grad, opt_state, lr, b1, b2, eps)
        return delta, opt_state, loss

    delta = jnp.zeros((c.shape[0], 6), jnp.float32)
    opt_state, losses = adam_init(delta), []
    for _ in range(steps):
        delta, opt_state, loss = step(delta, opt_state, c, tuple(args))
        losses.append(loss)
    out = np.asarray(camera.apply_camera_delta(c, delta)).reshape(label.shape)
    return out, np.asarray(jnp.stack(losses))


# --- losses ----------------------------------------------------------------------------------------

def loss_images(images, resolution: int):
    """Images as the losses see them: area-averaged down to `resolution` when larger (the projector's
    F.interpolate(mode='area') to 256); 0 or a larger size leaves them unchanged."""
    if resolution and images.shape[1] > resolution:
        return common.resize_image(images, resolution)
    return images


def mse(x, y):
    """Mean squared error over every pixel, channel and image (torch MSELoss(reduction='mean'))."""
    return jnp.mean(jnp.square(x - y))


def image_loss(synth, target, weights: Mapping, lpips_net: Optional[str], lpips_variables, resolution: int):
    """weights['mse'] * MSE + weights['lpips'] * LPIPS on images resized by `loss_images`.

    Without an LPIPS network (lpips_net None: no weights file) the loss is weights['fallback_mse'] * MSE.
    Returns (loss, {'loss', 'mse', 'lpips' (when computed)}).
    """
    x, y = loss_images(synth, resolution), loss_images(target, resolution)
    err = mse(x, y)
    metrics = {"mse": err}
    if lpips_net is None:
        loss = weights["fallback_mse"] * err
    else:
        dist = lpips_loss(LPIPS(lpips_net), lpips_variables, x, y)
        metrics["lpips"] = dist
        loss = weights["mse"] * err + weights["lpips"] * dist
    metrics["loss"] = loss
    return loss, metrics


def pick_lpips(lpips: Optional[Mapping], net: str, log=print, stage: str = "inversion"):
    """(net, variables) for a stage that wants `net`: that network when the user's weights hold it,
    else another one given (with a note), else (None, {}): the MSE fallback."""
    if not lpips:
        return None, {}
    if net in lpips:
        return net, lpips[net]
    other = sorted(lpips)[0]
    log(f"[{stage}] note: LPIPS-{net} weights not given, using LPIPS-{other}")
    return other, lpips[other]


def projection_loss(cfg, static: Static, variables, ws, cams, delta, target, weights, lpips_variables):
    """The W+ / PTI objective: `image_loss` of the render of ws (N, num_ws, w_dim) by the generator
    `variables` at the cameras cams (N, 25) corrected by delta (N, 6) -> (loss, metrics)."""
    c = camera.apply_camera_delta(cams, delta)
    synth = eg3d.synthesize(cfg, variables, ws, c, noise_mode=NOISE_MODE)["image"]
    return image_loss(synth, target, weights, static.lpips_net, lpips_variables, static.loss_resolution)


# --- generator set-up and final renders ------------------------------------------------------------

def projector_config(gen_cfg, kind: str, panohead_ray_start: float):
    """The generator config the projector renders with: PanoHead's projector sets ray_start 2.35
    after loading (panohead.md §7); EG3D's is unchanged."""
    if kind != "panohead" or not panohead_ray_start:
        return gen_cfg
    return dataclasses.replace(gen_cfg, render=dataclasses.replace(gen_cfg.render, ray_start=float(panohead_ray_start)))


def render_result(cfg, variables, ws, c):
    """ws (N, num_ws, w_dim), c (N, 25) -> the common result dict (inversion/common.py): ws, planes,
    image, image_raw, image_depth (deterministic: noise 'const', no jitter)."""
    planes = common.generator_planes(cfg, variables, ws)
    return common.result(ws, common.render(cfg, variables, planes, ws, c))


@functools.lru_cache(maxsize=None)
def result_renderer(cfg):
    """jit of `render_result` for one generator config: (variables, ws, c) -> result dict."""
    return jax.jit(functools.partial(render_result, cfg))


def tree_norm(tree):
    """Global L2 norm of a pytree (for the metrics)."""
    return optax.tree.norm(tree)
