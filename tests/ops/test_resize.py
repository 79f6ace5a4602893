"""ops/resize.py: parity of resize_bilinear with torch interpolate (bilinear, align_corners=False) goldens
(eg3d.md §7.1), align_corners=True sample positions, block averages."""
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.ops.resize import area_downsample, resize_bilinear, resize_bilinear_align_corners, resize_weights
from tests.conftest import nchw_to_nhwc

ATOL = 1e-5

# golden -> (input crop size, output size, antialias)
CASES = {
    "aa_128_to_64": (128, (64, 64), True),
    "aa_128_to_50": (128, (50, 50), True),
    "aa_32_to_64": (32, (64, 64), True),
    "noaa_32_to_64": (32, (64, 64), False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_resize_matches_golden(ops_golden, name):
    crop, size, antialias = CASES[name]
    x = jnp.asarray(nchw_to_nhwc(ops_golden["aa_x128"][..., :crop, :crop]))
    y = resize_bilinear(x, size, antialias=antialias)
    np.testing.assert_allclose(np.asarray(y), nchw_to_nhwc(ops_golden[name]), rtol=0, atol=ATOL)


@pytest.mark.parametrize("n_in,n_out", [(128, 50), (32, 64), (7, 3), (5, 11)])
@pytest.mark.parametrize("antialias", [True, False])
def test_weight_rows_sum_to_one(n_in, n_out, antialias):
    m = resize_weights(n_in, n_out, antialias)
    assert m.shape == (n_out, n_in)
    np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=1e-12)


def test_upsampling_ignores_antialias():
    # For s < 1 the antialias rule coincides with plain bilinear (§7.1).
    np.testing.assert_allclose(resize_weights(32, 64, True), resize_weights(32, 64, False), atol=1e-12)


def test_identity_size_returns_input():
    x = jnp.arange(2 * 5 * 6 * 3, dtype=jnp.float32).reshape(2, 5, 6, 3)
    assert resize_bilinear(x, (5, 6)) is x


def test_non_square_output_shape():
    y = resize_bilinear(jnp.ones((1, 12, 9, 2)), (5, 20))
    assert y.shape == (1, 5, 20, 2)
    np.testing.assert_allclose(np.asarray(y), 1.0, rtol=1e-6)


def test_resize_align_corners():
    x = np.random.default_rng(1).standard_normal((1, 3, 4, 2)).astype(np.float32)
    y = np.asarray(resize_bilinear_align_corners(x, (5, 7)))
    np.testing.assert_allclose(y[:, [0, -1]][:, :, [0, -1]], x[:, [0, -1]][:, :, [0, -1]], atol=1e-6)  # corners kept
    # output (2, 3) samples input (2 * 2/4, 3 * 3/6) = (1.0, 1.5): mean of two horizontal neighbours.
    np.testing.assert_allclose(y[0, 2, 3], 0.5 * (x[0, 1, 1] + x[0, 1, 2]), atol=1e-6)


def test_area_downsample_averages_blocks():
    x = jnp.arange(2 * 4 * 4 * 1, dtype=jnp.float32).reshape(2, 4, 4, 1)
    np.testing.assert_allclose(area_downsample(x, (2, 2))[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    assert area_downsample(x, (4, 4)) is x
    with pytest.raises(ValueError, match="size"):
        area_downsample(x, (3, 3))
