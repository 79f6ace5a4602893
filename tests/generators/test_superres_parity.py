"""SuperresolutionHybrid8XDC (the ffhq512 SR, full size) against the official CPU output."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from converters.keymap import fill_variables
from inversion3d.generators.superres import SuperResolution
from tests.conftest import load_golden, nchw_to_nhwc


@pytest.fixture(scope="module")
def sr_run():
    io = load_golden("eg3d/sr8xdc_io.npz")
    weights = load_golden("eg3d/sr8xdc_weights.npz")
    module = SuperResolution("SuperresolutionHybrid8XDC", 512, sr_antialias=True, conv_clamp=256)
    rgb, x = nchw_to_nhwc(io["rgb"]), nchw_to_nhwc(io["x"])
    template = jax.eval_shape(module.init, jax.random.PRNGKey(0), rgb, x, io["ws"])
    # The golden file omits the four noise_const maps (unused with noise_mode='none').
    variables = fill_variables(weights, jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), template),
                               keep_template=[r"buffers/.*/noise_const"], source="sr8xdc_weights.npz")
    apply = jax.jit(lambda v, a, b, w: module.apply(v, a, b, w, "none", mutable=["intermediates"]))
    image, state = apply(variables, rgb, x, jnp.asarray(io["ws"]))
    return io, image, state["intermediates"]


def test_sr8xdc_resize_input(sr_run):
    io, _, inter = sr_run
    np.testing.assert_allclose(inter["block0_in_rgb"][0], nchw_to_nhwc(io["interp_rgb"]), atol=1e-5, rtol=0)


def test_sr8xdc_block0(sr_run):
    io, _, inter = sr_run
    np.testing.assert_allclose(inter["block0_img"][0], nchw_to_nhwc(io["block0_img"]), atol=1e-4, rtol=0)


def test_sr8xdc_image(sr_run):
    io, image, _ = sr_run
    assert image.shape == (1, 512, 512, 3)
    np.testing.assert_allclose(image, nchw_to_nhwc(io["image"]), atol=1e-4, rtol=0)
