"""Swin-V2 backbone (encoders.md §1.1) against golden/encoders/goae_swinv2_small.npz (stored weights).

The small config exercises shifted windows (stages 0, 1) and both clamp cases (stage 2: grid =
window; stage 3: window 2 with pretrained window 2).
"""
import jax
import numpy as np
import pytest

from converters.encoder_keymaps import SWIN_RULES, load_variables, split_state_dict, swin_derived_buffers
from inversion3d.encoders import swin_v2
from tests.conftest import load_golden, nchw_to_nhwc
from tests.encoders.recipe import checksum_mismatches, recipe_state_dict, stored_state_dict

SMALL = swin_v2.SwinConfig(img_size=64, patch_size=4, in_chans=3, embed_dim=16, depths=(2, 2, 2, 2),
                           num_heads=(1, 2, 2, 4), window_size=4, mlp_ratio=4.0,
                           pretrained_window_sizes=(3, 3, 3, 2))
TAPS = ("x_fine", "x_mid", "x_coarse", "x_query", "x_base")


@pytest.fixture(scope="module")
def golden():
    return load_golden("encoders/goae_swinv2_small.npz")


@pytest.fixture(scope="module")
def run(golden):
    module = swin_v2.SwinTransformerV2(**SMALL._asdict())
    x = nchw_to_nhwc(golden["in_x"])
    template = jax.eval_shape(module.init, jax.random.PRNGKey(0), x)
    variables = load_variables(stored_state_dict(golden), template, SWIN_RULES,
                               derived=swin_derived_buffers(SMALL), source="goae_swinv2_small.npz")
    return module, variables, jax.jit(module.apply)(variables, x)


def test_stored_weights_follow_recipe(golden):
    stored = stored_state_dict(golden)
    assert checksum_mismatches(stored, golden) == []
    regenerated = recipe_state_dict(golden, 101, derived=stored)
    for key, value in stored.items():
        np.testing.assert_array_equal(regenerated[key], value, err_msg=key)


def test_derived_tables_match_stored_buffers(golden):
    stored = stored_state_dict(golden)
    derived = swin_derived_buffers(SMALL)
    assert sorted(derived) == sorted(k for k, kind in zip(golden["sd_keys"], golden["sd_kinds"]) if kind == "derived")
    for key, value in derived.items():
        assert value.shape == stored[key].shape, key
        if key.endswith("relative_coords_table"):
            np.testing.assert_allclose(value, stored[key], rtol=0, atol=1e-6, err_msg=key)
        else:
            np.testing.assert_array_equal(value, stored[key], err_msg=key)


def test_stage_geometry_clamps_windows():
    geo = swin_v2.stage_geometry(SMALL)
    assert [(g.grid, g.window, g.shifts) for g in geo] == [(16, 4, (0, 2)), (8, 4, (0, 2)), (4, 4, (0, 0)),
                                                           (2, 2, (0, 0))]
    real = swin_v2.stage_geometry(swin_v2.SwinConfig())
    assert [(g.grid, g.dim, g.heads, g.window, g.shifts[:2]) for g in real] == [
        (64, 128, 4, 16, (0, 8)), (32, 256, 8, 16, (0, 8)), (16, 512, 16, 16, (0, 0)), (8, 1024, 32, 8, (0, 0))]


def test_window_partition_roundtrip():
    x = np.arange(2 * 8 * 8 * 3, dtype=np.float32).reshape(2, 8, 8, 3)
    windows = np.asarray(swin_v2.window_partition(x, 4))
    assert windows.shape == (8, 16, 3)
    np.testing.assert_array_equal(windows[1], x[0, 0:4, 4:8].reshape(16, 3))  # second window: top-right
    np.testing.assert_array_equal(swin_v2.window_reverse(windows, 4, 8, 8), x)


@pytest.mark.parametrize("tap", TAPS)
def test_feature_taps(run, golden, tap):
    _, _, out = run
    ref = golden[f"out_{tap}"]
    assert out[tap].shape == ref.shape
    np.testing.assert_allclose(out[tap], ref, rtol=1e-4, atol=1e-5)


def test_wrong_derived_buffer_is_reported(golden):
    sd = stored_state_dict(golden)
    sd["layers.0.blocks.1.attn_mask"] = np.zeros_like(sd["layers.0.blocks.1.attn_mask"])
    other = SMALL._replace(pretrained_window_sizes=(4, 3, 3, 2))
    with pytest.raises(ValueError, match=r"layers\.0\.blocks\.1\.attn_mask.*relative_coords_table|"
                                         r"relative_coords_table.*attn_mask"):
        split_state_dict(sd, swin_derived_buffers(other))


def test_bad_image_shape(run):
    module, variables, _ = run
    with pytest.raises(ValueError, match="images: expected"):
        module.apply(variables, np.zeros((1, 32, 32, 3), np.float32))
