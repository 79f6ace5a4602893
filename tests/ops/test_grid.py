"""Tri-plane / tri-grid lookup vs grid_sample goldens (eg3d.md §5.3, panohead.md §2, §4)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.ops import grid
from tests.conftest import load_golden

ATOL = 1e-5


@pytest.fixture(scope="module")
def trigrid_golden():
    return load_golden("panohead/ops_trigrid.npz")


def _planes_last(planes_nkchw):
    """(N, 3, C, H, W) torch layout -> (N, 3, H, W, C)."""
    return jnp.asarray(np.moveaxis(planes_nkchw, 2, -1))


@pytest.mark.parametrize("box_warp,name", [(1.0, "gs_sample_from_planes_boxwarp1"),
                                           (1.6, "gs_sample_from_planes_boxwarp1p6")])
def test_sample_from_planes_matches_golden(ops_golden, box_warp, name):
    out = jax.jit(grid.sample_from_planes, static_argnums=2)(
        _planes_last(ops_golden["gs_planes"]), jnp.asarray(ops_golden["gs_coords"]), box_warp)
    assert out.shape == (1, 3, 200, 8)
    np.testing.assert_allclose(np.asarray(out), ops_golden[name], rtol=0, atol=ATOL)


def test_plane_axes_match_golden(ops_golden, trigrid_golden):
    np.testing.assert_array_equal(grid.EG3D_PLANE_AXES, ops_golden["eg3d_plane_axes"])
    np.testing.assert_array_equal(grid.PANOHEAD_PLANE_AXES, trigrid_golden["pano_plane_axes"])


def test_projection_replicates_eg3d_axes_quirk():
    q = jnp.array([[[0.1, 0.2, 0.3]]])
    proj = np.asarray(grid.project_onto_planes(q, "eg3d"))[0, :, 0, :2]
    np.testing.assert_allclose(proj, [[0.1, 0.2], [0.1, 0.3], [0.3, 0.1]], atol=1e-7)
    proj = np.asarray(grid.project_onto_planes(q, "panohead"))[0, :, 0]
    np.testing.assert_allclose(proj, [[0.1, 0.2, 0.3], [0.1, 0.3, 0.2], [0.2, 0.3, 0.1]], atol=1e-7)


def test_sample_from_trigrid_matches_golden(trigrid_golden):
    out = grid.sample_from_trigrid(
        _planes_last(trigrid_golden["tg_planes"]), jnp.asarray(trigrid_golden["tg_coords"]), 3, 1.0)
    assert out.shape == (1, 3, 200, 8)
    np.testing.assert_allclose(np.asarray(out), trigrid_golden["tg_sample_from_planes_D3_boxwarp1"], rtol=0, atol=ATOL)


def test_density_crop_mask_matches_golden(trigrid_golden):
    mask = grid.density_crop_mask(jnp.asarray(trigrid_golden["tg_coords"]), 1.0, 0.1)
    assert mask.dtype == jnp.bool_
    np.testing.assert_array_equal(np.asarray(mask), trigrid_golden["tg_crop_mask_0p1"])


def test_pixel_centres_and_zero_padding():
    """Points at texel centres return the texel; points far outside return zeros."""
    h, w = 4, 6
    planes = jnp.arange(3 * h * w, dtype=jnp.float32).reshape(1, 3, h, w, 1)
    i, j = 2, 5  # row, column of plane 0 (x -> width, y -> height)
    x = (2 * j + 1) / w - 1
    y = (2 * i + 1) / h - 1
    coords = jnp.array([[[x / 2, y / 2, 0.0], [5.0, 5.0, 5.0]]])  # box_warp 1 => q = 2p
    out = np.asarray(grid.sample_from_planes(planes, coords))
    np.testing.assert_allclose(out[0, 0, 0, 0], i * w + j, atol=1e-5)
    np.testing.assert_array_equal(out[0, :, 1], 0.0)


def test_edge_fades_to_zero_against_padding():
    """Half a texel outside the border only one tap is valid: weight 0.5 on the border texel."""
    planes = jnp.ones((1, 3, 4, 4, 2))
    coords = jnp.array([[[-0.5, 0.0, 0.0]]])  # q_x = -1: half a texel left of texel 0
    out = np.asarray(grid.sample_from_planes(planes, coords))
    np.testing.assert_allclose(out[0, 0, 0], 0.5, atol=1e-6)


def test_gradients_finite_and_match_finite_difference():
    rng = np.random.default_rng(0)
    planes = jnp.asarray(rng.normal(size=(1, 3, 5, 7, 3)), jnp.float32)
    coords = jnp.asarray(rng.uniform(-0.6, 0.6, size=(1, 30, 3)), jnp.float32)
    proj = jnp.asarray(rng.normal(size=(1, 3, 30, 3)), jnp.float32)

    def loss(p):
        return jnp.sum(grid.sample_from_planes(p, coords) * proj)

    g = jax.grad(loss)(planes)
    # The lookup is linear in the planes: grad = sum over taps of weight * proj, exactly.
    idx = (0, 1, 2, 3, 1)
    e = jnp.zeros_like(planes).at[idx].set(1.0)
    np.testing.assert_allclose(float(g[idx]), float(loss(e)), rtol=1e-5, atol=1e-6)
    assert np.all(np.isfinite(np.asarray(jax.grad(lambda c: jnp.sum(grid.sample_from_planes(planes, c)))(coords))))


def test_bfloat16_planes_give_bfloat16_features():
    rng = np.random.default_rng(1)
    planes = jnp.asarray(rng.normal(size=(1, 3, 6, 6, 4)), jnp.float32)
    coords = jnp.asarray(rng.uniform(-0.6, 0.6, size=(1, 50, 3)), jnp.float32)
    out = grid.sample_from_planes(planes.astype(jnp.bfloat16), coords)
    assert out.dtype == jnp.bfloat16
    ref = grid.sample_from_planes(planes.astype(jnp.bfloat16).astype(jnp.float32), coords)
    np.testing.assert_allclose(np.asarray(out, np.float32), np.asarray(ref), rtol=1e-2, atol=1e-2)


def test_trigrid_channel_layout():
    """Channel c*D + d of each plane is feature c at depth slice d (panohead.md §2)."""
    c_feat, depth = 2, 3
    vals = np.zeros((1, 3, 2, 2, c_feat * depth), np.float32)
    vals[..., 1 * depth + 2] = 7.0  # feature 1, slice 2
    coords = jnp.array([[[0.0, 0.0, 2.0 / 3 / 2]]])  # plane 0 depth component = q_z = 2/3 -> slice 2 centre
    out = np.asarray(grid.sample_from_trigrid(jnp.asarray(vals), coords, depth))
    np.testing.assert_allclose(out[0, 0, 0], [0.0, 7.0], atol=1e-5)


@pytest.mark.parametrize("planes_shape,coords_shape,arg", [
    ((1, 2, 4, 4, 2), (1, 5, 3), "planes"),
    ((1, 3, 4, 4, 2), (1, 5, 2), "coords"),
    ((2, 3, 4, 4, 2), (1, 5, 3), "coords"),
])
def test_bad_shapes_raise(planes_shape, coords_shape, arg):
    with pytest.raises(ValueError, match=arg):
        grid.sample_from_planes(jnp.zeros(planes_shape), jnp.zeros(coords_shape))


def test_trigrid_rejects_bad_depth():
    with pytest.raises(ValueError, match="depth"):
        grid.sample_from_trigrid(jnp.zeros((1, 3, 4, 4, 5)), jnp.zeros((1, 2, 3)), 3)
