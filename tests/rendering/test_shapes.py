"""Shape export: an analytic sphere density yields a mesh on that sphere; files are well-formed."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.rendering.renderer import RenderConfig
from inversion3d.rendering.shapes import density_grid, extract_mesh, write_mrc, write_obj, write_ply

RES_PLANE = 128
CFG = RenderConfig(depth_resolution=4, depth_resolution_importance=0, ray_start=2.25, ray_end=3.3)


def sphere_planes():
    """Planes whose feature 0 holds one squared coordinate each, so the plane mean is |q|^2 / 3.

    EG3D planes sample (qx, qy), (qx, qz), (qz, qx) (eg3d.md §5.3), width axis first.
    """
    g = ((np.arange(RES_PLANE) + 0.5) / RES_PLANE) * 2 - 1  # pixel centres in [-1, 1]
    b, a = np.meshgrid(g, g, indexing="ij")  # b indexes height, a indexes width
    planes = np.zeros((1, 3, RES_PLANE, RES_PLANE, 2), np.float32)
    planes[0, 0, ..., 0] = b ** 2  # plane 0: (qx, qy) -> qy^2
    planes[0, 1, ..., 0] = a ** 2  # plane 1: (qx, qz) -> qx^2
    planes[0, 2, ..., 0] = a ** 2  # plane 2: (qz, qx) -> qz^2
    return jnp.asarray(planes)


def decode(variables, sampled, coords, dirs):
    """A monotone decoder like OSGDecoder: sigma = c * softplus(a * f + b) + d, f = mean feature 0."""
    f = jnp.mean(sampled[..., 0:1], axis=1)
    a, b, c, d = variables
    return {"sigma": c * jax.nn.softplus(a * f + b) + d}


def test_sphere_mesh_on_sphere(tmp_path):
    params = (jnp.float32(30.0), jnp.float32(-2.0), jnp.float32(-4.0), jnp.float32(20.0))
    level = 10.0
    grid = density_grid(sphere_planes(), params, decode, CFG, resolution=48, chunk=20000)
    # sigma = level  <=>  softplus(a f + b) = (d - level) / c'  with f = |q|^2 / 3, q = 2 p / box_warp.
    a, b, c, d = (float(p) for p in params)
    h = (level - d) / c
    f = (np.log(np.expm1(h)) - b) / a
    radius = np.sqrt(3 * f) / 2  # world units (box_warp 1)
    verts, faces = extract_mesh(grid, box_warp=1.0, level=level)
    r = np.linalg.norm(verts, axis=1)
    voxel = 1.0 / 48
    assert 0.1 < radius < 0.45
    assert np.max(np.abs(r - radius)) <= voxel, (radius, r.min(), r.max())
    normals = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    assert np.mean(np.sum(normals * verts[faces[:, 0]], axis=1) > 0) > 0.99  # outward
    ply = write_ply(tmp_path / "s.ply", verts, faces)
    obj = write_obj(tmp_path / "s.obj", verts, faces)
    mrc = write_mrc(tmp_path / "s.mrc", grid)
    header = open(ply, "rb").read(200).decode("ascii", "ignore")
    assert f"element vertex {len(verts)}" in header and f"element face {len(faces)}" in header
    lines = open(obj).read().splitlines()
    assert sum(line.startswith("v ") for line in lines) == len(verts)
    import mrcfile
    with mrcfile.open(mrc) as m:
        np.testing.assert_array_equal(m.data, grid)


def test_empty_volume_is_reported():
    with pytest.raises(ValueError, match="never crosses 10"):
        extract_mesh(np.zeros((8, 8, 8)), level=10.0)
