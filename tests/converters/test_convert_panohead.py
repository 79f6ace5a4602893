"""A synthetic PanoHead network snapshot (persistent OSGDecoder / ImportanceRenderer / MipRayMarcher2,
tri-grid, background, t_mapping) carrying the golden weights -> `inversion3d convert` -> render.

Tolerances are those of tests/generators/test_panohead_parity.py.
"""
import json

import numpy as np
import pytest

import inversion3d.api
from converters.orbax_io import META_FILE
from inversion3d import load_generator
from inversion3d.app import cli
from tests.conftest import load_golden, nchw_to_nhwc
from tests.converters.snapshots import write_snapshot
from tests.generators.test_eg3d_parity import abs_err, rel_err


@pytest.fixture(scope="module", autouse=True)
def needs_panohead():
    if "panohead" not in inversion3d.api.KINDS:
        pytest.skip("load_generator(..., kind='panohead') does not exist yet (PanoHead Flax port pending)")


@pytest.fixture(scope="module")
def init_kwargs():
    from tests.generators.test_panohead_parity import PANO_INIT_KWARGS

    return PANO_INIT_KWARGS


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory, init_kwargs):
    folder = tmp_path_factory.mktemp("panohead_pkl")
    weights = load_golden("panohead/tiny_trigrid_weights.npz")
    path = write_snapshot(folder / "pano.pkl", weights, init_kwargs, 32, kind="panohead",
                          sentinel=folder / "SENTINEL")
    yield path
    assert not (folder / "SENTINEL").exists(), "embedded module_src was executed"


@pytest.fixture(scope="module")
def converted(snapshot, tmp_path_factory):
    dst = tmp_path_factory.mktemp("panohead_out") / "pano"
    assert cli.main(["convert", str(snapshot), str(dst)]) == 0  # --kind auto detects PanoHead
    return dst


def test_kind_detected_and_recorded(converted, init_kwargs):
    meta = json.loads((converted / META_FILE).read_text())
    assert (meta["kind"], meta["layout"], meta["neural_rendering_resolution"]) == ("panohead", "flax", 32)
    assert meta["init_kwargs"] == json.loads(json.dumps(init_kwargs))


def test_converted_dir_renders_goldens(converted):
    golden = load_golden("panohead/tiny_trigrid_io.npz")
    gen = load_generator(converted)
    assert gen.kind == "panohead"
    psi, cutoff = float(golden["truncation_psi"]), int(golden["truncation_cutoff"])
    assert rel_err(gen.mapping(golden["z"], golden["c"], psi, cutoff), golden["ws"]) <= 1e-5
    c_new, _ = gen.apply_delta_c(golden["z"], golden["c"], psi, cutoff)
    assert abs_err(c_new, golden["c_new"]) <= 1e-5
    draws = {"stratified": golden["rand00_rand_like"], "importance": golden["rand01_rand"]}
    out = gen.synthesis(golden["ws"], golden["c_new"], noise_mode="const", draws=draws, capture=True)
    planes = np.asarray(out["planes"])
    n, _, h, w, cd = planes.shape
    assert rel_err(planes.transpose(0, 1, 4, 2, 3).reshape(n, 3 * cd, h, w), golden["planes"]) <= 1e-5
    assert abs_err(out["image_raw"], nchw_to_nhwc(golden["image_raw"])) <= 1e-4
    assert abs_err(out["image"], nchw_to_nhwc(golden["image"])) <= 1e-4
    assert rel_err(out["image_depth"], nchw_to_nhwc(golden["image_depth"])) <= 1e-4
    assert abs_err(out["image_mask"], nchw_to_nhwc(golden["image_mask"])) <= 1e-5


def test_pkl_on_the_fly_equals_converted(snapshot, converted, init_kwargs):
    weights = load_golden("panohead/tiny_trigrid_weights.npz")
    reference = load_generator(weights, kind="panohead", init_kwargs=init_kwargs, neural_rendering_resolution=32)
    for gen in (load_generator(snapshot), load_generator(converted)):
        flat_a = {k: np.asarray(v) for k, v in _flat(gen.params).items()}
        flat_b = {k: np.asarray(v) for k, v in _flat(reference.params).items()}
        assert flat_a.keys() == flat_b.keys()
        assert all(np.array_equal(flat_a[k], flat_b[k]) for k in flat_a)


def test_info_reports_panohead(snapshot, capsys):
    assert cli.main(["info", str(snapshot)]) == 0
    out = capsys.readouterr().out
    assert "D: MaskDualDiscriminatorV2" in out and "kind panohead" in out


def _flat(tree, prefix=""):
    out = {}
    for k, v in tree.items():
        if hasattr(v, "items"):
            out.update(_flat(v, f"{prefix}{k}/"))
        else:
            out[prefix + k] = v
    return out


def test_render_cli_on_converted_checkpoint(converted, tmp_path, capsys):
    out = tmp_path / "orbit"
    status = cli.main(["render", str(converted), "--orbit", "360", "--frames", "2", "--batch", "2",
                       "--format", "gif", "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    assert {"seed0000.gif", "seed0000_grid.png", "seed0000_depth.png"} <= {p.name for p in out.iterdir()}
