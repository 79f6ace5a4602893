"""Mixed precision (compute_dtype='bfloat16', README "Mixed precision") on the tiny golden generator
(golden README "eg3d/tiny_sr2x"): bf16 really runs where the policy says, parameters and outputs
stay float32, and the images stay within bf16 accuracy of the official fp32 run.

Measured (low_precision_blocks='all', CPU): max |error| / range 9e-3 (image), 1e-2 (image_raw),
1.4e-2 (depth); mean |error| / range 1.4e-3 .. 3e-3. fp32 gives ~1e-6 on the same metrics.
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d import load_generator
from inversion3d.generators import eg3d
from tests.conftest import load_golden, nchw_to_nhwc
from tests.generators.test_eg3d_parity import TINY_INIT_KWARGS

# bf16 keeps 8 mantissa bits (relative rounding 2^-9 = 2e-3 per op): a few 1e-2 of the range at
# worst, a few 1e-3 on average; both bounds are ~4x the measured errors.
MAX_TOL, MEAN_TOL = 5e-2, 1e-2


@pytest.fixture(scope="module")
def golden():
    return load_golden("eg3d/tiny_sr2x_io.npz")


def _load(compute_dtype, blocks="all"):
    return load_generator(load_golden("eg3d/tiny_sr2x_weights.npz"), init_kwargs=TINY_INIT_KWARGS,
                          neural_rendering_resolution=32, compute_dtype=compute_dtype, low_precision_blocks=blocks)


@pytest.fixture(scope="module")
def gen():
    return _load("bfloat16")


@pytest.fixture(scope="module")
def out(gen, golden):
    draws = {"stratified": golden["rand00_rand_like"], "importance": golden["rand01_rand"]}
    return jax.device_get(gen.synthesis(golden["ws"], golden["c"], noise_mode="const", draws=draws))


def _errors(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    span = want.max() - want.min()
    return np.abs(got - want).max() / span, np.abs(got - want).mean() / span


@pytest.mark.parametrize("key", ["image", "image_raw", "image_depth"])
def test_bf16_close_to_fp32_golden_but_not_equal(out, golden, key):
    assert out[key].dtype == np.float32
    max_err, mean_err = _errors(out[key], nchw_to_nhwc(golden[key]))
    assert max_err <= MAX_TOL and mean_err <= MEAN_TOL, (max_err, mean_err)
    assert max_err > 1e-4, "bit-close to fp32 (~1e-6): bf16 did not run"


def test_outputs_and_parameters_stay_float32(gen, out):
    assert {k: str(v.dtype) for k, v in out.items()} == {k: "float32" for k in out}
    assert {str(x.dtype) for x in jax.tree.leaves(gen.params)} == {"float32"}


def _eqns(jaxpr):
    """All equations of a jaxpr, descending into sub-jaxprs (lax.map, cond, custom_vjp ...)."""
    for eqn in jaxpr.eqns:
        yield eqn
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    yield from _eqns(inner)


def _dtypes(fn, *args, primitive="conv_general_dilated"):
    """Set of (lhs, rhs) dtypes of every `primitive` equation of fn(*args)."""
    jaxpr = jax.make_jaxpr(fn)(*args).jaxpr
    found = {(str(e.invars[0].aval.dtype), str(e.invars[1].aval.dtype))
             for e in _eqns(jaxpr) if e.primitive.name == primitive}
    assert found, f"no {primitive} in the jaxpr"
    return found


def _pieces(gen, golden):
    ws = jnp.asarray(golden["ws"])
    module = gen.module
    planes = lambda: module.apply(gen.params, ws, method=eg3d.TriPlaneGenerator.planes)
    feats = jnp.zeros((ws.shape[0], 32, 32, 32), jnp.float32)
    sr = lambda: module.apply(gen.params, feats[..., :3], feats, ws, method=eg3d.TriPlaneGenerator.superresolve)
    return planes, sr


def test_all_policy_convolutions_and_decoder_run_in_bf16(gen, golden):
    planes, sr = _pieces(gen, golden)
    # Every conv of the backbone and the SR (ToRGB included; only the skip sum is float32).
    assert _dtypes(planes) == {("bfloat16", "bfloat16")}
    assert _dtypes(sr) == {("bfloat16", "bfloat16")}
    sampled = jnp.zeros((1, 3, 8, 32), jnp.bfloat16)
    decode = lambda: gen.module.apply(gen.params, sampled, method=eg3d.TriPlaneGenerator.decode)
    assert _dtypes(decode, primitive="dot_general") == {("bfloat16", "bfloat16")}
    assert {v.dtype for v in jax.eval_shape(decode).values()} == {jnp.dtype("float32")}


def test_official_policy_mirrors_num_fp16_res(golden):
    # Released kwargs: num_fp16_res=0 (backbone fp32), sr_num_fp16_res=4 (SR blocks fp16, eg3d.md §0).
    gen16 = _load("bfloat16", "official")
    planes, sr = _pieces(gen16, golden)
    assert _dtypes(planes) == {("float32", "float32")}
    assert _dtypes(sr) == {("bfloat16", "bfloat16")}
    # Official fp16_resolution = max(2 ** (log2(R) + 1 - num_fp16_res), 8) (networks_stylegan2.py).
    cfg = gen16.config
    froms = [dataclasses.replace(cfg, num_fp16_res=n).dtype_from_res(256) for n in (0, 1, 2, 4, 7, 9)]
    assert froms == [512, 256, 128, 32, 8, 8]


def test_grad_wrt_ws_finite(gen, golden):
    # Blocks b4..b32 (plain and upsampling bf16 convs, ToRGB, float32 skip): the renderer's and the
    # SR's backward passes cost ~10 s each on CPU, and use the same block code.
    def loss(ws):
        _, img = gen.module.apply(gen.params, ws, method=eg3d.TriPlaneGenerator.backbone_features, split=32)
        return jnp.mean(jnp.square(img))

    grad = np.asarray(jax.jit(jax.grad(loss))(jnp.asarray(golden["ws"])))
    assert grad.dtype == np.float32
    assert np.all(np.isfinite(grad)) and np.any(grad[:, :8] != 0)


def test_compute_dtype_validated():
    with pytest.raises(ValueError, match="compute_dtype"):
        load_generator(None, init_kwargs=TINY_INIT_KWARGS, compute_dtype="float16")
