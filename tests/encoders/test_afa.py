"""GOAE AFA (encoders.md §1.3) against goae_afa_recipe.npz (real widths, small spatial inputs)."""
import jax
import numpy as np
import pytest

from converters.encoder_keymaps import AFA_RULES, load_variables
from inversion3d.encoders.afa import AFA
from tests.conftest import load_golden, nchw_to_nhwc
from tests.encoders.recipe import checksum_mismatches, recipe_state_dict


@pytest.fixture(scope="module")
def golden():
    return load_golden("encoders/goae_afa_recipe.npz")


@pytest.fixture(scope="module")
def run(golden):
    sd = recipe_state_dict(golden, 303)
    assert checksum_mismatches(sd, golden) == []
    module = AFA()
    args = [nchw_to_nhwc(golden[k]) for k in ("in_img", "in_rec_img", "in_feature_map")]
    template = jax.eval_shape(module.init, jax.random.PRNGKey(0), *args)
    variables = load_variables(sd, template, AFA_RULES, source="goae_afa_recipe.npz")
    apply = jax.jit(lambda v, a, b, c: module.apply(v, a, b, c, mutable=["intermediates"]))
    outs, state = apply(variables, *args)
    return module, variables, outs, state["intermediates"]["output_layer"][0]


def test_output_layer(run, golden):
    np.testing.assert_allclose(run[3], nchw_to_nhwc(golden["mid_output_layer"]), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("index,key", [(0, "out_feature_map_adain"), (1, "out_gamma"), (2, "out_beta")])
def test_outputs(run, golden, index, key):
    out, ref = run[2][index], nchw_to_nhwc(golden[key])
    assert out.shape == ref.shape == (1, 4, 4, 512)
    np.testing.assert_allclose(out, ref, rtol=1e-3, atol=1e-3)


def test_bad_inputs(run):
    module, variables = run[0], run[1]
    img = np.zeros((1, 64, 64, 3), np.float32)
    with pytest.raises(ValueError, match="img, rec_img"):
        module.apply(variables, img, np.zeros((1, 32, 32, 3), np.float32), np.zeros((1, 4, 4, 512), np.float32))
    with pytest.raises(ValueError, match="feature_map"):
        module.apply(variables, img, img, np.zeros((1, 4, 4, 256), np.float32))
