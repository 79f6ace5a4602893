"""In-N-Out stage B: composite inversion (in-n-out.md §2.4-2.5).

Trainable: the OOD field (tri-plane T_O + decoder D_O, lr 5e-3), the per-frame codes phi (5e-3) and
the per-frame w+ (5e-5, frozen for a single image); Adam without schedule, one frame per step in
shuffled order. The generator is frozen. Without a mask the no-mask ("auto") variant runs
(train_outdomain_auto.py, §2.4): the w+ are re-parametrised as w_t = w_cano' + 0.7 r_t with
w_cano' = 0.7 w_cano + 0.3 N(0, 1) (stage A's w_cano, randomly re-initialised) and r stage A's
residuals, both trained at 5e-4, plus L_w toward w-bar and L_Delta. Loss = the weighted terms of
config.stage_b.losses on the composite (raw 128 and SR), the OOD-only render on the OOD pixels, the
blend entropy / area / sparsity of the per-sample b, and optionally the aligned monocular depth, L_w
and L_Delta.
"""
import dataclasses
import functools
import time
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from inversion3d.losses.lpips import LPIPS, lpips_loss
from inversion3d.losses.regularisers import blend_entropy
from inversion3d.methods.innout import losses
from inversion3d.methods.innout.field import composite_synthesize, init_field
from inversion3d.methods.innout.losses import nearest
from inversion3d.methods.innout.stage_a import _progress
from inversion3d.ops.resize import resize_bilinear


@dataclasses.dataclass(frozen=True)
class Static:
    """What changes the compiled step: the LPIPS net (None: none), which optional terms run."""

    lpips_net: Optional[str]
    with_depth: bool
    with_ood_sr: bool
    delta_last_layer: int = 12


def loss_weights(config, masked: bool):
    """The traced loss weights of config.stage_b (the no-mask variant's L_w / L_Delta when not masked)
    and the auto variant's residual weight 'auto_rho'."""
    b = config.stage_b
    w = dict(b.losses.to_dict(), auto_rho=b.auto_rho)
    if not masked:
        w["w_avg"], w["delta"] = b.auto_w_avg, b.auto_delta
    return {k: jnp.asarray(v, jnp.float32) for k, v in w.items()}


def is_auto(config, masked: bool) -> bool:
    """Whether stage B runs the no-mask variant's re-parametrised latents (no mask, auto_reinit on)."""
    return not masked and bool(config.stage_b.auto_reinit)


def optimizer(config, num_frames: int, auto: bool = False):
    """optax.multi_transform of three Adams (field / codes / ws), §2.5; lr_ws 0 (or a single frame
    with freeze_ws_single_image) freezes the w+. auto: the no-mask variant, whose w_cano and residuals
    are the 'ws' group at lr_auto_ws (never frozen). Equal settings give the same object (one compile)."""
    b = config.stage_b
    if auto:
        lr_ws = float(b.lr_auto_ws)
    else:
        lr_ws = None if b.lr_ws == 0 or (num_frames == 1 and b.freeze_ws_single_image) else float(b.lr_ws)
    return _optimizer(float(b.lr_field), float(b.lr_codes), lr_ws, float(b.b1), float(b.b2), float(b.eps))


@functools.lru_cache(maxsize=None)
def _optimizer(lr_field, lr_codes, lr_ws, b1, b2, eps):
    adam = lambda lr: optax.adam(lr, b1=b1, b2=b2, eps=eps)  # noqa: E731
    txs = {"field": adam(lr_field), "codes": adam(lr_codes),
           "ws": optax.set_to_zero() if lr_ws is None else adam(lr_ws)}
    return optax.multi_transform(txs, _group_labels)


GROUPS = {"field": "field", "codes": "codes", "ws": "ws", "w_cano": "ws", "residual": "ws"}


def _group_labels(params):
    """Every leaf labelled by its optimizer group ('field' / 'codes' / 'ws'; w_cano and residual are 'ws')."""
    return {k: jax.tree.map(lambda _, k=k: GROUPS[k], v) for k, v in params.items()}


