"""On-the-fly (image, camera, w+) pseudo-pairs rendered by a frozen generator, and a cheap
synthetic stand-in with the same interface.

A pair is a pure function of (root key, global example index): z ~ N(0, I) and a camera from the
pose distribution are drawn with `fold_in(key, index)`, so a batch is the same whatever the mesh
or the number of processes, and a source's position is one integer (checkpointable).
`fn(frozen, key, indices (B,) int32) -> dict(image (B, R, R, 3) in [-1, 1], c (B, 25), ws (B,
num_ws, w_dim))` runs inside jit; with `indices` sharded on 'data' every device renders its rows.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d import camera
from inversion3d.generators import eg3d
from inversion3d.ops.resize import area_downsample

POSE_KINDS = ("gaussian", "labels")


def sample_pose(key, pose_cfg, labels=None):
    """One 25-D camera label (training.md §2 'random camera sampling').

    pose_cfg.kind 'gaussian': yaw = pi/2 + yaw_std N(0,1), pitch = pi/2 + pitch_std N(0,1) (radians),
    looking at `pivot` from `radius`, focal `focal` (EG3D's GaussianCameraPoseSampler).
    'labels': a uniformly drawn row of `labels` (L, 25), e.g. a dataset.json's cameras.
    """
    kind = pose_cfg.get("kind", "gaussian")
    if kind == "labels":
        if labels is None:
            raise ValueError("labels: pose kind 'labels' needs the (L, 25) camera labels, got None")
        return labels[jax.random.randint(key, (), 0, labels.shape[0])]
    if kind != "gaussian":
        raise ValueError(f"poses.kind: expected one of {POSE_KINDS}, got {kind!r}")
    k_yaw, k_pitch = jax.random.split(key)
    yaw = math.pi / 2 + float(pose_cfg.yaw_std) * jax.random.normal(k_yaw, ())
    pitch = math.pi / 2 + float(pose_cfg.pitch_std) * jax.random.normal(k_pitch, ())
    intr = camera.intrinsics_matrix(jnp.asarray(pose_cfg.focal, jnp.float32))
    return camera.lookat_labels(yaw, pitch, jnp.asarray(pose_cfg.pivot, jnp.float32),
                                jnp.asarray(pose_cfg.radius, jnp.float32), intr)[0]


def side_view_labels(pose_cfg, n: int, yaw_offset: float):
    """(n, 25) labels at yaw pi/2 + yaw_offset, pitch pi/2, on the pose config's rig (pivot, radius,
    focal): the novel views of the training image grids."""
    intr = camera.intrinsics_matrix(float(pose_cfg.focal))
    return jnp.asarray(camera.lookat_labels(np.full(n, math.pi / 2 + yaw_offset), np.full(n, math.pi / 2),
                                            np.asarray(pose_cfg.pivot, np.float32), float(pose_cfg.radius), intr))


def _per_example(key, indices, fn):
    return jax.vmap(lambda i: fn(jax.random.fold_in(key, i)))(indices)


def make_generator_pairs(gen_cfg, data_cfg):
    """Pseudo-pairs from a frozen EG3D generator; frozen = {'generator': variables, 'labels': ...}.

    data_cfg: truncation_psi, truncation_cutoff, image_key ('image' | 'image_raw' |
    'image_raw_render'), resolution, poses (see sample_pose).
    """
    cutoff = data_cfg.get("truncation_cutoff")

    def fn(frozen, key, indices):
        def draw(k):
            k_z, k_c = jax.random.split(k)
            return jax.random.normal(k_z, (gen_cfg.z_dim,)), sample_pose(k_c, data_cfg.poses, frozen.get("labels"))

        z, c = _per_example(key, indices, draw)
        variables = frozen["generator"]
        ws = eg3d.mapping(gen_cfg, variables, z, c, float(data_cfg.truncation_psi), cutoff)
        out = eg3d.synthesize(gen_cfg, variables, ws, c, noise_mode="const")
        r = int(data_cfg.resolution)
        image = area_downsample(out[data_cfg.get("image_key", "image")], (r, r))
        return {"image": image, "c": c, "ws": ws}

    return fn


def init_synthetic(key, num_ws: int, w_dim: int, resolution: int):
    """Frozen variables of the synthetic target: one fixed random linear map w+ -> image."""
    d = num_ws * w_dim
    return {"A": jax.random.normal(key, (d, resolution * resolution * 3)) / math.sqrt(d)}


def make_synthetic_pairs(data_cfg, num_ws: int, w_dim: int):
    """A cheap stand-in for a generator (tests, smoke runs): ws ~ N(0, I), image = tanh(A ws),
    camera from the pose distribution. frozen = {'synthetic': init_synthetic(...)}."""
    r = int(data_cfg.resolution)

    def fn(frozen, key, indices):
        def draw(k):
            k_w, k_c = jax.random.split(k)
            return jax.random.normal(k_w, (num_ws, w_dim)), sample_pose(k_c, data_cfg.poses, frozen.get("labels"))

        ws, c = _per_example(key, indices, draw)
        a = frozen["synthetic"]["A"]
        image = jnp.tanh(ws.reshape(ws.shape[0], -1) @ a).reshape(-1, r, r, 3)
        return {"image": image, "c": c, "ws": ws}

    return fn
