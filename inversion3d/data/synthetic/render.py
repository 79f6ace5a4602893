"""Sphere tracing of synthetic heads: image, depth, foreground and accessory masks.

Rays are the EG3D renderer's (rendering/rays.py: pixel centres, unit directions, OpenCV camera), so
`depth` is the distance along the ray from the camera centre, the quantity EG3D composites as
image_depth (rendering/marcher.py composite_depth); pixels that miss the head are +inf there, as the
renderer leaves empty rays before clamping. Silhouettes are antialiased from the closest approach of
a missing ray (the cone-tracing coverage clip(0.5 - distance / pixel footprint)); masks and depth are
the pixel-centre ray's (a mask is 1 exactly where depth is finite). A ray hits when, after the fixed
number of steps, it is within hit_px of a pixel footprint of the surface, or within crease_px footprints
while still inside the bounding sphere (a ray sliding along a crease).
"""
import functools
from typing import NamedTuple, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.data.synthetic import parts, sdf
from inversion3d.rendering.rays import sample_rays

_TETRA = np.array([[1, -1, -1], [-1, -1, 1], [-1, 1, -1], [1, 1, 1]], np.float32)


class TraceSpec(NamedTuple):
    """How rays are traced (hashable: static under jit). steps: sphere-tracing steps per ray (all
    rays take all steps); relax: step = relax * distance (< 1 because the ellipsoid distance is a
    bound only to first order); bound_centre / bound_radius: a sphere holding every part (rays start
    where they enter it); blend_skin / blend_socket: smooth-union / carving widths (world units);
    blend_colour: softmin width of the colour blend between parts; hit_px: a ray has hit when its
    distance is below this fraction of its pixel footprint; crease_px: or below this many footprints
    when the steps ran out inside the bound; normal_eps: finite-difference step of the
    normals (world units)."""
    steps: int
    relax: float
    bound_centre: Tuple[float, float, float]
    bound_radius: float
    blend_skin: float
    blend_socket: float
    blend_colour: float
    hit_px: float
    crease_px: float
    normal_eps: float


class Layout:
    """The static part order a renderer computes in: axis-aligned parts first, then the rotated ones
    (their constant rotations are unrolled into the trace). ids: indices into parts.PARTS, in the
    order of the scene arrays (scene.part_ids)."""

    def __init__(self, ids):
        ids = np.asarray(ids, np.int32)
        rotated = np.any(parts.ANGLES[ids] != 0, axis=-1)
        self.perm = np.concatenate([np.flatnonzero(~rotated), np.flatnonzero(rotated)])  # scene order -> here
        self.ids = ids[self.perm]
        self.n_aligned = int((~rotated).sum())
        self.rot = sdf.rotation(parts.ANGLES[self.ids[self.n_aligned:]])
        self.groups = tuple(parts.GROUPS[i] for i in self.ids)
        normals = parts.CLIP_NORMAL[self.ids]
        self.clipped = np.flatnonzero(np.any(normals != 0, axis=-1))
        self.clip_normal = normals[self.clipped]

    def where(self, *names):
        """Indices (in this order) of the parts whose group is one of `names`."""
        return np.array([i for i, g in enumerate(self.groups) if g in names], np.int32)

    def arrange(self, scene):
        """The scene's per-part arrays in this order, with reciprocal radii."""
        out = dict(scene)
        for key in ("centre", "radii", "clip_offset", "on", "albedo"):
            out[key] = scene[key][self.perm]
        out["inv_radii"] = 1.0 / out["radii"]
        return out


def part_distances(scene, points, layout):
    """(3, ...) points -> (P, ...) distance of every part in layout order (clipped; parts switched off
    are sdf.FAR). scene: arranged by layout.arrange."""
    a = layout.n_aligned
    d = jnp.concatenate([sdf.ellipsoid(points, scene["centre"][:a], scene["inv_radii"][:a]),
                         sdf.ellipsoid(points, scene["centre"][a:], scene["inv_radii"][a:], layout.rot)], 0)
    if len(layout.clipped):
        cut = sdf.clip(d[layout.clipped], points, layout.clip_normal, scene["clip_offset"][layout.clipped])
        d = d.at[layout.clipped].set(cut)
    on = scene["on"].reshape((-1,) + (1,) * (points.ndim - 1))
    return jnp.where(on > 0, d, sdf.FAR)


