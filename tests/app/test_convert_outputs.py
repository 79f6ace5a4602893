"""`convert`: DST checked before the conversion, usual permissions, stale partial folders of killed
runs removed, NaN / Inf weights refused naming the tensor (issue 20 A12)."""
import os
import stat

import numpy as np
import pytest

from converters import convert as convert_module
from converters import orbax_io
from inversion3d.app import cli
from tests.converters.pickle_writer import write_zip_pth


@pytest.fixture
def src(tmp_path):
    return write_zip_pth(tmp_path / "lpips.pth", {"lin0.model.1.weight": np.ones((1, 4, 1, 1), np.float32)})


def test_dst_checked_before_reading(tmp_path, src, monkeypatch, capsys):
    (tmp_path / "dst").mkdir()

    def no_read(*args, **kwargs):
        raise AssertionError("the source was read")

    monkeypatch.setattr(convert_module, "read_checkpoint_object", no_read)
    assert cli.main(["convert", str(src), str(tmp_path / "dst")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_usual_permissions_and_stale_partials_removed(tmp_path, src, capsys):
    dead = tmp_path / "out" / ".conv.999999999.partial"  # a pid that cannot be running
    dead.mkdir(parents=True)
    (dead / "half").write_text("x")
    old = os.umask(0o022)
    try:
        assert cli.main(["convert", str(src), str(tmp_path / "out" / "conv"), "--kind", "lpips"]) == 0
    finally:
        os.umask(old)
    capsys.readouterr()
    assert os.listdir(tmp_path / "out") == ["conv"]
    for root, dirs, names in os.walk(tmp_path / "out" / "conv"):
        assert stat.S_IMODE(os.stat(root).st_mode) == 0o755, root
        for n in names:
            assert stat.S_IMODE(os.stat(os.path.join(root, n)).st_mode) == 0o644, n
    assert cli.main(["info", str(tmp_path / "out" / "conv")]) == 0


def test_live_partial_kept(tmp_path):
    live = tmp_path / f".conv.{os.getppid()}.partial"
    live.mkdir()
    assert orbax_io.remove_stale_partials(str(tmp_path / "conv")) == [] and live.exists()


@pytest.mark.parametrize("values,needle", [
    (np.full((2, 3), np.nan, np.float32), "tensor w.weight is all NaN/Inf"),
    (np.array([[1.0, np.inf, 2.0]], np.float32), "tensor w.weight has 1 of 3 values NaN/Inf"),
])
def test_non_finite_weights_refused(tmp_path, capsys, values, needle):
    path = write_zip_pth(tmp_path / "bad.pth", {"w.weight": values, "b": np.ones(2, np.float32)})
    assert cli.main(["convert", str(path), str(tmp_path / "dst"), "--kind", "lpips"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and needle.replace("has ", "is ") in err, err
    assert not (tmp_path / "dst").exists()
