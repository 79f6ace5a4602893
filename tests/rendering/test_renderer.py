"""Volume renderer: chunking, determinism, draws, an analytic scene and gradients (eg3d.md §5.2-5.6)."""
import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d import camera
from inversion3d.rendering.rays import sample_rays
from inversion3d.rendering.renderer import RenderConfig, render, sample_draws
from tests.tolerances import assert_close_f32

render_jit = jax.jit(render, static_argnames=("decode_fn", "cfg", "return_aux"))

EG3D_CFG = RenderConfig(depth_resolution=12, depth_resolution_importance=10, ray_start=2.25, ray_end=3.3)
TRIGRID_CFG = RenderConfig(depth_resolution=12, depth_resolution_importance=10, ray_start=2.25, ray_end=3.3,
                           rgb_scale=False, density_crop=0.1, plane_kind="trigrid", triplane_depth=3)
_MIX = np.random.default_rng(7).normal(size=(6, 3)).astype(np.float32)


def linear_decoder(feats, pts, dirs):
    """Mean over planes -> fixed linear maps; empty outside a sphere so some rays miss."""
    f = jnp.mean(feats, axis=1)  # (N, P, C)
    outside = jnp.linalg.norm(pts, axis=-1, keepdims=True) > 0.45
    sigma = 4.0 * f[..., :1] + 2.0 + jnp.where(outside, -1000.0, 0.0)
    rgb = jnp.tanh(f @ jnp.asarray(_MIX[: f.shape[-1]], f.dtype))
    return {"sigma": sigma, "rgb": rgb}


def sphere_decoder(raw_sigma, radius=0.3):
    """Constant raw density inside a sphere at the origin, -1000 outside; white colour."""
    def decode(feats, pts, dirs):
        inside = jnp.linalg.norm(pts, axis=-1, keepdims=True) < radius
        sigma = jnp.where(inside, raw_sigma, -1000.0) + 0.0 * feats[:, 0, :, :1]
        return {"sigma": sigma, "rgb": jnp.ones(pts.shape[:-1] + (3,), pts.dtype)}
    return decode


@pytest.fixture(scope="module")
def rays():
    """Two 4x4 cameras (M = 16) with a wide field of view so the corner rays miss the sphere."""
    poses = camera.lookat_pose(np.array([math.pi / 2, math.pi / 2 + 0.4]), np.array([math.pi / 2, 1.3]),
                               lookat=(0, 0, 0), radius=2.7)
    k = np.stack([camera.intrinsics_matrix(1.5)] * 2)
    return sample_rays(poses, k, 4)


