"""The key map run backwards (Flax tree -> official state_dict); numpy 1.x scalar pickles read."""
import numpy as np
import pytest

import inversion3d.api
from converters.keymap import constant_keys, to_state_dict
from converters.torch_format import read_checkpoint_object
from inversion3d import load_generator
from tests.conftest import load_golden
from tests.converters import pickle_writer as pw
from tests.generators.test_eg3d_parity import TINY_INIT_KWARGS


def _round_trip(weights, **kwargs):
    gen = load_generator(weights, neural_rendering_resolution=32, **kwargs)
    learned = [k for k in weights if not k.endswith("resample_filter")]
    constants = list(constant_keys(learned))
    if "superresolution.resample_filter" in weights:  # 2X / 4X / 8X keep one at the top (eg3d.md §7)
        constants.append("superresolution.resample_filter")
    return to_state_dict(gen.params, constants=constants)


def test_eg3d_round_trip_is_exact():
    weights = load_golden("eg3d/tiny_sr2x_weights.npz")
    back = _round_trip(weights, init_kwargs=TINY_INIT_KWARGS)
    assert sorted(back) == sorted(weights)
    for key, value in weights.items():
        assert back[key].shape == value.shape and np.allclose(back[key], value, atol=1e-7 if "filter" in key else 0), key


def test_panohead_round_trip_is_exact():
    if "panohead" not in inversion3d.api.KINDS:
        pytest.skip("no PanoHead Flax port yet")
    from tests.generators.test_panohead_parity import PANO_INIT_KWARGS

    weights = load_golden("panohead/tiny_trigrid_weights.npz")
    back = _round_trip(weights, kind="panohead", init_kwargs=PANO_INIT_KWARGS)
    assert sorted(back) == sorted(weights)
    assert all(np.array_equal(back[k], v) for k, v in weights.items() if not k.endswith("resample_filter"))


def test_numpy1_scalar_global_is_accepted(tmp_path):
    """numpy 1.x writers name the scalar constructor numpy.core.multiarray.scalar (checkpoints.md §2)."""
    value = pw.Reduce(pw.Global("numpy.core.multiarray", "scalar"), (np.dtype("float64"), np.float64(0.25).tobytes()))
    path = tmp_path / "scalar.pkl"
    path.write_bytes(pw.dumps({"weight_gain": value, "new": np.float32(2.0)}, 2))
    got = read_checkpoint_object(path)
    assert got == {"weight_gain": 0.25, "new": 2.0} and isinstance(got["weight_gain"], np.float64)
