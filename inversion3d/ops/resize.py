"""Bilinear resize of NHWC images with torch `interpolate(mode='bilinear', align_corners=False)`
semantics, optionally antialiased (eg3d.md §7.1).

Shapes are static, so each axis' (out, in) weights matrix is built once in float64 numpy at trace
time and applied as an einsum; this is exact to fp32 rounding and differentiable in x.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np


def _antialias_weights(n_in, n_out):
    """(n_out, n_in) float64 triangle-filter weights, support scaled by the downscale (eg3d.md §7.1)."""
    scale = n_in / n_out
    support = max(scale, 1.0)  # bilinear radius 1, widened when downsampling to filter aliasing
    m = np.zeros((n_out, n_in), np.float64)
    for i in range(n_out):
        center = scale * (i + 0.5)
        # math.trunc (toward zero) reproduces the C int cast of the reference tap range.
        lo = max(math.trunc(center - support + 0.5), 0)
        hi = min(math.trunc(center + support + 0.5), n_in)
        j = np.arange(lo, hi)
        wts = np.maximum(0.0, 1.0 - np.abs((j + 0.5 - center) / support))
        total = wts.sum()
        # Renormalising over the kept taps replaces zero padding at the borders (§7.1).
        m[i, lo:hi] = wts / total if total > 0 else wts
    return m


def _bilinear_weights(n_in, n_out):
    """(n_out, n_in) float64 plain bilinear weights, half-pixel centres, edge clamping."""
    scale = n_in / n_out
    src = np.maximum((np.arange(n_out) + 0.5) * scale - 0.5, 0.0)  # torch clamps negatives to 0
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    m = np.zeros((n_out, n_in), np.float64)
    np.add.at(m, (np.arange(n_out), i0), 1.0 - lam)
    np.add.at(m, (np.arange(n_out), i1), lam)
    return m


def resize_weights(n_in, n_out, antialias=True):
    """Returns the (n_out, n_in) float64 resampling matrix of one axis."""
    return _antialias_weights(n_in, n_out) if antialias else _bilinear_weights(n_in, n_out)


def resize_bilinear(x, size, antialias=True):
    """Resizes NHWC images bilinearly (align_corners=False), antialiased when downscaling.

    For upscaling the antialiased and plain weights coincide up to rounding (eg3d.md §7.1).

    Args:
      x: (N, H, W, C) float array.
      size: (h, w) output size, python ints.
      antialias: torch's antialias flag.
    Returns:
      (N, h, w, C) array of x's dtype; x itself when (h, w) == (H, W).
    """
    if x.ndim != 4:
        raise ValueError(f"x: expected (N, H, W, C), got shape {x.shape}")
    if len(size) != 2 or min(int(s) for s in size) < 1:
        raise ValueError(f"size: expected (h, w) positive ints, got {size}")
    h, w = int(size[0]), int(size[1])
    if (h, w) == tuple(x.shape[1:3]):
        return x
    wh = jnp.asarray(resize_weights(x.shape[1], h, antialias), x.dtype)
    ww = jnp.asarray(resize_weights(x.shape[2], w, antialias), x.dtype)
    hp = jax.lax.Precision.HIGHEST
    y = jnp.einsum("oh,nhwc->nowc", wh, x, precision=hp)
    return jnp.einsum("pw,nowc->nopc", ww, y, precision=hp)
