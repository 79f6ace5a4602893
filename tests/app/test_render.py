"""`inversion3d render`: videos, grids, depth maps and shapes for both generator kinds."""
import os

import imageio.v2 as imageio
import numpy as np
import pytest
from PIL import Image

from inversion3d.app import cli

SMALL = ["--config.neural_rendering_resolution=16", "--config.ray_chunk=128"]


def test_render_eg3d_default_mp4(tmp_path, capsys):
    out = tmp_path / "eg3d"
    status = cli.main(["render", "default", "--seeds", "0", "--frames", "3", "--batch", "2", "--orbit", "spiral",
                       "--out", str(out), *SMALL])
    assert status == 0, capsys.readouterr().err
    reader = imageio.get_reader(out / "seed0000.mp4")
    assert reader.count_frames() == 3 and tuple(reader.get_meta_data()["size"]) == (64, 64)  # packaged default
    grid = np.asarray(Image.open(out / "seed0000_grid.png"))
    assert grid.shape == (64, 3 * 64, 3)
    assert np.asarray(Image.open(out / "seed0000_depth.png")).std() > 0
    assert oct(os.stat(out / "seed0000_grid.png").st_mode & 0o444) == oct(0o444)  # readable by all


def test_render_panohead_default_gif_and_mesh(tmp_path, capsys):
    out = tmp_path / "pano"
    status = cli.main(["render", "default-panohead", "--seeds", "1", "--frames", "2", "--batch", "2",
                       "--orbit", "360", "--format", "gif", "--mesh", "--shape-res", "24", "--level", "0",
                       "--out", str(out), *SMALL])
    assert status == 0, capsys.readouterr().err
    frames = imageio.mimread(out / "seed0001.gif")
    assert len(frames) == 2
    names = set(os.listdir(out))
    assert {"seed0001.mrc", "seed0001_grid.png", "seed0001_depth.png"} <= names
    if "seed0001.ply" not in names:  # random weights may give a density that never crosses the level
        assert "mesh skipped" in capsys.readouterr().out
    assert not [n for n in names if n.startswith(".tmp")]


def test_render_unwritable_output_fails_before_rendering(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli.main(["render", "default", "--out", str(blocker / "x")]) == 2
    assert "out: cannot create output directory" in capsys.readouterr().err


@pytest.mark.parametrize("argv,needle", [
    (["--seeds", "a-b"], "--seeds: expected a list like '0-3,7'"),
    (["--orbit", "yaw", "--frames", "0"], "frames: expected >= 1"),
])
def test_render_bad_arguments(tmp_path, capsys, argv, needle):
    assert cli.main(["render", "default", "--out", str(tmp_path), *argv, *SMALL]) == 2
    assert needle in capsys.readouterr().err


def test_render_missing_checkpoint(tmp_path, capsys):
    assert cli.main(["render", str(tmp_path / "nope.pkl"), "--out", str(tmp_path / "o")]) == 2
    assert "CKPT: no such file or directory" in capsys.readouterr().err
