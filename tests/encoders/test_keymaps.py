"""converters/encoder_keymaps.py: dropped counters, derived-buffer checks, one report for all problems."""
import jax
import numpy as np
import pytest

from converters.encoder_keymaps import IRSE_RULES, load_variables, split_state_dict
from inversion3d.encoders.irse import BottleneckIR


def _unit_state_dict():
    module, x = BottleneckIR(8, 8, 1), np.zeros((1, 4, 4, 8), np.float32)
    template = jax.eval_shape(module.init, jax.random.PRNGKey(0), x)
    sd = {}
    for name in ("res_layer.0", "res_layer.4"):
        sd.update({f"{name}.weight": np.ones(8, np.float32), f"{name}.bias": np.zeros(8, np.float32),
                   f"{name}.running_mean": np.zeros(8, np.float32), f"{name}.running_var": np.ones(8, np.float32),
                   f"{name}.num_batches_tracked": np.array(3, np.int64)})
    sd.update({"res_layer.1.weight": np.zeros((8, 8, 3, 3), np.float32),
               "res_layer.2.weight": np.full(8, 0.25, np.float32),
               "res_layer.3.weight": np.zeros((8, 8, 3, 3), np.float32),
               "res_layer.5.fc1.weight": np.zeros((0, 8, 1, 1), np.float32),
               "res_layer.5.fc2.weight": np.zeros((8, 0, 1, 1), np.float32)})
    return template, sd


def test_counters_dropped_and_layouts():
    template, sd = _unit_state_dict()
    variables = load_variables(sd, template, IRSE_RULES)
    assert variables["batch_stats"]["res_layer_0"]["running_var"].shape == (8,)
    assert variables["params"]["res_layer_1"]["weight"].shape == (3, 3, 8, 8)  # OIHW -> HWIO
    assert "num_batches_tracked" not in str(jax.tree_util.tree_structure(variables))


def test_every_problem_reported_at_once():
    template, sd = _unit_state_dict()
    sd["res_layer.9.weight"] = np.zeros(3, np.float32)
    del sd["res_layer.2.weight"]
    sd["res_layer.3.weight"] = np.zeros((8, 8, 1, 1), np.float32)
    with pytest.raises(ValueError) as err:
        load_variables(sd, template, IRSE_RULES, source="unit.pth")
    msg = str(err.value)
    assert "res_layer.9.weight" in msg and "res_layer_2/weight" in msg and "res_layer.3.weight" in msg


def test_split_rejects_odd_counters_and_unexpected_derived():
    sd = {"a.num_batches_tracked": np.zeros(2), "b.attn.relative_position_index": np.zeros((4, 4), np.int64)}
    with pytest.raises(ValueError, match="a.num_batches_tracked.*scalar.*relative_position_index.*does not produce"):
        split_state_dict(sd, {})
