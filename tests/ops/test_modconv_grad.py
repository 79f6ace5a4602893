"""Custom JVP rules of modulated_conv2d (inversion3d/ops/modconv.py): same forward, derivatives
equal to plain autodiff of the reference formulations (float64, small shapes)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.ops import modconv
from inversion3d.ops.upfirdn2d import setup_filter, upfirdn2d

F = setup_filter((1, 3, 3, 1))
# (N, H, I, O, k, up, padding, demodulate)
CASES = [(2, 6, 3, 4, 3, 1, 1, True), (2, 5, 3, 4, 3, 2, 1, True), (3, 5, 4, 3, 1, 1, 0, False)]


def _reference(x, weight, styles, up, padding, demodulate):
    """Per-sample kernels and lhs-dilated conv, differentiated by plain autodiff (no custom rules)."""
    wn = weight[None] * styles[:, None, None, :, None]
    if demodulate:
        wn = wn * jax.lax.rsqrt(jnp.sum(wn ** 2, axis=(1, 2, 3)) + 1e-8)[:, None, None, None, :]
    flip = up == 1
    kh, kw = weight.shape[:2]

    def one(xn, wk):
        wk = wk if flip else wk[::-1, ::-1]
        if up == 1:
            return jax.lax.conv_general_dilated(xn[None], wk, (1, 1), ((padding, padding),) * 2,
                                                dimension_numbers=("NHWC", "HWIO", "NHWC"))[0]
        y = jax.lax.conv_general_dilated(xn[None], wk, (1, 1), ((kh - 1, kh - 1), (kw - 1, kw - 1)),
                                         lhs_dilation=(2, 2), dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return upfirdn2d(
            y, F, padding=(padding + 2 - (kw - 1), padding + 1 - (kw - 2), padding + 2 - (kh - 1),
                           padding + 1 - (kh - 2)), gain=4)[0]
    return jnp.stack([one(x[n], wn[n]) for n in range(x.shape[0])])


def _inputs(case, seed=0):
    n, h, i, o, k, up, padding, demod = case
    rs = np.random.RandomState(seed)
    return (jnp.asarray(rs.randn(n, h, h, i)), jnp.asarray(rs.randn(k, k, i, o)),
            jnp.asarray(rs.rand(n, i) + 0.5))


def _kwargs(case):
    n, h, i, o, k, up, padding, demod = case
    return dict(up=up, padding=padding, demodulate=demod, flip_weight=up == 1,
                resample_filter=F if up == 2 else None)


@pytest.mark.parametrize("case,fused,grouped",
                         [(c, True, True) for c in CASES] + [(c, False, None) for c in CASES]
                         + [(CASES[1], True, False)])  # the per-sample loop: same rule, slower eager

def test_grad_and_jvp_match_reference_autodiff(case, fused, grouped):
    with jax.enable_x64(True):
        args = _inputs(case)
        kw = _kwargs(case)
        f = lambda *a: modconv.modulated_conv2d(*a, fused=fused, grouped=grouped, **kw)
        ref = lambda *a: _reference(*a, up=kw["up"], padding=kw["padding"], demodulate=kw["demodulate"])
        y = f(*args)
        np.testing.assert_allclose(y, ref(*args), rtol=1e-12, atol=1e-12)
        proj = jnp.asarray(np.random.RandomState(1).randn(*y.shape))
        for argnums in ((0, 1, 2), (2,)):  # all, and styles alone (symbolic-zero branches)
            g = jax.grad(lambda *a: jnp.sum(f(*a) * proj), argnums)(*args)
            g_ref = jax.grad(lambda *a: jnp.sum(ref(*a) * proj), argnums)(*args)
            for a, b in zip(g, g_ref):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
        tangents = _inputs(case, seed=2)
        _, t = jax.jvp(f, args, tangents)
        _, t_ref = jax.jvp(ref, args, tangents)
        np.testing.assert_allclose(t, t_ref, rtol=1e-10, atol=1e-10)


def test_grad_matches_central_differences():
    case = CASES[1]
    with jax.enable_x64(True):
        x, w, s = _inputs(case)
        proj = jnp.asarray(np.random.RandomState(3).randn(2, 10, 10, 4))
        loss = lambda x, w, s: jnp.sum(modconv.modulated_conv2d(x, w, s, **_kwargs(case)) * proj)
        g = jax.grad(loss, (0, 1, 2))(x, w, s)
        d = _inputs(case, seed=4)
        eps = 1e-6
        fd = (loss(*(a + eps * b for a, b in zip((x, w, s), d)))
              - loss(*(a - eps * b for a, b in zip((x, w, s), d)))) / (2 * eps)
        analytic = sum(jnp.sum(a * b) for a, b in zip(g, d))
        np.testing.assert_allclose(float(analytic), float(fd), rtol=1e-7)


@pytest.mark.parametrize("k,up,n_in", [(3, 2, 5), (1, 2, 4), (4, 2, 3), (3, 1, 5)])
def test_dilated_conv_phases_equals_lhs_dilated_conv(k, up, n_in):
    with jax.enable_x64(True):
        rs = np.random.RandomState(0)
        x, w = jnp.asarray(rs.randn(2, n_in, n_in + 1, 3)), jnp.asarray(rs.randn(k, k, 3, 5))
        pads = ((k - 1, k - 1), (k - 1, k - 1))
        np.testing.assert_allclose(modconv._dilated_conv_phases(x, w, up),
                                   modconv._native_conv(x, w, up, pads), rtol=1e-12, atol=1e-12)


def test_correlate_taps_equals_conv():
    # The large-layer weight-gradient form (used above 2^31 N*H*W*I*O on CPU, too big for a test).
    with jax.enable_x64(True):
        rs = np.random.RandomState(0)
        x, w = jnp.asarray(rs.randn(2, 6, 7, 3)), jnp.asarray(rs.randn(3, 3, 3, 4))
        pads = ((1, 1), (1, 1))
        np.testing.assert_allclose(modconv._correlate_taps(x, w, pads, 6, 7),
                                   modconv._native_conv(x, w, 1, pads), rtol=1e-12, atol=1e-12)
