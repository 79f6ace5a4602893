"""W+ optimisation: the EG3D / StyleGAN2 projector in W+ (configs/wplus.py), with optional camera
refinement ("Pose Opt.", GOAE Table 1); config.space = 'w' optimises one w per image instead (the
projector's original W space, In-N-Out's "W" baseline).

  state = init(w_avg, w_std, num_ws, batch, config)           # ws = w_avg repeated over all num_ws
  step = make_step(gen_cfg, static_settings(config, lpips_net))  # jit-compiled once per setting
  state, metrics = step(state, params, target, camera, rng)   # params = {'generator', 'lpips'}

Each step (t = step / num_steps): lr from the projector schedule (optimization.learning_rate);
ws_input = ws + N(0, 1) * w_std * noise_factor * max(0, 1 - t / noise_ramp)^2 (draws from
fold_in(rng, step)); loss = lpips * LPIPS + mse * MSE between synth and target, both area-averaged to
256 when larger (MSE alone when no LPIPS weights are given); Adam(0.9, 0.999) on ws. The synthesis
noise is 'const' (the stored buffers), so the projector's noise regulariser has nothing to act on and
is left out. With pose refinement an axis-angle + translation delta (N, 6) of the target camera is
optimised jointly by its own Adam at a constant lr (camera.apply_camera_delta, optimization.update_pose).
`run` is the host loop (progress every `log_every` steps).
"""
import functools
import time
from typing import Any, Mapping, Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from inversion3d import camera as camera_lib
from inversion3d.inversion import optimization as opt


@struct.dataclass
class State:
    """step, num_steps: int32 (); ws (N, num_ws, w_dim) the latent without noise; w_std (); pose (N, 6)
    the camera delta; opt / pose_opt their Adam moments; hparams: float32 scalars (see HPARAMS)."""

    step: jax.Array
    num_steps: jax.Array
    ws: jax.Array
    w_std: jax.Array
    pose: jax.Array
    opt: Any
    pose_opt: Any
    hparams: Mapping[str, jax.Array]


Static = opt.Static


def hparams(config) -> dict:
    """The traced scalars of a configs/wplus.py config (changing them reuses the compiled step)."""
    o, p = config.optim, config.pose_opt
    values = {"lr": o.lr, "b1": o.b1, "b2": o.b2, "eps": o.eps, "lr_rampdown_length": o.lr_rampdown_length,
              "lr_rampup_length": o.lr_rampup_length, "noise_factor": config.noise.initial_noise_factor,
              "noise_ramp_length": config.noise.noise_ramp_length, "mse": config.losses.mse,
              "lpips": config.losses.lpips, "fallback_mse": config.losses.fallback_mse,
              "pose_lr": p.lr, "pose_b1": p.b1, "pose_b2": p.b2, "pose_eps": p.eps}
    return {k: jnp.asarray(v, jnp.float32) for k, v in values.items()}


def static_settings(config, lpips_net: Optional[str]) -> Static:
    return Static(lpips_net, int(config.losses.resolution), bool(config.pose_opt.enabled))


def init(w_avg, w_std, num_ws: int, batch: int, config) -> State:
    """The projector's start: w_avg (w_dim,) repeated over num_ws (W+) for `batch` images; with
    config.space == 'w' a single w per image (N, 1, w_dim), repeated over the layers when rendered."""
    w_avg = jnp.asarray(w_avg, jnp.float32).reshape(-1)
    space = config.get("space", "wplus")
    if space not in ("wplus", "w"):
        raise ValueError(f"space: expected 'wplus' or 'w', got {space!r}")
    ws = jnp.broadcast_to(w_avg, (batch, num_ws if space == "wplus" else 1, w_avg.shape[0]))
    pose = jnp.zeros((batch, 6), jnp.float32)
    return State(step=jnp.zeros((), jnp.int32), num_steps=jnp.asarray(config.num_steps, jnp.int32), ws=ws,
                 w_std=jnp.asarray(w_std, jnp.float32), pose=pose, opt=opt.adam_init(ws),
                 pose_opt=opt.adam_init(pose), hparams=hparams(config))


def objective(cfg, static: Static, ws, delta, params, target, camera, weights):
    """Loss of the render of ws (N, num_ws, w_dim) at the corrected camera -> (loss, metrics)."""
    return opt.projection_loss(cfg, static, params["generator"], ws, camera, delta, target, weights,
                           params.get("lpips", {}))


