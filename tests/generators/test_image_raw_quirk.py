"""`image_raw` (the official value) vs `image_raw_render` (the neural render itself).

The official SynthesisBlockNoUp (block0 of the 2X / 4X SR) adds its ToRGB output to the incoming
image in place. Without a resize before it, that image is the very tensor the generator returns as
`image_raw`, so the official `image_raw` is block0's image. The goldens show the in-place write
(their `sr_block0_in_rgb` was overwritten, see test_eg3d_parity) but all resize first (R = 32), so
here the golden weights render at R = 64 (no resize into the 2X SR) and at R = 32 (resize).
"""
import numpy as np
import pytest

from inversion3d import load_generator
from inversion3d.generators import eg3d
from inversion3d.generators.superres import block0_overwrites_rgb, resizes_input
from tests.conftest import load_golden
from tests.generators.test_eg3d_parity import TINY_INIT_KWARGS
from tests.generators.test_panohead_parity import PANO_INIT_KWARGS


@pytest.mark.parametrize("name,width,overwrites", [
    ("SuperresolutionHybrid2X", 64, True), ("SuperresolutionHybrid2X", 32, False),
    ("SuperresolutionHybrid2X", 128, False), ("SuperresolutionHybrid4X", 128, True),
    ("SuperresolutionHybrid4X", 256, True), ("SuperresolutionHybrid4X", 64, False),
    ("SuperresolutionHybrid8X", 128, False), ("SuperresolutionHybrid8X", 64, False),
    ("SuperresolutionHybrid8XDC", 128, False), ("SuperresolutionHybrid8XDC", 64, False)])
def test_which_modules_overwrite(name, width, overwrites):
    # eg3d.md §7: only the NoUp block0 of 2X / 4X, and only when no resize made a new tensor.
    assert block0_overwrites_rgb(f"training.superresolution.{name}", width) == overwrites
    if overwrites:
        assert not resizes_input(name, width)


def _eg3d(res):
    golden = load_golden("eg3d/tiny_sr2x_io.npz")
    gen = load_generator(load_golden("eg3d/tiny_sr2x_weights.npz"), init_kwargs=TINY_INIT_KWARGS,
                         neural_rendering_resolution=res)
    return gen, golden["ws"], gen.synthesis(golden["ws"], golden["c"], noise_mode="const", capture=True)


def _panohead(res):
    golden = load_golden("panohead/tiny_trigrid_io.npz")
    gen = load_generator(load_golden("panohead/tiny_trigrid_weights.npz"), kind="panohead",
                         init_kwargs=PANO_INIT_KWARGS, neural_rendering_resolution=res)
    return gen, golden["ws"], gen.synthesis(golden["ws"], golden["c_new"], noise_mode="const", capture=True)


def _volume_render(gen, ws, out):
    """The SR's rgb input rebuilt from the renderer's own samples (not from the returned keys)."""
    n, r = out["image"].shape[0], out["image_depth"].shape[1]
    if gen.config.use_torgb_raw:  # PanoHead: raw ToRGB of the (background-composited) features
        return gen.module.apply(gen.params, out["feature_image"], ws[:, -1], method=eg3d.TriPlaneGenerator.raw_rgb)
    return np.asarray(out["intermediates"]["render"]["feature_samples"]).reshape(n, r, r, -1)[..., :3]


@pytest.mark.parametrize("build", [_eg3d, _panohead], ids=["eg3d", "panohead"])
def test_no_resize_image_raw_is_block0_image(build):
    gen, ws, out = build(64)
    sr = out["intermediates"]["superresolution"]
    # The official value: block0's image output, bit for bit (the same array).
    np.testing.assert_array_equal(out["image_raw"], sr["block0_img"])
    # The true render is what entered block0 (no resize at 64) ...
    np.testing.assert_array_equal(out["image_raw_render"], sr["block0_in_rgb"])
    if not gen.config.use_torgb_raw:
        np.testing.assert_array_equal(out["image_raw_render"], out["feature_image"][..., :3])
    # ... and equals the volume render rebuilt from the renderer's samples.
    np.testing.assert_allclose(out["image_raw_render"], _volume_render(gen, ws, out), atol=1e-6, rtol=0)
    # Not vacuous: block0's ToRGB moves the image by a sizeable part of its range.
    raw = np.asarray(out["image_raw_render"])
    assert np.max(np.abs(np.asarray(out["image_raw"]) - raw)) > 0.05 * (raw.max() - raw.min())


@pytest.mark.parametrize("build", [_eg3d, _panohead], ids=["eg3d", "panohead"])
def test_resize_image_raw_is_render(build):
    gen, _, out = build(32)  # 32 -> 64 resize before the 2X SR: the official image_raw is the render
    np.testing.assert_array_equal(out["image_raw"], out["image_raw_render"])
    if not gen.config.use_torgb_raw:
        np.testing.assert_array_equal(out["image_raw"], out["feature_image"][..., :3])
