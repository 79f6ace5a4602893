"""Parity of upfirdn2d / upsample2d / downsample2d with the official CPU goldens (eg3d.md §4)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.ops.upfirdn2d import downsample2d, setup_filter, upfirdn2d, upsample2d
from tests.conftest import nchw_to_nhwc

ATOL = 1e-5

# golden name -> (filter name, upfirdn2d kwargs); padding order is [x0, x1, y0, y1] (§4.2).
CASES = {
    "upfirdn_up2_pad2_1_2_1_gain4": ("filter_1331", dict(up=2, padding=(2, 1, 2, 1), gain=4)),
    "upfirdn_down2_pad1": ("filter_1331", dict(down=2, padding=1)),
    "upfirdn_up1_pad_1_2_0_3": ("filter_1331", dict(padding=(1, 2, 0, 3))),
    "upfirdn_up2_down2_pad_3_2_1_0_flip": (
        "filter_1331", dict(up=2, down=2, padding=(3, 2, 1, 0), flip_filter=True)),
    "upfirdn_asym_up2_pad1": ("filter_asym", dict(up=2, padding=1)),
    "upfirdn_asym_up2_pad1_flip": ("filter_asym", dict(up=2, padding=1, flip_filter=True)),
}


def test_setup_filter_matches_golden(ops_golden):
    f = setup_filter((1, 3, 3, 1))
    assert f.dtype == np.float32 and f.shape == (4, 4)
    np.testing.assert_array_equal(f, ops_golden["filter_1331"])


def test_setup_filter_normalises_2d_input():
    f2 = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(setup_filter(f2), f2 / 10.0, rtol=1e-7)


@pytest.mark.parametrize("name", sorted(CASES))
def test_upfirdn2d_matches_golden(ops_golden, name):
    fname, kwargs = CASES[name]
    x = nchw_to_nhwc(ops_golden["upfirdn_x"])
    y = upfirdn2d(jnp.asarray(x), ops_golden[fname], **kwargs)
    np.testing.assert_allclose(np.asarray(y), nchw_to_nhwc(ops_golden[name]), rtol=0, atol=ATOL)


def test_asymmetric_filter_pins_flip_convention(ops_golden):
    # If the flip convention were inverted the asymmetric golden would be far off.
    x = jnp.asarray(nchw_to_nhwc(ops_golden["upfirdn_x"]))
    wrong = upfirdn2d(x, ops_golden["filter_asym"], up=2, padding=1, flip_filter=True)
    err = np.abs(np.asarray(wrong) - nchw_to_nhwc(ops_golden["upfirdn_asym_up2_pad1"])).max()
    assert err > 1e-2


def test_upsample2d_matches_golden(ops_golden):
    x = jnp.asarray(nchw_to_nhwc(ops_golden["upfirdn_x"]))
    y = upsample2d(x, ops_golden["filter_1331"])
    assert y.shape == (2, 18, 14, 3)
    np.testing.assert_allclose(np.asarray(y), nchw_to_nhwc(ops_golden["upsample2d"]), rtol=0, atol=ATOL)


def test_downsample2d_halves_and_keeps_constants():
    x = jnp.full((1, 8, 6, 2), 3.0, jnp.float32)
    y = downsample2d(x, setup_filter(), padding=0)
    assert y.shape == (1, 4, 3, 2)
    # Interior outputs see only ones-weighted taps, so a constant image stays constant there.
    np.testing.assert_allclose(np.asarray(y)[:, 1:-1, 1:-1], 3.0, rtol=1e-6)


def test_output_shape_matches_formula():
    rng = np.random.default_rng(0)
    for _ in range(12):
        h, w, c = rng.integers(3, 12, size=3)
        fh, fw = rng.integers(1, 5, size=2)
        up, down = rng.integers(1, 4, size=2)
        px0, px1, py0, py1 = (int(p) for p in rng.integers(-1, 4, size=4))
        x = jnp.zeros((2, h, w, c), jnp.float32)
        y = upfirdn2d(x, np.ones((fh, fw), np.float32), up=int(up), down=int(down),
                      padding=(px0, px1, py0, py1))
        want_h = (h * up + py0 + py1 - fh) // down + 1
        want_w = (w * up + px0 + px1 - fw) // down + 1
        assert y.shape == (2, want_h, want_w, c), (h, w, fh, fw, up, down, px0, px1, py0, py1)


def test_upfirdn2d_is_differentiable(ops_golden):
    x = jnp.asarray(nchw_to_nhwc(ops_golden["upfirdn_x"]))
    f = ops_golden["filter_asym"]
    loss = lambda v: jnp.sum(jnp.square(upfirdn2d(v, f, up=2, down=2, padding=(3, 2, 1, 0))))
    g = jax.jit(jax.grad(loss))(x)
    assert g.shape == x.shape
    assert bool(jnp.all(jnp.isfinite(g))) and float(jnp.abs(g).max()) > 0
