"""Two-pass (coarse + importance) volume renderer over tri-planes / tri-grids (eg3d.md §5.2-5.6).

`render` is a pure function of the planes, a caller-supplied decoder, the rays, a static
`RenderConfig` and explicit uniforms (`draws`) or an rng. Jit it with cfg and decode_fn static,
e.g. ``jax.jit(render, static_argnames=("decode_fn", "cfg", "return_aux"))``.
"""
import dataclasses
import math
from typing import Optional

import jax
import jax.numpy as jnp

from inversion3d.ops.grid import density_crop_mask, sample_from_planes, sample_from_trigrid
from inversion3d.rendering.marcher import composite_depth, finish_rgb, march_weights, sample_weights
from inversion3d.rendering.sampling import importance_depths, linspace_u, merge_ranks, stratified_depths

_OPEN_RANGE = (-jnp.inf, jnp.inf)  # per-chunk marches leave the depth unclamped; render clamps globally
_CROPPED_DENSITY = -1000.0  # panohead.md §4: softplus(-1001) == 0, no contribution


@dataclasses.dataclass(frozen=True)
class RenderConfig:
    """Static rendering settings (eg3d.md §6 rendering_kwargs; panohead.md §1, §4).

    depth_resolution / depth_resolution_importance: coarse S / fine n samples per ray (n = 0: the
    coarse march is final). ray_start / ray_end: depth range (world units). box_warp: feature cube
    side. density_crop: PanoHead x/z crop margin (0.1) or None. plane_kind: 'eg3d' (tri-plane,
    bilinear) or 'trigrid' (PanoHead, trilinear with triplane_depth slices). ray_chunk: rays per
    chunk (bounds peak memory; results equal the unchunked render) or None. remat: recompute
    each chunk's forward in the backward pass (jax.checkpoint) instead of keeping its
    intermediates: gradients through render then need about one chunk's activations, not all
    chunks' (same values and gradients; costs one more forward).
    """
    depth_resolution: int
    depth_resolution_importance: int
    ray_start: float
    ray_end: float
    box_warp: float = 1.0
    disparity_space_sampling: bool = False
    white_back: bool = False
    rgb_scale: bool = True
    density_crop: Optional[float] = None
    plane_kind: str = "eg3d"
    triplane_depth: int = 1
    ray_chunk: Optional[int] = None
    remat: bool = False

    def __post_init__(self):
        if self.plane_kind not in ("eg3d", "trigrid"):
            raise ValueError(f"plane_kind: expected 'eg3d' or 'trigrid', got {self.plane_kind!r}")
        if self.depth_resolution < 2 or self.depth_resolution_importance < 0:
            raise ValueError(
                f"depth_resolution / depth_resolution_importance: expected >= 2 / >= 0, got "
                f"{self.depth_resolution} / {self.depth_resolution_importance}")
        if self.ray_chunk is not None and self.ray_chunk < 1:
            raise ValueError(f"ray_chunk: expected a positive int or None, got {self.ray_chunk}")


def sample_draws(rng, num, num_rays, cfg):
    """The two uniform draws of one render (eg3d.md §5.6 "Random draws"), as `draws` for render.

    Returns dict(stratified=(num, num_rays, S, 1), importance=(num*num_rays, n)) float32 uniforms.
    """
    k_strat, k_imp = jax.random.split(rng)
    return {
        "stratified": jax.random.uniform(k_strat, (num, num_rays, cfg.depth_resolution, 1)),
        "importance": jax.random.uniform(k_imp, (num * num_rays, cfg.depth_resolution_importance)),
    }


