"""In-N-Out's loss terms (in-n-out.md §1, §2.4); the blend entropy is losses/regularisers.blend_entropy.

Images are NHWC in [-1, 1]; masks (N, H, W, 1) are 1 on the in-distribution (face) part, so the
OOD region is 1 - mask. Per-sample blends are (N, rays, samples).
"""
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.losses.lpips import LPIPS
from inversion3d.ops.resize import resize_bilinear_align_corners


def mse(x, y):
    """Mean squared error over all elements."""
    return jnp.mean(jnp.square(x - y))


def masked_mse(x, y, weight):
    """sum(((x - y) * weight)^2) / sum(weight) (§1 masked variant, §2.4 L2_raw_O with weight = 1 - mask),
    as the official code: weight (N, H, W, 1) is one channel, so the squared error is summed over the C
    colour channels per weighted pixel (with weight all ones, C times `mse`); 0 when the weight is empty."""
    num = jnp.sum(jnp.square((x - y) * weight))
    den = jnp.sum(weight)
    return num / jnp.maximum(den, 1e-8)


def masked_lpips(net: str, lpips_vars, x, y, weight):
    """§1 masked LPIPS (the official `(lpips(target, synth) * mask).sum() / mask.sum()`): the LPIPS-`net`
    distance map of the full images x, y (N, S, S, 3) (nothing pasted or cut: pixels outside the mask
    still reach it through the receptive fields), weighted by weight (N, S, S, 1) at the image
    resolution and divided by sum(weight); with weight all ones, the mean of the map."""
    dist = LPIPS(net, spatial=True).apply(lpips_vars, x, y)
    return jnp.sum(dist * weight) / jnp.maximum(jnp.sum(weight), 1e-8)


def nearest(x, size: int):
    """Nearest resize of masks (N, H, W, C) to size x size (torch 'nearest': floor(i * H / size))."""
    x = jnp.asarray(x)
    rows = (np.arange(size) * x.shape[1] // size).astype(np.int32)
    cols = (np.arange(size) * x.shape[2] // size).astype(np.int32)
    return x[:, rows][:, :, cols]


def area(blend_coarse, blend_fine):
    """L_area (§2.4, D^2NeRF): mean over rays of (max_k b_k)^2, for coarse and fine, averaged."""
    terms = [jnp.mean(jnp.square(jnp.max(b, axis=-1))) for b in (blend_coarse, blend_fine) if b.shape[-1]]
    return sum(terms) / len(terms)


def sparse(blend_coarse, blend_fine, mask):
    """L_sparse (§2.4): sum over rays of mean_k |b| times the mask, over sum(mask). mask (N, R, R, 1)."""
    b = jnp.concatenate([blend_coarse, blend_fine], axis=-1)
    m = mask.reshape(b.shape[0], -1)
    return jnp.sum(jnp.mean(jnp.abs(b), axis=-1) * m) / jnp.maximum(jnp.sum(m), 1e-8)


def layer_delta(ws, last: int = 12):
    """L_Delta (§1): sum_{i=1..last} ||w[i] - w[0]||_2, mean over the batch. ws (N, num_ws, w_dim)."""
    d = ws[:, 1:last + 1] - ws[:, :1]
    return jnp.mean(jnp.sum(jnp.sqrt(jnp.sum(jnp.square(d), axis=-1) + 1e-16), axis=-1))


def w_avg_distance(ws, w_avg):
    """L_w (§2.4 auto variant): ||w_t - w_avg||_F per frame, mean over the batch."""
    return jnp.mean(jnp.sqrt(jnp.sum(jnp.square(ws - w_avg), axis=(-2, -1)) + 1e-16))


def align_depth(estimate, rendered):
    """Aligns a monocular depth estimate to the rendered depth in disparity (§2.4 "Depth alignment").

    estimate: (N, H, W, 1) estimated depth, resized bilinearly (align_corners) to rendered's size; rendered (N, R, R, 1).
    Returns the aligned depth d-hat (N, R, R, 1), without gradient.
    """
    n, r = rendered.shape[0], rendered.shape[1]
    e = resize_bilinear_align_corners(estimate, (r, r))
    disp_e = 1.0 / (e + 1e-8)
    lo = jnp.min(disp_e, axis=(1, 2, 3), keepdims=True)
    hi = jnp.max(disp_e, axis=(1, 2, 3), keepdims=True)
    disp_e = 0.01 + 0.99 * (disp_e - lo) / jnp.maximum(hi - lo, 1e-8)
    disp_r = 1.0 / (rendered + 1e-8)
    med = lambda x: jnp.median(x.reshape(n, -1), axis=-1)[:, None, None, None]  # noqa: E731
    med_e, med_r = med(disp_e), med(disp_r)
    scale = (jnp.mean(jnp.abs(disp_r - med_r), axis=(1, 2, 3), keepdims=True)
             / jnp.maximum(jnp.mean(jnp.abs(disp_e - med_e), axis=(1, 2, 3), keepdims=True), 1e-8))
    aligned = scale * (disp_e - med_e) + med_r
    return jax.lax.stop_gradient(1.0 / (aligned + 1e-8))


def depth_charbonnier(rendered, target, eps=1e-6):
    """L_depth (§2.4): mean sqrt((d-hat - d)^2 + eps) over the composite depth."""
    return jnp.mean(jnp.sqrt(jnp.square(target - rendered) + eps))
