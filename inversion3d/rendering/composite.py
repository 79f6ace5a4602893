"""Composite volume rendering of two fields on one set of samples (In-N-Out, in-n-out.md §2.3).

The in-distribution field (the generator's tri-plane + decoder) chooses the samples exactly as
`renderer.render` does: stratified coarse depths, importance depths from *its* coarse weights. A
second, out-of-distribution (OOD) field is evaluated at the same points and supplies densities,
colours and a blending weight b per sample; both are merged into one sorted list (one sort for
both fields) and composited with the dynamic-NeRF rule (Gao et al. 2021):

  factor_k = (1 - b_k alpha_O,k + 1e-10) (1 - (1 - b_k) alpha_F,k + 1e-10),  T_k = prod_{j<k} factor_j
  C = sum_k T_k [b_k alpha_O,k c_O,k + (1 - b_k) alpha_F,k c_F,k],  w_k = T_k [b_k alpha_O,k + (1 - b_k) alpha_F,k]

with interval (midpoint) values as in the plain marcher. With b = 0 every step is the plain
renderer's (1 + 1e-10 == 1 in float32 and 0 * x adds nothing), so the composite equals
`renderer.render` up to float32 reassociation. The sampling pieces are the renderer's own
(renderer._decode / _place / _uniforms / _chunked), not copies.
"""
import jax
import jax.numpy as jnp

from inversion3d.rendering import renderer as plain
from inversion3d.rendering.marcher import _torch_softplus, composite_depth, finish_rgb, march_weights, sample_weights
from inversion3d.rendering.sampling import importance_depths, merge_ranks, stratified_depths

_EPS = 1e-10  # per-factor epsilon of the transmittance product (in-n-out.md §2.3 step 5)


def interval_alpha(densities, depths):
    """alpha = 1 - exp(-softplus(mid density - 1) * delta) per interval: (N, M, S, 1) -> (N, M, S-1, 1)."""
    deltas = depths[..., 1:, :] - depths[..., :-1, :]
    mid = (densities[..., :-1, :] + densities[..., 1:, :]) / 2
    return 1.0 - jnp.exp(-_torch_softplus(mid - 1.0) * deltas)


def composite_weights(sigma_in, sigma_ood, blend, depths):
    """Per-interval weights of the two fields on sorted samples (in-n-out.md §2.3 steps 4-5).

    Args:
      sigma_in, sigma_ood: (N, M, S, 1) raw densities of the in-distribution / OOD field.
      blend: (N, M, S, 1) blending weight b per sample (1 = OOD).
      depths: (N, M, S, 1) ascending depths.
    Returns:
      (w_in, w_ood) (N, M, S-1, 1): T_k (1 - b_k) alpha_F,k and T_k b_k alpha_O,k; their sum is the
      composite weight w_k.
    """
    alpha_in = interval_alpha(sigma_in, depths)
    alpha_ood = interval_alpha(sigma_ood, depths)
    b = (blend[..., :-1, :] + blend[..., 1:, :]) / 2
    a_ood, a_in = b * alpha_ood, (1.0 - b) * alpha_in
    factor = (1.0 - a_ood + _EPS) * (1.0 - a_in + _EPS)
    shifted = jnp.concatenate([jnp.ones_like(factor[..., :1, :]), factor], axis=-2)
    transmittance = jnp.cumprod(shifted, axis=-2)[..., :-1, :]
    return transmittance * a_in, transmittance * a_ood


def _points(origins, dirs, depths):
    n, m, s, _ = depths.shape
    return (origins[:, :, None, :] + depths * dirs[:, :, None, :]).reshape(n, m * s, 3)


def _ood(ood_fn, origins, dirs, depths, scale):
    """OOD field at the points of (N, m, s, 1) depths -> (sigma (N, m, s, 1), rgb (N, m, s, C),
    blend as decoded (N, m, s, 1), blend used = min(blend * scale, 1))."""
    n, m, s, _ = depths.shape
    out = ood_fn(_points(origins, dirs, depths))
    wide = lambda x: x.astype(jnp.promote_types(x.dtype, jnp.float32))  # noqa: E731 (marched in >= float32)
    sigma = wide(out["sigma"]).reshape(n, m, s, 1)
    rgb = out["rgb"].reshape(n, m, s, out["rgb"].shape[-1])
    blend = wide(out["blend"]).reshape(n, m, s, 1)
    used = blend if scale is None else jnp.minimum(blend * scale[:, :, None, :], 1.0)
    return sigma, rgb, blend, used


