"""In-N-Out's three formerly simplified pieces (in-n-out.md §1, §2.4, §4), each against its definition:
stage A's masked LPIPS (the LPIPS map of the full images weighted by the mask), the no-mask
variant's re-initialised w_cano' = 0.7 w_cano + 0.3 N(0, 1) with stage A's residuals at lr 5e-4, and
the temporal smoothing of SR block 0 (a constant clip is unchanged; the filter is the window average).
LPIPS nets here have random weights (the values mean nothing; the formulas are what is checked)."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import innout_tiny
from inversion3d import camera
from inversion3d.app import loading
from inversion3d.generators import eg3d
from inversion3d.losses.lpips import LPIPS
from inversion3d.methods.innout import losses, stage_a, stage_b, temporal
from inversion3d.methods.innout.field import superresolve

TAPS = (0.125, 0.375, 0.5)  # configs/innout.py inference.smooth_taps


@pytest.fixture(scope="module")
def alex():
    x = jnp.zeros((1, 32, 32, 3))
    return jax.jit(LPIPS("alex").init)(jax.random.PRNGKey(0), x, x)


def test_masked_lpips_weights_the_map_of_the_full_images(alex):
    rs = np.random.RandomState(0)
    x = rs.uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)
    y = np.clip(x + 0.3 * rs.randn(*x.shape), -1, 1).astype(np.float32)
    mask = np.ones((1, 32, 32, 1), np.float32)
    mask[:, 8:24, 4:20] = 0  # the OOD region
    fn = jax.jit(losses.masked_lpips, static_argnums=0)
    dist_map = np.asarray(jax.jit(LPIPS("alex", spatial=True).apply)(alex, x, y))[0, ..., 0]
    # no mask: the mean of the map; a mask: the mean of the map over the face pixels
    assert float(fn("alex", alex, x, y, np.ones_like(mask))) == pytest.approx(dist_map.mean(), rel=1e-5)
    got = float(fn("alex", alex, x, y, mask))
    assert got == pytest.approx(dist_map[mask[0, ..., 0] > 0].mean(), rel=1e-5)
    # the images are not cut: synthesis pixels inside the OOD region still reach the face pixels' map
    # (the former approximation pasted the target there, which made them irrelevant)
    x2 = x.copy()
    x2[:, 8:24, 4:20] = -x2[:, 8:24, 4:20]
    assert abs(float(fn("alex", alex, x2, y, mask)) - got) > 1e-3 * got
    pasted = np.where(mask > 0, x, y)
    assert abs(float(fn("alex", alex, pasted, y, np.ones_like(mask))) - got) > 1e-3 * got


def test_no_mask_variant_reinitialises_w_cano_and_trains_the_latents():
    config = innout_tiny.get_config()
    config.stage_b.plane_resolution = 4
    rs = np.random.RandomState(1)
    num, layers, dim = 3, 4, 8
    w_cano = rs.randn(1, layers, dim).astype(np.float32)
    residual = rs.randn(num, layers, dim).astype(np.float32)
    ws = w_cano + 0.7 * residual
    rng = jax.random.PRNGKey(3)
    params = jax.jit(lambda r: stage_b.init_params(r, config, ws, {"w_cano": w_cano, "residual": residual}))(rng)
    assert "ws" not in params
    noise = np.asarray(jax.random.normal(jax.random.fold_in(rng, 1), w_cano.shape))
    np.testing.assert_allclose(params["w_cano"], 0.7 * w_cano + 0.3 * noise, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(params["residual"], residual)
    frame = jax.jit(stage_b.frame_ws)(params, 2, 0.7)
    np.testing.assert_allclose(frame, params["w_cano"] + 0.7 * residual[2:3], atol=1e-6)
    # split_latents (stage A's parts not given) decomposes ws exactly
    parts = jax.jit(stage_b.split_latents, static_argnums=1)(ws, 0.7)
    np.testing.assert_allclose(parts["w_cano"] + 0.7 * parts["residual"], ws, atol=1e-5)
    # one Adam step on unit gradients moves w_cano and the residuals by lr_auto_ws (5e-4), the field by lr_field
    assert stage_b.is_auto(config, masked=False) and not stage_b.is_auto(config, masked=True)
    tx = stage_b.optimizer(config, 1, auto=True)
    updates, _ = jax.jit(lambda p: tx.update(jax.tree.map(jnp.ones_like, p), tx.init(p), p))(params)
    np.testing.assert_allclose(updates["w_cano"], -5e-4, rtol=1e-5)
    np.testing.assert_allclose(updates["residual"], -5e-4, rtol=1e-5)
    np.testing.assert_allclose(updates["field"]["planes"], -5e-3, rtol=1e-5)
    # the masked single-image path keeps its frozen w+
    masked = jax.jit(lambda r: stage_b.init_params(r, config, ws[:1]))(rng)
    tx = stage_b.optimizer(config, 1)
    updates, _ = jax.jit(lambda p: tx.update(jax.tree.map(jnp.ones_like, p), tx.init(p), p))(masked)
    assert float(jnp.max(jnp.abs(updates["ws"]))) == 0.0


def test_stage_b_params_outlive_a_donating_step():
    """stage_b._step donates its params: init_params must copy stage A's arrays, which the pipeline still
    reads afterwards (the 4-frame CLI run failed with 'Array has been deleted' when they were aliased)."""
    config = innout_tiny.get_config()
    config.stage_b.plane_resolution = 4
    ws, residual = jnp.ones((2, 4, 8)), jnp.zeros((2, 4, 8))
    consume = jax.jit(lambda p: jax.tree.map(lambda x: x + 1, p), donate_argnums=0)
    for latents in (None, {"w_cano": ws[:1], "residual": residual}):
        consume(stage_b.init_params(jax.random.PRNGKey(0), config, ws, latents))
        np.testing.assert_array_equal(ws, 1.0)  # still readable: not donated away
        np.testing.assert_array_equal(residual, 0.0)


def test_causal_filter_is_the_window_average():
    t = np.arange(5, dtype=np.float32)
    x = np.stack([t ** 2, -t], axis=1)  # a known per-frame signal (T, 2)
    want = x.copy()
    for i in range(2, 5):
        want[i] = 0.125 * x[i - 2] + 0.375 * x[i - 1] + 0.5 * x[i]
    assert want[2, 0] == pytest.approx(0.125 * 0 + 0.375 * 1 + 0.5 * 4)
    np.testing.assert_allclose(temporal.smooth_sequence(x, TAPS), want, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(temporal.causal_filter(jnp.asarray(x), TAPS)), want, rtol=1e-6)
    const = np.full((4, 3), 0.7, np.float32)
    np.testing.assert_allclose(np.asarray(temporal.causal_filter(jnp.asarray(const), TAPS)), const, rtol=1e-6)
    np.testing.assert_array_equal(temporal.smooth_sequence(x[:2], TAPS), x[:2])  # fewer frames than taps


@pytest.fixture(scope="module")
def gen():
    return loading.open_generator("default")


def test_sr_block0_smoothing(gen):
    cfg, res = gen.config, gen.config.neural_rendering_resolution
    sr = gen.params["params"]["superresolution"]
    rs = np.random.RandomState(2)
    feats = rs.uniform(-1, 1, (4, res, res, cfg.plane_channels)).astype(np.float32)
    ws = np.repeat(rs.randn(1, cfg.num_ws, cfg.w_dim).astype(np.float32) * 0.5, 4, 0)
    plain = np.asarray(jax.jit(superresolve, static_argnums=0)(cfg, gen.params, sr, feats, ws))  # frame by frame
    smooth = functools.partial(temporal.smoothed_superresolve, cfg, gen.params, sr, taps=TAPS)
    # a constant clip is unchanged by the smoothing (taps sum to 1)
    const = np.repeat(feats[:1], 4, 0)
    np.testing.assert_allclose(smooth(const, ws, chunk=2), np.repeat(plain[:1], 4, 0), atol=2e-5)
    got = smooth(feats, ws, chunk=2)
    np.testing.assert_allclose(got[:2], plain[:2], atol=2e-5)  # the first K - 1 frames are not filtered
    assert np.min(np.abs(got[2:] - plain[2:]).mean(axis=(1, 2, 3))) > 1e-3  # the others are
    np.testing.assert_allclose(smooth(feats, ws, chunk=4), got, atol=2e-5)  # chunks carry their context


OVERRIDES = ["--config.neural_rendering_resolution=16", "--config.init_kwargs.rendering_kwargs.depth_resolution=8",
             "--config.init_kwargs.rendering_kwargs.depth_resolution_importance=8"]


@pytest.fixture(scope="module")
def small():
    """The default generator at neural resolution 16 with 8 + 8 samples (as tests/methods/test_innout.py)."""
    g = loading.open_generator("default", overrides=OVERRIDES)
    c = np.repeat(camera.generator_frontal_label(g)[None], 2, 0)
    z = np.random.RandomState(5).randn(2, g.config.z_dim).astype(np.float32)
    ws = np.asarray(g.mapping(z, c, truncation_psi=0.7))
    return g, ws, c, g.synthesis(ws, c)


@pytest.mark.slow
def test_stage_a_loss_is_the_masked_one_at_the_image_resolution(small, alex):
    g, ws, c, ref = small
    cfg, size = g.config, g.config.img_resolution
    rs = np.random.RandomState(4)
    target = np.clip(np.asarray(ref["image"][:1]) + 0.2 * rs.randn(1, size, size, 3), -1, 1).astype(np.float32)
    mask = np.ones((1, size, size, 1), np.float32)
    mask[:, size // 4:size // 2, size // 4:3 * size // 4] = 0
    weights = {"mse": 1.0, "lpips": 1.0, "delta": 1e-3, "last": 12}
    w = jnp.asarray(ws[:1]) + 0.05
    fn = jax.jit(functools.partial(stage_a.frame_loss, cfg, "alex", weights), static_argnums=6)  # 'last' static
    _, metrics = fn(g.params, alex, w, c[:1], target, mask, None)
    synth = eg3d.synthesize(cfg, g.params, w, c[:1], noise_mode="const")["image"]
    want = jax.jit(losses.masked_lpips, static_argnums=0)("alex", alex, synth, target, mask)
    assert float(metrics["lpips"]) == pytest.approx(float(want), rel=1e-4)
    assert float(metrics["mse"]) == pytest.approx(float(losses.masked_mse(synth, target, mask)), rel=1e-4)
    # stage A takes targets and masks at another size (resized to the generator's) and lowers its loss
    config = innout_tiny.get_config()
    config.stage_a.epochs, config.stage_a.passes, config.stage_a.init_samples = 4, 1, 8
    big = np.repeat(np.repeat(target, 2, 1), 2, 2)
    res = stage_a.run(g, big, c[:1], np.repeat(np.repeat(mask, 2, 1), 2, 2), config, lpips={"alex": alex},
                      log=lambda *a, **k: None)
    assert res["losses"][-1] < res["losses"][0]


@pytest.mark.slow
def test_no_mask_stage_b_trains_the_reinitialised_latents(small):
    g, ws, c, ref = small
    config = innout_tiny.get_config()
    config.stage_b.steps = 3
    w_cano = ws[:1]
    residual = np.zeros_like(ws[:1])
    data = stage_b.prepare_data(g.config, np.asarray(ref["image"][:1]), c[:1])
    res = stage_b.run(g, data, ws[:1], config, np.zeros(g.config.w_dim), masked=False, log=lambda *a, **k: None,
                      latents={"w_cano": w_cano, "residual": residual})
    lat = res["latents"]
    np.testing.assert_allclose(res["params"]["ws"], lat["w_cano"] + 0.7 * lat["residual"], atol=1e-5)
    start = stage_b.init_params(jax.random.split(jax.random.PRNGKey(config.seed))[0], config, ws[:1],
                                {"w_cano": w_cano, "residual": residual})
    moved = np.abs(np.asarray(lat["w_cano"]) - np.asarray(start["w_cano"]))
    assert 0 < moved.max() <= 3 * 5e-4 * 1.01  # three Adam steps at lr_auto_ws
    assert np.abs(np.asarray(start["w_cano"]) - 0.7 * w_cano).max() > 0.1  # the random re-initialisation
    assert np.all(np.isfinite(res["losses"]))
