"""One generator key for every encoder method (methods/frozen_generator.py): `generator.checkpoint`
in each training config; the old `generator.source` is a one-line error naming the new key (config
overrides, configs built by hand), and a run saved with it still reads (methods/workdir.py)."""
import json
import subprocess
import sys

import ml_collections
import pytest

from inversion3d.app import loading
from inversion3d.methods import frozen_generator, workdir
from tests.training.helpers import REPO, load_config, subprocess_env

ENCODER_CONFIGS = ("psp", "psp_full", "e4e", "e4e_full", "goae_stage1", "goae_stage1_full", "goae_stage2",
                   "goae_stage2_full", "triplanenet", "triplanenet_full", "dual", "dual_full", "e3dge",
                   "e3dge_full", "e3dge_panohead")


@pytest.mark.parametrize("name", ENCODER_CONFIGS)
def test_every_encoder_config_names_its_generator_by_checkpoint(name):
    g = load_config(name).generator
    assert "checkpoint" in g and "source" not in g
    assert frozen_generator.checkpoint_path(g) == ""  # the committed configs: random weights until set


def test_old_key_is_one_line_error_naming_the_new_one():
    g = ml_collections.ConfigDict(dict(source="gen.pkl", init_kwargs={}))
    with pytest.raises(ValueError, match=r"^generator.source: renamed generator.checkpoint"):
        frozen_generator.checkpoint_path(g)
    with pytest.raises(ValueError) as err:
        loading.load_config(f"{loading.CONFIG_DIR}/triplanenet.py", ["--config.generator.source=gen.pkl"])
    assert str(err.value) == "--config.generator.source: renamed --config.generator.checkpoint"


def test_launcher_refuses_the_old_key_in_one_line():
    proc = subprocess.run([sys.executable, "experiments/train.py", "--config", "configs/dual.py", "--workdir",
                           "/nonexistent", "--config.generator.source=gen.pkl"],
                          cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "train.py: error: --config.generator.source: renamed --config.generator.checkpoint"


def test_a_run_saved_with_the_old_key_reads_as_checkpoint(tmp_path):
    folder = tmp_path / "checkpoints" / "4" / "config"
    folder.mkdir(parents=True)
    saved = {"method": "triplanenet", "generator": {"source": "gen.pkl", "neural_rendering_resolution": 16}}
    (folder / "metadata").write_text(json.dumps(saved))
    _, step, config = workdir.read_config(tmp_path)
    assert step == 4 and config.generator.checkpoint == "gen.pkl" and "source" not in config.generator
    assert frozen_generator.checkpoint_path(config.generator) == "gen.pkl"
