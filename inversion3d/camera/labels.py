"""Normalised intrinsics and the 25-D EG3D camera label (eg3d.md §8).

The label is ``[cam2world.ravel() (16), intrinsics.ravel() (9)]`` (both row-major); intrinsics are
normalised by the image size ([[f, skew, cx], [0, f, cy], [0, 0, 1]], cx, cy in [0, 1]).
numpy in -> numpy out; jax arrays (or tracers) in -> jax.numpy (jittable). Outputs are float32.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.camera.defaults import FFHQ_FOCAL


def array_module(*args):
    """jax.numpy if any argument is a jax array (or tracer), else numpy."""
    return jnp if any(isinstance(a, jax.Array) for a in args) else np


def intrinsics_matrix(focal=FFHQ_FOCAL, cx=0.5, cy=0.5):
    """(3, 3) float32 normalised intrinsics [[f, 0, cx], [0, f, cy], [0, 0, 1]] (eg3d.md §8).

    focal is in units of the image size (4.2647 for FFHQ, 1.7074 for ShapeNet).
    """
    xp = array_module(focal, cx, cy)
    f32 = xp.float32
    f, x0, y0 = (xp.asarray(a, f32) for a in (focal, cx, cy))
    zero, one = xp.zeros((), f32), xp.ones((), f32)
    return xp.stack([xp.stack([f, zero, x0]), xp.stack([zero, f, y0]), xp.stack([zero, zero, one])])


def fov_to_intrinsics(fov_deg):
    """(3, 3) float32 intrinsics for a full field of view in degrees (FOV_to_intrinsics, eg3d.md §8).

    Replicates the official quirks: f = 1 / (tan(fov * 3.14159 / 360) * 1.414) (truncated pi,
    1.414 ~ sqrt 2), computed in double precision; 18.837 deg -> f ~ 4.2634.
    """
    if isinstance(fov_deg, jax.Array):
        focal = 1.0 / (jnp.tan(fov_deg * 3.14159 / 360.0) * 1.414)
    else:
        focal = 1.0 / (math.tan(float(fov_deg) * 3.14159 / 360.0) * 1.414)
    return intrinsics_matrix(focal, 0.5, 0.5)


def make_label(cam2world, intrinsics):
    """25-D camera label [cam2world row-major (16), intrinsics row-major (9)] (eg3d.md §8).

    Args:
      cam2world: (N, 4, 4) or (4, 4).
      intrinsics: (N, 3, 3) or (3, 3) (broadcast over N).
    Returns:
      (N, 25) float32.
    """
    xp = array_module(cam2world, intrinsics)
    pose = xp.asarray(cam2world, xp.float32)
    k = xp.asarray(intrinsics, xp.float32)
    if pose.shape[-2:] != (4, 4) or pose.ndim not in (2, 3):
        raise ValueError(f"cam2world: expected shape (N, 4, 4) or (4, 4), got {pose.shape}")
    if k.shape[-2:] != (3, 3) or k.ndim not in (2, 3):
        raise ValueError(f"intrinsics: expected shape (N, 3, 3) or (3, 3), got {k.shape}")
    pose = xp.reshape(pose, (-1, 16))
    k = xp.reshape(k, (-1, 9))
    n = max(pose.shape[0], k.shape[0])
    if pose.shape[0] not in (1, n) or k.shape[0] not in (1, n):
        raise ValueError(f"cam2world / intrinsics: batch sizes {pose.shape[0]} and {k.shape[0]} differ")
    pose = xp.broadcast_to(pose, (n, 16))
    k = xp.broadcast_to(k, (n, 9))
    return xp.concatenate([pose, k], axis=-1)


def split_label(c):
    """Splits a (N, 25) label into cam2world (N, 4, 4) and intrinsics (N, 3, 3) (eg3d.md §1, §8).

    Keeps the dtype of `c` (a view for numpy input)."""
    xp = array_module(c)
    c = xp.asarray(c)
    if c.ndim != 2 or c.shape[-1] != 25:
        raise ValueError(f"c: expected shape (N, 25), got {c.shape}")
    return xp.reshape(c[:, :16], (-1, 4, 4)), xp.reshape(c[:, 16:], (-1, 3, 3))
