"""In-N-Out inference (in-n-out.md §4-5): composite renders of an inverted sequence, OOD removal,
edits of the in-distribution part, novel views, depth and the OOD share of every pixel.

A sequence is {'field', 'codes' (T, code_dim), 'ws' (T, num_ws, w_dim)} (stage B) plus the SR
parameters (stage C's base + delta). Removal: rays whose pixel lies in the 5x5-dilated OOD region
(1 - mask at the neural resolution, nearest) get b = 0, the others b * 1.2 clamped to 1; without a
mask every ray gets b = 0 (the generator's own render). Edits replace w+ (a plain w-offset
w + alpha n until inversion3d/editing provides more) and keep the OOD part.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.methods.innout.field import composite_synthesize


def removal_scale(masks, res: int, dilation: int, boost: float):
    """(T, res*res, 1) per-ray factors on b for OOD removal (§5). masks (T, H, W, 1) (1 = face) or None
    (remove everything: zeros). Returns float32 numpy."""
    if masks is None:
        return None
    masks = np.asarray(masks, np.float32)
    rows = np.arange(res) * masks.shape[1] // res
    cols = np.arange(res) * masks.shape[2] // res
    ood = (1.0 - masks[:, rows][:, :, cols, 0]) > 0.5
    pad = dilation // 2
    padded = np.pad(ood, ((0, 0), (pad, pad), (pad, pad)))
    dilated = np.zeros_like(ood)
    for dy in range(dilation):
        for dx in range(dilation):
            dilated |= padded[:, dy:dy + res, dx:dx + res]
    return np.where(dilated, 0.0, boost).astype(np.float32).reshape(-1, res * res, 1)


def smooth_sequence(x, taps):
    """§4 causal filter over frames: y_t = taps[0] x_{t-2} + taps[1] x_{t-1} + taps[2] x_t once three
    frames are buffered (t >= 2); the first two frames are left as they are. x (T, ...)."""
    x = np.asarray(x)
    if x.shape[0] < 3:
        return x
    y = x.copy()
    y[2:] = taps[0] * x[:-2] + taps[1] * x[1:-1] + taps[2] * x[2:]
    return y


@functools.partial(jax.jit, static_argnums=0)
def _frame(cfg, gen_vars, field, sr_params, ws, code, cam, scale):
    out = composite_synthesize(cfg, gen_vars, field, ws[None], code[None], cam[None], sr_params=sr_params,
                               blend_scale=None if scale is None else scale[None])
    keys = ("image", "image_raw", "image_depth", "blend_image", "ood_raw")
    return {k: out[k][0] for k in keys}


def render_frames(cfg, gen_vars, seq, sr_params, cams, scales=None, ws=None):
    """Composite renders of every frame -> dict of (T, ...) numpy arrays (image, image_raw,
    image_depth, blend_image, ood_raw). cams (T, 25); scales (T, R*R, 1) or None (b as learned);
    ws replaces seq['ws'] (edits)."""
    ws = seq["ws"] if ws is None else ws
    frames = []
    for t in range(cams.shape[0]):
        frames.append(jax.device_get(_frame(cfg, gen_vars, seq["field"], sr_params, ws[t], seq["codes"][t],
                                            jnp.asarray(cams[t]), None if scales is None else scales[t])))
    return {k: np.stack([f[k] for f in frames]) for k in frames[0]}


def edit_ws(ws, direction, alpha: float):
    """Plain w-offset edit of the in-distribution part: w + alpha n on every layer (§5 InterFaceGAN /
    GANSpace form). ws (T, num_ws, w_dim), direction (w_dim,) or (num_ws, w_dim)."""
    direction = jnp.asarray(direction, jnp.float32)
    if direction.shape not in ((ws.shape[-1],), tuple(ws.shape[1:])):
        raise ValueError(f"direction: expected ({ws.shape[-1]},) or {tuple(ws.shape[1:])}, got {direction.shape}")
    return ws + alpha * direction
