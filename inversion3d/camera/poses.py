"""Look-at camera poses and orbits (eg3d.md §8, panohead.md §7).

cam2world is OpenCV style (columns = camera right, image-down, forward axes in world coordinates,
last column the camera position). These helpers usually run outside jit on numpy values; every
function also accepts jax arrays (then it computes with jax.numpy and is jittable). Outputs are float32.
"""
import math

import numpy as np

from inversion3d.camera.defaults import FFHQ_FOCAL, FFHQ_PIVOT, FFHQ_RADIUS
from inversion3d.camera.labels import array_module, intrinsics_matrix, make_label


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
    xp = array_module(yaw, pitch, lookat, radius)
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


def lookat_labels(yaw, pitch, lookat=FFHQ_PIVOT, radius=FFHQ_RADIUS, intrinsics=None):
    """(N, 25) float32 labels of `lookat_pose(yaw, pitch, lookat, radius)` cameras with `intrinsics`
    ((3, 3) shared by every view, or (N, 3, 3); default `intrinsics_matrix(FFHQ_FOCAL)`)."""
    k = intrinsics_matrix(FFHQ_FOCAL) if intrinsics is None else intrinsics
    return make_label(lookat_pose(yaw, pitch, lookat, radius), k)


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
