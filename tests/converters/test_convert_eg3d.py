"""A synthetic EG3D network snapshot carrying the golden weights -> `inversion3d convert` -> render.

The pickle is written in the official format (tests/converters/snapshots.py) with the tiny golden
config; the converted directory must render the goldens at the parity tolerances of
tests/generators/test_eg3d_parity.py and hold exactly the parameters the .npz path gives.
"""
import json
import os

import jax
import numpy as np
import pytest

from converters.orbax_io import META_FILE
from inversion3d import load_generator
from inversion3d.app import cli
from tests.conftest import load_golden, nchw_to_nhwc
from tests.converters.snapshots import discriminator_state_dict, write_snapshot
from tests.generators.test_eg3d_parity import TINY_INIT_KWARGS, abs_err, rel_err


@pytest.fixture(scope="module")
def weights():
    return load_golden("eg3d/tiny_sr2x_weights.npz")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory, weights):
    folder = tmp_path_factory.mktemp("eg3d_pkl")
    g = {k: v + 1.0 if k.endswith(".bias") else v for k, v in weights.items()}  # instantaneous G differs
    path = write_snapshot(folder / "tiny.pkl", weights, TINY_INIT_KWARGS, 32, g=g, sentinel=folder / "SENTINEL")
    yield path
    assert not (folder / "SENTINEL").exists(), "embedded module_src was executed"


@pytest.fixture(scope="module")
def converted(snapshot, tmp_path_factory):
    dst = tmp_path_factory.mktemp("eg3d_out") / "tiny_eg3d"
    assert cli.main(["convert", str(snapshot), str(dst)]) == 0
    return dst


@pytest.fixture(scope="module")
def reference(weights):
    return load_generator(weights, init_kwargs=TINY_INIT_KWARGS, neural_rendering_resolution=32)


def _same_params(a, b):
    leaves = jax.tree.leaves(jax.tree.map(lambda x, y: bool(np.array_equal(np.asarray(x), np.asarray(y))), a, b))
    return jax.tree.structure(a) == jax.tree.structure(b) and all(leaves)


def test_convert_writes_orbax_and_metadata(converted):
    assert sorted(os.listdir(converted)) == [META_FILE, "params"]
    meta = json.loads((converted / META_FILE).read_text())
    assert (meta["kind"], meta["network"], meta["layout"], meta["neural_rendering_resolution"]) == \
        ("eg3d", "G_ema", "flax", 32)
    assert meta["init_kwargs"] == json.loads(json.dumps(TINY_INIT_KWARGS))
    assert [p for p in os.listdir(converted.parent) if p != converted.name] == []  # no temp dir left


def test_converted_dir_renders_goldens(converted):
    golden = load_golden("eg3d/tiny_sr2x_io.npz")
    gen = load_generator(converted)  # nothing but the directory
    assert gen.config.neural_rendering_resolution == 32 and gen.kind == "eg3d"
    ws = gen.mapping(golden["z"], golden["c"], float(golden["truncation_psi"]), int(golden["truncation_cutoff"]))
    assert rel_err(ws, golden["ws"]) <= 1e-5
    draws = {"stratified": golden["rand00_rand_like"], "importance": golden["rand01_rand"]}
    out = gen.synthesis(golden["ws"], golden["c"], noise_mode="const", draws=draws, capture=True)
    planes = np.asarray(out["planes"]).transpose(0, 1, 4, 2, 3).reshape(2, 96, 256, 256)
    assert rel_err(planes[:, :, ::8, ::8], golden["planes_stride8"]) <= 1e-5
    assert abs_err(out["image_raw"], nchw_to_nhwc(golden["image_raw"])) <= 1e-4
    assert abs_err(out["image"], nchw_to_nhwc(golden["image"])) <= 1e-4
    assert rel_err(out["image_depth"], nchw_to_nhwc(golden["image_depth"])) <= 1e-4


def test_round_trip_params_identical(converted, snapshot, reference):
    from_dir = load_generator(converted)
    from_pkl = load_generator(snapshot)  # converted on the fly
    assert _same_params(from_dir.params, reference.params)
    assert _same_params(from_pkl.params, reference.params)
    assert from_dir.config == from_pkl.config == reference.config


