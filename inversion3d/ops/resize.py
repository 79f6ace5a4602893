"""Resizes of NHWC images with torch semantics: `interpolate(mode='bilinear')` with
align_corners=False, optionally antialiased (eg3d.md §7.1), or align_corners=True (encoders.md §2.2),
and the block average of integer downscales (`avg_pool2d` / `interpolate(mode='area')`).

Bilinear resizes: shapes are static, so each axis' (out, in) weights matrix is built once in
float64 numpy at trace time and applied as an einsum; this is exact to fp32 rounding and
differentiable in x.
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


def _align_corners_weights(n_in, n_out):
    """(n_out, n_in) float64 bilinear weights with align_corners=True sample positions."""
    m = np.zeros((n_out, n_in), np.float64)
    if n_out == 1 or n_in == 1:
        m[:, 0] = 1.0
        return m
    src = np.arange(n_out) * ((n_in - 1) / (n_out - 1))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
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
    return _separable(x, resize_weights(x.shape[1], h, antialias), resize_weights(x.shape[2], w, antialias))


def resize_bilinear_align_corners(x, size):
    """torch F.interpolate(mode='bilinear', align_corners=True) on NHWC x -> (N, h, w, C) (encoders.md §2.2)."""
    h, w = size
    if (h, w) == tuple(x.shape[1:3]):
        return x
    return _separable(x, _align_corners_weights(x.shape[1], h), _align_corners_weights(x.shape[2], w))


def _separable(x, rows, cols):
    """Applies the (h, H) and (w, W) float64 weight matrices to the H and W axes of x (N, H, W, C)."""
    wh, ww = jnp.asarray(rows, x.dtype), jnp.asarray(cols, x.dtype)
    hp = jax.lax.Precision.HIGHEST
    y = jnp.einsum("oh,nhwc->nowc", wh, x, precision=hp)
    return jnp.einsum("pw,nowc->nopc", ww, y, precision=hp)


def area_downsample(x, size):
    """Averages (H/h) x (W/w) blocks of NHWC x: torch avg_pool2d / interpolate(mode='area') for
    integer downscales, exact in fp32 (a reshape and a mean, no weights matrix).

    Args:
      x: (N, H, W, C) array.
      size: (h, w) output size, python ints dividing (H, W).
    Returns:
      (N, h, w, C) array; x itself when (h, w) == (H, W).
    """
    h, w = int(size[0]), int(size[1])
    n, hin, win, c = x.shape
    if (h, w) == (hin, win):
        return x
    if min(h, w) < 1 or hin % h or win % w:
        raise ValueError(f"size: expected divisors of the input size {(hin, win)}, got {tuple(size)}")
    return x.reshape(n, h, hin // h, w, win // w, c).mean(axis=(2, 4))


def resize_square(images, size: int):
    """(N, H, H, C) -> (N, size, size, C): area average for integer downscales (= torch avg_pool /
    adaptive average pooling / 'area'), antialiased bilinear otherwise; the same size is unchanged."""
    h = images.shape[1]
    if h == size:
        return images
    if h > size and h % size == 0:
        return area_downsample(images, (size, size))
    return resize_bilinear(images, (size, size), antialias=True)

