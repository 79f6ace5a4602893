"""PTI, pivotal tuning inversion (configs/pti.py): a W+ pivot from the projector (wplus.py), then all
generator parameters are fine-tuned with the pivot fixed.

  state = init(gen.params, batch, config.tune, static)
  step = make_step(gen_cfg, static_settings(config.tune, config.pose_opt, lpips_net))
  state, metrics = step(state, frozen, ws, target, camera)    # frozen = {'buffers', 'lpips'}

The tuning loss is l2 * MSE + lpips * LPIPS between the render of the pivot and the target at full
size (MSE alone without LPIPS weights); Adam at lr 3e-4 on every entry of the variables' 'params'
(the 'buffers' — w_avg, the const noise — stay). The loop in `run` stops early once LPIPS <= the
threshold: as in PTI the check is made on the loss before an update, and that update is dropped (the
step is pure; the host keeps the previous state). PTI's locality regulariser (tune.locality_weight
> 0, `locality_loss`) is off by default, as in PTI. With pose refinement the camera delta keeps being optimised (its own Adam) on top of
the pivot stage's refined camera.
"""
import functools
import time
from typing import Any, Mapping, Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import struct, traverse_util

from inversion3d import camera as camera_lib
from inversion3d.inversion import optimization as opt
from inversion3d.inversion import wplus
from inversion3d.nn.variables import check_variables


@struct.dataclass
class State:
    """step: int32 (); params: the generator's 'params' tree being tuned; pose (N, 6) camera delta;
    opt / pose_opt their Adam moments; hparams: float32 scalars (lr, Adam b1 / b2 / eps, loss weights, pose_*)."""

    step: jax.Array
    params: Any
    pose: jax.Array
    opt: Any
    pose_opt: Any
    hparams: Mapping[str, jax.Array]


Static = opt.Static


def static_settings(tune, pose_opt, lpips_net: Optional[str]) -> Static:
    """tune: config.tune; pose_opt: config.pose_opt (configs/pti.py)."""
    return Static(lpips_net, int(tune.resolution), bool(pose_opt.enabled))


def init(gen_variables, batch: int, tune, pose_opt) -> State:
    """Tuning starts from the loaded generator's params and a zero camera delta."""
    params = jax.tree.map(jnp.asarray, gen_variables["params"])
    pose = jnp.zeros((batch, 6), jnp.float32)
    loc = tune.get("locality") or {}
    hp = {"lr": tune.lr, "b1": tune.b1, "b2": tune.b2, "eps": tune.eps, "mse": tune.l2, "lpips": tune.lpips,
          "fallback_mse": tune.fallback_mse, "locality_weight": tune.get("locality_weight", 0.0),
          "locality_l2": loc.get("l2", 0.0), "locality_lpips": loc.get("lpips", 0.0),
          "locality_alpha": loc.get("alpha", 0.0), "locality_psi": loc.get("psi", 1.0), "pose_lr": pose_opt.lr, "pose_b1": pose_opt.b1, "pose_b2": pose_opt.b2,
          "pose_eps": pose_opt.eps}
    return State(step=jnp.zeros((), jnp.int32), params=params, pose=pose, opt=opt.adam_init(params),
                 pose_opt=opt.adam_init(pose),
                 hparams={k: jnp.asarray(v, jnp.float32) for k, v in hp.items()})


def objective(cfg, static: Static, gen_params, delta, frozen, ws, target, camera, weights):
    """Loss of the pivot's render with generator params `gen_params` at the corrected camera."""
    variables = {"params": gen_params, "buffers": frozen["buffers"]}
    return opt.projection_loss(cfg, static, variables, ws, camera, delta, target, weights, frozen.get("lpips", {}))


