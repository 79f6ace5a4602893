"""Camera utilities: look-at poses, normalised intrinsics and the 25-D EG3D label (eg3d.md §8).

Conventions (eg3d.md §8): cam2world is OpenCV style (columns = camera right, image-down, forward
axes in world coordinates, last column the camera position); intrinsics are normalised by the
image size ([[f, 0, cx], [0, f, cy], [0, 0, 1]] with cx, cy in [0, 1]). The label is
``[cam2world.ravel() (16), intrinsics.ravel() (9)]``.

These helpers usually run outside jit on numpy values; every function also accepts jax arrays
(then it computes with jax.numpy and is jittable). Outputs are float32.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np

FFHQ_FOCAL = 4.2647  # gen_videos / projector focal (eg3d.md §8)
FFHQ_RADIUS = 2.7  # avg_camera_radius (eg3d.md §6)
FFHQ_PIVOT = (0.0, 0.0, 0.2)  # avg_camera_pivot (eg3d.md §6)


def _xp(*args):
    """jax.numpy if any argument is a jax array (or tracer), else numpy."""
    return jnp if any(isinstance(a, jax.Array) for a in args) else np


def _normalize(xp, v):
    # math_utils.normalize_vecs divides by the plain L2 norm (no epsilon).
    return v / xp.linalg.norm(v, axis=-1, keepdims=True)


def lookat_pose(yaw, pitch, lookat=FFHQ_PIVOT, radius=FFHQ_RADIUS):
    """Camera-to-world poses on a sphere around the world origin looking at `lookat` (eg3d.md §8).

    Equals LookAtPoseSampler.sample with zero standard deviations.

    Args:
      yaw: scalar or (N,) horizontal angle h in radians; pi/2 is the frontal view.
      pitch: scalar or (N,) vertical angle v in radians; pi/2 is level. Clipped to
        [1e-5, pi - 1e-5].
      lookat: (3,) or (N, 3) world point the camera looks at (only changes the viewing
        direction; the position is on the sphere of `radius` around the origin).
      radius: camera distance from the world origin (world units).
    Returns:
      (N, 4, 4) float32 cam2world matrices (N = broadcast size of yaw and pitch, at least 1).
    """
    xp = _xp(yaw, pitch, lookat, radius)
    f32 = xp.float32
    h = xp.reshape(xp.asarray(yaw, f32), (-1,))
    v = xp.reshape(xp.asarray(pitch, f32), (-1,))
    h, v = xp.broadcast_arrays(h, v)
    v = xp.clip(v, 1e-5, math.pi - 1e-5)
    phi = xp.arccos(1.0 - 2.0 * v / math.pi)
    r = xp.asarray(radius, f32)
    origin = xp.stack(
        [r * xp.sin(phi) * xp.cos(math.pi - h), r * xp.cos(phi), r * xp.sin(phi) * xp.sin(math.pi - h)],
        axis=-1,
    )  # (N, 3)
    target = xp.asarray(lookat, f32)
    if target.shape[-1:] != (3,):
        raise ValueError(f"lookat: expected shape (3,) or (N, 3), got {target.shape}")
    forward = _normalize(xp, target - origin)
    up0 = xp.broadcast_to(xp.asarray([0.0, 1.0, 0.0], f32), forward.shape)
    right = -_normalize(xp, xp.cross(up0, forward))
    up = _normalize(xp, xp.cross(forward, right))
    rot = xp.stack([right, up, forward], axis=-1)  # columns: camera x, y, z in world
    top = xp.concatenate([rot, origin[..., None]], axis=-1)  # (N, 3, 4)
    bottom = xp.broadcast_to(xp.asarray([0.0, 0.0, 0.0, 1.0], f32), (top.shape[0], 1, 4))
    return xp.concatenate([top, bottom], axis=1).astype(f32)


def intrinsics_matrix(focal=FFHQ_FOCAL, cx=0.5, cy=0.5):
    """(3, 3) float32 normalised intrinsics [[f, 0, cx], [0, f, cy], [0, 0, 1]] (eg3d.md §8).

    focal is in units of the image size (4.2647 for FFHQ, 1.7074 for ShapeNet).
    """
    xp = _xp(focal, cx, cy)
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
    xp = _xp(cam2world, intrinsics)
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
    """Splits a (N, 25) label into cam2world (N, 4, 4) and intrinsics (N, 3, 3) (eg3d.md §1, §8)."""
    xp = _xp(c)
    c = xp.asarray(c)
    if c.ndim != 2 or c.shape[-1] != 25:
        raise ValueError(f"c: expected shape (N, 25), got {c.shape}")
    return xp.reshape(c[:, :16], (-1, 4, 4)), xp.reshape(c[:, 16:], (-1, 3, 3))


def orbit_yaws(num, yaw_range):
    """(num,) float32 horizontal angles pi/2 + linspace(-yaw_range, yaw_range, num) (radians).

    Evenly spaced views symmetric around the frontal view (pi/2); num = 1 gives [pi/2].
    Pass the result as `yaw` to lookat_pose.
    """
    if num < 1:
        raise ValueError(f"num: expected >= 1, got {num}")
    offsets = np.linspace(-yaw_range, yaw_range, num) if num > 1 else np.zeros(1)
    return (math.pi / 2 + offsets).astype(np.float32)


ORBITS = ("yaw", "360", "spiral")


def orbit_angles(kind, frames, yaw_range=0.35, pitch_range=0.25):
    """(yaw (F,), pitch (F,)) angles in radians for a camera path of `frames` views.

    'yaw': side-to-side sweep pi/2 + yaw_range * sin(2 pi t) at level pitch (EG3D-style video);
    '360': a full turn pi/2 + 2 pi t around the head (PanoHead, panohead.md §7);
    'spiral': the sweep plus pitch pi/2 + pitch_range * cos(2 pi t). t = frame / frames.
    """
    if kind not in ORBITS:
        raise ValueError(f"orbit: expected one of {ORBITS}, got {kind!r}")
    if frames < 1:
        raise ValueError(f"frames: expected >= 1, got {frames}")
    t = np.arange(frames, dtype=np.float64) / frames
    level = np.full(frames, math.pi / 2)
    if kind == "360":
        return (math.pi / 2 + 2 * math.pi * t).astype(np.float32), level.astype(np.float32)
    yaw = math.pi / 2 + yaw_range * np.sin(2 * math.pi * t)
    pitch = level + (pitch_range * np.cos(2 * math.pi * t) if kind == "spiral" else 0.0)
    return yaw.astype(np.float32), pitch.astype(np.float32)