def scene_distance(scene, points, layout, trace: TraceSpec):
    """(3, ...) -> (...) signed distance of the head: skin and lips in one smooth union, the eye
    sockets carved from it, every other part united as is."""
    d = part_distances(scene, points, layout)
    skin = sdf.soft_min(d[layout.where("skin", "lip")], trace.blend_skin)
    sockets = jnp.min(d[layout.where("socket")], axis=0)
    skin = sdf.soft_subtract(skin, sockets, trace.blend_socket)
    rest = layout.where(*(g for g in set(layout.groups) if g not in ("skin", "lip", "socket")))
    return jnp.minimum(skin, jnp.min(d[rest], axis=0))


def _albedo(scene, points, layout, trace):
    """(3, M) colour at surface points (3, M): a softmin blend of the nearest parts' colours, with the
    iris / pupil drawn on the eyes and strands on the hair; also (M,) index of the dominant part."""
    groups = layout.groups
    d = part_distances(scene, points, layout)
    d = jnp.where(np.array([g == "socket" for g in groups])[:, None], sdf.FAR, d)
    w = jax.nn.softmax(-d / trace.blend_colour, axis=0)  # (P, M)
    hair = np.array([g in ("hair", "brow") for g in groups])[:, None]
    eyes = layout.where("eye")
    strands = 0.86 + 0.14 * jnp.sin(120.0 * points[0] + 25.0 * jnp.sin(20.0 * points[1]))
    factor = jnp.where(hair, strands[None], 1.0) * np.array([g != "eye" for g in groups], np.float32)[:, None]
    colour = jnp.einsum("pm,pc->cm", w * factor, scene["albedo"])
    for e in eyes:
        local = points - scene["centre"][e][:, None]
        facing = local[2] / jnp.maximum(jnp.sqrt(jnp.sum(local * local, 0)), 1e-9)  # cos to the gaze (+z)
        iris = jax.nn.sigmoid((facing - 0.86) * 60.0)
        pupil = jax.nn.sigmoid((facing - 0.965) * 120.0)
        eye = (scene["albedo"][e][:, None] * (1 - iris) + scene["iris"][:, None] * iris) * (1 - 0.9 * pupil)
        colour = colour + w[e] * eye
    return colour, jnp.argmax(w, axis=0)


def _normals(scene, points, layout, trace):
    """(3, M) unit normals at points (3, M): tetrahedral finite differences of the scene distance."""
    offsets = _TETRA.T * trace.normal_eps  # (3, 4)
    d = scene_distance(scene, points[:, :, None] + offsets[:, None, :], layout, trace)  # (M, 4)
    grad = jnp.einsum("mk,ki->im", d, _TETRA)
    return grad / jnp.maximum(jnp.sqrt(jnp.sum(grad * grad, 0, keepdims=True)), 1e-12)


