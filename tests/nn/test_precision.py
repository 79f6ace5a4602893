"""encoder.dtype (nn/precision.py) on the tiny pSp encoder (configs/psp.py): a bfloat16 forward is
within bfloat16 rounding of the float32 one (and not equal to it: bf16 really ran), while params,
their gradients and the updated BatchNorm statistics stay float32."""
import jax
import jax.numpy as jnp
import pytest

from inversion3d.methods.psp.train import Method
from inversion3d.nn import precision
from tests.methods.psp_train_helpers import tiny_config

BF16_EPS = 2.0 ** -7  # bfloat16 keeps 8 significant bits


def _method(dtype):
    return Method(tiny_config("psp", **{"encoder.dtype": dtype, "model.start_from_latent_avg": False}))


def _floats(tree):
    return [x.dtype for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)]


def test_bf16_forward_close_to_f32_and_state_stays_f32():
    f32, b16 = _method("float32"), _method("bfloat16")
    assert isinstance(b16.model, precision.Cast) and not isinstance(f32.model, precision.Cast)
    variables = b16.init_variables(jax.random.PRNGKey(0))["encoder"]
    assert set(_floats(variables)) == {jnp.dtype(jnp.float32)}
    image = jax.random.uniform(jax.random.PRNGKey(1), (2, 32, 32, 3), minval=-1.0, maxval=1.0)
    ws32 = jax.jit(lambda v, x: f32.encode(v, x, {}))(variables, image)
    ws16 = jax.jit(lambda v, x: b16.encode(v, x, {}))(variables, image)
    assert ws16.dtype == jnp.float32
    err, scale = float(jnp.max(jnp.abs(ws16 - ws32))), float(jnp.max(jnp.abs(ws32)))
    # ~50 layers, each rounding to bf16: within a few bf16 eps of the output scale
    assert 0 < err <= 8 * BF16_EPS * scale, (err, scale)

    def loss(params, stats):
        ws, new_stats = b16.encode({"params": params, "batch_stats": stats}, image, {}, train=True)
        return jnp.mean(jnp.square(ws)), new_stats

    # dtypes only (eval_shape: no backward compile): gradients and updated statistics are float32
    grads, new_stats = jax.eval_shape(jax.grad(loss, has_aux=True), variables["params"], variables["batch_stats"])
    assert set(_floats(grads)) == {jnp.dtype(jnp.float32)} and set(_floats(new_stats)) == {jnp.dtype(jnp.float32)}


def test_unknown_dtype_is_one_line():
    with pytest.raises(ValueError, match="encoder.dtype: expected one of"):
        _method("float16")