def locality_loss(cfg, static: Static, params, frozen, ws, camera, rng, hp):
    """PTI's space regulariser: `samples` codes w_z = mapping(z, cond, psi) (z ~ N(0, 1) from rng), each
    moved from the pivot ws by alpha along (w_z - ws) / ||w_z - ws|| (one norm over the whole code); the
    tuned and the original generator render it at `camera` and the loss is the mean over samples of
    l2 * MSE + lpips * LPIPS between the two (MSE alone without LPIPS weights).
    frozen: {'buffers', 'original' (the generator's params before tuning), 'cond' (25,), 'lpips'}."""
    from inversion3d.generators import eg3d
    from inversion3d.losses.lpips import LPIPS, lpips_loss

    num = frozen["samples"].shape[0]
    z = jax.random.normal(rng, (num, cfg.z_dim))
    original = {"params": frozen["original"], "buffers": frozen["buffers"]}
    w_z = eg3d.mapping(cfg, original, z, jnp.broadcast_to(frozen["cond"], (num, 25)), hp["locality_psi"])
    total = 0.0
    for i in range(num):
        d = w_z[i][None] - ws[:1]
        w_r = ws[:1] + hp["locality_alpha"] * d / jnp.sqrt(jnp.sum(jnp.square(d)))
        new = eg3d.synthesize(cfg, {"params": params, "buffers": frozen["buffers"]}, w_r, camera[:1],
                              noise_mode=opt.NOISE_MODE)["image"]
        old = jax.lax.stop_gradient(eg3d.synthesize(cfg, original, w_r, camera[:1], noise_mode=opt.NOISE_MODE)["image"])
        term = hp["locality_l2"] * opt.mse(new, old)
        if static.lpips_net is not None:
            term = term + hp["locality_lpips"] * lpips_loss(LPIPS(static.lpips_net), frozen["lpips"], new, old)
        total = total + term
    return total / num


def step(cfg, static: Static, state: State, frozen, ws, target, camera, rng=None):
    """One tuning step -> (state, metrics); ws (N, num_ws, w_dim) is the fixed pivot. With
    frozen['original'] (locality on) the space regulariser is added, its z drawn from fold_in(rng, step)."""
    hp = state.hparams
    local = "original" in frozen

    def fn(p, d):
        loss, metrics = objective(cfg, static, p, d, frozen, ws, target, camera, hp)
        if local:
            cam = camera_lib.apply_camera_delta(camera, d)
            reg = locality_loss(cfg, static, p, frozen, ws, cam, jax.random.fold_in(rng, state.step), hp)
            loss = loss + hp["locality_weight"] * reg
            metrics = dict(metrics, locality=reg, loss=loss)
        return loss, metrics

    metrics, g_params, g_pose = opt.loss_and_grads(fn, state.params, state.pose, static.pose_opt)
    params, opt_state = opt.adam_update(state.params, g_params, state.opt, hp["lr"], hp["b1"], hp["b2"], hp["eps"])
    new = opt.update_pose(state.replace(step=state.step + 1, params=params, opt=opt_state), g_pose, hp)
    return new, dict(metrics, grad_norm=opt.tree_norm(g_params))


@functools.lru_cache(maxsize=None)
def make_step(cfg, static: Static):
    """`step` for one generator config and static settings, jit-compiled once and reused."""
    return jax.jit(functools.partial(step, cfg, static))


def pivot_config(config):
    """config.pivot with the run's pose refinement settings (config.pose_opt drives both stages)."""
    pivot = ml_collections.ConfigDict(config.pivot.to_dict())
    pivot.pose_opt = ml_collections.ConfigDict(config.pose_opt.to_dict())
    return pivot


