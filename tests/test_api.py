"""Bad input to the public handle: one-line ValueErrors that name the argument, expected vs got."""
import copy

import numpy as np
import pytest

from inversion3d import load_generator
from tests.generators.test_eg3d_properties import SMALL_INIT_KWARGS


@pytest.fixture(scope="module")
def gen():
    return load_generator(None, init_kwargs=SMALL_INIT_KWARGS, neural_rendering_resolution=8)


def _one_line(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_wrong_z_shape(gen):
    with pytest.raises(ValueError) as err:
        gen.mapping(np.zeros((2, 17), np.float32), np.zeros((2, 25), np.float32))
    assert "z: expected shape (N, 16), got (2, 17)" in _one_line(err)


def test_wrong_c_shape(gen):
    with pytest.raises(ValueError) as err:
        gen.mapping(np.zeros((2, 16), np.float32), np.zeros((3, 25), np.float32))
    assert "c: expected shape (2, 25), got (3, 25)" in _one_line(err)


def test_wrong_ws_shape(gen):
    with pytest.raises(ValueError) as err:
        gen.synthesis(np.zeros((1, 13, 512), np.float32), np.zeros((1, 25), np.float32))
    assert "ws: expected shape (N, 14, 512), got (1, 13, 512)" in _one_line(err)


def test_wrong_draws_shape(gen):
    ws = np.zeros((1, 14, 512), np.float32)
    c = np.zeros((1, 25), np.float32)
    with pytest.raises(ValueError) as err:
        gen.synthesis(ws, c, draws={"stratified": np.zeros((1, 64, 5, 1), np.float32)})
    assert "draws['stratified']: expected shape (1, 64, 6, 1), got (1, 64, 5, 1)" in _one_line(err)


def test_bad_noise_mode(gen):
    with pytest.raises(ValueError) as err:
        gen.synthesis(np.zeros((1, 14, 512), np.float32), np.zeros((1, 25), np.float32), noise_mode="loud")
    assert "noise_mode" in _one_line(err)


def test_unknown_init_kwarg():
    kwargs = dict(SMALL_INIT_KWARGS, channel_bse=512)
    with pytest.raises(ValueError) as err:
        load_generator(None, init_kwargs=kwargs)
    assert "init_kwargs: unsupported key(s) ['channel_bse']" in _one_line(err)


@pytest.mark.parametrize("key,value,needle", [
    ("clamp_mode", "relu", "rendering_kwargs['clamp_mode']: expected 'softplus', got 'relu'"),
    ("ray_start", "auto", "rendering_kwargs['ray_start']: expected a number, got 'auto'"),
    ("superresolution_module", "training.superresolution.SuperresolutionHybrid16X",
     "superresolution_module: expected one of"),
    ("use_background", True, "belong to a PanoHead generator; use kind='panohead'"),
    ("foo", 1, "rendering_kwargs: unsupported key(s) ['foo']"),
])
def test_unsupported_rendering_kwargs(key, value, needle):
    kwargs = copy.deepcopy(SMALL_INIT_KWARGS)
    kwargs["rendering_kwargs"][key] = value
    with pytest.raises(ValueError) as err:
        load_generator(None, init_kwargs=kwargs)
    assert needle in _one_line(err)


def test_state_dict_problems_reported_together():
    gen = load_generator(None, init_kwargs=SMALL_INIT_KWARGS)
    from converters.keymap import flax_path  # noqa: F401  (import check: the key map is importable)
    state = {"backbone.mapping.fc0.weight": np.zeros((3, 3), np.float32), "backbone.bogus": np.zeros(1)}
    with pytest.raises(ValueError) as err:
        load_generator(state, init_kwargs=SMALL_INIT_KWARGS)
    message = _one_line(err)
    assert "unknown keys ['backbone.bogus']" in message
    assert "backbone.mapping.fc0.weight: expected (528, 512)" in message
    assert "missing Flax leaves" in message and "params/decoder/net_0/weight" in message
    assert gen.num_ws == 14


def test_missing_source_file(tmp_path):
    with pytest.raises(ValueError) as err:
        load_generator(tmp_path / "nope.npz", init_kwargs=SMALL_INIT_KWARGS)
    assert "no such file" in _one_line(err)


def test_remat_switch_reaches_the_renderer_and_keeps_the_gradient(gen):
    import jax
    import jax.numpy as jnp
    import numpy as np

    remat = load_generator(None, init_kwargs=SMALL_INIT_KWARGS, neural_rendering_resolution=8, remat=True)  # same seed
    assert remat.config.render.remat and not gen.config.render.remat
    ws = jnp.asarray(np.random.RandomState(0).randn(1, gen.num_ws, 512) * 0.3, jnp.float32)
    c = jnp.asarray(np.random.RandomState(1).randn(1, 25), jnp.float32)
    grads = [jax.grad(lambda w, g=g: jnp.sum(g.synthesis(w, c)["image_raw"] ** 2))(ws) for g in (gen, remat)]
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-5, atol=1e-6)