def render_view(scene, cam2world, intrinsics, resolution, layout: Layout, trace: TraceSpec):
    """One scene from one camera. cam2world (4, 4), intrinsics (3, 3) normalised, resolution R
    (static), layout: Layout(scene.part_ids(...)) of the scene's parts -> dict image (R, R, 3) in
    [0, 1], depth (R, R) distance along the ray (+inf off the head), mask (R, R) 1 / 0, occluder
    (R, R) 1 where an accessory is the visible surface."""
    r = int(resolution)
    scene = layout.arrange(scene)
    origins, dirs = sample_rays(cam2world[None], intrinsics[None], r)
    o, v = origins[0].T, dirs[0].T  # (3, M)
    pix = 1.0 / (intrinsics[0, 0] * r)  # pixel footprint per unit of depth (square pixels)
    oc = o - jnp.asarray(trace.bound_centre)[:, None]
    b = jnp.sum(oc * v, 0)
    disc = b * b - (jnp.sum(oc * oc, 0) - trace.bound_radius ** 2)
    root = jnp.sqrt(jnp.maximum(disc, 0.0))
    t_in, t_out = jnp.maximum(-b - root, 0.0), jnp.where(disc > 0, -b + root, 0.0)

    def step(_, carry):
        t, best, t_best = carry
        dist = scene_distance(scene, o + t * v, layout, trace)
        ratio = dist / (t * pix)
        closer = (ratio < best) & (t < t_out)
        best, t_best = jnp.where(closer, ratio, best), jnp.where(closer, t, t_best)
        return jnp.minimum(t + trace.relax * dist, t_out), best, t_best

    t, best, t_best = jax.lax.fori_loop(0, trace.steps, step, (t_in, jnp.full_like(t_in, jnp.inf), t_in))
    dist = scene_distance(scene, o + t * v, layout, trace)
    # a hit: closer than hit_px of a footprint; a ray still inside the bound after the last step that
    # is within crease_px footprints is sliding along a crease (eye sockets, ears), where sphere
    # tracing slows down: a hit too, so masks have no pinholes
    inside = t < t_out
    hit = inside & ((jnp.abs(dist) < trace.hit_px * t * pix) | (dist < trace.crease_px * t * pix))
    t_shade = jnp.where(hit, t, t_best)
    points = o + t_shade * v
    normal = _normals(scene, points, layout, trace)
    # one Newton step along the ray on the distance (exact for planes, quadratic near a sphere)
    slope = jnp.sum(normal * v, 0)
    dist_shade = scene_distance(scene, points, layout, trace)
    t_hit = t_shade - jnp.where(slope < -0.2, dist_shade / jnp.minimum(slope, -0.2), -dist_shade)
    albedo, dominant = _albedo(scene, points, layout, trace)
    light = scene["ambient"] * (0.8 + 0.2 * normal[1]) + scene["key"] * jnp.maximum(scene["light"] @ normal, 0.0)
    colour = jnp.clip(albedo * light, 0.0, 1.0).T  # (M, 3)
    alpha = jnp.where(hit, 1.0, jnp.clip(0.5 - best, 0.0, 1.0))[:, None]
    centres = (jnp.arange(r, dtype=jnp.float32) + 0.5) / r - 0.5
    gy, gx = jnp.meshgrid(centres, centres, indexing="ij")
    s = (gx * jnp.cos(scene["bg_angle"]) + gy * jnp.sin(scene["bg_angle"])).reshape(-1) / np.sqrt(2) + 0.5
    background = scene["background"][0] + s[:, None] * (scene["background"][1] - scene["background"][0])
    image = alpha * colour + (1 - alpha) * background
    occluding = np.array([g in parts.ACCESSORIES for g in layout.groups])
    return {"image": image.reshape(r, r, 3), "depth": jnp.where(hit, t_hit, jnp.inf).reshape(r, r),
            "mask": hit.astype(jnp.float32).reshape(r, r),
            "occluder": (hit & jnp.asarray(occluding)[dominant]).astype(jnp.float32).reshape(r, r)}


def make_renderer(resolution, ids, trace: TraceSpec):
    """jit(vmap(render_view)) over a batch: (scenes with a leading N, cam2world (N, 4, 4), intrinsics
    (N, 3, 3)) -> dict of (N, ...) arrays (render_view's). ids: the scenes' parts (scene.part_ids).
    One function per (resolution, ids, trace), so its compilations are shared."""
    return _renderer(int(resolution), tuple(int(i) for i in ids), trace)


@functools.lru_cache(maxsize=8)
def _renderer(resolution, ids, trace):
    layout = Layout(ids)

    def one(scene, cam2world, intrinsics):
        return render_view(scene, cam2world, intrinsics, resolution, layout, trace)

    return jax.jit(jax.vmap(one))
