"""Composite (In-N-Out) rendering on the in-distribution renderer's samples (rendering/composite.py):
b = 0 is the plain renderer, b = 1 with the same field is the plain renderer too, a numpy reference
of the blending rule, and gradients of the OOD field against float64 central differences."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d import camera
from inversion3d.rendering.composite import composite_render, composite_weights
from inversion3d.rendering.rays import sample_rays
from inversion3d.rendering.renderer import RenderConfig, render
from tests.tolerances import assert_close_f32

CFG = RenderConfig(depth_resolution=12, depth_resolution_importance=10, ray_start=2.25, ray_end=3.3)
MARCH = CFG.depth_resolution + CFG.depth_resolution_importance
_MIX = np.random.default_rng(7).normal(size=(4, 3)).astype(np.float32)


def field(scale=4.0, offset=2.0):
    def decode(feats, pts, dirs):
        f = jnp.mean(feats, axis=1)
        outside = jnp.linalg.norm(pts, axis=-1, keepdims=True) > 0.45
        return {"sigma": scale * f[..., :1] + offset + jnp.where(outside, -1000.0, 0.0),
                "rgb": jnp.tanh(f @ jnp.asarray(_MIX, f.dtype))}
    return decode


def ood_from(planes, decode, blend):
    """An OOD field: `decode` on `planes` with blend(points) -> (N, P, 1)."""
    from inversion3d.ops.grid import sample_from_planes

    def fn(points):
        out = decode(sample_from_planes(planes, points), points, points)
        return dict(out, blend=blend(points))
    return fn


@pytest.fixture(scope="module")
def rays():
    poses = camera.lookat_pose(np.array([math.pi / 2, math.pi / 2 + 0.4]), np.array([math.pi / 2, 1.3]),
                               lookat=(0, 0, 0), radius=2.7)
    return sample_rays(poses, np.stack([camera.intrinsics_matrix(1.5)] * 2), 4)


def _planes(seed):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(2, 3, 8, 8, 4)), jnp.float32)


@jax.jit
def _both(planes, ood_planes, origins, dirs, rng):
    ood = ood_from(ood_planes, field(3.0, 1.0), lambda p: jnp.zeros(p.shape[:-1] + (1,)))
    plain = render(planes, field(), origins, dirs, CFG, rng=rng)
    comp = composite_render(planes, field(), ood, origins, dirs, CFG, rng=rng)
    same = composite_render(planes, field(), ood_from(planes, field(), lambda p: jnp.ones(p.shape[:-1] + (1,))),
                            origins, dirs, CFG, rng=rng)
    return plain, comp, same


def test_zero_blend_is_the_plain_renderer_and_one_blend_the_other_field(rays):
    plain, comp, same = _both(_planes(0), _planes(1), *rays, jax.random.key(3))
    for key in ("rgb", "depth", "weights_sum"):
        assert_close_f32(comp[key], plain[key], n_reduce=MARCH, err_msg=key)
        # b = 1 and an OOD field equal to the in-distribution one: the OOD-only march of the same field.
        assert_close_f32(same[key], plain[key], n_reduce=MARCH, err_msg=key)
        assert_close_f32(same["ood_" + key], plain[key], n_reduce=MARCH, err_msg=key)
    assert float(jnp.max(comp["blend_weight"])) == 0.0
    assert comp["blend_coarse"].shape == (2, 16, 12) and comp["blend_fine"].shape == (2, 16, 10)


def _softplus(x):
    return np.log1p(np.exp(x))


def test_weights_match_a_numpy_reference():
    rng = np.random.default_rng(5)
    depths = np.sort(rng.uniform(2.2, 3.3, size=(1, 3, 9, 1)), axis=-2).astype(np.float32)
    s_in, s_ood = (rng.normal(size=(1, 3, 9, 1)).astype(np.float32) * 3 for _ in range(2))
    b = rng.uniform(size=(1, 3, 9, 1)).astype(np.float32)
    w_in, w_ood = composite_weights(jnp.asarray(s_in), jnp.asarray(s_ood), jnp.asarray(b), jnp.asarray(depths))
    d = np.diff(depths.astype(np.float64), axis=-2)
    mid = lambda x: (x[..., :-1, :] + x[..., 1:, :]) / 2  # noqa: E731
    a_in = 1 - np.exp(-_softplus(mid(s_in) - 1.0) * d)
    a_ood = 1 - np.exp(-_softplus(mid(s_ood) - 1.0) * d)
    bm = mid(b.astype(np.float64))
    factor = (1 - bm * a_ood + 1e-10) * (1 - (1 - bm) * a_in + 1e-10)
    t = np.concatenate([np.ones_like(factor[..., :1, :]), np.cumprod(factor, axis=-2)[..., :-1, :]], axis=-2)
    np.testing.assert_allclose(np.asarray(w_in), t * (1 - bm) * a_in, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(w_ood), t * bm * a_ood, rtol=1e-5, atol=1e-6)


def test_blend_scale_zero_removes_the_ood_field(rays):
    planes, ood_planes = _planes(0), _planes(1)
    ood = ood_from(ood_planes, field(3.0, 1.0), lambda p: jax.nn.sigmoid(p[..., :1] * 5))

    @jax.jit
    def fn():
        comp = lambda s: composite_render(planes, field(), ood, *rays, CFG, blend_scale=s)  # noqa: E731
        return render(planes, field(), *rays, CFG), comp(jnp.zeros((2, 16, 1))), comp(jnp.ones((2, 16, 1)))

    plain, removed, kept = fn()
    assert_close_f32(removed["rgb"], plain["rgb"], n_reduce=MARCH)
    assert float(jnp.max(jnp.abs(kept["rgb"] - plain["rgb"]))) > 1e-2
    # the decoded b is reported unscaled (the losses act on it)
    np.testing.assert_array_equal(np.asarray(removed["blend_coarse"]), np.asarray(kept["blend_coarse"]))


def test_gradient_of_the_ood_field_matches_central_difference(rays):
    """d loss / d (OOD planes, blend logit) vs float64 central differences; with importance sampling,
    since the fine depths come from the in-distribution field only."""
    with jax.enable_x64(True):
        planes = jnp.asarray(np.random.default_rng(0).normal(size=(2, 3, 8, 8, 4)), jnp.float64)
        ood_planes = jnp.asarray(np.random.default_rng(1).normal(size=(2, 3, 8, 8, 4)), jnp.float64)
        origins, dirs = (jnp.asarray(r, jnp.float64) for r in rays)
        draws = {"stratified": jnp.asarray(np.random.default_rng(3).uniform(size=(2, 16, 12, 1))),
                 "importance": jnp.asarray(np.random.default_rng(4).uniform(size=(32, 10)))}
        proj = jnp.asarray(np.random.default_rng(4).normal(size=(2, 16, 3)), jnp.float64)

        def loss(op, logit):
            ood = ood_from(op, field(3.0, 1.0), lambda p: jax.nn.sigmoid(logit + 3 * p[..., :1]))
            out = composite_render(planes, field(), ood, origins, dirs, CFG, draws=draws)
            return jnp.sum(out["rgb"] * proj) + 0.3 * jnp.sum(out["depth"]) + jnp.sum(out["ood_rgb"] * proj)

        logit = jnp.asarray(0.2, jnp.float64)
        g_planes, g_logit = jax.jit(jax.grad(loss, argnums=(0, 1)))(ood_planes, logit)
        g_planes = np.asarray(g_planes)
        assert np.all(np.isfinite(g_planes)) and abs(float(g_logit)) > 0
        idx = np.unravel_index(np.argmax(np.abs(g_planes)), g_planes.shape)
        eps, loss_jit = 1e-5, jax.jit(loss)
        fd = (loss_jit(ood_planes.at[idx].add(eps), logit) - loss_jit(ood_planes.at[idx].add(-eps), logit)) / (2 * eps)
        np.testing.assert_allclose(g_planes[idx], float(fd), rtol=1e-5)
        fd = (loss_jit(ood_planes, logit + eps) - loss_jit(ood_planes, logit - eps)) / (2 * eps)
        np.testing.assert_allclose(float(g_logit), float(fd), rtol=1e-5)