def _composite_rays(planes, decode_fn, ood_fn, origins, dirs, u_strat, u_imp, scale, cfg):
    """Renders (N, m) rays of both fields; depth left unclamped (see composite_render)."""
    depths_c = stratified_depths(u_strat, cfg.ray_start, cfg.ray_end, cfg.disparity_space_sampling)
    _, sigma_c, rgb_c = plain._decode(planes, decode_fn, origins, dirs, depths_c, cfg)
    o_sigma_c, o_rgb_c, b_c, used_c = _ood(ood_fn, origins, dirs, depths_c, scale)
    if cfg.depth_resolution_importance > 0:
        # Fine depths from the in-distribution field's coarse weights only (in-n-out.md §2.3 step 1;
        # the clean version of the release's quirk).
        depths_f = importance_depths(depths_c, march_weights(sigma_c, depths_c), jnp.sort(u_imp, axis=-1))
        _, sigma_f, rgb_f = plain._decode(planes, decode_fn, origins, dirs, depths_f, cfg)
        o_sigma_f, o_rgb_f, b_f, used_f = _ood(ood_fn, origins, dirs, depths_f, scale)
        ranks = merge_ranks(depths_c, depths_f)

        def place(a, b):
            return plain._place(ranks, jnp.concatenate([a, b], axis=-2))

        depths, sigma_in = place(depths_c, depths_f), place(sigma_c, sigma_f)
        sigma_ood, blend = place(o_sigma_c, o_sigma_f), place(used_c, used_f)
    else:
        ranks = jnp.broadcast_to(jnp.arange(depths_c.shape[-2]), depths_c.shape[:-1])
        depths, sigma_in, sigma_ood, blend = depths_c, sigma_c, o_sigma_c, used_c
        rgb_f = o_rgb_f = depths_c[..., :0, :]
        b_f = b_c[..., :0, :]
    s = cfg.depth_resolution
    w_in, w_ood = composite_weights(sigma_in, sigma_ood, blend, depths)
    w_only = march_weights(sigma_ood, depths)  # the OOD field alone (in-n-out.md §2.3 step 7)

    def colour(weights, rgb_coarse, rgb_fine):
        # Colours stay in the order they were decoded; the per-sample weights go back to it.
        per = jnp.take_along_axis(sample_weights(weights)[..., 0], ranks, axis=-1)
        out = jnp.einsum("nms,nmsc->nmc", per[..., :s], rgb_coarse)
        if rgb_fine.shape[-2]:
            out = out + jnp.einsum("nms,nmsc->nmc", per[..., s:], rgb_fine)
        return out

    rgb = colour(w_in, rgb_c, rgb_f) + colour(w_ood, o_rgb_c, o_rgb_f)
    weights = w_in + w_ood
    depth, wsum = composite_depth(weights, depths, plain._OPEN_RANGE)
    ood_depth, ood_wsum = composite_depth(w_only, depths, plain._OPEN_RANGE)
    return {
        "rgb": finish_rgb(rgb, wsum, cfg.white_back, cfg.rgb_scale), "depth": depth, "weights_sum": wsum,
        "ood_rgb": finish_rgb(colour(w_only, o_rgb_c, o_rgb_f), ood_wsum, cfg.white_back, cfg.rgb_scale),
        "ood_depth": ood_depth, "ood_weights_sum": ood_wsum,
        "blend_coarse": b_c[..., 0], "blend_fine": b_f[..., 0],
        "blend_weight": jnp.sum(w_ood, axis=-2),  # (N, m, 1) share of the ray's opacity from the OOD field
        "depth_min": jnp.min(depths, axis=(-2, -1)), "depth_max": jnp.max(depths, axis=(-2, -1)),
    }


def composite_render(planes, decode_fn, ood_fn, ray_origins, ray_directions, cfg, draws=None, rng=None,
                     blend_scale=None):
    """Volume-renders the in-distribution field blended with an OOD field (in-n-out.md §2.3).

    Args:
      planes, decode_fn, ray_origins, ray_directions, cfg, draws, rng: as `renderer.render` (the
        in-distribution field and its samples).
      ood_fn: points (N, P, 3) -> dict(sigma (N, P, 1) raw density, rgb (N, P, C) with the same C as
        decode_fn's rgb, blend (N, P, 1) in [0, 1]).
      blend_scale: optional (N, M, 1) per-ray factor on b, clamped to 1 after scaling (OOD removal,
        in-n-out.md §5: 0 on removed rays, 1.2 elsewhere); None leaves b as decoded.
    Returns:
      dict rgb (N, M, C) composite (after x*2-1), depth (N, M, 1), weights_sum (N, M, 1);
      ood_rgb / ood_depth / ood_weights_sum: the OOD field alone on the same samples;
      blend_coarse (N, M, S), blend_fine (N, M, n): b as decoded, per sample, before sorting;
      blend_weight (N, M, 1): sum over the ray of the OOD part of the weights.
      Depths are clamped to the global min / max sample depth as in `renderer.render`.
    """
    if ray_origins.ndim != 3 or ray_origins.shape[-1] != 3 or ray_directions.shape != ray_origins.shape:
        raise ValueError(f"ray_origins/ray_directions: expected equal shapes (N, M, 3), got "
                         f"{ray_origins.shape}, {ray_directions.shape}")
    if planes.ndim != 5 or planes.shape[:2] != (ray_origins.shape[0], 3):
        raise ValueError(f"planes: expected shape ({ray_origins.shape[0]}, 3, H, W, C), got {planes.shape}")
    num, num_rays = ray_origins.shape[:2]
    if blend_scale is not None and blend_scale.shape != (num, num_rays, 1):
        raise ValueError(f"blend_scale: expected shape {(num, num_rays, 1)}, got {blend_scale.shape}")
    u_strat, u_imp, _ = plain._uniforms(cfg, num, num_rays, draws, rng)
    scale = jnp.ones((num, num_rays, 1), jnp.float32) if blend_scale is None else blend_scale

    def fn(origins, dirs, us, ui, sc):
        return _composite_rays(planes, decode_fn, ood_fn, origins, dirs, us, ui,
                               None if blend_scale is None else sc, cfg)

    ray_args = (ray_origins, ray_directions, u_strat, u_imp, scale)
    chunked = cfg.ray_chunk is not None and cfg.ray_chunk < num_rays
    if cfg.remat:
        fn = jax.checkpoint(fn, prevent_cse=not chunked)
    out = plain._chunked(fn, ray_args, cfg.ray_chunk) if chunked else fn(*ray_args)
    lo, hi = jnp.min(out.pop("depth_min")), jnp.max(out.pop("depth_max"))
    out["depth"] = jnp.minimum(jnp.maximum(out["depth"], lo), hi)
    out["ood_depth"] = jnp.minimum(jnp.maximum(out["ood_depth"], lo), hi)
    return out
