"""Camera labels of the synthetic splits (eg3d.md §8 look-at cameras, 25-D labels).

Angles are offsets from the frontal view (yaw = pitch = pi/2 of LookAtPoseSampler); every camera sits
on the sphere of `radius` around the world origin and looks at `pivot`.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d import camera


def input_angles(key, poses, full_turn=False):
    """(yaw, pitch) offsets (radians) of one input view: yaw ~ N(0, yaw_std) clipped to +-yaw_clip
    (uniform over the full turn when full_turn), pitch ~ N(0, pitch_std) clipped to +-pitch_clip.
    poses: anything with yaw_std, yaw_clip, pitch_std, pitch_clip."""
    ky, kp = jax.random.split(key)
    if full_turn:
        yaw = jax.random.uniform(ky, (), jnp.float32, -math.pi, math.pi)
    else:
        yaw = jnp.clip(poses.yaw_std * jax.random.normal(ky, ()), -poses.yaw_clip, poses.yaw_clip)
    pitch = jnp.clip(poses.pitch_std * jax.random.normal(kp, ()), -poses.pitch_clip, poses.pitch_clip)
    return yaw, pitch


def labels(yaw, pitch, pivot, radius, focal):
    """(N,) yaw and pitch offsets (radians) -> (N, 25) float32 labels of look-at cameras."""
    yaw = np.asarray(yaw, np.float64) + camera.FRONT
    pitch = np.asarray(pitch, np.float64) + camera.FRONT
    return camera.lookat_labels(yaw, pitch, tuple(pivot), float(radius), camera.intrinsics_matrix(float(focal)))