def test_network_g_is_the_instantaneous_generator(snapshot, weights):
    gen = load_generator(snapshot, network="G")
    bias = np.asarray(gen.params["params"]["decoder"]["net_0"]["bias"])
    np.testing.assert_array_equal(bias, weights["decoder.net.0.bias"] + 1.0)


def test_network_d_is_stored_as_state_dict(snapshot, tmp_path):
    dst = tmp_path / "d"
    assert cli.main(["convert", str(snapshot), str(dst), "--network", "D"]) == 0
    meta = json.loads((dst / META_FILE).read_text())
    assert (meta["network"], meta["layout"], meta["class_name"]) == ("D", "state_dict", "DualDiscriminator")
    from converters.orbax_io import read_converted

    _, tree = read_converted(dst)
    want = discriminator_state_dict()
    assert sorted(tree["state_dict"]) == sorted(want)
    assert all(np.array_equal(tree["state_dict"][k], v) for k, v in want.items())
    with pytest.raises(ValueError, match="no Flax port of it yet"):
        load_generator(dst)
    with pytest.raises(ValueError, match="discriminator"):
        load_generator(snapshot, network="D")


def test_protocol2_snapshot_and_g_ema_only(tmp_path, weights, reference):
    # protocol 2 writers store storage bytes through _codecs.encode and use GLOBAL opcodes.
    path = write_snapshot(tmp_path / "p2.pkl", weights, TINY_INIT_KWARGS, 32, protocol=2, networks=("G_ema",))
    assert _same_params(load_generator(path).params, reference.params)
    with pytest.raises(ValueError, match=r"no network 'G' in the snapshot; it holds \['G_ema'\]"):
        load_generator(path, network="G")


def test_kind_contradiction(snapshot):
    with pytest.raises(ValueError, match="holds a 'eg3d' generator, got kind='panohead'"):
        load_generator(snapshot, kind="panohead")


def test_info_lists_networks(snapshot, converted, capsys):
    assert cli.main(["info", str(snapshot)]) == 0
    out = capsys.readouterr().out
    assert "G_ema: TriPlaneGenerator, 177 tensors, 1,478,672 parameters + 216,640 buffer elements, dtype float32" in out
    assert "D: DualDiscriminator, 4 tensors" in out and "kind eg3d, neural_rendering_resolution 32" in out
    assert cli.main(["info", str(converted)]) == 0
    assert "kind eg3d, network G_ema" in capsys.readouterr().out


def test_existing_destination_is_refused(snapshot, converted, capsys):
    before = sorted(os.listdir(converted))
    assert cli.main(["convert", str(snapshot), str(converted)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("inversion3d: error: dst:") and "already exists" in err and err.count("\n") == 1
    assert sorted(os.listdir(converted)) == before


def test_shapenet_rendering_kwargs(tmp_path, weights):
    """shapenetcars128-64 stores other rendering kwargs (eg3d.md §6); they convert and configure the renderer."""
    kwargs = json.loads(json.dumps(TINY_INIT_KWARGS))
    kwargs["rendering_kwargs"].update(depth_resolution=64, depth_resolution_importance=64, ray_start=0.1,
                                      ray_end=2.6, box_warp=1.6, white_back=True, avg_camera_radius=1.7,
                                      avg_camera_pivot=[0, 0, 0])
    path = write_snapshot(tmp_path / "cars.pkl", weights, kwargs, 64, networks=("G_ema",))
    assert cli.main(["convert", str(path), str(tmp_path / "cars")]) == 0
    render = load_generator(tmp_path / "cars").config.render
    assert (render.white_back, render.box_warp, render.ray_start, render.ray_end, render.depth_resolution) == \
        (True, 1.6, 0.1, 2.6, 64)


def test_render_cli_on_converted_checkpoint(converted, tmp_path, capsys):
    out = tmp_path / "orbit"
    status = cli.main(["render", str(converted), "--kind", "eg3d", "--frames", "2", "--batch", "2",
                       "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    assert {"seed0000.mp4", "seed0000_grid.png", "seed0000_depth.png"} <= {p.name for p in out.iterdir()}
