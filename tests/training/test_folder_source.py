"""experiments/train.py --config.data.source=folder on an aligned folder in the layout `inversion3d
preprocess` writes (crops + dataset.json), at a resolution other than 512 (issue 20 A2)."""
import math
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from inversion3d import camera
from inversion3d.preprocess.dataset_json import write_dataset_json
from tests.training.helpers import REPO, subprocess_env
from tests.training.test_launcher import SMALL_GENERATOR

CROP = 64  # downscaled to the toy encoder's data.resolution (32) while the dataset is prepared


@pytest.fixture(scope="module")
def aligned(tmp_path_factory):
    root = tmp_path_factory.mktemp("aligned")
    rs = np.random.RandomState(0)
    yaws = math.pi / 2 + np.linspace(-0.3, 0.3, 4)
    labels = camera.make_label(camera.lookat_pose(yaws, np.full(4, math.pi / 2), radius=camera.FFHQ_RADIUS),
                               camera.intrinsics_matrix(camera.FFHQ_FOCAL))
    for i in range(4):
        Image.fromarray(rs.randint(0, 256, (CROP, CROP, 3)).astype(np.uint8)).save(root / f"photo{i}.png")
    write_dataset_json(root / "dataset.json", [(f"photo{i}.png", labels[i]) for i in range(4)])
    return root


def _train(tmp_path, folder, *extra, timeout=400):
    cmd = [sys.executable, "experiments/train.py", "--config", "configs/toy_psp.py",
           "--workdir", str(tmp_path / "work"), "--config.data.source=folder", f"--config.data.folder={folder}",
           f"--config.data.tfds_dir={tmp_path / 'tfds'}", "--config.batch_size=2", "--config.total_steps=2",
           "--config.losses.latent_l2=0", "--config.losses.image_l2=1.0", "--config.checkpoint.every=2",
           "--config.logging.log_every=1", "--config.logging.image_every=0", *SMALL_GENERATOR, *extra]
    return subprocess.run(cmd, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=timeout)


def test_trains_from_an_aligned_folder(aligned, tmp_path):
    proc = _train(tmp_path, aligned)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "[2/2]" in proc.stderr and (tmp_path / "work" / "checkpoints" / "2" / "state").is_dir()
    prepared = list((tmp_path / "tfds" / "aligned_folder").iterdir())
    assert [p.name.split("_")[1:2] for p in prepared] == [["r32"]], prepared  # its own config, by resolution


def test_empty_folder_is_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = _train(tmp_path, empty, timeout=200)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("train.py: error: data.folder:") and str(empty) in last and "is empty" in last, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
