"""Full PanoHead TriPlaneGenerator (tiny tri-grid config) against the official CPU run (golden
README, "panohead/tiny_trigrid"): camera offset, tri-grid, crop, background, raw ToRGB, SR, mask.
"""
import copy

import numpy as np
import pytest

from inversion3d import load_generator
from tests.conftest import load_golden, nchw_to_nhwc
from tests.generators.test_eg3d_parity import TINY_INIT_KWARGS, abs_err, rel_err

PANO_INIT_KWARGS = copy.deepcopy(TINY_INIT_KWARGS)
PANO_INIT_KWARGS["rendering_kwargs"].update(
    decoder_activation="none", use_torgb_raw=True, triplane_size=32, triplane_depth=3, use_background=True,
    trans_reg=10, gpc_reg_prob=0.8, density_reg=0, avg_camera_pivot=[0, 0, 0])


@pytest.fixture(scope="module")
def golden():
    return load_golden("panohead/tiny_trigrid_io.npz")


@pytest.fixture(scope="module", params=[None, 300], ids=["unchunked", "chunk300"])
def run(request, golden):
    gen = load_generator(load_golden("panohead/tiny_trigrid_weights.npz"), kind="panohead",
                         init_kwargs=PANO_INIT_KWARGS, neural_rendering_resolution=32, ray_chunk=request.param)
    psi, cutoff = float(golden["truncation_psi"]), int(golden["truncation_cutoff"])
    ws = gen.mapping(golden["z"], golden["c"], psi, cutoff)
    c_new, delta = gen.apply_delta_c(golden["z"], golden["c"], psi, cutoff)
    draws = {"stratified": golden["rand00_rand_like"], "importance": golden["rand01_rand"]}
    out = gen.synthesis(golden["ws"], golden["c_new"], noise_mode="const", draws=draws, capture=True)
    return gen, ws, c_new, delta, out


def test_mapping_and_camera_offset(run, golden):
    _, ws, c_new, delta, _ = run
    assert rel_err(ws, golden["ws"]) <= 1e-5
    assert rel_err(delta, golden["t_mapping_out"][:, 0]) <= 1e-5
    assert rel_err(delta, golden["delta_c"]) <= 1e-5
    assert abs_err(c_new, golden["c_new"]) <= 1e-5


def test_trigrid_planes(run, golden):
    planes = np.asarray(run[4]["planes"])  # (N, 3, H, W, 32*D), channel c*D + d within a plane
    n, _, h, w, cd = planes.shape
    as_torch = planes.transpose(0, 1, 4, 2, 3).reshape(n, 3 * cd, h, w)
    assert rel_err(as_torch, golden["planes"]) <= 1e-5


def test_background(run, golden):
    assert rel_err(run[4]["intermediates"]["background"], nchw_to_nhwc(golden["bcg_image"])) <= 1e-5


@pytest.mark.parametrize("key,name,kind", [
    ("ray_origins", "ray_origins", "abs"), ("ray_directions", "ray_directions", "abs"),
    ("depths_coarse", "depths_coarse", "rel"), ("depths_fine", "depths_fine", "rel"),
    ("all_depths", "all_depths", "rel"), ("sigma_coarse", "sigma_raw_pass0", "rel"),
    ("sigma_fine", "sigma_raw_pass1", "rel"), ("sigma_coarse_cropped", "sigma_coarse_cropped", "rel"),
    ("all_sigma", "all_sigma_cropped", "rel"), ("coarse_weights", "coarse_weights", "abs"),
    ("feature_samples", "feature_samples", "abs"), ("depth_samples", "depth_samples", "rel")])
def test_render_intermediates(run, golden, key, name, kind):
    got = run[4]["intermediates"]["render"][key]
    err = abs_err(got, golden[name]) if kind == "abs" else rel_err(got, golden[name])
    assert err <= 1e-4, (key, err)


def test_weights_and_features(run, golden):
    out = run[4]
    assert abs_err(out["weights_sum"].reshape(2, -1, 1), golden["weights_sum"]) <= 1e-5
    assert abs_err(out["feature_image"], nchw_to_nhwc(golden["feature_image_with_bcg"])) <= 1e-4


def test_superresolution_block0(run, golden):
    inter = run[4]["intermediates"]["superresolution"]
    assert abs_err(inter["block0_img"], nchw_to_nhwc(golden["sr_block0_img"])) <= 1e-4


def test_outputs(run, golden):
    out = run[4]
    assert abs_err(out["image_raw"], nchw_to_nhwc(golden["image_raw"])) <= 1e-4
    assert abs_err(out["image"], nchw_to_nhwc(golden["image"])) <= 1e-4
    assert rel_err(out["image_depth"], nchw_to_nhwc(golden["image_depth"])) <= 1e-4
    assert abs_err(out["image_mask"], nchw_to_nhwc(golden["image_mask"])) <= 1e-5


def test_forward_applies_camera_offset(run, golden):
    gen = run[0]
    draws = {"stratified": golden["rand00_rand_like"], "importance": golden["rand01_rand"]}
    out = gen(golden["z"], golden["c"], float(golden["truncation_psi"]), int(golden["truncation_cutoff"]),
              draws=draws)
    assert abs_err(out["image"], nchw_to_nhwc(golden["image"])) <= 1e-4


def test_kind_mismatch_named():
    with pytest.raises(ValueError, match="use kind='panohead'"):
        load_generator(None, kind="eg3d", init_kwargs=PANO_INIT_KWARGS)
    with pytest.raises(ValueError, match="use kind='eg3d'"):
        load_generator(None, kind="panohead", init_kwargs=TINY_INIT_KWARGS)
