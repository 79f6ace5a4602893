"""MipRayMarcher2 vs EG3D / PanoHead goldens (eg3d.md §5.5, panohead.md §4)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.rendering.marcher import mip_ray_march
from tests.conftest import load_golden

ATOL = 1e-5


def _inputs(g):
    return tuple(jnp.asarray(g[k]) for k in ("rm_colors", "rm_densities", "rm_depths"))


def test_eg3d_march_matches_golden(ops_golden):
    rgb, depth, weights = jax.jit(mip_ray_march)(*_inputs(ops_golden))
    np.testing.assert_allclose(np.asarray(rgb), ops_golden["rm_rgb"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(np.asarray(depth), ops_golden["rm_depth"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(np.asarray(weights), ops_golden["rm_weights"], rtol=0, atol=ATOL)
    # The empty ray gets the global maximum depth (NaN -> inf -> clamp).
    assert float(depth[0, 0, 0]) == pytest.approx(float(ops_golden["rm_depths"].max()))


def test_eg3d_march_white_back_matches_golden(ops_golden):
    rgb, _, _ = mip_ray_march(*_inputs(ops_golden), white_back=True)
    np.testing.assert_allclose(np.asarray(rgb), ops_golden["rm_rgb_white_back"], rtol=0, atol=ATOL)


def test_panohead_march_matches_golden():
    g = load_golden("panohead/ops_trigrid.npz")
    rgb, depth, weights = mip_ray_march(*_inputs(g), rgb_scale=False)
    np.testing.assert_allclose(np.asarray(rgb), g["rm_rgb_noscale"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(np.asarray(depth), g["rm_depth"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(np.asarray(weights), g["rm_weights"], rtol=0, atol=ATOL)


def test_depth_range_overrides_global_clamp(ops_golden):
    _, depth, _ = mip_ray_march(*_inputs(ops_golden), depth_range=(-jnp.inf, jnp.inf))
    assert np.isinf(np.asarray(depth)[0, 0, 0])
    _, depth, _ = mip_ray_march(*_inputs(ops_golden), depth_range=(2.5, 2.6))
    assert float(depth[0, 0, 0]) == pytest.approx(2.6)


def test_gradient_finite_with_empty_ray(ops_golden):
    colors, dens, depths = _inputs(ops_golden)

    def loss(c, d):
        rgb, depth, _ = mip_ray_march(c, d, depths)
        return jnp.sum(rgb) + jnp.sum(depth)

    gc, gd = jax.grad(loss, argnums=(0, 1))(colors, dens)
    assert np.all(np.isfinite(np.asarray(gc))) and np.all(np.isfinite(np.asarray(gd)))


def test_numpy_reference_single_ray():
    rng = np.random.default_rng(0)
    depths = np.sort(rng.uniform(2, 3, 7)).astype(np.float32)
    dens = rng.normal(size=7).astype(np.float32) * 3
    cols = rng.uniform(size=(7, 2)).astype(np.float32)
    sigma = np.log1p(np.exp((dens[:-1] + dens[1:]) / 2 - 1))
    alpha = 1 - np.exp(-sigma * np.diff(depths))
    trans = np.concatenate([[1.0], np.cumprod(1 - alpha + 1e-10)[:-1]])
    w = alpha * trans
    ref_rgb = (w[:, None] * (cols[:-1] + cols[1:]) / 2).sum(0) * 2 - 1
    ref_depth = (w * (depths[:-1] + depths[1:]) / 2).sum() / w.sum()
    rgb, depth, weights = mip_ray_march(cols[None, None], dens[None, None, :, None], depths[None, None, :, None])
    np.testing.assert_allclose(np.asarray(weights)[0, 0, :, 0], w, atol=1e-6)
    np.testing.assert_allclose(np.asarray(rgb)[0, 0], ref_rgb, atol=1e-6)
    np.testing.assert_allclose(float(depth[0, 0, 0]), ref_depth, atol=1e-5)
