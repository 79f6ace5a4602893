"""Depth sampling along rays: stratified coarse depths and pdf (importance) resampling.

Pure functions of explicit uniforms `u` so that recorded torch draws can be replayed
(eg3d.md §5.2, §5.6; shared/golden/README.md "Random draws").
"""
import jax
import jax.numpy as jnp

_PDF_EPS = 1e-5  # sample_pdf eps: added to the weights and the denominator threshold (eg3d.md §5.6)


def stratified_depths(u, ray_start, ray_end, disparity_space=False):
    """Jittered stratified depths (sample_stratified, eg3d.md §5.2).

    Args:
      u: (N, M, S, 1) uniforms in [0, 1) (torch.rand_like draw); zeros give the plain linspace.
      ray_start, ray_end: near / far depth (world units, scalars).
      disparity_space: sample uniformly in inverse depth instead (unused by FFHQ).
    Returns:
      (N, M, S, 1) depths = linspace(start, end, S) + u * (end - start) / (S - 1); may exceed
      ray_end by up to one step.
    """
    if u.ndim != 4 or u.shape[-1] != 1:
        raise ValueError(f"u: expected shape (N, M, S, 1), got {u.shape}")
    s = u.shape[-2]
    if s < 2:
        raise ValueError(f"u: expected S >= 2 samples per ray, got {s}")
    if disparity_space:
        t = jnp.linspace(0.0, 1.0, s, dtype=jnp.float32)[:, None] + u * (1.0 / (s - 1))
        return 1.0 / (1.0 / ray_start * (1.0 - t) + 1.0 / ray_end * t)
    base = jnp.linspace(ray_start, ray_end, s, dtype=jnp.float32)[:, None]
    return base + u * ((ray_end - ray_start) / (s - 1))


def linspace_u(batch_shape, n):
    """Deterministic pdf uniforms (sample_pdf det=True): linspace(0, 1, n) broadcast to batch_shape + (n,)."""
    return jnp.broadcast_to(jnp.linspace(0.0, 1.0, n, dtype=jnp.float32), (*batch_shape, n))


def sample_pdf(bins, weights, u):
    """Inverse-CDF sampling of a piecewise-constant pdf (sample_pdf, eg3d.md §5.6 step 4).

    Args:
      bins: (..., B) bin edges with B >= K + 1 (entries past K are never used — EG3D passes
        S - 1 midpoints with K = S - 3 weights).
      weights: (..., K) non-negative weights of bins [i, i+1].
      u: (..., n) uniforms in [0, 1]; linspace_u(...) reproduces det=True.
    Returns:
      (..., n) samples (float32).
    """
    k = weights.shape[-1]
    if bins.shape[-1] < k + 1:
        raise ValueError(f"bins: expected at least {k + 1} edges for {k} weights, got {bins.shape[-1]}")
    if bins.shape[:-1] != weights.shape[:-1] or u.shape[:-1] != weights.shape[:-1]:
        raise ValueError(
            f"bins/weights/u: batch shapes differ: {bins.shape[:-1]}, {weights.shape[:-1]}, {u.shape[:-1]}")
    weights = weights + _PDF_EPS
    pdf = weights / jnp.sum(weights, axis=-1, keepdims=True)
    cdf = jnp.cumsum(pdf, axis=-1)
    cdf = jnp.concatenate([jnp.zeros_like(cdf[..., :1]), cdf], axis=-1)  # (..., K + 1)
    # searchsorted(cdf, u, right=True) on a non-decreasing cdf == count of entries <= u.
    idx = jnp.sum(u[..., :, None] >= cdf[..., None, :], axis=-1)
    below = jnp.maximum(idx - 1, 0)
    above = jnp.minimum(idx, k)
    cdf_b = jnp.take_along_axis(cdf, below, axis=-1)
    cdf_a = jnp.take_along_axis(cdf, above, axis=-1)
    bin_b = jnp.take_along_axis(bins, below, axis=-1)
    bin_a = jnp.take_along_axis(bins, above, axis=-1)
    denom = cdf_a - cdf_b
    denom = jnp.where(denom < _PDF_EPS, 1.0, denom)
    return bin_b + (u - cdf_b) / denom * (bin_a - bin_b)


def importance_depths(z_vals, weights, u):
    """Fine depths from coarse weights (sample_importance, eg3d.md §5.6 steps 2-5); no gradient.

    Args:
      z_vals: (N, M, S, 1) coarse depths (sorted along S).
      weights: (N, M, S-1, 1) coarse ray-marcher weights.
      u: (N*M, n) (the recorded torch.rand draw) or (N, M, n) uniforms; linspace_u for det.
    Returns:
      (N, M, n, 1) fine depths in the order of u (stop_gradient). The inverse CDF is monotone
      in u, also in float32 rounding, so ascending u per ray gives ascending depths.
    """
    n_, m_, s, _ = z_vals.shape
    if weights.shape != (n_, m_, s - 1, 1):
        raise ValueError(f"weights: expected shape {(n_, m_, s - 1, 1)}, got {weights.shape}")
    if u.ndim not in (2, 3) or u.shape[:-1] not in ((n_ * m_,), (n_, m_)):
        raise ValueError(f"u: expected shape ({n_ * m_}, n) or ({n_}, {m_}, n), got {u.shape}")
    u = u.reshape(n_, m_, u.shape[-1])
    z = jax.lax.stop_gradient(z_vals[..., 0])
    w = jax.lax.stop_gradient(weights[..., 0])  # (N, M, S-1)
    # max_pool1d(kernel 2, stride 1, padding 1) -> S values, then avg_pool1d(kernel 2) -> S-1.
    pad = jnp.full_like(w[..., :1], -jnp.inf)
    wp = jnp.concatenate([pad, w, pad], axis=-1)
    w_max = jnp.maximum(wp[..., :-1], wp[..., 1:])
    w_smooth = (w_max[..., :-1] + w_max[..., 1:]) / 2 + 0.01
    mids = 0.5 * (z[..., :-1] + z[..., 1:])  # (N, M, S-1)
    fine = sample_pdf(mids, w_smooth[..., 1:-1], u)
    return jax.lax.stop_gradient(fine)[..., None]


def merge_ranks(a, b):
    """Positions of two sorted sample lists in their merge (unify_samples, eg3d.md §5.6 step 6).

    Args:
      a: (..., S, 1) depths, ascending along S (the coarse samples).
      b: (..., n, 1) depths, ascending along n (the fine samples).
    Returns:
      (..., S + n) int32 ranks: sample t of concatenate([a, b]) goes to position ranks[t] of the
      merged, sorted list. Ties put a first and keep each list's order, i.e. the ranks are the
      inverse of a stable argsort of the concatenation, computed with O((S + n)^2 / 4)
      comparisons instead of two sorts.
    """
    a, b = a[..., 0], b[..., 0]
    rank_a = jnp.arange(a.shape[-1], dtype=jnp.int32) + jnp.sum(
        b[..., None, :] < a[..., :, None], axis=-1, dtype=jnp.int32)
    rank_b = jnp.arange(b.shape[-1], dtype=jnp.int32) + jnp.sum(
        a[..., None, :] <= b[..., :, None], axis=-1, dtype=jnp.int32)
    return jnp.concatenate([rank_a, rank_b], axis=-1)
