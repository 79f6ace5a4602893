"""pSp GradualStyleEncoder and e4e Encoder4Editing at real size (encoders.md §2-§3).

Both goldens use the same 565 keys and seed 505 (README), so one regenerated state_dict and one
converted tree serve both modules (their Flax trees are identical by construction).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from converters.encoder_keymaps import E4E_RULES, PSP_RULES, load_variables
from inversion3d.encoders.e4e import Encoder4Editing
from inversion3d.encoders.psp import GradualStyleEncoder
from tests.conftest import load_golden, nchw_to_nhwc
from tests.encoders.recipe import checksum_mismatches, random_variables, recipe_state_dict

PSP_FILE = "encoders/psp_gradual_style_encoder_recipe.npz"
E4E_FILE = "encoders/e4e_encoder4editing_recipe.npz"


@pytest.fixture(scope="module")
def goldens():
    return load_golden(PSP_FILE), load_golden(E4E_FILE)


@pytest.fixture(scope="module")
def weights(goldens):
    psp, e4e = goldens
    sd = recipe_state_dict(psp, 505)
    bad = {"psp": checksum_mismatches(sd, psp), "e4e": checksum_mismatches(sd, e4e)}
    x = nchw_to_nhwc(psp["in_x"])
    template = jax.eval_shape(GradualStyleEncoder().init, jax.random.PRNGKey(0), x)
    assert jax.tree.structure(template) == jax.tree.structure(
        jax.eval_shape(Encoder4Editing().init, jax.random.PRNGKey(0), x))
    variables = load_variables(sd, template, PSP_RULES, source=PSP_FILE)
    return bad, jax.tree.map(jnp.asarray, variables), x


AVG = np.linspace(-1, 1, 512).astype(np.float32)  # stands in for the generator's w_avg


@pytest.fixture(scope="module")
def psp_run(weights):
    _, variables, x = weights
    apply = jax.jit(lambda v, x, a: GradualStyleEncoder().apply(v, x, latent_avg=a, mutable=["intermediates"]))
    codes, state = apply(variables, x, AVG)
    return codes - AVG, state["intermediates"]


@pytest.fixture(scope="module")
def e4e_run(weights):
    _, variables, x = weights
    return jax.jit(Encoder4Editing().apply)(variables, x)


def test_recipe_checksums(weights):
    assert weights[0] == {"psp": [], "e4e": []}
    assert PSP_RULES == E4E_RULES


@pytest.mark.parametrize("name", ["c2", "c3"])
def test_psp_pyramid_inputs(psp_run, goldens, name):
    ref = nchw_to_nhwc(goldens[0][f"mid_{name}"])
    np.testing.assert_allclose(psp_run[1][name][0], ref, rtol=1e-4, atol=1e-4)


def test_psp_codes_plus_latent_avg(psp_run, goldens):
    codes = psp_run[0]  # the encoder's output minus AVG
    assert codes.shape == (1, 14, 512)
    np.testing.assert_allclose(codes, goldens[0]["out_codes"], rtol=1e-3, atol=1e-3)


def test_e4e_w(e4e_run, goldens):
    assert e4e_run.shape == (1, 14, 512)
    np.testing.assert_allclose(e4e_run, goldens[1]["out_w"], rtol=1e-3, atol=1e-3)


def test_e4e_row0_is_psp_row0(e4e_run, psp_run):
    np.testing.assert_allclose(e4e_run[:, 0], psp_run[0][:, 0], rtol=1e-6, atol=1e-6)


def test_bad_image_shape(weights):
    _, variables, _ = weights
    with pytest.raises(ValueError, match="images: expected"):
        Encoder4Editing().apply(variables, np.zeros((1, 250, 250, 3), np.float32))


def test_e4e_progressive_stage_keeps_upper_rows_at_w0():
    x = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    module = Encoder4Editing(stage=2)
    template = jax.eval_shape(module.init, jax.random.PRNGKey(0), x)
    assert "styles_13" in template["params"] and "latlayer2" in template["params"]  # all blocks exist
    w = np.asarray(jax.jit(module.apply)(random_variables(template, seed=3), x))
    assert np.abs(w[:, 1:3] - w[:, :1]).min() > 0
    np.testing.assert_array_equal(w[:, 3:], np.broadcast_to(w[:, :1], w[:, 3:].shape))
