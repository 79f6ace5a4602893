"""Hostile and broken checkpoints: each is rejected by `convert`, `info` and `load_generator` with a
one-line error naming the file and the reason; nothing is executed; no output directory is left."""
import os

import numpy as np
import pytest

from converters import orbax_io
from inversion3d import load_generator
from inversion3d.app import cli
from tests.converters.hostile import CORPUS
from tests.conftest import load_golden
from tests.converters.snapshots import write_snapshot
from tests.generators.test_eg3d_parity import TINY_INIT_KWARGS


def _one_line_error(capsys, path, needle):
    err = capsys.readouterr().err
    assert err.startswith("inversion3d: error: ") and err.count("\n") == 1, err
    assert str(path) in err and needle in err, err
    return err


@pytest.mark.parametrize("build,needle", [row[1:] for row in CORPUS], ids=[row[0] for row in CORPUS])
def test_rejected_by_convert_and_info(build, needle, tmp_path, capsys):
    sentinel = tmp_path / "SENTINEL"
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    path = build(src_dir, sentinel)
    out = tmp_path / "out"
    out.mkdir()
    dst = out / "converted"
    assert cli.main(["convert", str(path), str(dst)]) == 2
    _one_line_error(capsys, path, needle)
    assert cli.main(["info", str(path)]) == 2 or "dtype int64" in needle  # info lists int weights fine
    capsys.readouterr()
    with pytest.raises(ValueError) as err:
        load_generator(path, init_kwargs=TINY_INIT_KWARGS)
    assert "\n" not in str(err.value)
    assert not sentinel.exists(), "a payload was executed"
    assert os.listdir(out) == [], "convert left a (partial) output directory"


def test_embedded_source_is_data(tmp_path, capsys):
    """A well-formed snapshot whose module_src would run a payload converts without running it."""
    sentinel = tmp_path / "SENTINEL"
    weights = load_golden("eg3d/tiny_sr2x_weights.npz")
    path = write_snapshot(tmp_path / "payload.pkl", weights, TINY_INIT_KWARGS, 32, sentinel=sentinel)
    assert "pathlib.Path(" in path.read_bytes().decode("latin1")  # the payload is in the file
    assert cli.main(["info", str(path)]) == 0
    assert cli.main(["convert", str(path), str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert not sentinel.exists()


def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch, capsys):
    from tests.converters.pickle_writer import write_zip_pth

    src = write_zip_pth(tmp_path / "enc.pth", {"input_layer.0.weight": np.ones((2, 3), np.float32)})

    class Exploding:
        def save(self, path, tree):
            os.makedirs(path)
            open(os.path.join(path, "half-written"), "w").close()
            raise ValueError("disk full (simulated)")

    monkeypatch.setattr(orbax_io, "_checkpointer", Exploding)
    assert cli.main(["convert", str(src), str(tmp_path / "out" / "dst"), "--kind", "lpips"]) == 2  # kept raw
    assert "disk full (simulated)" in capsys.readouterr().err
    assert os.listdir(tmp_path / "out") == []
