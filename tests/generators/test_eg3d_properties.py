"""Generator-level properties: chunking, determinism, gradients against finite differences."""
import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d import camera, load_generator
from inversion3d.generators import eg3d

SMALL_INIT_KWARGS = dict(
    z_dim=16, w_dim=512, c_dim=25, img_resolution=128, img_channels=3, mapping_kwargs={"num_layers": 2},
    channel_base=256, channel_max=16, sr_num_fp16_res=4,
    rendering_kwargs=dict(
        image_resolution=128, superresolution_module="training.superresolution.SuperresolutionHybrid2X",
        c_scale=1, superresolution_noise_mode="none", sr_antialias=True, depth_resolution=6,
        depth_resolution_importance=4, ray_start=2.25, ray_end=3.3, box_warp=1, clamp_mode="softplus"))
RES = 8


def _cameras(n):
    intr = camera.intrinsics_matrix(camera.FFHQ_FOCAL)
    yaws = np.pi / 2 + np.linspace(-0.3, 0.3, n)
    return camera.make_label(camera.lookat_pose(yaws, np.full(n, np.pi / 2 - 0.1)), intr)


@pytest.fixture(scope="module")
def small():
    gen = load_generator(None, init_kwargs=SMALL_INIT_KWARGS, neural_rendering_resolution=RES, seed=1)
    z = np.random.RandomState(0).randn(2, 16).astype(np.float32)
    c = _cameras(2)
    ws = gen.mapping(z, c, truncation_psi=0.7)
    return gen, ws, c


def test_chunked_equals_unchunked(small):
    gen, ws, c = small
    chunked = load_generator(None, init_kwargs=SMALL_INIT_KWARGS, neural_rendering_resolution=RES, seed=1,
                             ray_chunk=20)  # 64 rays: chunks of 20 need padding
    rng = jax.random.PRNGKey(3)
    a = gen.synthesis(ws, c, rng=rng)
    b = chunked.synthesis(ws, c, rng=rng)
    for key in ("image", "image_raw", "image_depth", "weights_sum"):
        np.testing.assert_allclose(a[key], b[key], atol=1e-6, rtol=0, err_msg=key)


def test_deterministic_without_rng(small):
    gen, ws, c = small
    a, b = gen.synthesis(ws, c), gen.synthesis(ws, c)
    for key in ("image", "image_depth"):
        np.testing.assert_array_equal(a[key], b[key])
    jittered = gen.synthesis(ws, c, rng=jax.random.PRNGKey(0))
    assert not np.allclose(a["image_depth"], jittered["image_depth"])


def test_draws_replace_rng(small):
    gen, ws, c = small
    m, s, si = RES * RES, 6, 4
    rs = np.random.RandomState(5)
    draws = {"stratified": rs.rand(2, m, s, 1).astype(np.float32), "importance": rs.rand(2 * m, si).astype(np.float32)}
    a, b = gen.synthesis(ws, c, draws=draws), gen.synthesis(ws, c, draws=draws)
    np.testing.assert_array_equal(a["image"], b["image"])
    assert not np.allclose(a["image_depth"], gen.synthesis(ws, c)["image_depth"])


def test_gradients_finite_with_importance_sampling(small):
    gen, ws, c = small
    loss = lambda v, w: jnp.mean(eg3d.synthesize(gen.config, v, w, c, rng=jax.random.PRNGKey(0),
                                                 neural_rendering_resolution=RES)["image"])
    g_vars, g_ws = jax.jit(jax.grad(loss, argnums=(0, 1)))(gen.params, ws)
    leaves = jax.tree.leaves(g_vars["params"]) + [g_ws]
    assert all(np.all(np.isfinite(np.asarray(x))) for x in leaves)
    assert float(jnp.abs(g_ws).sum()) > 0


