"""The `inversion3d demo` command writes its pictures and rejects bad input with one line."""
import os

import numpy as np
import pytest
from PIL import Image

from inversion3d.app import cli

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "demo.py")


def test_demo_writes_grid_and_depth(tmp_path, capsys):
    out = tmp_path / "demo"
    status = cli.main(["demo", "--config", CONFIG, "--out", str(out), "--config.num_samples=1",
                       "--config.yaws_deg=(-30.0, 30.0)", "--config.neural_rendering_resolution=16"])
    assert status == 0
    grid = np.asarray(Image.open(out / "grid.png"))
    depth = np.asarray(Image.open(out / "depth.png"))
    assert grid.shape == (64, 128, 3) and depth.shape == (64, 128, 3)  # the packaged default: 64 px
    assert depth.std() > 0  # depth varies across the picture
    assert str(out / "grid.png") in capsys.readouterr().out
    assert not [p for p in os.listdir(out) if p.startswith(".tmp")]  # no temp files left


def test_demo_unknown_override(tmp_path, capsys):
    assert cli.main(["demo", "--config", CONFIG, "--out", str(tmp_path), "--config.sed=3"]) == 2
    assert "config has no key 'sed'" in capsys.readouterr().err


def test_demo_unwritable_output(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli.main(["demo", "--config", CONFIG, "--out", str(blocker / "sub")]) == 2
    assert "out: cannot create output directory" in capsys.readouterr().err
