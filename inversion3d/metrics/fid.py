"""Fréchet distance between feature statistics (FID), computed stably in float64, with cached
statistics per reference set. Feature extraction (Inception-v3 pool3) is separate."""
import functools
import os

import numpy as np
from scipy import linalg

from inversion3d.files import atomic_write


def feature_statistics(features):
    """(N, D) features -> (mean (D,), covariance (D, D)) in float64 (unbiased covariance)."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"features: expected (N >= 2, D), got {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}).

    The matrix square root is scipy's; when it is singular or not finite the covariances get
    eps on the diagonal first (the standard FID remedy), and a tiny imaginary part from rounding
    is dropped.
    """
    mu1, mu2 = np.atleast_1d(np.float64(mu1)), np.atleast_1d(np.float64(mu2))
    s1, s2 = np.atleast_2d(np.float64(sigma1)), np.atleast_2d(np.float64(sigma2))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"statistics: shapes differ: mu {mu1.shape} vs {mu2.shape}, sigma {s1.shape} vs {s2.shape}")
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"statistics: imaginary component {np.max(np.abs(covmean.imag)):.3g} in sqrt(S1 S2)")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def save_statistics(path, mu, sigma, count):
    """Caches statistics of a reference set as npz (atomic)."""
    return atomic_write(path, lambda tmp: np.savez(tmp, mu=mu, sigma=sigma, count=count))


def load_statistics(path):
    """(mu, sigma, count) from `save_statistics`; ValueError naming the file when it is not one."""
    if not os.path.isfile(path):
        raise ValueError(f"statistics: no such file: {path}")
    with np.load(path, allow_pickle=False) as data:
        missing = {"mu", "sigma", "count"} - set(data.files)
        if missing:
            raise ValueError(f"statistics: {path} lacks {sorted(missing)}")
        return data["mu"], data["sigma"], int(data["count"])


def inception_features(variables, images, batch_size=32):
    """(N, H, W, 3) images in [-1, 1] -> (N, 2048) float64 FID pool3 features, in jit-compiled batches.

    variables: from `converters.inception.load_inception_variables(path)` (the user's FID weights).
    """
    apply = _inception_apply()
    images = np.asarray(images, np.float32)
    out = [np.asarray(apply(variables, images[i:i + batch_size]), np.float64)
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out, axis=0)


@functools.lru_cache(maxsize=None)
def _inception_apply():
    """The jitted FIDInceptionV3 apply, made once per process: every call of inception_features (a
    run's results, its targets, each method) reuses one trace and compile per batch shape."""
    import jax

    from inversion3d.metrics.inception import FIDInceptionV3

    return jax.jit(FIDInceptionV3().apply)
