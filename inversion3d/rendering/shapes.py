"""Shape export: density on a cube grid -> marching cubes -> .ply / .obj / .mrc.

Like the official gen_samples shape export: the raw decoder density sigma (before the softplus of
the ray marcher) is sampled at voxel centres of the feature cube [-box_warp/2, box_warp/2]^3 and
the iso-surface sigma = level (10 by default) is extracted. Sampling is chunked with `lax.map`, so
memory is bounded by `chunk` points whatever the resolution.
"""
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.files import atomic_write
from inversion3d.ops.grid import sample_from_planes, sample_from_trigrid

DEFAULT_LEVEL = 10.0


def grid_points(resolution, box_warp=1.0):
    """(R^3, 3) voxel centres of the cube [-box_warp/2, box_warp/2]^3, x fastest then y then z.

    Index i = (z * R + y) * R + x, so a flat density reshapes to (R_z, R_y, R_x).
    """
    half = box_warp / 2
    axis = (np.arange(resolution) + 0.5) / resolution * box_warp - half
    z, y, x = np.meshgrid(axis, axis, axis, indexing="ij")
    return np.stack([x, y, z], axis=-1).reshape(-1, 3).astype(np.float32)


def sample_density(planes, decoder_variables, points, decode_apply, render_cfg, chunk=65536):
    """Raw density at points. planes (1, 3, H, W, C[*D]); points (P, 3) world -> (P,) sigma.

    decode_apply(decoder_variables, sampled (1, 3, p, C), coords (1, p, 3), dirs (1, p, 3))
    -> dict(sigma=(1, p, 1), ...); it must be hashable (it is a static jit argument).
    """
    if planes.shape[0] != 1:
        raise ValueError(f"planes: shape export takes one sample, expected batch 1, got {planes.shape[0]}")
    num = points.shape[0]
    chunks = -(-num // chunk)
    padded = jnp.pad(jnp.asarray(points), ((0, chunks * chunk - num), (0, 0))).reshape(chunks, chunk, 3)

    def one(pts):
        pts = pts[None]
        if render_cfg.plane_kind == "eg3d":
            feats = sample_from_planes(planes, pts, render_cfg.box_warp, "eg3d")
        else:
            feats = sample_from_trigrid(planes, pts, render_cfg.triplane_depth, render_cfg.box_warp)
        dirs = jnp.broadcast_to(jnp.array([0.0, 0.0, -1.0]), pts.shape)
        return decode_apply(decoder_variables, feats, pts, dirs)["sigma"][0, :, 0]

    return jax.lax.map(one, padded).reshape(-1)[:num]


_sample_density_jit = jax.jit(sample_density, static_argnums=(3, 4, 5))


def density_grid(planes, decoder_variables, decode_apply, render_cfg, resolution=256, chunk=65536):
    """(R, R, R) raw density indexed [z, y, x] over the feature cube (see grid_points)."""
    points = grid_points(resolution, render_cfg.box_warp)
    sigma = _sample_density_jit(planes, decoder_variables, points, decode_apply, render_cfg, chunk)
    return np.asarray(sigma).reshape(resolution, resolution, resolution)


def extract_mesh(grid, box_warp=1.0, level=DEFAULT_LEVEL):
    """Marching cubes (scikit-image) on a [z, y, x] density grid -> (vertices (V, 3) world xyz, faces (F, 3)).

    Raises ValueError when the level is never crossed (empty or full volume).
    """
    from skimage import measure  # imported here: only shape export needs it

    grid = np.array(grid, np.float32)  # a writable copy: skimage rejects read-only (jax) buffers
    if not (grid.min() < level < grid.max()):
        raise ValueError(f"level: the density never crosses {level} (range {grid.min():.3g}..{grid.max():.3g}); "
                         f"no surface to extract")
    res = grid.shape[0]
    verts, faces, _, _ = measure.marching_cubes(grid, level=level)
    # verts are (z, y, x) in voxel-index units of voxel centres -> world xyz. With density growing
    # inwards, skimage's default winding then gives outward normals (checked in the sphere test).
    xyz = (verts[:, ::-1] + 0.5) / res * box_warp - box_warp / 2
    return xyz.astype(np.float32), faces.astype(np.int64)


def write_ply(path, vertices, faces):
    """Binary little-endian PLY with float32 vertices and int32 triangle indices."""
    def write(tmp):
        header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(vertices)}\n"
                  "property float x\nproperty float y\nproperty float z\n"
                  f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n")
        face_rec = np.zeros(len(faces), dtype=[("n", "u1"), ("idx", "<i4", (3,))])
        face_rec["n"], face_rec["idx"] = 3, faces
        with open(tmp, "wb") as f:
            f.write(header.encode("ascii"))
            f.write(np.asarray(vertices, "<f4").tobytes())
            f.write(face_rec.tobytes())
    return atomic_write(path, write)


def write_obj(path, vertices, faces):
    """Wavefront OBJ (1-based face indices)."""
    def write(tmp):
        with open(tmp, "w") as f:
            np.savetxt(f, vertices, fmt="v %.6f %.6f %.6f")
            np.savetxt(f, np.asarray(faces) + 1, fmt="f %d %d %d")
    return atomic_write(path, write)


def write_mrc(path, grid, box_warp=1.0):
    """The density volume as an MRC file (mrcfile), voxel size box_warp / R."""
    import mrcfile

    def write(tmp):
        with mrcfile.new(tmp, overwrite=True) as mrc:
            mrc.set_data(np.asarray(grid, np.float32))
            mrc.voxel_size = box_warp / grid.shape[0]
    return atomic_write(path, write)
