"""experiments/train.py end to end on the toy method with the real (tiny) EG3D pseudo-pairs:
absl flags + --config.x overrides, checkpoints, TensorBoard scalars and image grid, resume."""
import json
import subprocess
import sys

import pytest

from tests.training.helpers import REPO, subprocess_env
from tests.training.tb_reader import read_events

SMALL_GENERATOR = [  # the demo generator's kwargs made cheaper for CI (narrower, fewer samples)
    "--config.generator.init_kwargs.channel_base=256", "--config.generator.init_kwargs.channel_max=16",
    "--config.generator.init_kwargs.sr_kwargs.channel_base=256", "--config.generator.init_kwargs.sr_kwargs.channel_max=16",
    "--config.generator.init_kwargs.rendering_kwargs.depth_resolution=4",
    "--config.generator.init_kwargs.rendering_kwargs.depth_resolution_importance=4",
    "--config.generator.neural_rendering_resolution=8"]


def _train(workdir, steps):
    cmd = [sys.executable, "experiments/train.py", "--config", "configs/toy_psp.py", "--workdir", str(workdir),
           f"--config.total_steps={steps}", "--config.batch_size=2", "--config.checkpoint.every=2",
           "--config.logging.log_every=1", "--config.logging.image_every=2", "--config.logging.image_rows=2",
           *SMALL_GENERATOR]
    proc = subprocess.run(cmd, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stderr


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("launcher")
    log = _train(path, 2)
    assert "start at step 0 (scratch)" in log and "[2/2]" in log and "ETA" in log
    return path


def test_checkpoint_and_logs(workdir):
    assert (workdir / "checkpoints" / "2" / "state").is_dir()
    config = json.loads((workdir / "checkpoints" / "2" / "config" / "metadata").read_text())
    assert config["batch_size"] == 2 and config["generator"]["neural_rendering_resolution"] == 8
    events = read_events(str(workdir))
    assert {t for _, t, k, _ in events if k == "scalar"} >= {"loss", "latent_l2", "grad_norm", "lr/encoder"}
    images = [v for _, t, k, v in events if k == "image" and t == "input_recon_views"]
    assert len(images) == 1  # 2 rows x (input, reconstruction, 2 novel views) of 32 px
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(images[0])).size == (4 * 32, 2 * 32)


def test_resumes_from_workdir(workdir):
    log = _train(workdir, 3)
    assert "start at step 2 (workdir)" in log and "[3/3]" in log


def test_override_of_unknown_key_fails():
    proc = subprocess.run([sys.executable, "experiments/train.py", "--config", "configs/toy_psp.py",
                           "--workdir", "/nonexistent", "--config.no_such_key=1"],
                          cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "no_such_key" in proc.stderr