def run(gen, target, camera, config, lpips: Optional[Mapping] = None, rng=None, w_stats=None, log=print):
    """PTI of target images (N, S, S, 3) in [-1, 1] seen from cameras (N, 25); use N = 1 (one
    generator is tuned for all N images).

    config: configs/pti.py; lpips: {net: variables} or None (MSE only, no early stop).
    Returns {'ws' (N, num_ws, w_dim) the pivot, 'variables' the tuned generator {'params', 'buffers'},
    'camera' (N, 25) (refined with pose_opt), 'pose_delta_pivot' / 'pose_delta_tune' (N, 6) (the tuning
    delta applies to the pivot's refined camera), 'pivot_losses',
    'tune_losses' (before each update), 'tune_steps' (updates applied), 'stopped_early', 'config'}.
    """
    tune = config.tune
    if float(tune.locality_weight) < 0.0:
        raise ValueError(f"tune.locality_weight: expected >= 0, got {tune.locality_weight}")
    pivot = wplus.run(gen, target, camera, pivot_config(config), lpips, rng=rng, w_stats=w_stats, log=log,
                      stage="pti pivot")
    cfg, ws, cam = pivot["config"], pivot["ws"], pivot["camera"]
    target = jnp.asarray(target, jnp.float32)
    net, lpips_vars = opt.pick_lpips(lpips, tune.lpips_net, log, "pti tune")
    if net is None:
        log("[pti tune] note: no LPIPS weights: MSE only, no early stop")
    static = static_settings(tune, config.pose_opt, net)
    state = init(gen.params, target.shape[0], tune, config.pose_opt)
    step_fn = make_step(cfg, static)
    frozen = {"buffers": gen.params["buffers"], "lpips": lpips_vars}
    args = (frozen, ws, target, cam)
    if float(tune.locality_weight) > 0:
        frozen.update(original=gen.params["params"], cond=jnp.asarray(camera_lib.generator_frontal_label(gen)),
                      samples=jnp.zeros((int(tune.locality.samples),)))
        args = args + (jax.random.PRNGKey(int(tune.locality.seed)),)
    threshold = None if net is None else float(tune.lpips_threshold)
    state, losses, stopped = tune_loop(step_fn, state, args, int(tune.max_steps), threshold,
                                       int(tune.log_every), log)
    return {"ws": ws, "variables": {"params": state.params, "buffers": gen.params["buffers"]},
            "camera": camera_lib.apply_camera_delta(cam, state.pose), "pose_delta_pivot": pivot["pose_delta"],
            "pose_delta_tune": state.pose,
            "pivot_losses": pivot["losses"], "tune_losses": losses,
            "tune_steps": int(state.step), "stopped_early": stopped, "config": cfg}


def tune_loop(step_fn, state, args, max_steps: int, threshold: Optional[float], log_every: int, log=print):
    """Host loop: state, metrics = step_fn(state, *args) up to max_steps times. When metrics['lpips']
    <= threshold (None: never) the loop stops and that step's update is dropped (PTI breaks before
    optimizer.step). Returns (state, losses before each update incl. the stopping one, stopped)."""
    losses, start = [], time.time()
    for i in range(max_steps):
        new, metrics = step_fn(state, *args)
        losses.append(float(metrics["loss"]))
        if threshold is not None and float(metrics["lpips"]) <= threshold:
            log(f"[pti tune] LPIPS {float(metrics['lpips']):.4f} <= {threshold}: stop after {i} steps")
            return state, np.asarray(losses, np.float32), True
        state = new
        if (i + 1) % max(1, log_every) == 0 or i + 1 == max_steps:
            log(f"[pti tune] step {i + 1}/{max_steps}: {wplus.format_metrics(metrics)} "
                f"({(time.time() - start) / (i + 1):.2f} s/step)")
    return state, np.asarray(losses, np.float32), False


def save_variables(path, variables):
    """Writes a variables tree as an .npz of '/'-joined keys ('params/backbone/...', 'buffers/...')."""
    flat = traverse_util.flatten_dict(jax.device_get(variables), sep="/")
    np.savez(path, **{k: np.asarray(v) for k, v in flat.items()})


def load_variables(path, gen):
    """Reads `save_variables` output for a Generator of the same config -> float32 variables tree
    (checked against gen.params' leaves and shapes; ValueError naming every leaf that differs)."""
    with np.load(path) as data:
        tree = traverse_util.unflatten_dict({k: data[k] for k in data.files}, sep="/")
    return jax.tree.map(jnp.asarray, check_variables(tree, gen.params, source=str(path)))
