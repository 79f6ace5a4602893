"""The camera of a horizontally mirrored image (training.md §2 "flip_yaw").

Derivation. EG3D heads are symmetric about the world plane x = 0. Let M = diag(-1, 1, 1) mirror
the world and F = diag(-1, 1, 1) flip the camera's x axis (OpenCV: +x right, +y down, +z forward).
A world point X seen by a camera (R, t) has camera coordinates R^T (X - t). The mirrored point
M X seen by the camera (R', t') = (M R F, M t) has F R^T M^T (M X - M t) = F R^T (X - t): the same
point with its camera x negated, i.e. the same image flipped left-right (u -> 1 - u when the
principal point is centred). So flip(image of scene at c) = image of the mirrored scene at c', and
for a mirror-symmetric scene the mirrored scene is the scene itself.
Entries of R' = M R F are R_ij * m_i * f_j with m = f = (-1, 1, 1): negated where exactly one of
i, j is 0, i.e. [0,1], [0,2], [1,0], [2,0]; t' = M t negates [0,3]. det R' = det R (a rotation
stays a rotation). Intrinsics: u' = 1 - u needs cx' = 1 - cx and skew' = -skew (for the usual
cx = 0.5, no skew: unchanged). This is TriPlaneNet's `flip_yaw` plus the intrinsics terms.
Mirroring twice gives the label back (the pose exactly; cx up to the rounding of 1 - cx).
"""
import numpy as np

from inversion3d.camera.labels import array_module

# sign per entry of the row-major 4x4 cam2world
_POSE_SIGNS = np.ones((4, 4), np.float32)
for _i, _j in ((0, 1), (0, 2), (1, 0), (2, 0), (0, 3)):
    _POSE_SIGNS[_i, _j] = -1.0


def mirror_label(c):
    """(N, 25) or (25,) EG3D labels [cam2world (16), normalised intrinsics (9)] -> mirrored labels.

    numpy in -> numpy out; jax in -> jax out (jittable).
    """
    xp = array_module(c)
    c = xp.asarray(c)
    if c.shape[-1] != 25:
        raise ValueError(f"c: expected shape (..., 25), got {c.shape}")
    pose = c[..., :16] * _POSE_SIGNS.reshape(16)
    k = c[..., 16:]
    # K row-major: [fx, skew, cx, 0, fy, cy, 0, 0, 1]; cx' = 1 - cx (K[2,2] = 1), skew' = -skew.
    k = xp.concatenate([k[..., :1], -k[..., 1:2], k[..., 8:9] - k[..., 2:3], k[..., 3:]], axis=-1)
    return xp.concatenate([pose, k], axis=-1).astype(c.dtype)
