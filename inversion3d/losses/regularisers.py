"""Regularisers of the inversion methods, each a small pure function (issue 7, item 6).

- background_depth: GOAE stage 1 pulls the depth of background pixels towards the mean background
  depth D_avg of canonical generator samples (training.md §5).
- wplus_delta: e4e / GOAE keep w+ close to a single code: ||w_i - w_0||^2 summed over rows i >= 1.
- triplane_delta: the size of a tri-plane (F-space) residual, mean of squares.
- blend_entropy: In-N-Out's skewed binary entropy of the per-sample blending weights
  (in-n-out.md, L_blend; following D^2NeRF).
"""
import jax.numpy as jnp


def background_depth(depth, background_mask, depth_avg):
    """mean over background pixels of (depth - D_avg)^2.

    depth: (N, H, W, 1) rendered depth; background_mask: (N, H, W, 1) in [0, 1] (1 = background);
    depth_avg: scalar or broadcastable mean background depth. Zero when no pixel is background.
    """
    weighted = background_mask * jnp.square(depth - depth_avg)
    return jnp.sum(weighted) / jnp.maximum(jnp.sum(background_mask), 1.0)


def wplus_delta(ws):
    """ws (N, num_ws, w_dim): mean over the batch of sum_i>=1 ||w_i - w_0||^2."""
    deltas = ws[:, 1:] - ws[:, :1]
    return jnp.mean(jnp.sum(jnp.square(deltas), axis=(1, 2)))


def triplane_delta(delta):
    """Mean square of a tri-plane residual (N, 3, H, W, C)."""
    return jnp.mean(jnp.square(delta))


def blend_entropy(blend, skew=2.0, eps=1e-19):
    """In-N-Out L_blend: b' = clip(b^skew, eps, 1 - eps); mean of -(b' log b' + (1 - b') log(1 - b')).

    blend: per-sample blending weights in [0, 1] (float array), any shape (coarse and fine samples).
    skew > 1 moves the entropy minimum towards b -> 0 (in-distribution content preferred).
    """
    blend = jnp.asarray(blend)
    # 1 - 1e-19 rounds to 1 in float32/64, which would give 0 * log(0) = nan: the upper bound is
    # the largest float below 1 of the dtype instead (the same clip where it is representable).
    upper = 1.0 - max(eps, float(jnp.finfo(blend.dtype).epsneg))
    b = jnp.clip(jnp.power(blend, skew), eps, upper)
    return jnp.mean(-(b * jnp.log(b) + (1.0 - b) * jnp.log1p(-b)))
