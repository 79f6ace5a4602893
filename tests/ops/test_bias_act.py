"""Parity of bias_act with the official reference semantics (eg3d.md §3.5)."""
import math

import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.ops.bias_act import bias_act
from tests.conftest import nchw_to_nhwc

ATOL = 1e-5

CASES = {
    "ba_lrelu_gain_sqrt2_clamp256": dict(act="lrelu", gain=math.sqrt(2), clamp=256),
    "ba_lrelu_default": dict(act="lrelu"),
    "ba_linear_clamp256": dict(act="linear", clamp=256),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bias_act_matches_golden(ops_golden, name):
    x = jnp.asarray(nchw_to_nhwc(ops_golden["ba_x"]))
    y = bias_act(x, jnp.asarray(ops_golden["ba_b"]), **CASES[name])
    np.testing.assert_allclose(np.asarray(y), nchw_to_nhwc(ops_golden[name]), rtol=0, atol=ATOL)


def test_clamp_applies_after_gain():
    # 200 * sqrt(2) > 256: clamping before the gain would give 256 * sqrt(2).
    y = bias_act(jnp.array([[200.0, -1.0]]), act="lrelu", clamp=256)
    np.testing.assert_allclose(np.asarray(y), [[256.0, -0.2 * math.sqrt(2)]], rtol=1e-6)


@pytest.mark.parametrize("act,fn", [
    ("relu", lambda v: np.maximum(v, 0) * math.sqrt(2)),
    ("tanh", np.tanh),
    ("sigmoid", lambda v: 1 / (1 + np.exp(-v))),
    ("softplus", lambda v: np.log1p(np.exp(v))),
])
def test_other_activations_default_gain(act, fn):
    v = np.linspace(-3, 3, 13, dtype=np.float32).reshape(1, 13)
    np.testing.assert_allclose(np.asarray(bias_act(jnp.asarray(v), act=act)), fn(v), rtol=1e-5, atol=1e-6)


def test_unknown_activation_raises():
    with pytest.raises(ValueError, match="swish"):
        bias_act(jnp.zeros((1, 2)), act="swish")
