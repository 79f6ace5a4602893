"""Full TriPlaneGenerator (tiny config, SR 2X) against the official CPU run (golden README,
"eg3d/tiny_sr2x"): every stored intermediate, with the recorded renderer draws.

Tolerances (golden README): ws / planes <= 1e-5 relative to the array's max |value|,
images <= 1e-4 abs, depth <= 1e-4 relative.
"""
import numpy as np
import pytest

from inversion3d import load_generator
from inversion3d.ops.resize import resize_bilinear
from tests.conftest import load_golden, nchw_to_nhwc

TINY_INIT_KWARGS = dict(
    z_dim=64, w_dim=512, c_dim=25, img_resolution=128, img_channels=3, mapping_kwargs={"num_layers": 2},
    channel_base=1024, channel_max=32, fused_modconv_default="inference_only", num_fp16_res=0, conv_clamp=None,
    sr_num_fp16_res=4, sr_kwargs=dict(channel_base=1024, channel_max=32, fused_modconv_default="inference_only"),
    rendering_kwargs=dict(
        image_resolution=128, disparity_space_sampling=False, clamp_mode="softplus",
        superresolution_module="training.superresolution.SuperresolutionHybrid2X", c_gen_conditioning_zero=False,
        gpc_reg_prob=0.5, c_scale=1, superresolution_noise_mode="none", density_reg=0.25,
        density_reg_p_dist=0.004, reg_type="l1", decoder_lr_mul=1, sr_antialias=True, depth_resolution=12,
        depth_resolution_importance=12, ray_start=2.25, ray_end=3.3, box_warp=1, avg_camera_radius=2.7,
        avg_camera_pivot=[0, 0, 0.2]))


def rel_err(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-12))


def abs_err(got, want):
    return float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))))


@pytest.fixture(scope="module")
def golden():
    return load_golden("eg3d/tiny_sr2x_io.npz")


@pytest.fixture(scope="module", params=[None, 300], ids=["unchunked", "chunk300"])
def run(request, golden):
    gen = load_generator(load_golden("eg3d/tiny_sr2x_weights.npz"), init_kwargs=TINY_INIT_KWARGS,
                         neural_rendering_resolution=32, ray_chunk=request.param)
    ws = gen.mapping(golden["z"], golden["c"], float(golden["truncation_psi"]), int(golden["truncation_cutoff"]))
    ws_psi1 = gen.mapping(golden["z"], golden["c"])
    draws = {"stratified": golden["rand00_rand_like"], "importance": golden["rand01_rand"]}
    out = gen.synthesis(golden["ws"], golden["c"], noise_mode="const", draws=draws, capture=True)
    return gen, ws, ws_psi1, out


def test_mapping(run, golden):
    _, ws, ws_psi1, _ = run
    assert rel_err(ws, golden["ws"]) <= 1e-5
    assert rel_err(ws_psi1, golden["ws_psi1"]) <= 1e-5


@pytest.mark.parametrize("res", [4, 8, 16, 32])
def test_backbone_blocks(run, golden, res):
    inter = run[3]["intermediates"]["backbone"]
    assert rel_err(inter[f"b{res}_x"], nchw_to_nhwc(golden[f"block{res}_x"])) <= 1e-5
    assert rel_err(inter[f"b{res}_img"], nchw_to_nhwc(golden[f"block{res}_img"])) <= 1e-5


def test_planes(run, golden):
    planes = np.asarray(run[3]["planes"])  # (N, 3, H, W, C)
    n = planes.shape[0]
    as_torch = planes.transpose(0, 1, 4, 2, 3).reshape(n, 96, 256, 256)  # channel 32k + c
    assert rel_err(as_torch[:, :, ::8, ::8], golden["planes_stride8"]) <= 1e-5
    assert rel_err(as_torch[:, :, 120:136, 120:136], golden["planes_crop_120_136"]) <= 1e-5
    flat = as_torch.reshape(n, 96, -1).astype(np.float64)
    np.testing.assert_allclose(flat.mean(-1), golden["planes_chan_mean"], atol=1e-5 * np.abs(flat).max())
    np.testing.assert_allclose(flat.std(-1, ddof=1), golden["planes_chan_std"], rtol=1e-5)
    np.testing.assert_allclose(np.abs(flat).max(-1), golden["planes_chan_absmax"], rtol=1e-5)


@pytest.mark.parametrize("name,key", [("ray_origins", "ray_origins"), ("ray_directions", "ray_directions")])
def test_rays(run, golden, name, key):
    assert abs_err(run[3]["intermediates"]["render"][key], golden[name]) <= 1e-5


@pytest.mark.parametrize("name,key", [
    ("depths_coarse", "depths_coarse"), ("depths_fine", "depths_fine"), ("all_depths", "all_depths")])
def test_render_depths(run, golden, name, key):
    assert rel_err(run[3]["intermediates"]["render"][key], golden[name]) <= 1e-4


@pytest.mark.parametrize("name,key", [("sigma_pass0", "sigma_coarse"), ("sigma_pass1", "sigma_fine")])
def test_render_sigma(run, golden, name, key):
    # Downstream of grid sampling and two MLP layers: rounding reaches ~2e-5 relative.
    assert rel_err(run[3]["intermediates"]["render"][key], golden[name]) <= 1e-4


def test_coarse_weights(run, golden):
    assert abs_err(run[3]["intermediates"]["render"]["coarse_weights"], golden["coarse_weights"]) <= 1e-5


def test_feature_image(run, golden):
    assert abs_err(run[3]["feature_image"], nchw_to_nhwc(golden["feature_image"])) <= 1e-4


def test_superresolution_intermediates(run, golden):
    inter = run[3]["intermediates"]["superresolution"]
    assert abs_err(inter["block0_img"], nchw_to_nhwc(golden["sr_block0_img"])) <= 1e-4
    # The official SynthesisBlock adds ToRGB in place (`img.add_`); block0 of the 2X module does not
    # upsample, so the recorded `sr_block0_in_rgb` tensor was overwritten with block0's output.
    # Our pre-block rgb is therefore checked as the resize of the golden raw image instead.
    assert abs_err(golden["sr_block0_in_rgb"], golden["sr_block0_img"]) == 0.0
    expected = resize_bilinear(nchw_to_nhwc(golden["image_raw"]), (64, 64), antialias=True)
    assert abs_err(inter["block0_in_rgb"], expected) <= 1e-4


def test_images(run, golden):
    out = run[3]
    assert abs_err(out["image_raw"], nchw_to_nhwc(golden["image_raw"])) <= 1e-4
    assert abs_err(out["image"], nchw_to_nhwc(golden["image"])) <= 1e-4
    assert rel_err(out["image_depth"], nchw_to_nhwc(golden["image_depth"])) <= 1e-4
