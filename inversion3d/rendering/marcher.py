"""Alpha compositing along rays (MipRayMarcher2 with softplus density, eg3d.md §5.5)."""
import jax.numpy as jnp


def _torch_softplus(x):
    # torch softplus(beta=1, threshold=20): linear above the threshold.
    return jnp.where(x > 20.0, x, jnp.log1p(jnp.exp(jnp.minimum(x, 20.0))))


def mip_ray_march(colors, densities, depths, white_back=False, rgb_scale=True, depth_range=None):
    """Composites S samples per ray over their S-1 midpoint intervals (eg3d.md §5.5).

    sigma = softplus(density_mid - 1); alpha = 1 - exp(-sigma * delta);
    T = exclusive cumprod(1 - alpha + 1e-10); weights = alpha * T.

    Args:
      colors: (N, M, S, C) per-sample features.
      densities: (N, M, S, 1) raw decoder densities.
      depths: (N, M, S, 1) sample depths, ascending along S (world units).
      white_back: add (1 - sum of weights) to the colour (ShapeNet), before the scaling.
      rgb_scale: EG3D maps the composite with x * 2 - 1; PanoHead does not (panohead.md §4).
      depth_range: (lo, hi) clamp for the depth. None -> min / max of `depths` over the whole
        tensor (all batch items and rays, as the official code); pass the global range when
        the caller renders rays in chunks, or (-inf, inf) to leave empty rays at +inf.
    Returns:
      rgb (N, M, C), depth (N, M, 1) (empty rays -> +inf, then clamped), weights (N, M, S-1, 1).
    """
    if densities.shape != depths.shape or densities.shape[-1] != 1 or densities.ndim != 4:
        raise ValueError(f"densities/depths: expected equal shapes (N, M, S, 1), got {densities.shape}, {depths.shape}")
    if colors.shape[:-1] != depths.shape[:-1]:
        raise ValueError(f"colors: expected shape {depths.shape[:-1] + ('C',)}, got {colors.shape}")
    weights = march_weights(densities, depths)
    rgb = jnp.einsum("nms,nmsc->nmc", sample_weights(weights)[..., 0], colors)
    depth, wsum = composite_depth(weights, depths, depth_range)
    return finish_rgb(rgb, wsum, white_back, rgb_scale), depth, weights


def march_weights(densities, depths):
    """Interval weights alpha * T (N, M, S-1, 1) of sorted samples (eg3d.md §5.5)."""
    deltas = depths[..., 1:, :] - depths[..., :-1, :]
    densities_mid = (densities[..., :-1, :] + densities[..., 1:, :]) / 2
    sigma = _torch_softplus(densities_mid - 1.0)
    alpha = 1.0 - jnp.exp(-sigma * deltas)
    shifted = jnp.concatenate([jnp.ones_like(alpha[..., :1, :]), 1.0 - alpha + 1e-10], axis=-2)
    transmittance = jnp.cumprod(shifted, axis=-2)[..., :-1, :]
    return alpha * transmittance


def sample_weights(weights):
    """Per-sample weights (N, M, S, 1) such that sum_s v_s c_s = sum_i w_i (c_i + c_{i+1}) / 2.

    Compositing the interval midpoints' colours equals weighting each sample by half of its two
    neighbouring intervals; this avoids materialising (N, M, S-1, C) midpoint colours.
    """
    zero = jnp.zeros_like(weights[..., :1, :])
    return 0.5 * (jnp.concatenate([weights, zero], axis=-2) + jnp.concatenate([zero, weights], axis=-2))


def composite_depth(weights, depths, depth_range=None):
    """(expected depth (N, M, 1) clamped as in mip_ray_march, weight sums (N, M, 1))."""
    depths_mid = (depths[..., :-1, :] + depths[..., 1:, :]) / 2
    wsum = jnp.sum(weights, axis=-2)
    numer = jnp.sum(weights * depths_mid, axis=-2)
    # 0/0 on empty rays becomes +inf as nan_to_num(nan=inf) does; the double where keeps the
    # gradient finite (weights are >= 0, so wsum == 0 implies numer == 0).
    empty = wsum == 0
    depth = jnp.where(empty, jnp.inf, numer / jnp.where(empty, 1.0, wsum))
    lo, hi = (jnp.min(depths), jnp.max(depths)) if depth_range is None else depth_range
    return jnp.minimum(jnp.maximum(depth, lo), hi), wsum


def finish_rgb(rgb, wsum, white_back=False, rgb_scale=True):
    """White background (ShapeNet) and EG3D's x * 2 - 1 on the composite colour."""
    if white_back:
        rgb = rgb + 1.0 - wsum
    if rgb_scale:
        rgb = rgb * 2.0 - 1.0
    return rgb
