"""Latent-code discriminators (encoders.md §5): e4e's against latent_codes_discriminator.npz."""
import jax
import numpy as np
import pytest

from converters.encoder_keymaps import LATENT_DISCRIMINATOR_RULES, load_variables
from inversion3d.discriminators.latent import CanonicalLatentDiscriminator, LatentCodesDiscriminator
from tests.conftest import load_golden
from tests.encoders.recipe import checksum_mismatches, recipe_state_dict, stored_state_dict


@pytest.fixture(scope="module")
def case():
    golden = load_golden("encoders/latent_codes_discriminator.npz")
    module = LatentCodesDiscriminator(512, 4)
    template = jax.eval_shape(module.init, jax.random.PRNGKey(0), golden["in_w"])
    variables = load_variables(stored_state_dict(golden), template, LATENT_DISCRIMINATOR_RULES)
    return golden, module, variables


def test_stored_weights_follow_recipe(case):
    golden = case[0]
    stored = stored_state_dict(golden)
    assert checksum_mismatches(stored, golden) == []
    for key, value in recipe_state_dict(golden, 707).items():
        np.testing.assert_array_equal(value, stored[key], err_msg=key)


def test_logits(case):
    golden, module, variables = case
    out = jax.jit(module.apply)(variables, golden["in_w"])
    assert out.shape == (6, 1)
    np.testing.assert_allclose(out, golden["out_logit"], rtol=1e-4, atol=1e-5)


def test_canonical_discriminator_scores_each_row(case):
    golden, _, variables = case
    module = CanonicalLatentDiscriminator(512, 4)
    ws = golden["in_w"].reshape(2, 3, 512)
    out = module.apply({"params": {"mlp": variables["params"]}}, ws)
    assert out.shape == (2, 3, 1)
    np.testing.assert_allclose(out.reshape(6, 1), golden["out_logit"], rtol=1e-4, atol=1e-5)


def test_bad_width(case):
    _, module, variables = case
    with pytest.raises(ValueError, match="w: expected"):
        module.apply(variables, np.zeros((2, 256), np.float32))
    with pytest.raises(ValueError, match="ws: expected"):
        CanonicalLatentDiscriminator().apply({"params": {"mlp": variables["params"]}}, np.zeros((2, 3, 4, 512)))
