"""GOAEncoder at real size (encoders.md §1.1-§1.2) against goae_encoder_full_recipe.npz.

Weights are regenerated from the golden's numpy recipe (seed 202); the derived Swin tables come
from the port's own derivation and are checked against the golden checksums.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from converters.encoder_keymaps import GOAE_RULES, load_variables, swin_derived_buffers
from inversion3d.encoders.goae import GOAEncoder
from inversion3d.encoders.swin_v2 import SwinConfig
from tests.conftest import load_golden, nchw_to_nhwc
from tests.encoders.recipe import checksum_mismatches, random_variables, recipe_state_dict

TAPS = ("x_fine", "x_mid", "x_coarse", "x_query", "x_base")
TINY = SwinConfig(img_size=64, patch_size=4, embed_dim=16, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4),
                  window_size=4, pretrained_window_sizes=(3, 3, 3, 2))


@pytest.fixture(scope="module")
def golden():
    return load_golden("encoders/goae_encoder_full_recipe.npz")


@pytest.fixture(scope="module")
def state_dict(golden):
    return recipe_state_dict(golden, 202, derived=swin_derived_buffers(SwinConfig(), "swin_model."))


@pytest.fixture(scope="module")
def run(golden, state_dict):
    module = GOAEncoder()
    x = nchw_to_nhwc(golden["in_x"])
    template = jax.eval_shape(module.init, jax.random.PRNGKey(0), x)
    derived = swin_derived_buffers(SwinConfig(), "swin_model.")
    variables = load_variables(state_dict, template, GOAE_RULES, derived=derived, source="goae_encoder_full_recipe.npz")
    capture = lambda mdl, _: mdl.name == "swin_model"
    apply = jax.jit(lambda v, x, avg: module.apply(v, x, latent_avg=avg, capture_intermediates=capture))
    avg = jnp.linspace(-1.0, 1.0, 512)
    (ws, ws_base), state = apply(variables, x, avg)
    return ws, ws_base, state["intermediates"]["swin_model"]["__call__"][0], avg


def test_recipe_checksums_incl_derived_tables(golden, state_dict):
    assert len(state_dict) == 545
    assert checksum_mismatches(state_dict, golden) == []


@pytest.mark.parametrize("tap", TAPS)
def test_swin_taps(run, golden, tap):
    ref = golden[f"mid_{tap}"]
    assert run[2][tap].shape == ref.shape
    np.testing.assert_allclose(run[2][tap], ref, rtol=1e-4, atol=1e-4)


def test_ws(run, golden):
    ws, _, _, avg = run
    assert ws.shape == (1, 14, 512)
    np.testing.assert_allclose(ws - avg, golden["out_ws"], rtol=1e-3, atol=1e-3)


def test_ws_base(run, golden):
    np.testing.assert_allclose(run[1], golden["out_ws_base"], rtol=1e-3, atol=1e-3)


@pytest.fixture(scope="module")
def tiny():
    x = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64, 3)).astype(np.float32)
    module = GOAEncoder(swin=TINY, w_dim=32, dim_feedforward=64)
    variables = random_variables(jax.eval_shape(module.init, jax.random.PRNGKey(0), x), seed=1)
    return module, variables, x


def test_progressive_stages(tiny):
    module, variables, x = tiny
    apply = jax.jit(lambda v, x, stage: module.apply(v, x, stage=stage))  # one compile for all stages
    full, base = apply(variables, x, 3)
    assert full.shape == base.shape == (2, 14, 32)
    np.testing.assert_array_equal(full[:, 0], base[:, 0])
    assert np.abs(full[:, 1:] - base[:, 1:]).min() > 0
    for stage, active in ((0, 1), (1, 4), (2, 7)):
        ws, _ = apply(variables, x, stage)
        np.testing.assert_allclose(ws[:, :active], full[:, :active], atol=1e-6)
        np.testing.assert_array_equal(ws[:, active:], base[:, active:])


def test_bad_image_size(tiny):
    module, variables, _ = tiny
    with pytest.raises(ValueError, match="images: expected"):
        module.apply(variables, np.zeros((1, 32, 32, 3), np.float32))
