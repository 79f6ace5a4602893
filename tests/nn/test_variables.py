"""The one check of a variables tree read from disk against its network's template (nn/variables.py)."""
import numpy as np
import pytest

from inversion3d.nn.variables import check_variables


def test_check_variables_reports_everything_at_once():
    template = {"params": {"a": np.zeros((2, 3)), "b": np.zeros(4)}, "buffers": {"c": np.zeros(1)}}
    restored = {"params": {"a": np.zeros((3, 2)), "x": np.zeros(1)}, "buffers": {"c": np.ones(1)}}
    with pytest.raises(ValueError) as err:
        check_variables(restored, template, source="ckpt")
    message = str(err.value)
    assert "\n" not in message and message.startswith("ckpt: does not fit the generator")
    assert "unknown leaves ['params/x']" in message and "missing leaves ['params/b']" in message
    assert "params/a: expected (2, 3), got (3, 2)" in message
    ok = check_variables({"params": {"a": np.ones((2, 3)), "b": np.ones(4)}, "buffers": {"c": np.ones(1)}}, template)
    assert ok["params"]["a"].dtype == np.float32