def _uniforms(cfg, num, num_rays, draws, rng):
    """(N, M, S, 1) stratified and (N, M, n) importance uniforms from draws, rng or defaults,
    and whether the importance uniforms are known to ascend per ray (the linspace default)."""
    draws = dict(draws or {})
    if rng is not None:
        for key, value in sample_draws(rng, num, num_rays, cfg).items():
            draws.setdefault(key, value)
    s, n = cfg.depth_resolution, cfg.depth_resolution_importance
    u_strat = draws.get("stratified")
    u_strat = jnp.zeros((num, num_rays, s, 1)) if u_strat is None else jnp.asarray(u_strat, jnp.float32)
    if u_strat.shape != (num, num_rays, s, 1):
        raise ValueError(f"draws['stratified']: expected shape {(num, num_rays, s, 1)}, got {u_strat.shape}")
    u_imp = draws.get("importance")
    imp_sorted = u_imp is None
    u_imp = linspace_u((num, num_rays), n) if u_imp is None else jnp.asarray(u_imp, jnp.float32)
    if u_imp.shape not in ((num * num_rays, n), (num, num_rays, n)):
        raise ValueError(f"draws['importance']: expected shape {(num * num_rays, n)}, got {u_imp.shape}")
    return u_strat, u_imp.reshape(num, num_rays, n), imp_sorted


def _place(ranks, values):
    """out[..., ranks[t], :] = values[..., t, :] for (N, m, T) ranks and (N, m, T, 1) values."""
    n, m, t = ranks.shape
    rows = jnp.arange(n * m)[:, None]
    out = jnp.zeros((n * m, t) + values.shape[3:], values.dtype)
    out = out.at[rows, ranks.reshape(n * m, t)].set(values.reshape(out.shape), unique_indices=True)
    return out.reshape(values.shape)


def _decode(planes, decode_fn, origins, dirs, depths, cfg, noise=None):
    """Decodes the points o + t d of (N, m, s, 1) depths -> raw sigma, cropped sigma, colours.
    noise (N, m, s, 1): added to the raw densities before the crop (PanoHead run_model)."""
    n, m, s, _ = depths.shape
    points = (origins[:, :, None, :] + depths * dirs[:, :, None, :]).reshape(n, m * s, 3)
    point_dirs = jnp.broadcast_to(dirs[:, :, None, :], (n, m, s, 3)).reshape(n, m * s, 3)
    if cfg.plane_kind == "eg3d":
        feats = sample_from_planes(planes, points, cfg.box_warp, "eg3d")
    else:
        feats = sample_from_trigrid(planes, points, cfg.triplane_depth, cfg.box_warp)
    out = decode_fn(feats, points, point_dirs)
    # Densities are marched (softplus, cumprod of transmittance) in at least float32 even when
    # the planes / decoder run in bfloat16; colours keep their dtype until the composite.
    raw_sigma, rgb = out["sigma"], out["rgb"]
    raw_sigma = raw_sigma.astype(jnp.promote_types(raw_sigma.dtype, jnp.float32))
    if noise is not None:
        raw_sigma = raw_sigma + noise.reshape(raw_sigma.shape).astype(raw_sigma.dtype)
    sigma = raw_sigma
    if cfg.density_crop is not None:
        mask = density_crop_mask(points, cfg.box_warp, cfg.density_crop)
        sigma = jnp.where(mask, _CROPPED_DENSITY, sigma)
    return raw_sigma.reshape(n, m, s, 1), sigma.reshape(n, m, s, 1), rgb.reshape(n, m, s, rgb.shape[-1])


