"""GOAE CrossAttention (encoders.md §1.2) against goae_cross_attention_small.npz (stored weights)."""
import jax
import numpy as np
import pytest

from converters.encoder_keymaps import CROSS_ATTENTION_RULES, load_variables
from inversion3d.encoders.attention import CrossAttention
from tests.conftest import load_golden
from tests.encoders.recipe import checksum_mismatches, recipe_state_dict, stored_state_dict


@pytest.fixture(scope="module")
def case():
    golden = load_golden("encoders/goae_cross_attention_small.npz")
    module = CrossAttention(num_heads=4, dim_feedforward=64)
    template = jax.eval_shape(module.init, jax.random.PRNGKey(0), golden["in_tgt"], golden["in_memory"])
    variables = load_variables(stored_state_dict(golden), template, CROSS_ATTENTION_RULES)
    return golden, module, variables


def test_stored_weights_follow_recipe(case):
    golden = case[0]
    stored = stored_state_dict(golden)
    assert checksum_mismatches(stored, golden) == []
    for key, value in recipe_state_dict(golden, 404).items():
        np.testing.assert_array_equal(value, stored[key], err_msg=key)


def test_cross_attention(case):
    golden, module, variables = case
    out = module.apply(variables, golden["in_tgt"], golden["in_memory"])
    assert out.shape == (2, 5, 32)
    np.testing.assert_allclose(out, golden["out"], rtol=1e-4, atol=1e-5)


def test_bad_memory_width(case):
    golden, module, variables = case
    with pytest.raises(ValueError, match="tgt, memory"):
        module.apply(variables, golden["in_tgt"], np.zeros((2, 7, 16), np.float32))
