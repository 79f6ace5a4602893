"""Pinhole ray generation from cam2world + normalised intrinsics (RaySampler, eg3d.md §5.1)."""
import jax
import jax.numpy as jnp

_HI = jax.lax.Precision.HIGHEST


def sample_rays(cam2world, intrinsics, resolution):
    """One ray through the centre of every pixel of an R x R image (eg3d.md §5.1).

    OpenCV camera convention (+x right, +y down, +z forward). Pixel m = i * R + j (row i,
    column j) sits at normalised image coordinates u = (j + 0.5) / R, v = (i + 0.5) / R and is
    lifted with the skew-aware inverse of K to the camera-space point (x, y, 1).

    Args:
      cam2world: (N, 4, 4) camera-to-world matrices.
      intrinsics: (N, 3, 3) normalised intrinsics (fx, fy in image-size units; cx, cy in [0, 1];
        skew K[0, 1]).
      resolution: R (static int).
    Returns:
      origins (N, R*R, 3) (the camera position repeated), directions (N, R*R, 3) unit vectors.
    """
    cam2world = jnp.asarray(cam2world, jnp.float32)
    intrinsics = jnp.asarray(intrinsics, jnp.float32)
    if cam2world.ndim != 3 or cam2world.shape[1:] != (4, 4):
        raise ValueError(f"cam2world: expected shape (N, 4, 4), got {cam2world.shape}")
    if intrinsics.shape != (cam2world.shape[0], 3, 3):
        raise ValueError(f"intrinsics: expected shape ({cam2world.shape[0]}, 3, 3), got {intrinsics.shape}")
    r = int(resolution)
    fx, fy = intrinsics[:, 0, 0, None], intrinsics[:, 1, 1, None]  # (N, 1)
    cx, cy = intrinsics[:, 0, 2, None], intrinsics[:, 1, 2, None]
    sk = intrinsics[:, 0, 1, None]
    centres = (jnp.arange(r, dtype=jnp.float32) + 0.5) / r
    v, u = jnp.meshgrid(centres, centres, indexing="ij")  # v: row coordinate, u: column
    u, v = u.reshape(1, -1), v.reshape(1, -1)  # (1, M)
    x_lift = (u - cx + cy * sk / fy - sk * v / fy) / fx
    y_lift = (v - cy) / fy
    ones = jnp.ones_like(x_lift)
    cam_points = jnp.stack([x_lift, y_lift, ones, ones], axis=-1)  # (N, M, 4) homogeneous
    world = jnp.einsum("nij,nmj->nmi", cam2world, cam_points, precision=_HI)[..., :3]
    origin = cam2world[:, None, :3, 3]  # (N, 1, 3)
    dirs = world - origin
    # torch.nn.functional.normalize: x / max(||x||, 1e-12)
    dirs = dirs / jnp.maximum(jnp.linalg.norm(dirs, axis=-1, keepdims=True), 1e-12)
    origins = jnp.broadcast_to(origin, dirs.shape)
    return origins, dirs
