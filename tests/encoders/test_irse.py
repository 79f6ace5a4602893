"""IR / IR-SE units and GradualStyleBlock (encoders.md §2.1-§2.2) against irse_units_small.npz."""
import jax
import numpy as np
import pytest

from converters.encoder_keymaps import IRSE_RULES, load_variables
from inversion3d.encoders.irse import BottleneckIR, irse_units
from inversion3d.encoders.psp import GradualStyleBlock
from tests.conftest import load_golden, nchw_to_nhwc
from tests.encoders.recipe import checksum_mismatches, recipe_state_dict, stored_state_dict

# Container prefix -> (module, input golden key or previous output).
UNITS = {
    "se_down": (BottleneckIR(16, 32, 2), "in_x"),
    "se_same": (BottleneckIR(32, 32, 1), "out_se_down"),
    "se_same_s2": (BottleneckIR(32, 32, 2), "out_se_same"),
    "ir_down": (BottleneckIR(16, 32, 2, use_se=False), "in_x"),
    "style": (GradualStyleBlock(32, 8), "out_se_same"),
}


@pytest.fixture(scope="module")
def golden():
    return load_golden("encoders/irse_units_small.npz")


def _variables(golden, prefix, module, x):
    sd = {k[len(prefix) + 1:]: v for k, v in stored_state_dict(golden).items() if k.startswith(prefix + ".")}
    template = jax.eval_shape(module.init, jax.random.PRNGKey(0), x)
    return load_variables(sd, template, IRSE_RULES, source=f"irse_units_small.npz:{prefix}")


def test_stored_weights_follow_recipe(golden):
    stored = stored_state_dict(golden)
    assert checksum_mismatches(stored, golden) == []
    for key, value in recipe_state_dict(golden, 606).items():
        np.testing.assert_array_equal(value, stored[key], err_msg=key)


@pytest.mark.parametrize("prefix", list(UNITS))
def test_unit(golden, prefix):
    module, source = UNITS[prefix]
    x = nchw_to_nhwc(golden[source])
    out = jax.jit(module.apply)(_variables(golden, prefix, module, x), x)
    ref = golden[f"out_{prefix}"]
    ref = ref if ref.ndim == 2 else nchw_to_nhwc(ref)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_irse50_layout():
    units = irse_units(50)
    assert len(units) == 24
    assert [i for i, u in enumerate(units) if u.stride == 2] == [0, 3, 7, 21]
    assert [units[i].depth for i in (2, 6, 20, 23)] == [64, 128, 256, 512]
    with pytest.raises(ValueError, match="num_layers"):
        irse_units(34)


def test_train_mode_updates_batch_stats(golden):
    module, _ = UNITS["se_down"]
    x = nchw_to_nhwc(golden["in_x"])
    variables = _variables(golden, "se_down", module, x)
    out, state = module.apply(variables, x, train=True, mutable=["batch_stats"])
    assert out.shape == (2, 8, 8, 32)
    before, after = variables["batch_stats"]["res_layer_0"], state["batch_stats"]["res_layer_0"]
    mean = x.mean(axis=(0, 1, 2))
    np.testing.assert_allclose(after["running_mean"], 0.9 * before["running_mean"] + 0.1 * mean, rtol=1e-5, atol=1e-6)


def test_bad_channels(golden):
    module, _ = UNITS["se_down"]
    x = nchw_to_nhwc(golden["in_x"])
    variables = _variables(golden, "se_down", module, x)
    with pytest.raises(ValueError, match="x: expected 16 channels"):
        module.apply(variables, np.zeros((1, 8, 8, 3), np.float32))
