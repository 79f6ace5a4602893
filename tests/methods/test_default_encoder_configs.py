"""configs/default_*.py: the encoders of the packaged default generator (issue 17 item 1).

Fast: each config names the packaged generator, its init_kwargs are the asset's own (pSp builds the
generator from them), the data is the mixed source at the generator's size and the GOAE schedule fits
the run. Slow: each config builds its trainer with the packaged weights and takes one finite step
(pseudo-pairs only, batch 2: the synthetic folder is not part of a fresh clone).
"""
import json
import os

import jax
import numpy as np
import pytest

from inversion3d import assets
from tests.training.helpers import apply_overrides, load_config

CONFIGS = ("default_goae_stage1", "default_goae_stage2", "default_psp")


def _plain(tree):
    """ConfigDict / tuple trees -> JSON-comparable plain values."""
    return json.loads(json.dumps(tree.to_dict() if hasattr(tree, "to_dict") else tree))


@pytest.mark.parametrize("name", CONFIGS)
def test_config_names_the_packaged_generator(name):
    config = load_config(name)
    path = assets.check_generator(config.generator.checkpoint)
    assert os.path.samefile(path, assets.generator_dir("default"))
    with open(os.path.join(path, "inversion3d.json"), encoding="utf-8") as f:
        meta = json.load(f)
    assert _plain(config.generator.init_kwargs) == meta["init_kwargs"]
    assert config.generator.neural_rendering_resolution == meta["neural_rendering_resolution"]
    assert config.data.source == "mixed" and 0 < config.data.pseudo_fraction < 1
    assert config.data.resolution == meta["init_kwargs"]["img_resolution"]
    assert config.data.split == "train"
    assert config.losses.lpips_weights == "" and config.losses.arcface_weights == ""  # no random-init nets


def test_goae_schedule_and_stage2_follow_stage1():
    one, two = load_config("default_goae_stage1"), load_config("default_goae_stage2")
    t = one.model.stage_thresholds
    assert 0 < t[0] < t[1] < t[2] < one.total_steps
    assert one.losses.weights.to_dict() == dict(l2=1.0, lpips=0.8, id=0.25, adv=0.05, bg_depth=5.0, wplus_delta=0.001)
    assert two.losses.weights.f_delta == 1e-4
    assert _plain(two.model.encoder) == _plain(one.model.encoder)  # stage 2 loads stage 1's encoder


@pytest.mark.slow
@pytest.mark.parametrize("name", CONFIGS)
def test_config_takes_one_finite_step(name, tmp_path):
    from inversion3d.methods import registry
    from inversion3d.training import loop, sharding

    config = apply_overrides(load_config(name), {
        "data.source": "generator", "batch_size": 2, "data.num_pairs": 2, "mesh.num_devices": 1,
        "distributed.enabled": "no", "eval.every": 0, "logging.tensorboard": False, "checkpoint.async_save": False})
    b = loop.build(config, str(tmp_path), registry.trainer(config.method))
    state, metrics = b["train_step"](b["state"], next(b["data"]), b["frozen"], 0)
    loss = float(sharding.fetch(metrics["loss"]))
    assert np.isfinite(loss) and loss > 0
    assert int(sharding.fetch(state.step)) == 1
    jax.block_until_ready(state)
