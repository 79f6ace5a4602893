"""Per-image metrics of the papers' tables (editing-and-eval.md §4): images NHWC in [-1, 1],
compared at 256x256 (resized with antialiased bilinear when needed)."""
import jax.numpy as jnp
import numpy as np

from inversion3d.ops.resize import resize_bilinear

METRIC_RESOLUTION = 256


def at_metric_resolution(x, size=METRIC_RESOLUTION):
    """(N, H, W, C) -> (N, size, size, C) (antialiased bilinear, align_corners False)."""
    x = jnp.asarray(x, jnp.float32)
    return x if x.shape[1:3] == (size, size) else resize_bilinear(x, (size, size), antialias=True)


def _pair(x, y):
    x, y = at_metric_resolution(x), at_metric_resolution(y)
    if x.shape != y.shape:
        raise ValueError(f"x, y: expected images of one shape, got {x.shape} and {y.shape}")
    return x, y


def mse(x, y):
    """Per-image mean squared error (N,) on [-1, 1] images at 256^2 (GOAE / pSp convention)."""
    x, y = _pair(x, y)
    return jnp.mean(jnp.square(x - y), axis=(1, 2, 3))


def psnr(x, y):
    """Per-image PSNR in dB (N,) with data range 2 ([-1, 1] images)."""
    return 10.0 * jnp.log10(4.0 / jnp.maximum(mse(x, y), 1e-12))


def ssim(x, y):
    """Per-image SSIM (N,) by scikit-image (Gaussian window, data range 2), on numpy values."""
    from skimage.metrics import structural_similarity

    x, y = (np.asarray(a, np.float64) for a in _pair(x, y))
    return np.array([structural_similarity(a, b, channel_axis=-1, data_range=2.0, gaussian_weights=True,
                                           sigma=1.5, use_sample_covariance=False) for a, b in zip(x, y)])