def init_params(rng, config, ws, latents=None):
    """{'field': {planes, decoder}, 'codes' (T, code_dim), 'ws' (T, num_ws, w_dim) from stage A}.

    latents: the no-mask variant's start {'w_cano' (1, num_ws, w_dim), 'residual' (T, num_ws, w_dim)}
    (stage A's): then 'w_cano' = ratio w_cano + (1 - ratio) N(0, 1) (noise from fold_in(rng, 1)) and
    'residual' replace 'ws' (train_outdomain_auto.py's random re-initialisation, §2.4)."""
    b = config.stage_b
    f = init_field(rng, int(b.plane_resolution), int(b.plane_channels), int(b.code_dim), int(b.hidden), ws.shape[0])
    codes = f.pop("codes")
    if latents is None:
        return {"field": f, "codes": codes, "ws": jnp.array(ws, jnp.float32)}  # copies: _step donates params
    w_cano, residual = (jnp.array(latents[k], jnp.float32) for k in ("w_cano", "residual"))
    if w_cano.shape != (1,) + ws.shape[1:] or residual.shape != ws.shape:
        raise ValueError(f"latents: expected w_cano {(1,) + ws.shape[1:]} and residual {ws.shape}, got "
                         f"{w_cano.shape} and {residual.shape}")
    ratio = float(b.auto_cano_ratio)
    noise = jax.random.normal(jax.random.fold_in(rng, 1), w_cano.shape)
    return {"field": f, "codes": codes, "w_cano": ratio * w_cano + (1 - ratio) * noise, "residual": residual}


def split_latents(ws, rho: float):
    """{'w_cano': mean over frames (1, num_ws, w_dim), 'residual': (ws - w_cano) / rho} of ws (T, num_ws,
    w_dim): the no-mask variant's start when stage A's own w_cano / residuals are not given."""
    ws = jnp.asarray(ws, jnp.float32)
    w_cano = jnp.mean(ws, axis=0, keepdims=True)
    return {"w_cano": w_cano, "residual": (ws - w_cano) / rho}


def frame_ws(params, t, rho):
    """The w+ (1, num_ws, w_dim) of frame t: params['ws'][t], or w_cano + rho * residual[t] (no-mask variant)."""
    if "ws" in params:
        return params["ws"][t][None]
    return params["w_cano"] + rho * params["residual"][t][None]


def sequence_ws(params, rho):
    """Every frame's w+ (T, num_ws, w_dim) (see `frame_ws`)."""
    return params["ws"] if "ws" in params else params["w_cano"] + rho * params["residual"]


def frame_loss(cfg, static: Static, params, gen_vars, lpips_vars, weights, w_avg, t, data, rng):
    """Loss of frame t (traced int) -> (loss, metrics); data: the sequence arrays (see `prepare_data`)."""
    ws, code = frame_ws(params, t, weights["auto_rho"]), params["codes"][t][None]
    out = composite_synthesize(cfg, gen_vars, params["field"], ws, code, data["cams"][t][None], rng=rng,
                               with_ood_sr=static.with_ood_sr)
    x, x_raw = data["targets"][t][None], data["targets_raw"][t][None]
    m_raw = data["masks_raw"][t][None]
    terms = {"l2_raw": losses.mse(out["image_raw"], x_raw),
             "l2_raw_ood": losses.masked_mse(out["ood_raw"], x_raw, 1 - m_raw),
             "l2_sr": losses.mse(out["image"], x),
             "blend_entropy": blend_entropy(jnp.concatenate([out["blend_coarse"], out["blend_fine"]], axis=-1),
                                            weights["blend_skew"]),
             "area": losses.area(out["blend_coarse"], out["blend_fine"]),
             "sparse": losses.sparse(out["blend_coarse"], out["blend_fine"], m_raw),
             "w_avg": losses.w_avg_distance(ws, w_avg),
             "delta": losses.layer_delta(ws, static.delta_last_layer)}
    if static.with_ood_sr:
        m = data["masks"][t][None]
        terms["l2_sr_ood"] = losses.masked_mse(out["ood_image"], x, 1 - m)
    if static.lpips_net is not None:
        terms["lpips_raw"] = lpips_loss(LPIPS(static.lpips_net), lpips_vars, out["image_raw"], x_raw)
    if static.with_depth:
        target = losses.align_depth(data["depth"][t][None], out["image_depth"])
        terms["depth"] = losses.depth_charbonnier(out["image_depth"], target, weights["depth_eps"])
    loss = sum(weights[k] * v for k, v in terms.items())
    return loss, dict(terms, loss=loss)


@functools.partial(jax.jit, static_argnums=(0, 1, 2), donate_argnums=(3, 4))
def _step(cfg, static, tx, params, opt_state, gen_vars, lpips_vars, weights, w_avg, t, data, rng):
    grad_fn = jax.value_and_grad(frame_loss, argnums=2, has_aux=True)
    (_, metrics), grads = grad_fn(cfg, static, params, gen_vars, lpips_vars, weights, w_avg, t, data, rng)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, metrics


