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
from inversion3d.generators.eg3d_config import EG3DConfig
from tests.training.helpers import apply_overrides, load_config

CONFIGS = ("default_goae_stage1", "default_goae_stage2", "default_psp", "default_e4e", "default_triplanenet")


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


def test_e4e_schedule_and_e3dge_stages():
    """e4e turns every delta on within the run; E3DGE's E0 is default_psp's encoder (so init_from fits it),
    on the packaged generator, then stops while the local branch trains."""
    e4e = load_config("default_e4e")
    assert e4e.method == "e4e" and e4e.model.name == "e4e"
    num_ws = EG3DConfig.from_official(e4e.generator.init_kwargs.to_dict()).num_ws
    assert 0 < e4e.progressive.start + num_ws * e4e.progressive.every < e4e.total_steps
    e3, psp = load_config("default_e3dge"), load_config("default_psp")
    assert os.path.samefile(assets.check_generator(e3.generator.checkpoint), assets.generator_dir("default"))
    assert _plain(e3.generator.init_kwargs) == _plain(psp.generator.init_kwargs)
    assert (e3.model.encoder.image_size, tuple(e3.model.encoder.widths), e3.model.encoder.style_hidden) == (
        psp.model.input_size, tuple(psp.model.widths), psp.model.style_hidden)
    assert 0 < e3.phases.add_local == e3.phases.stop_global < e3.total_steps and e3.init_from_nets == ("encoder",)
    assert e3.data.source == "mixed" and e3.data.split == "train" and e3.data.resolution == 64
    assert e3.model.local.resolution == e3.generator.neural_rendering_resolution


def test_triplanenet_psp_branch_is_default_psps_encoder():
    """TriPlaneNet's 'psp' comes from a default_psp run's 'encoder' (init_from_nets 'psp=encoder'), so the
    two must be the same network; it stays frozen while the tri-plane branch trains from step 0."""
    tpn, psp = load_config("default_triplanenet"), load_config("default_psp")
    assert tpn.init_from_nets == ("psp=encoder",)
    assert (tpn.model.psp.image_size, tuple(tpn.model.psp.widths), tpn.model.psp.style_hidden) == (
        psp.model.input_size, tuple(psp.model.widths), psp.model.style_hidden)
    assert tpn.phases.add_triplanenet == tpn.phases.stop_psp == 0 < tpn.total_steps


def test_dual_uses_the_panohead_gan_and_its_360_split():
    """The Dual's frozen PanoHead is configs/panohead_gan.py's architecture at the resolution it trained, its
    photos that run's train360 split (test360 is the benchmark's), its encoders the default TriPlaneNet's."""
    dual, gan, tpn = load_config("default_dual"), load_config("panohead_gan"), load_config("default_triplanenet")
    assert dual.method == "dual" and dual.generator.kind == "panohead"
    assert _plain(dual.generator.init_kwargs) == _plain(gan.generator.init_kwargs)
    assert dual.generator.neural_rendering_resolution == gan.generator.neural_rendering_resolution
    assert (dual.data.folder, dual.data.split, dual.data.resolution) == (gan.data.folder, "train360", 64)
    assert _plain(dual.model.psp) == _plain(tpn.model.psp)
    assert _plain(dual.model.triplanenet) == _plain(tpn.model.triplanenet)
    assert 0 < dual.data.synthetic_ratio < 1


@pytest.mark.slow
def test_triplanenet_starts_from_a_psp_run(tmp_path):
    """init_from a (one-step) default_psp workdir: TriPlaneNet's 'psp' holds that run's encoder, unchanged
    by a step (frozen), while the tri-plane branch moves."""
    from inversion3d.methods import registry
    from inversion3d.training import loop

    small = {"data.source": "generator", "batch_size": 2, "data.num_pairs": 2, "mesh.num_devices": 1,
             "distributed.enabled": "no", "eval.every": 0, "logging.tensorboard": False,
             "checkpoint.async_save": False, "logging.image_every": 0}
    psp_cfg = apply_overrides(load_config("default_psp"), dict(small, total_steps=1, **{"checkpoint.every": 1}))
    psp_state = loop.train_and_evaluate(psp_cfg, str(tmp_path / "psp"), registry.trainer("psp"))
    cfg = apply_overrides(load_config("default_triplanenet"), dict(small, init_from=str(tmp_path / "psp")))
    b = loop.build(cfg, str(tmp_path / "tpn"), registry.trainer("triplanenet"))
    assert b["source"] == "init_from"
    same = lambda a, c: jax.tree.map(np.testing.assert_array_equal, jax.device_get(a), jax.device_get(c))
    same(b["state"].params["psp"], psp_state.params["encoder"])
    same(b["state"].batch_stats["psp"], psp_state.batch_stats["encoder"])
    tri_before = jax.device_get(b["state"].params["triplanenet"])  # the step donates the state
    state, _ = b["train_step"](b["state"], next(b["data"]), b["frozen"], 0)
    same(state.params["psp"], psp_state.params["encoder"])
    moved = jax.tree.map(lambda x, y: float(np.abs(np.asarray(x) - np.asarray(y)).max()),
                         jax.device_get(state.params["triplanenet"]), tri_before)
    assert max(jax.tree.leaves(moved)) > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", CONFIGS + ("default_e3dge", "default_dual"))
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
