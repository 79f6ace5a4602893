"""Signed-distance primitives and their combinations (pure jax.numpy, any leading shape).

Distances are in world units; negative inside. The ellipsoid distance is the usual first-order
bound k0 (k0 - 1) / k1 (k0 = |q / r|, k1 = |q / r^2|): exact for spheres and on the surface,
within a few per cent of the true distance near it, which is what sphere tracing needs.
"""
import jax.numpy as jnp
import numpy as np

FAR = 1e3  # the distance of a disabled part: never the nearest, weight 0 in every softmin


def ellipsoid(points, centre, inv_radii, rot=None):
    """Distance bound to ellipsoids, parts first. points (3, ...) (x, y, z planes: the long axis stays
    innermost, where XLA CPU vectorises); centre (P, 3); inv_radii (P, 3) reciprocal semi-axes along
    the columns of rot (P, 3, 3) (world <- local; a numpy constant, unrolled at trace time, or None
    for axis-aligned parts) -> (P, ...)."""
    extra = (1,) * (points.ndim - 1)
    rel = [points[i][None] - centre[:, i].reshape((-1,) + extra) for i in range(3)]  # (P, ...) each
    if rot is not None:  # R^T (p - c)
        rot = np.asarray(rot, np.float32)
        rel = [sum(rel[i] * rot[:, i, j].reshape((-1,) + extra) for i in range(3)) for j in range(3)]
    inv = [inv_radii[:, i].reshape((-1,) + extra) for i in range(3)]
    scaled = [r * v for r, v in zip(rel, inv)]
    k0 = jnp.sqrt(sum(q * q for q in scaled))
    scaled = [q * v for q, v in zip(scaled, inv)]
    k1 = jnp.sqrt(sum(q * q for q in scaled))
    return k0 * (k0 - 1.0) / jnp.maximum(k1, 1e-12)


def clip(dist, points, normal, offset):
    """Intersection of parts with their half-spaces normal . p <= offset: max(dist, normal . p -
    offset). dist (P, ...); points (3, ...); normal (P, 3) numpy constants; offset (P,)."""
    extra = (1,) * (points.ndim - 1)
    normal = np.asarray(normal, np.float32)
    plane = sum(points[i][None] * normal[:, i].reshape((-1,) + extra) for i in range(3) if np.any(normal[:, i]))
    return jnp.maximum(dist, plane - offset.reshape((-1,) + extra))


def soft_min(dist, k, axis=0):
    """Exponential smooth union -k log sum exp(-d / k) along `axis` (<= the plain minimum, so a
    safe sphere-tracing step); k (world units) sets the width of the blend."""
    m = jnp.min(dist, axis=axis, keepdims=True)
    s = jnp.sum(jnp.exp(-(dist - m) / k), axis=axis, keepdims=True)
    return jnp.squeeze(m - k * jnp.log(s), axis)


def soft_subtract(a, b, k):
    """a minus b, blended over width k (polynomial smooth maximum of a and -b, Quilez)."""
    h = jnp.clip(0.5 - 0.5 * (a + b) / k, 0.0, 1.0)
    return a * (1 - h) - b * h + k * h * (1 - h)


def rotation(angles):
    """(..., 3) Euler angles (x, y, z) in radians -> (..., 3, 3) float32 R = Rz Ry Rx (world <- local), numpy."""
    angles = np.asarray(angles, np.float64)
    cx, cy, cz = (np.cos(angles[..., i]) for i in range(3))
    sx, sy, sz = (np.sin(angles[..., i]) for i in range(3))
    one, zero = np.ones_like(cx), np.zeros_like(cx)
    rx = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cx, -sx], -1),
                   np.stack([zero, sx, cx], -1)], -2)
    ry = np.stack([np.stack([cy, zero, sy], -1), np.stack([zero, one, zero], -1),
                   np.stack([-sy, zero, cy], -1)], -2)
    rz = np.stack([np.stack([cz, -sz, zero], -1), np.stack([sz, cz, zero], -1),
                   np.stack([zero, zero, one], -1)], -2)
    return (rz @ ry @ rx).astype(np.float32)