def _planes(shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


def _assert_trees_close(a, b, atol, rtol=0.0):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert x.shape == y.shape
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def _assert_trees_f32(a, b, n_reduce):
    """Leaf by leaf equal to float32 rounding (tests/tolerances.py), each scaled by its own max |.|."""
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for (path, x), y in zip(jax.tree_util.tree_leaves_with_path(a), jax.tree.leaves(b)):
        assert_close_f32(y, x, n_reduce=n_reduce, err_msg=jax.tree_util.keystr(path))


# Longest reduction behind a rendered value: the march over the depth_resolution +
# depth_resolution_importance samples of a ray (22 for EG3D_CFG); the decoder sums 3 planes x 4 taps.
MARCH = EG3D_CFG.depth_resolution + EG3D_CFG.depth_resolution_importance


@pytest.mark.parametrize("cfg,plane_shape,chunk", [(EG3D_CFG, (2, 3, 8, 8, 4), 5),
                                                   (TRIGRID_CFG, (2, 3, 8, 8, 4 * 3), 7)])
def test_chunked_equals_unchunked(rays, cfg, plane_shape, chunk):
    planes = _planes(plane_shape)
    key = jax.random.key(1)
    full = render_jit(planes, linear_decoder, *rays, cfg, rng=key, return_aux=True)
    chunked = render_jit(planes, linear_decoder, *rays, dataclasses.replace(cfg, ray_chunk=chunk),
                         rng=key, return_aux=True)
    assert np.any(np.asarray(full["weights_sum"]) == 0)  # empty rays exercise the global clamp
    aux_full, aux_chunked = full.pop("aux"), chunked.pop("aux")
    _assert_trees_close(full, chunked, atol=1e-6)
    # Fine depths move by ~1 ulp (fusion order), which this steep test decoder amplifies in
    # sigma (and sigma ~ -1000 has a 6e-5 ulp), hence a relative tolerance on the intermediates.
    _assert_trees_close(aux_full, aux_chunked, atol=1e-6, rtol=1e-5)


def test_output_and_aux_shapes(rays):
    s, n = EG3D_CFG.depth_resolution, EG3D_CFG.depth_resolution_importance
    out = render_jit(_planes((2, 3, 8, 8, 4)), linear_decoder, *rays, EG3D_CFG, return_aux=True)
    assert out["rgb"].shape == (2, 16, 3)
    assert out["depth"].shape == out["weights_sum"].shape == (2, 16, 1)
    shapes = {k: v.shape for k, v in out["aux"].items()}
    assert shapes == {"depths_coarse": (2, 16, s, 1), "sigma_coarse": (2, 16 * s, 1), "sigma_coarse_cropped": (2, 16, s, 1),
                      "coarse_weights": (2, 16, s - 1, 1), "depths_fine": (2, 16, n, 1),
                      "sigma_fine": (2, 16 * n, 1), "all_depths": (2, 16, s + n, 1),
                      "all_sigma": (2, 16, s + n, 1)}
    assert np.all(np.diff(np.asarray(out["aux"]["all_depths"]), axis=-2) >= 0)
    depth = np.asarray(out["depth"])
    all_depths = np.asarray(out["aux"]["all_depths"])
    assert depth.min() >= all_depths.min() and depth.max() <= all_depths.max()


def test_deterministic_without_rng(rays):
    planes = _planes((2, 3, 8, 8, 4))
    a = render_jit(planes, linear_decoder, *rays, EG3D_CFG, return_aux=True)
    b = render_jit(planes, linear_decoder, *rays, EG3D_CFG, return_aux=True)
    _assert_trees_close(a, b, atol=0)
    linspace = np.linspace(2.25, 3.3, EG3D_CFG.depth_resolution)
    np.testing.assert_allclose(np.asarray(a["aux"]["depths_coarse"])[1, 3, :, 0], linspace, atol=1e-6)


def test_draws_reproduce_rng(rays):
    planes = _planes((2, 3, 8, 8, 4))
    key = jax.random.key(5)
    from_rng = render_jit(planes, linear_decoder, *rays, EG3D_CFG, rng=key)
    draws = sample_draws(key, 2, 16, EG3D_CFG)
    assert draws["stratified"].shape == (2, 16, 12, 1) and draws["importance"].shape == (32, 10)
    from_draws = render_jit(planes, linear_decoder, *rays, EG3D_CFG, draws=draws)
    # Another compiled program (draws as inputs instead of drawn inside; another draws shape below):
    # the same values to float32 rounding, not bit for bit.
    _assert_trees_f32(from_rng, from_draws, MARCH)
    draws3 = dict(draws, importance=draws["importance"].reshape(2, 16, 10))
    _assert_trees_f32(from_rng, render_jit(planes, linear_decoder, *rays, EG3D_CFG, draws=draws3), MARCH)
    other = render_jit(planes, linear_decoder, *rays, EG3D_CFG, rng=jax.random.key(6))
    assert not np.allclose(np.asarray(other["rgb"]), np.asarray(from_rng["rgb"]))


def test_no_importance_coarse_march_is_final(rays):
    cfg = dataclasses.replace(EG3D_CFG, depth_resolution_importance=0)
    out = render_jit(_planes((2, 3, 8, 8, 4)), linear_decoder, *rays, cfg, rng=jax.random.key(0), return_aux=True)
    np.testing.assert_allclose(np.asarray(out["weights_sum"]),
                               np.asarray(out["aux"]["coarse_weights"]).sum(-2), atol=1e-6)
    assert out["aux"]["all_depths"].shape == (2, 16, 12, 1)


def _frontal_rays():
    """A ray through the sphere centre and one passing 0.45 beside it, both from (0, 0, 2.7)."""
    miss = np.array([0.45, 0.0, -2.7])
    dirs = jnp.asarray(np.stack([[0.0, 0.0, -1.0], miss / np.linalg.norm(miss)])[None], jnp.float32)
    return jnp.asarray([[[0.0, 0.0, 2.7]] * 2]), dirs


@pytest.mark.parametrize("jitter", [False, True])
def test_analytic_sphere_opaque(jitter):
    """Dense sphere of radius 0.3: the depth is the entry point 2.4 (+1/sigma), opacity 1."""
    cfg = RenderConfig(depth_resolution=64, depth_resolution_importance=64, ray_start=2.25, ray_end=3.3)
    rng = jax.random.key(0) if jitter else None
    out = render_jit(jnp.zeros((1, 3, 4, 4, 2)), sphere_decoder(101.0), *_frontal_rays(), cfg, rng=rng)
    depth, wsum, rgb = (np.asarray(out[k])[0, :, 0] for k in ("depth", "weights_sum", "rgb"))
    step = (3.3 - 2.25) / 63
    assert abs(depth[0] - (2.4 + 1 / 100)) < step
    np.testing.assert_allclose(wsum, [1.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(rgb, [1.0, -1.0], atol=1e-5)  # white x 2 - 1; empty ray -> -1
    assert depth[1] >= 3.3  # empty ray -> global maximum sample depth


@pytest.mark.parametrize("jitter", [False, True])
def test_analytic_sphere_translucent(jitter):
    """sigma = softplus(raw - 1) = 2 along a chord of 0.6: opacity 1 - e^-1.2, mean depth analytic."""
    cfg = RenderConfig(depth_resolution=64, depth_resolution_importance=64, ray_start=2.25, ray_end=3.3)
    sigma, chord = 2.0, 0.6
    raw = 1.0 + math.log(math.expm1(sigma))
    rng = jax.random.key(0) if jitter else None
    out = render_jit(jnp.zeros((1, 3, 4, 4, 2)), sphere_decoder(raw), *_frontal_rays(), cfg, rng=rng)
    opacity = 1 - math.exp(-sigma * chord)
    mean_depth = 2.4 + 1 / sigma - chord * math.exp(-sigma * chord) / opacity
    assert float(out["weights_sum"][0, 0, 0]) == pytest.approx(opacity, abs=0.015)
    assert float(out["depth"][0, 0, 0]) == pytest.approx(mean_depth, abs=0.01)


def test_gradient_matches_central_difference(rays):
    """d loss / d planes vs a float64 central difference (coarse only: fine depths are
    stop_gradient'ed, so with importance sampling a finite difference would also see them move)."""
    cfg = RenderConfig(depth_resolution=16, depth_resolution_importance=0, ray_start=2.25, ray_end=3.3)
    with jax.enable_x64(True):
        planes = jnp.asarray(np.random.default_rng(2).normal(size=(2, 3, 4, 4, 3)), jnp.float64)
        origins, dirs = (jnp.asarray(r, jnp.float64) for r in rays)
        u = jnp.asarray(np.random.default_rng(3).uniform(size=(2, 16, 16, 1)), jnp.float64)
        proj = jnp.asarray(np.random.default_rng(4).normal(size=(2, 16, 3)), jnp.float64)

        def loss(p):
            out = render(p, linear_decoder, origins, dirs, cfg, draws={"stratified": u})
            return jnp.sum(out["rgb"] * proj) + 0.3 * jnp.sum(out["depth"])

        grad = np.asarray(jax.jit(jax.grad(loss))(planes))
        assert np.all(np.isfinite(grad))
        idx = np.unravel_index(np.argmax(np.abs(grad)), grad.shape)
        eps = 1e-5
        loss_jit = jax.jit(loss)
        fd = (loss_jit(planes.at[idx].add(eps)) - loss_jit(planes.at[idx].add(-eps))) / (2 * eps)
        np.testing.assert_allclose(grad[idx], float(fd), rtol=1e-5)


@pytest.mark.parametrize("cfg,plane_shape", [(EG3D_CFG, (2, 3, 8, 8, 4)), (TRIGRID_CFG, (2, 3, 8, 8, 12))])
def test_gradient_finite_with_importance(rays, cfg, plane_shape):
    def loss(p):
        out = render(p, linear_decoder, *rays, dataclasses.replace(cfg, ray_chunk=6), rng=jax.random.key(0))
        return jnp.sum(out["rgb"]) + jnp.sum(out["depth"]) + jnp.sum(out["weights_sum"])

    grad = np.asarray(jax.jit(jax.grad(loss))(_planes(plane_shape)))
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)


def test_remat_gives_same_values_and_gradients(rays):
    cfg = dataclasses.replace(EG3D_CFG, ray_chunk=6)

    def loss(p, cfg):
        out = render(p, linear_decoder, *rays, cfg, rng=jax.random.key(3))
        return jnp.sum(out["rgb"] ** 2) + jnp.sum(out["depth"]), out

    planes = _planes((2, 3, 8, 8, 4))
    grad_fn = jax.jit(jax.grad(loss, has_aux=True), static_argnums=1)
    (g, out), (g_remat, out_remat) = (grad_fn(planes, c) for c in (cfg, dataclasses.replace(cfg, remat=True)))
    _assert_trees_close(out, out_remat, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g_remat), np.asarray(g), rtol=1e-6, atol=1e-6 * np.abs(g).max())


def test_importance_draw_order_only_permutes_fine_aux(rays):
    """Fine samples are rendered sorted; the aux keeps the order of the given uniforms."""
    planes = _planes((2, 3, 8, 8, 4))
    draws = sample_draws(jax.random.key(9), 2, 16, EG3D_CFG)
    perm = np.random.default_rng(0).permutation(EG3D_CFG.depth_resolution_importance)
    permuted = dict(draws, importance=draws["importance"][:, perm])
    a = render_jit(planes, linear_decoder, *rays, EG3D_CFG, draws=draws, return_aux=True)
    b = render_jit(planes, linear_decoder, *rays, EG3D_CFG, draws=permuted, return_aux=True)
    aux_a, aux_b = a.pop("aux"), b.pop("aux")
    # Permuted draws compute each fine sample at another position of the arrays: equal to float32
    # rounding (fine depths: inverse CDF over the 11 coarse bins; sigma: 3 planes x 4 taps, scaled by
    # its max |.| ~ 1000 of the empty space).
    _assert_trees_f32(a, b, MARCH)
    fine = EG3D_CFG.depth_resolution - 1
    assert_close_f32(np.asarray(aux_b["all_depths"]), np.asarray(aux_a["all_depths"]), n_reduce=fine)
    assert_close_f32(np.asarray(aux_b["depths_fine"]), np.asarray(aux_a["depths_fine"])[:, :, perm], n_reduce=fine)
    sigma_a = np.asarray(aux_a["sigma_fine"]).reshape(2, 16, -1)
    assert_close_f32(np.asarray(aux_b["sigma_fine"]).reshape(2, 16, -1), sigma_a[:, :, perm], n_reduce=12)


def test_bfloat16_planes_render_float32_close_to_float32(rays):
    planes = _planes((2, 3, 8, 8, 4))
    ref = render_jit(planes, linear_decoder, *rays, EG3D_CFG)
    out = render_jit(planes.astype(jnp.bfloat16), linear_decoder, *rays, EG3D_CFG)
    for key in ("rgb", "depth", "weights_sum"):
        assert out[key].dtype == jnp.float32, key
    np.testing.assert_allclose(np.asarray(out["rgb"]), np.asarray(ref["rgb"]), atol=0.05)
    np.testing.assert_allclose(np.asarray(out["weights_sum"]), np.asarray(ref["weights_sum"]), atol=0.05)
    np.testing.assert_allclose(np.asarray(out["depth"]), np.asarray(ref["depth"]), atol=0.05)


def test_bad_inputs_raise(rays):
    planes = _planes((2, 3, 8, 8, 4))
    with pytest.raises(ValueError, match="ray_directions"):
        render(planes, linear_decoder, rays[0], rays[1][:, :3], EG3D_CFG)
    with pytest.raises(ValueError, match="planes"):
        render(planes[:1], linear_decoder, *rays, EG3D_CFG)
    with pytest.raises(ValueError, match="draws\\['stratified'\\]"):
        render(planes, linear_decoder, *rays, EG3D_CFG, draws={"stratified": jnp.zeros((2, 16, 5, 1))})
    with pytest.raises(ValueError, match="plane_kind"):
        RenderConfig(12, 10, 2.25, 3.3, plane_kind="voxels")
    assert hash(EG3D_CFG) == hash(dataclasses.replace(EG3D_CFG))


def test_density_noise_is_added_to_the_raw_densities_before_the_crop(rays):
    """PanoHead's training-time density noise (run_model): raw sigma + noise, then the x/z crop."""
    origins, dirs = rays
    cfg = dataclasses.replace(TRIGRID_CFG, depth_resolution=6, depth_resolution_importance=4)
    planes = _planes((2, 3, 8, 8, 6 * 3))
    n, m = origins.shape[:2]
    draws = sample_draws(jax.random.PRNGKey(1), n, m, cfg)
    key_c, key_f = jax.random.split(jax.random.PRNGKey(2))
    noise = {"coarse": 0.5 * jax.random.normal(key_c, (n, m, 6, 1)),
             "fine": 0.5 * jax.random.normal(key_f, (n, m, 4, 1))}
    zeros = jax.tree.map(jnp.zeros_like, noise)
    # one program (zero noise = no noise: the raw densities are the decoder's)
    plain = render_jit(planes, linear_decoder, origins, dirs, cfg, draws=draws, return_aux=True,
                       density_noise=zeros)
    noisy = render_jit(planes, linear_decoder, origins, dirs, cfg, draws=draws, return_aux=True,
                       density_noise=noise)
    raw, raw_noisy = plain["aux"]["sigma_coarse"], noisy["aux"]["sigma_coarse"]
    assert_close_f32(raw_noisy, raw + noise["coarse"].reshape(raw.shape))
    cropped, cropped_noisy = plain["aux"]["sigma_coarse_cropped"], noisy["aux"]["sigma_coarse_cropped"]
    outside = np.asarray(cropped) == -1000.0
    assert outside.any() and (~outside).any()
    np.testing.assert_array_equal(np.asarray(cropped_noisy)[outside], -1000.0)  # the crop wins over the noise
    assert float(jnp.max(jnp.abs(noisy["rgb"] - plain["rgb"]))) > 1e-3
    with pytest.raises(ValueError, match="density_noise\\['fine'\\]"):
        render(planes, linear_decoder, origins, dirs, cfg, draws=draws,
               density_noise={"coarse": noise["coarse"], "fine": noise["fine"][:, :, :3]})