def _render_rays(planes, decode_fn, origins, dirs, u_strat, u_imp, cfg, return_aux, imp_sorted,
                 noise_c=None, noise_f=None):
    """Renders (N, m) rays; the depth is left unclamped (empty rays +inf), see render."""
    depths_c = stratified_depths(u_strat, cfg.ray_start, cfg.ray_end, cfg.disparity_space_sampling)
    raw_c, sigma_c, rgb_c = _decode(planes, decode_fn, origins, dirs, depths_c, cfg, noise_c)
    aux = {"depths_coarse": depths_c, "sigma_coarse": raw_c, "sigma_coarse_cropped": sigma_c}
    if cfg.depth_resolution_importance > 0:
        weights_c = march_weights(sigma_c, depths_c)
        # Sorted uniforms give sorted fine depths (importance_depths), so that unify_samples
        # (eg3d.md §5.6 step 6) is a merge of two sorted lists: each sample's position in it
        # (merge_ranks, the inverse of the official stable sort) places depths and densities
        # and sends the per-sample compositing weights back, so the (N, m, S+n, C) colours
        # are never permuted. The fine samples are only reordered among themselves, which
        # leaves the merged list unchanged (equal depths are equal points).
        unsort = None
        if not imp_sorted and return_aux:
            order = jnp.argsort(u_imp, axis=-1)
            u_imp, unsort = jnp.take_along_axis(u_imp, order, axis=-1), jnp.argsort(order, axis=-1)[..., None]
        elif not imp_sorted:
            u_imp = jnp.sort(u_imp, axis=-1)
        depths_f = importance_depths(depths_c, weights_c, u_imp)
        raw_f, sigma_f, rgb_f = _decode(planes, decode_fn, origins, dirs, depths_f, cfg, noise_f)
        ranks = merge_ranks(depths_c, depths_f)
        all_depths = _place(ranks, jnp.concatenate([depths_c, depths_f], axis=-2))
        all_sigma = _place(ranks, jnp.concatenate([sigma_c, sigma_f], axis=-2))
        weights = march_weights(all_sigma, all_depths)
        per_sample = jnp.take_along_axis(sample_weights(weights)[..., 0], ranks, axis=-1)
        s = cfg.depth_resolution
        rgb = (jnp.einsum("nms,nmsc->nmc", per_sample[..., :s], rgb_c)
               + jnp.einsum("nms,nmsc->nmc", per_sample[..., s:], rgb_f))
        if unsort is not None:  # aux in the order of the given uniforms (the torch order)
            depths_f, raw_f = (jnp.take_along_axis(x, unsort, axis=-2) for x in (depths_f, raw_f))
        aux.update(coarse_weights=weights_c, depths_fine=depths_f, sigma_fine=raw_f)
    else:
        all_depths, all_sigma = depths_c, sigma_c
        weights = march_weights(all_sigma, all_depths)
        rgb = jnp.einsum("nms,nmsc->nmc", sample_weights(weights)[..., 0], rgb_c)
        empty = jnp.zeros(depths_c.shape[:2] + (0, 1), depths_c.dtype)
        aux.update(coarse_weights=weights, depths_fine=empty, sigma_fine=empty)
    depth, wsum = composite_depth(weights, all_depths, _OPEN_RANGE)
    out = {
        "rgb": finish_rgb(rgb, wsum, cfg.white_back, cfg.rgb_scale),
        "depth": depth,
        "weights_sum": wsum,
        "depth_min": jnp.min(all_depths, axis=(-2, -1)),  # (N, m), for the global clamp
        "depth_max": jnp.max(all_depths, axis=(-2, -1)),
    }
    if return_aux:
        aux.update(all_depths=all_depths, all_sigma=all_sigma)
        out["aux"] = aux
    return out


def _density_noise(cfg, num, num_rays, density_noise):
    """() or (coarse (N, M, S, 1), fine (N, M, n, 1) or None) validated from render's density_noise."""
    if density_noise is None:
        return ()
    shapes = {"coarse": (num, num_rays, cfg.depth_resolution, 1)}
    if cfg.depth_resolution_importance > 0:
        shapes["fine"] = (num, num_rays, cfg.depth_resolution_importance, 1)
    if set(density_noise) != set(shapes):
        raise ValueError(f"density_noise: expected keys {sorted(shapes)}, got {sorted(density_noise)}")
    for k, shape in shapes.items():
        if tuple(density_noise[k].shape) != shape:
            raise ValueError(f"density_noise['{k}']: expected shape {shape}, got {tuple(density_noise[k].shape)}")
    return tuple(density_noise[k] for k in ("coarse", "fine") if k in shapes)


def _chunked(fn, ray_args, chunk):
    """Applies fn to (N, M, ...) ray arrays in chunks of `chunk` rays with lax.map; -> (N, M, ...)."""
    num_rays = ray_args[0].shape[1]
    num_chunks = math.ceil(num_rays / chunk)
    pad = num_chunks * chunk - num_rays

    def split(x):
        # Edge padding keeps the padded rays valid; their outputs are dropped below.
        x = jnp.pad(x, [(0, 0), (0, pad)] + [(0, 0)] * (x.ndim - 2), mode="edge")
        x = x.reshape(x.shape[0], num_chunks, chunk, *x.shape[2:])
        return jnp.moveaxis(x, 1, 0)

    def merge(y):
        y = jnp.moveaxis(y, 0, 1)
        return y.reshape(y.shape[0], num_chunks * chunk, *y.shape[3:])[:, :num_rays]

    outs = jax.lax.map(lambda args: fn(*args), tuple(split(a) for a in ray_args))
    return jax.tree.map(merge, outs)


