"""Depth error against ground truth (the synthetic multi-view benchmark): masked L1 of a rendered
depth map vs the ground-truth depth, foreground only.

Convention: both depths are distances along the ray from the camera centre in world units, what the
EG3D renderer composites as image_depth (rendering/marcher.py composite_depth) and what the synthetic
heads store (data/synthetic/render.py; +inf off the head). The render is at the neural rendering
resolution, so it is resized (bilinear, antialiased when shrinking) to the ground truth's size first.
"""
import jax.numpy as jnp
import numpy as np

from inversion3d.ops.resize import resize_bilinear


def to_resolution(depth, size):
    """(N, h, w) or (N, h, w, 1) depth -> (N, size[0], size[1]) float32 (bilinear, antialias)."""
    depth = jnp.asarray(depth, jnp.float32)
    if depth.ndim == 4:
        if depth.shape[-1] != 1:
            raise ValueError(f"depth: expected (N, h, w) or (N, h, w, 1), got {depth.shape}")
        depth = depth[..., 0]
    if depth.ndim != 3:
        raise ValueError(f"depth: expected (N, h, w) or (N, h, w, 1), got {depth.shape}")
    if depth.shape[1:] == tuple(size):
        return depth
    return resize_bilinear(depth[..., None], tuple(size), antialias=True)[..., 0]


def masked_l1(pred, target, mask, threshold=0.5):
    """Per-image mean |pred - target| (N,) over the foreground: mask > threshold and a finite target.

    pred: (N, h, w[, 1]) rendered depth (resized to the target's size); target: (N, H, W) ground truth
    (+inf / NaN off the object); mask: (N, H, W) in [0, 1]. NaN for an image with no foreground pixel."""
    target = np.asarray(target, np.float64)
    mask = np.asarray(mask, np.float64)
    if target.ndim != 3 or mask.shape != target.shape:
        raise ValueError(f"target, mask: expected (N, H, W) of one shape, got {target.shape} and {mask.shape}")
    pred = np.asarray(to_resolution(pred, target.shape[1:]), np.float64)
    if pred.shape[0] != target.shape[0]:
        raise ValueError(f"pred: expected {target.shape[0]} images, got {pred.shape[0]}")
    fg = (mask > threshold) & np.isfinite(target)
    err = np.where(fg, np.abs(pred - np.where(fg, target, 0.0)), 0.0)
    count = fg.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, err.sum(axis=(1, 2)) / count, np.nan)
