"""Small rigid corrections of a camera: axis-angle rotations (Rodrigues) and the 6-D camera delta
that pose refinement optimises (the "Pose Opt." baseline of GOAE Table 1; inversion/optimization.py)
and that the PnP fit of preprocess/pose.py steps in.
"""
import jax.numpy as jnp

from inversion3d.camera.labels import array_module, split_label


def skew(v):
    """(..., 3) -> (..., 3, 3) cross-product matrices [v]x ([v]x u = v x u). numpy or jax."""
    xp = array_module(v)
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    zero = xp.zeros_like(x)
    return xp.stack([xp.stack([zero, -z, y], -1), xp.stack([z, zero, -x], -1),
                     xp.stack([-y, x, zero], -1)], -2)


def rodrigues(r, small: float = 1e-8):
    """Axis-angle (..., 3) (direction = axis, norm = angle in radians) -> rotation (..., 3, 3).

    R = I + a [r]x + b [r]x^2 with a = sin(theta) / theta, b = (1 - cos(theta)) / theta^2; below
    theta^2 = `small` both use their Taylor series, so r = 0 gives exactly I and the gradient there
    is finite (the large-angle branch sees a safe theta, the double-where pattern).
    numpy in -> numpy out in r's dtype (float64 for the PnP fit); jax in -> jax out (differentiable).
    """
    xp = array_module(r)
    theta2 = xp.sum(xp.square(r), axis=-1)[..., None, None]
    is_small = theta2 < small
    safe2 = xp.where(is_small, 1.0, theta2)
    theta = xp.sqrt(safe2)
    a = xp.where(is_small, 1.0 - theta2 / 6.0, xp.sin(theta) / theta)
    b = xp.where(is_small, 0.5 - theta2 / 24.0, (1.0 - xp.cos(theta)) / safe2)
    k = skew(r)
    return xp.eye(3, dtype=r.dtype) + a * k + b * (k @ k)


def apply_camera_delta(c, delta):
    """Corrected cameras: c (N, 25), delta (N, 6) = (axis-angle (3), translation (3)) -> (N, 25) (jax).

    The delta is a rigid motion of the camera in world coordinates: cam2world' = [R t; 0 1] @ cam2world,
    i.e. the camera rotates about the world origin (the head centre the cameras orbit, eg3d.md §8) and
    then moves by t; a yaw error is a rotation about world y. Intrinsics are unchanged.
    """
    pose, k = split_label(jnp.asarray(c))
    delta = jnp.asarray(delta)
    rot = rodrigues(delta[:, :3])
    new_rot = rot @ pose[:, :3, :3]
    new_pos = jnp.einsum("nij,nj->ni", rot, pose[:, :3, 3]) + delta[:, 3:]
    pose = pose.at[:, :3, :3].set(new_rot).at[:, :3, 3].set(new_pos)
    return jnp.concatenate([pose.reshape(-1, 16), k.reshape(-1, 9)], axis=-1)