def step(cfg, static: Static, state: State, params, target, camera, rng):
    """One projector step -> (state, metrics). target (N, S, S, 3) in [-1, 1], camera (N, 25)."""
    hp = state.hparams
    lr = opt.learning_rate(state.step, state.num_steps, hp["lr"], hp["lr_rampdown_length"], hp["lr_rampup_length"])
    scale = opt.w_noise_scale(state.step, state.num_steps, state.w_std, hp["noise_factor"], hp["noise_ramp_length"])
    noise = jax.random.normal(jax.random.fold_in(rng, state.step), state.ws.shape) * scale
    fn = lambda ws, delta: objective(cfg, static, expand(cfg, ws + noise), delta, params, target, camera, hp)  # noqa: E731
    metrics, g_ws, g_pose = opt.loss_and_grads(fn, state.ws, state.pose, static.pose_opt)
    ws, opt_state = opt.adam_update(state.ws, g_ws, state.opt, lr, hp["b1"], hp["b2"], hp["eps"])
    new = opt.update_pose(state.replace(step=state.step + 1, ws=ws, opt=opt_state), g_pose, hp)
    metrics = dict(metrics, lr=lr, noise_scale=scale, grad_norm=opt.tree_norm(g_ws))
    if g_pose is not None:
        metrics["pose_grad_norm"] = opt.tree_norm(g_pose)
    return new, metrics


def expand(cfg, ws):
    """(N, 1 | num_ws, w_dim) -> (N, num_ws, w_dim): a W-space code repeated over the layers."""
    return jnp.broadcast_to(ws, (ws.shape[0], cfg.num_ws, ws.shape[-1]))


@functools.lru_cache(maxsize=None)
def make_step(cfg, static: Static):
    """`step` for one generator config and static settings, jit-compiled once and reused."""
    return jax.jit(functools.partial(step, cfg, static))


def format_metrics(metrics) -> str:
    keys = [k for k in ("loss", "lpips", "mse", "lr") if k in metrics]
    return " ".join(f"{k} {float(metrics[k]):.4g}" for k in keys)


def run(gen, target, camera, config, lpips: Optional[Mapping] = None, rng=None, w_stats=None, log=print,
        stage: str = "wplus"):
    """Projects target images (N, S, S, 3) in [-1, 1] seen from cameras (N, 25) into W+.

    gen: a Generator; config: configs/wplus.py; lpips: {net: variables} of the user's LPIPS weights or
    None (MSE only); rng: PRNG key of the latent noise (default PRNGKey(config.seed)); w_stats:
    (w_avg, w_std) if already computed (else from config.w_avg_samples z with the frontal camera).
    Returns {'ws' (N, num_ws, w_dim), 'camera' (N, 25) refined (= input without pose refinement),
    'pose_delta' (N, 6), 'losses' (steps,) before each update, 'config' (the generator config used)}.
    """
    target = jnp.asarray(target, jnp.float32)
    camera = jnp.asarray(camera, jnp.float32).reshape(-1, 25)
    cfg = opt.projector_config(gen.config, gen.kind, config.panohead_ray_start)
    if w_stats is None:
        w_stats = opt.compute_w_statistics(gen, camera_lib.generator_frontal_label(gen), config.w_avg_samples,
                                           config.w_avg_seed)
    net, lpips_vars = opt.pick_lpips(lpips, config.losses.lpips_net, log, stage)
    static = static_settings(config, net)
    state = init(w_stats[0], w_stats[1], cfg.num_ws, target.shape[0], config)
    step_fn = make_step(cfg, static)
    params = {"generator": gen.params, "lpips": lpips_vars}
    rng = jax.random.PRNGKey(config.seed) if rng is None else rng
    losses, start, total = [], time.time(), int(config.num_steps)
    for i in range(total):
        state, metrics = step_fn(state, params, target, camera, rng)
        losses.append(metrics["loss"])
        if (i + 1) % max(1, int(config.log_every)) == 0 or i + 1 == total:
            jax.block_until_ready(state)  # steps are dispatched asynchronously: time them finished
            per_step = (time.time() - start) / (i + 1)
            log(f"[{stage}] step {i + 1}/{total}: {format_metrics(metrics)} ({per_step:.2f} s/step)")
    return {"ws": expand(cfg, state.ws), "camera": camera_lib.apply_camera_delta(camera, state.pose), "pose_delta": state.pose,
            "losses": np.asarray(jnp.stack(losses)) if losses else np.zeros(0, np.float32), "config": cfg}