def render(planes, decode_fn, ray_origins, ray_directions, cfg, draws=None, rng=None, return_aux=False,
           density_noise=None):
    """Volume-renders features along rays (ImportanceRenderer, eg3d.md §5.2-5.6; panohead.md §4).

    Args:
      planes: (N, 3, H, W, C) tri-planes ('eg3d') or (N, 3, H, W, C*D) tri-grids ('trigrid').
      decode_fn: (features (N, 3, P, C), coords (N, P, 3), dirs (N, P, 3)) ->
        dict(sigma=(N, P, 1) raw density, rgb=(N, P, Cout)).
      ray_origins, ray_directions: (N, M, 3) (world units; unit directions).
      cfg: RenderConfig (static).
      draws: optional dict of recorded uniforms: 'stratified' (N, M, S, 1) and / or
        'importance' (N*M, n) (or (N, M, n)).
      rng: PRNG key for the draws not given. With neither, no jitter (u = 0) and
        deterministic linspace pdf sampling.
      return_aux: also return intermediate samples (for regularisers and tests).
      density_noise: optional dict of noise added to the raw densities of each decoder pass before
        the density crop (PanoHead's training-time density_noise): 'coarse' (N, M, S, 1) and, with
        importance samples, 'fine' (N, M, n, 1) (fine sample k of a ray in the order of the sorted
        importance uniforms). The raw sigmas in aux include it.
    Returns:
      dict rgb (N, M, Cout), depth (N, M, 1) (clamped to the global min / max of all sample
      depths of the batch), weights_sum (N, M, 1); with return_aux also `aux` =
      dict(depths_coarse (N, M, S, 1), sigma_coarse (N, M*S, 1) raw, coarse_weights
      (N, M, S-1, 1), sigma_coarse_cropped (N, M, S, 1) after the density crop,
      depths_fine (N, M, n, 1), sigma_fine (N, M*n, 1) raw,
      all_depths / all_sigma (N, M, S+n, 1) merged, sorted, after the density crop).
    """
    if ray_origins.ndim != 3 or ray_origins.shape[-1] != 3:
        raise ValueError(f"ray_origins: expected shape (N, M, 3), got {ray_origins.shape}")
    if ray_directions.shape != ray_origins.shape:
        raise ValueError(f"ray_directions: expected shape {ray_origins.shape}, got {ray_directions.shape}")
    if planes.ndim != 5 or planes.shape[:2] != (ray_origins.shape[0], 3):
        raise ValueError(f"planes: expected shape ({ray_origins.shape[0]}, 3, H, W, C), got {planes.shape}")
    num, num_rays = ray_origins.shape[:2]
    u_strat, u_imp, imp_sorted = _uniforms(cfg, num, num_rays, draws, rng)
    noise = _density_noise(cfg, num, num_rays, density_noise)

    def fn(origins, dirs, us, ui, *noise):
        return _render_rays(planes, decode_fn, origins, dirs, us, ui, cfg, return_aux, imp_sorted, *noise)

    ray_args = (ray_origins, ray_directions, u_strat, u_imp) + noise
    chunked = cfg.ray_chunk is not None and cfg.ray_chunk < num_rays
    if cfg.remat:
        # Inside lax.map's loop the recomputation cannot be CSE'd with the forward anyway.
        fn = jax.checkpoint(fn, prevent_cse=not chunked)
    out = _chunked(fn, ray_args, cfg.ray_chunk) if chunked else fn(*ray_args)
    lo, hi = jnp.min(out.pop("depth_min")), jnp.max(out.pop("depth_max"))
    out["depth"] = jnp.minimum(jnp.maximum(out["depth"], lo), hi)
    if return_aux:
        aux = out["aux"]
        for key in ("sigma_coarse", "sigma_fine"):  # per-ray (N, M, s, 1) -> ray-major (N, M*s, 1)
            aux[key] = aux[key].reshape(num, -1, 1)
    return out
