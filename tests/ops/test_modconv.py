"""Parity of modulated_conv2d with the official CPU goldens (eg3d.md §3.3-3.4)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.ops.modconv import modulated_conv2d
from tests.conftest import nchw_to_nhwc

ATOL = 1e-5


def _hwio(w):
    return jnp.asarray(np.transpose(w, (2, 3, 1, 0)))  # PyTorch (O, I, kh, kw) -> HWIO


def _kwargs(g, name):
    """Call arguments of each golden, exactly as the official layers pass them."""
    if name == "mc_nodemod_1x1":  # ToRGB: 1x1, no demod, styles pre-scaled (§3.4)
        return dict(weight=_hwio(g["mc_w1x1"]), styles=jnp.asarray(g["mc_styles"] * 0.5),
                    demodulate=False, padding=0)
    kw = dict(weight=_hwio(g["mc_w"]), styles=jnp.asarray(g["mc_styles"]), padding=1)
    if "up2" in name:  # SynthesisLayer conv0 (§3.2)
        kw.update(up=2, flip_weight=False, resample_filter=g["filter_1331"])
    if "noise" in name:
        kw.update(noise=jnp.asarray(g["mc_noise"])[:, :, None])  # (H, W, 1) const noise
    return kw


GOLDENS = ["mc_demod_up1_fused", "mc_demod_up1_nonfused", "mc_demod_up1_noise_fused",
           "mc_demod_up2_fused", "mc_demod_up2_nonfused", "mc_nodemod_1x1"]


@pytest.mark.parametrize("fused,grouped", [(True, True), (True, False), (False, None)],
                         ids=["fused-grouped", "fused-per-sample", "nonfused"])
@pytest.mark.parametrize("name", GOLDENS)
def test_modulated_conv2d_matches_golden(ops_golden, name, fused, grouped):
    x = jnp.asarray(nchw_to_nhwc(ops_golden["mc_x"]))
    y = modulated_conv2d(x, fused=fused, grouped=grouped, **_kwargs(ops_golden, name))
    np.testing.assert_allclose(np.asarray(y), nchw_to_nhwc(ops_golden[name]), rtol=0, atol=ATOL)


@pytest.mark.parametrize("name", ["mc_demod_up1_noise_fused", "mc_demod_up2_fused", "mc_nodemod_1x1"])
def test_fused_and_nonfused_agree(ops_golden, name):
    x = jnp.asarray(nchw_to_nhwc(ops_golden["mc_x"]))
    kw = _kwargs(ops_golden, name)
    a = modulated_conv2d(x, fused=True, **kw)
    b = modulated_conv2d(x, fused=False, **kw)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=ATOL)


def test_per_sample_noise_shape(ops_golden):
    x = jnp.asarray(nchw_to_nhwc(ops_golden["mc_x"]))
    kw = _kwargs(ops_golden, "mc_demod_up1_noise_fused")
    kw["noise"] = jnp.broadcast_to(kw["noise"][None], (2, 8, 8, 1))
    y = modulated_conv2d(x, **kw)
    np.testing.assert_allclose(np.asarray(y), nchw_to_nhwc(ops_golden["mc_demod_up1_noise_fused"]),
                               rtol=0, atol=ATOL)


def test_up2_flip_weight_matters(ops_golden):
    # flip_weight=True on the up path would correlate with the unflipped kernel: not the golden.
    x = jnp.asarray(nchw_to_nhwc(ops_golden["mc_x"]))
    kw = _kwargs(ops_golden, "mc_demod_up2_fused")
    kw["flip_weight"] = True
    y = modulated_conv2d(x, **kw)
    assert np.abs(np.asarray(y) - nchw_to_nhwc(ops_golden["mc_demod_up2_fused"])).max() > 1e-2


def test_jit_and_grad(ops_golden):
    x = jnp.asarray(nchw_to_nhwc(ops_golden["mc_x"]))
    kw = _kwargs(ops_golden, "mc_demod_up2_fused")
    f = kw.pop("resample_filter")

    @jax.jit
    def loss(x, w, s):
        return jnp.sum(modulated_conv2d(x, w, s, up=2, padding=1, resample_filter=f,
                                        flip_weight=False) ** 2)

    grads = jax.grad(loss, argnums=(0, 1, 2))(x, kw["weight"], kw["styles"])
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads)


def test_unsupported_up_raises(ops_golden):
    x = jnp.asarray(nchw_to_nhwc(ops_golden["mc_x"]))
    with pytest.raises(ValueError, match="up"):
        modulated_conv2d(x, _hwio(ops_golden["mc_w"]), jnp.asarray(ops_golden["mc_styles"]), up=4)
