"""The embedded `default` generator is the packaged trained G_ema (inversion3d/assets/generators/default,
configs/demo.py's `weights`), not random weights; `default-panohead` stays seeded random weights; a
missing asset is a one-line error naming it. No render: arrays and JSON only (no compile)."""
import jax
import numpy as np
import pytest

from converters.orbax_io import read_converted
from inversion3d import assets
from inversion3d.app import loading
from inversion3d.generators import eg3d


@pytest.fixture(scope="module")
def default():
    return loading.open_generator("default")


def _flat(tree):
    return {jax.tree_util.keystr(k): np.asarray(v) for k, v in jax.tree_util.tree_leaves_with_path(tree)}


def test_default_is_the_packaged_g_ema(default):
    meta, tree = read_converted(assets.generator_dir("default"))
    assert (meta["kind"], meta["network"], meta["trained_by"]) == ("eg3d", "G_ema", "eg3d_gan")
    got, want = _flat(default.params), _flat(tree)
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
        assert want[key].dtype == np.float32, key
    init = _flat(eg3d.init_variables(default.config, jax.random.PRNGKey(0)))  # what 'default' was before
    moved = [k for k in want if k.startswith("['params']") and not np.array_equal(init[k], want[k])]
    assert len(moved) > len(want) // 2  # trained weights, not the seeded init


def test_packaged_kwargs_are_the_configs(default):
    """configs/demo.py builds the generator from the GAN config's fields; the asset must fit them exactly."""
    meta, _ = read_converted(assets.generator_dir("default"))
    config = loading.load_config(f"{loading.CONFIG_DIR}/demo.py")
    assert meta["init_kwargs"] == config.init_kwargs.to_dict()
    assert meta["neural_rendering_resolution"] == config.neural_rendering_resolution
    assert default.config.img_resolution == 64


def test_default_panohead_is_random_weights():
    config = loading.load_config(f"{loading.CONFIG_DIR}/demo_panohead.py")
    assert config.weights == "" and config.kind == "panohead"


def test_missing_asset_is_one_line_error():
    missing = assets.generator_dir("no-such-asset")
    with pytest.raises(ValueError, match=r"packaged generator missing: .*no-such-asset") as err:
        loading.open_generator("default", overrides=[f"--config.weights={missing}"])
    assert "\n" not in str(err.value)
