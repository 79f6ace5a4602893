"""ArcFace IR-SE-50 (training.md §1.3): the output layer (BN2d -> flatten in torch's C, H, W order ->
Linear -> BN1d -> L2 norm) against numpy on the shared stem + body's features."""
import flax.linen as nn
import jax
import numpy as np

from inversion3d.encoders.arcface import ArcFace
from inversion3d.encoders.irse import input_layer, irse_units, run_body
from tests.encoders.recipe import random_variables

WIDTHS = (16, 16, 32, 32)


class Trunk(nn.Module):
    """Stem + body under ArcFace's own names, so ArcFace's variables apply unchanged."""

    @nn.compact
    def __call__(self, x):
        return run_body(input_layer(x, False, channels=WIDTHS[0]), irse_units(50, WIDTHS), False)[0]


def _bn(x, v, eps=1e-5):
    p, s = v
    return (x - s["running_mean"]) / np.sqrt(s["running_var"] + eps) * p["weight"] + p["bias"]


def test_output_layer_matches_numpy():
    module = ArcFace(input_size=112, widths=WIDTHS, embedding=24)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 112, 112, 3)).astype(np.float32)
    variables = random_variables(jax.eval_shape(module.init, jax.random.PRNGKey(0), x), seed=3)
    got = np.asarray(jax.jit(module.apply)(variables, x))
    feats = np.asarray(jax.jit(Trunk().apply)(variables, x), np.float64)  # (2, 7, 7, 32)
    params, stats = variables["params"], variables["batch_stats"]
    h = _bn(feats, (params["output_layer_0"], stats["output_layer_0"]))
    h = h.transpose(0, 3, 1, 2).reshape(2, -1) @ params["output_layer_3"]["weight"] + params["output_layer_3"]["bias"]
    h = _bn(h, (params["output_layer_4"], stats["output_layer_4"]))
    want = h / np.linalg.norm(h, axis=-1, keepdims=True)
    assert got.shape == (2, 24)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