def _fd_check(objective, x, direction, eps=1e-7):
    """(jvp tangent, central difference) of the objective at x = (variables, ws) along direction.
    float64 and a small step: larger steps cross lrelu kinks somewhere among the many units."""
    value, tangent = objective["jvp"](x, direction)
    plus = objective["f"](jax.tree.map(lambda a, d: a + eps * d, x, direction))
    minus = objective["f"](jax.tree.map(lambda a, d: a - eps * d, x, direction))
    fd = (plus - minus) / (2 * eps)
    return float(tangent), float(fd)


@pytest.fixture(scope="module")
def f64_setup(small):
    """float64 copy of the small generator without importance sampling (fine depths are detached
    in EG3D, so the analytic gradient ignores how they move; finite differences would not)."""
    gen, ws, c = small
    kwargs = copy.deepcopy(SMALL_INIT_KWARGS)
    kwargs["rendering_kwargs"]["depth_resolution_importance"] = 0
    cfg = load_generator(None, init_kwargs=kwargs, neural_rendering_resolution=RES).config
    return cfg, gen.params, np.asarray(ws), c


@pytest.fixture(scope="module")
def objective(f64_setup):
    """{'f': x -> scalar, 'jvp': (x, dx) -> (value, tangent), 'x': (float64 variables, float64 ws)}: a
    fixed projection of the rendered image and depth. f and its jvp are jitted once for both tests (the
    jvp's zero tangent on the other input selects ws or the parameters); eager float64 op-by-op
    evaluation of the 128 px generator took ~2 min of the suite. Call inside jax.enable_x64."""
    cfg, variables, ws, c = f64_setup
    with jax.enable_x64(True):
        u = jnp.asarray(np.random.RandomState(1).rand(2, RES * RES, 6, 1))
        proj = np.random.RandomState(7)
        p_img = jnp.asarray(proj.randn(2, 128, 128, 3))
        p_depth = jnp.asarray(proj.randn(2, RES, RES, 1))
        c64 = jnp.asarray(c, jnp.float64)
        v64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), variables)
        ws64 = jnp.asarray(ws, jnp.float64)

    def f(x, data):
        (variables, ws), (u, p_img, p_depth, c) = x, data
        out = eg3d.synthesize(cfg, variables, ws, c, draws={"stratified": u}, neural_rendering_resolution=RES)
        return jnp.sum(out["image"] * p_img) + jnp.sum(out["image_depth"] * p_depth)
    data = (u, p_img, p_depth, c64)
    value, jvp = jax.jit(f), jax.jit(lambda x, dx, data: jax.jvp(lambda y: f(y, data), (x,), (dx,)))
    return {"f": lambda x: value(x, data), "jvp": lambda x, dx: jvp(x, dx, data), "x": (v64, ws64)}


def _assert_matches(tangent, fd):
    assert np.isfinite(tangent) and abs(tangent) > 0
    assert abs(tangent - fd) <= 1e-5 * max(abs(fd), 1.0), (tangent, fd)


def test_grad_ws_matches_finite_differences(objective):
    with jax.enable_x64(True):
        v64, ws64 = objective["x"]
        direction = (jax.tree.map(jnp.zeros_like, v64), jnp.asarray(np.random.RandomState(2).randn(*ws64.shape)))
        _assert_matches(*_fd_check(objective, (v64, ws64), direction))


def test_grad_params_matches_finite_differences(objective):
    with jax.enable_x64(True):
        v64, ws64 = objective["x"]
        rs = np.random.RandomState(4)
        # A direction in a few trainable tensors, one per network piece (decoder, backbone, SR).
        picked = {("params", "decoder"), ("params", "backbone", "synthesis", "b32", "conv1"),
                  ("params", "superresolution", "block0", "conv0")}

        def direction_for(path, a):
            keys = tuple(getattr(k, "key", None) for k in path)
            hit = any(keys[:len(p)] == p for p in picked)
            return jnp.asarray(rs.randn(*a.shape) if hit else np.zeros(a.shape))
        direction = (jax.tree_util.tree_map_with_path(direction_for, v64), jnp.zeros_like(ws64))
        _assert_matches(*_fd_check(objective, (v64, ws64), direction))