def prepare_data(cfg, targets, cams, masks=None, depth=None, targets_raw=None):
    """Sequence arrays on device: targets (T, S, S, 3) [-1, 1] (bilinear to the generator's size),
    targets_raw (T, R, R, 3) (bilinear from targets unless given), masks (T, S, S, 1) / masks_raw (T, R, R, 1) (nearest; ones when
    None), cams (T, 25) [+ depth (T, H, W, 1) user monocular depth]."""
    targets = jnp.asarray(targets, jnp.float32)
    num, size, res = targets.shape[0], cfg.img_resolution, cfg.neural_rendering_resolution
    if targets.ndim != 4 or targets.shape[-1] != 3:
        raise ValueError(f"targets: expected (T, S, S, 3), got {targets.shape}")
    cams = jnp.asarray(cams, jnp.float32).reshape(num, 25)
    data = {"targets": resize_bilinear(targets, (size, size), antialias=False),
            "targets_raw": resize_bilinear(targets, (res, res), antialias=False) if targets_raw is None
            else jnp.asarray(targets_raw, jnp.float32).reshape(num, res, res, 3), "cams": cams}
    masks = np.ones(targets.shape[:3] + (1,), np.float32) if masks is None else np.asarray(masks, np.float32)
    if masks.shape[:1] != (num,) or masks.ndim != 4:
        raise ValueError(f"masks: expected ({num}, H, W, 1), got {masks.shape}")
    data["masks"], data["masks_raw"] = (nearest(masks, s) for s in (size, res))
    if depth is not None:
        depth = jnp.asarray(depth, jnp.float32)
        if depth.shape[:1] != (num,) or depth.ndim != 4:
            raise ValueError(f"depth: expected ({num}, H, W, 1), got {depth.shape}")
        data["depth"] = depth
    return data


def run(gen, data, ws_init, config, w_avg, masked: bool, lpips=None, rng=None, log=print, steps=None,
        latents=None):
    """Stage B on a sequence -> {'params' {'field', 'codes', 'ws' (T, num_ws, w_dim)}, 'losses' (steps,),
    'metrics' (last step), 'step_time' (s)} [+ 'latents' {'w_cano', 'residual'} of the no-mask variant].

    data: `prepare_data`; ws_init (T, num_ws, w_dim) from stage A; w_avg (w_dim,) for L_w; masked: a
    user mask was given (else the no-mask variant: its regularisers and, with auto_reinit, its
    re-initialised w_cano + rho residuals); latents: stage A's {'w_cano', 'residual'} for that variant
    (None: `split_latents` of ws_init); lpips: {net: variables} or None.
    """
    from inversion3d.inversion.optimization import pick_lpips

    b = config.stage_b
    rng = jax.random.PRNGKey(config.seed) if rng is None else rng
    k_init, k_step = jax.random.split(rng)
    auto = is_auto(config, masked)
    if auto and latents is None:
        latents = split_latents(ws_init, float(b.auto_rho))
    params = init_params(k_init, config, jnp.asarray(ws_init), latents if auto else None)
    num = ws_init.shape[0]
    tx = optimizer(config, num, auto)
    opt_state = tx.init(params)
    net, lpips_vars = pick_lpips(lpips, "vgg", log, "innout B")
    weights = loss_weights(config, masked)
    static = Static(net, "depth" in data and float(b.losses.depth) > 0, float(b.losses.l2_sr_ood) > 0,
                    int(config.stage_a.delta_last_layer))
    total = int(b.steps if steps is None else steps)
    order = np.random.RandomState(config.seed)
    perm, history, start, step_time, t_mark = [], [], time.time(), 0.0, 0.0
    w_avg = jnp.asarray(w_avg, jnp.float32)
    for step in range(total):
        if not perm:
            perm = list(order.permutation(num))
        params, opt_state, metrics = _step(gen.config, static, tx, params, opt_state, gen.params, lpips_vars,
                                           weights, w_avg, int(perm.pop()), data, jax.random.fold_in(k_step, step))
        history.append(metrics["loss"])
        if step == 1 or (step + 1 == total and total > 2):  # seconds per step after the compiles
            jax.block_until_ready(metrics)
            t_mark = time.time() if step == 1 else t_mark
            step_time = (time.time() - t_mark) / max(step - 1, 1)
        if (step + 1) % max(1, int(config.log_every)) == 0 or step + 1 == total:
            _progress(log, "B", step + 1, total, start, {k: metrics[k] for k in ("loss", "l2_raw", "blend_entropy")})
    out = {"params": {"field": params["field"], "codes": params["codes"],
                      "ws": sequence_ws(params, weights["auto_rho"])},
           "losses": np.asarray(jnp.stack(history)) if history else np.zeros(0, np.float32),
           "metrics": jax.device_get(metrics) if total else {}, "step_time": step_time}
    if auto:
        out["latents"] = {"w_cano": params["w_cano"], "residual": params["residual"]}
    return out
