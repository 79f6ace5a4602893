"""TriPlaneNet v2 tri-plane encoder (encoders.md §4), both variants, against the recipe goldens."""
import jax
import numpy as np
import pytest

from converters.encoder_keymaps import TRIPLANENET_RULES, load_variables
from inversion3d.encoders.triplanenet import TriPlaneEncoder
from inversion3d.ops.grid import channels_to_planes, planes_to_channels
from tests.conftest import load_golden, nchw_to_nhwc
from tests.encoders.recipe import checksum_mismatches, recipe_state_dict

VARIANTS = {"upsample": (808, False), "pixelshuffle": (909, True)}


@pytest.fixture(scope="module", params=list(VARIANTS))
def run(request):
    seed, pixelshuffle = VARIANTS[request.param]
    golden = load_golden(f"encoders/triplanenet_v2_encoder_{request.param}_recipe.npz")
    sd = recipe_state_dict(golden, seed)
    bad = checksum_mismatches(sd, golden)
    module = TriPlaneEncoder(use_pixelshuffle=pixelshuffle)
    x = nchw_to_nhwc(golden["in_x"])
    planes = channels_to_planes(nchw_to_nhwc(golden["in_t_planes"]))
    template = jax.eval_shape(module.init, jax.random.PRNGKey(0), x, planes)
    variables = load_variables(sd, template, TRIPLANENET_RULES, source=request.param)
    out = jax.jit(module.apply)(variables, x, planes)
    return golden, bad, module, variables, out


def test_recipe_checksums(run):
    assert run[1] == []


def test_planes(run):
    golden, out = run[0], run[4]
    assert out.shape == (1, 3, 64, 64, 32)
    np.testing.assert_allclose(planes_to_channels(out), nchw_to_nhwc(golden["out_t_planes"]), rtol=1e-3, atol=1e-3)


def test_delta(run):
    golden, out = run[0], run[4]
    delta = planes_to_channels(out) - nchw_to_nhwc(golden["in_t_planes"])
    np.testing.assert_allclose(delta, nchw_to_nhwc(golden["out_delta"]), rtol=1e-3, atol=1e-3)


def test_plane_folding_roundtrip():
    planes = np.arange(2 * 3 * 4 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 4, 5)
    folded = np.asarray(planes_to_channels(planes))
    np.testing.assert_array_equal(folded[:, :, :, 5 * 2 + 1], planes[:, 2, :, :, 1])  # channel p*C + c
    np.testing.assert_array_equal(channels_to_planes(folded), planes)


def test_bad_inputs(run):
    _, _, module, variables, _ = run
    x = np.zeros((1, 64, 64, 9), np.float32)
    with pytest.raises(ValueError, match="x: expected"):
        module.apply(variables, x[..., :6], np.zeros((1, 3, 64, 64, 32), np.float32))
    with pytest.raises(ValueError, match="planes: expected"):
        module.apply(variables, x, np.zeros((1, 3, 32, 32, 32), np.float32))
