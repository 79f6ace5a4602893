"""Pixel-aligned features at the renderer's 3D sample points (E3DGE's local branch, e3dge.md §2.2, §6).

Pure functions beside the renderer, not a second renderer: `project_points` maps world points into
a camera's image (the inverse of `rays.sample_rays`), `bilinear_lookup` reads a feature map there,
`visible` is the z-test against that view's rendered depth, and `with_point_delta` wraps a decoder
so that every sample point's tri-plane features get an additive delta before the decoder
(`render(planes, with_point_delta(decode_fn, delta_fn), ...)`; the ray chunking and importance
sampling of `renderer.render` are untouched).
"""
import math

import jax
import jax.numpy as jnp

from inversion3d.camera import split_label

_HI = jax.lax.Precision.HIGHEST  # projected coordinates must not be rounded (TF32 on GPU)
_MIN_Z = 1e-6  # points at or behind the camera plane project nowhere


def project_points(points, c):
    """World points (N, P, 3) -> (uv (N, P, 2), dist (N, P), in_front (N, P) bool) for cameras c (N, 25).

    uv are normalised image coordinates (u = column, v = row; pixel (i, j) of an R x R image has its
    centre at ((j + 0.5) / R, (i + 0.5) / R), eg3d.md §5.1), from the pinhole model with skew:
    u = fx x/z + s y/z + cx, v = fy y/z + cy in the OpenCV camera frame. `dist` is the Euclidean
    distance to the camera centre, the quantity EG3D's depth maps hold (ray depth along unit rays).
    """
    if points.ndim != 3 or points.shape[-1] != 3:
        raise ValueError(f"points: expected shape (N, P, 3), got {points.shape}")
    cam2world, k = split_label(c)
    if cam2world.shape[0] != points.shape[0]:
        raise ValueError(f"c: expected {points.shape[0]} cameras, got {cam2world.shape[0]}")
    rot, origin = cam2world[:, :3, :3], cam2world[:, :3, 3]
    rel = points - origin[:, None, :]
    cam = jnp.einsum("npi,nij->npj", rel, rot, precision=_HI)  # R^T (x - o): rotations are orthonormal
    z = cam[..., 2]
    in_front = z > _MIN_Z
    zs = jnp.where(in_front, z, 1.0)
    x, y = cam[..., 0] / zs, cam[..., 1] / zs
    u = k[:, None, 0, 0] * x + k[:, None, 0, 1] * y + k[:, None, 0, 2]
    v = k[:, None, 1, 1] * y + k[:, None, 1, 2]
    return jnp.stack([u, v], axis=-1), jnp.linalg.norm(rel, axis=-1), in_front


def bilinear_lookup(feature_map, uv):
    """Bilinear read of feature_map (N, H, W, C) at uv (N, P, 2) -> ((N, P, C), inside (N, P) bool).

    torch grid_sample(align_corners=False, padding_mode='zeros') semantics: taps outside the map
    count as zero; `inside` says the point lies within the image square [0, 1]^2.
    """
    n, h, w, ch = feature_map.shape
    if uv.ndim != 3 or uv.shape[0] != n or uv.shape[-1] != 2:
        raise ValueError(f"uv: expected shape ({n}, P, 2), got {uv.shape}")
    px, py = uv[..., 0] * w - 0.5, uv[..., 1] * h - 0.5
    x0, y0 = jnp.floor(px), jnp.floor(py)
    fx, fy = px - x0, py - y0
    flat = feature_map.reshape(n, h * w, ch)
    out = 0.0
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xi, yi = x0 + dx, y0 + dy
            ok = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
            idx = (jnp.clip(yi, 0, h - 1) * w + jnp.clip(xi, 0, w - 1)).astype(jnp.int32)
            tap = jnp.take_along_axis(flat, idx[..., None], axis=1)
            out = out + jnp.where(ok, wx * wy, 0.0)[..., None] * tap
    inside = (uv[..., 0] >= 0) & (uv[..., 0] <= 1) & (uv[..., 1] >= 0) & (uv[..., 1] <= 1)
    return out, inside


def visible(points, c, depth_map, margin):
    """(N, P) float 1/0: the point is in front of camera c (N, 25), inside its image and not behind
    the surface of that view: dist <= depth(uv) + margin (e3dge.md §6 'Visibility': E3DGE's
    visibility bit). depth_map (N, R, R, 1) is the view's rendered ray depth; margin in world units
    (about one depth-sample spacing)."""
    uv, dist, in_front = project_points(points, c)
    surface, inside = bilinear_lookup(depth_map, uv)
    # a nearest-surface read would jump at silhouettes; bilinear depth is what the render shows
    ok = in_front & inside & (dist <= surface[..., 0] + margin)
    return jax.lax.stop_gradient(ok.astype(points.dtype))


def pixel_aligned(points, c, feature_map, depth_map, margin):
    """Features of the view c at the 3D points: (bilinear(feature_map, proj(x)) * vis (N, P, C), vis (N, P, 1))."""
    uv, _, _ = project_points(points, c)
    feats, _ = bilinear_lookup(feature_map, uv)
    vis = visible(points, c, depth_map, margin)[..., None]
    return feats * vis, vis


def positional_encoding(points, num_freqs: int):
    """(…, 3) -> (…, 3 (2 F + 1)): [x, sin(2^k pi x), cos(2^k pi x)] for k < F (NeRF's, E3DGE's 'coordinate'
    mode with log-spaced frequencies; e3dge.md §3: F = 7 -> 45 dims)."""
    freqs = (2.0 ** jnp.arange(num_freqs, dtype=points.dtype)) * math.pi
    scaled = points[..., None, :] * freqs[:, None]  # (…, F, 3)
    parts = [points, jnp.sin(scaled).reshape(points.shape[:-1] + (-1,)),
             jnp.cos(scaled).reshape(points.shape[:-1] + (-1,))]
    return jnp.concatenate(parts, axis=-1)


def with_point_delta(decode_fn, delta_fn):
    """decode_fn (feats (N, 3, P, C), coords (N, P, 3), dirs) -> the same with feats + delta_fn(coords)
    ((N, P, C), the same delta on the three planes, so the decoder's plane mean moves by it).

    delta_fn None returns decode_fn itself (the global-only render)."""
    if delta_fn is None:
        return decode_fn

    def decode(feats, coords, dirs):
        delta = delta_fn(coords)
        if delta.shape != feats.shape[:1] + feats.shape[2:]:
            raise ValueError(f"delta_fn: expected shape {feats.shape[:1] + feats.shape[2:]}, got {delta.shape}")
        return decode_fn(feats + delta[:, None].astype(feats.dtype), coords, dirs)

    return decode
