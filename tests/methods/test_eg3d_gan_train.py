"""EG3D GAN training through the shared loop (issue 16 item 2; configs/eg3d_gan.py at test size:
64 px, 16 px rendering, 4 + 4 samples, batch 4, tests/methods/gan_helpers.py): every loss term finite
on a tiny folder with the G / D / density / R1 phases where they belong, stop + resume == straight
(exact), 8 fake devices == 1 device after 2 steps. All slow: each step variant compiles the
generator, renderer and discriminator forward and backward (minutes on a 2-core CPU)."""
import math

import jax
import numpy as np
import pytest

from inversion3d.methods import registry
from inversion3d.training import loop
from tests.methods.gan_helpers import config, make_folder
from tests.methods.goae_helpers import logged
from tests.training.helpers import run_worker
from tests.training.tb_reader import read_events

STEPS, STOP = 4, 2
EVERY = {"losses.g_reg_every": 2, "losses.r1_every": 2}  # both lazy phases on steps 0 and 2


def _tree(state):
    return jax.tree.map(np.asarray, jax.device_get({"params": state.params, "opt": state.opt_state,
                                                     "stats": state.batch_stats, "ema": state.ema_params,
                                                     "step": state.step}))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("gan")
    folder = make_folder(_mkdir(root / "data"))
    cls = registry.trainer("eg3d_gan")
    straight = loop.train_and_evaluate(config(folder, total_steps=STEPS, **EVERY), str(root / "straight"), cls)
    loop.train_and_evaluate(config(folder, total_steps=STOP, **{"checkpoint.every": STOP}, **EVERY),
                            str(root / "stopped"), cls)
    resumed = loop.train_and_evaluate(config(folder, total_steps=STEPS, **EVERY), str(root / "stopped"), cls)
    return _tree(straight), _tree(resumed), root


def _mkdir(path):
    path.mkdir()
    return path


@pytest.mark.slow
def test_losses_finite_and_phases_scheduled(runs):
    rows = logged(str(runs[2] / "straight"))
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))
    for r in rows:
        for k in ("loss", "g/adv", "g/grad_norm", "d/loss", "d/real_logit", "d/fake_logit", "d/grad_norm"):
            assert math.isfinite(r[k]), (r["step"], k, r[k])
        assert r["d/blur_sigma"] == pytest.approx(10.0 * (1 - (r["step"] - 1) * 4 / 20000.0))
    for key in ("greg/density_l1", "r1/r1_penalty"):
        assert [r["step"] for r in rows if key in r] == [1, 3]  # 0-based steps 0 and 2
        assert all(math.isfinite(r[key]) and r[key] > 0 for r in rows if key in r)
    print("losses:", [(round(r["g/loss"], 4), round(r["d/loss"], 4)) for r in rows])


@pytest.mark.slow
def test_resume_equals_straight(runs):
    straight, resumed, _ = runs
    assert int(resumed["step"]) == STEPS
    jax.tree.map(np.testing.assert_array_equal, straight, resumed)


@pytest.mark.slow
def test_g_ema_is_not_g_after_training(runs):
    straight = runs[0]
    g, ema = straight["params"]["generator"], straight["ema"]["generator"]
    diffs = [float(np.max(np.abs(a - b))) for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(ema))]
    assert max(diffs) > 0  # ramped decay > 0 after step 0: G_ema lags G


@pytest.mark.slow
def test_eight_devices_equal_one(tmp_path):
    res = run_worker("methods/gan_multidevice_worker.py", tmp_path, timeout=3000)
    assert res["device_count"] == 8
    assert res["rel_diff"] < 1e-5, res


@pytest.mark.slow
def test_rendering_resolution_fade_runs_a_step_at_each_resolution(tmp_path):
    """16 -> 20 px over 8 images (2 steps of batch 4): steps at 16, 18, 20 px, one compile each
    (the lazy regularisers only at step 0), every loss finite; the image grid after every step (its
    resolution is static, given by the loop: a traced step cannot pick it)."""
    folder = make_folder(_mkdir(tmp_path / "data"))
    cfg = config(folder, total_steps=3, **{"generator.neural_rendering_resolution_final": 20,
                                           "generator.neural_rendering_resolution_fade_kimg": 0.008,
                                           "losses.g_reg_every": 100, "losses.r1_every": 100,
                                           "logging.image_every": 1, "logging.tensorboard": True})
    loop.train_and_evaluate(cfg, str(tmp_path / "run"), registry.trainer("eg3d_gan"))
    images = [s for s, _, kind, _ in read_events(str(tmp_path / "run")) if kind == "image"]
    assert images == [1, 2, 3]
    rows = logged(str(tmp_path / "run"))
    assert [r["d/render_resolution"] for r in rows] == [16.0, 18.0, 20.0]
    for r in rows:
        for k in ("g/adv", "g/grad_norm", "d/loss", "d/grad_norm"):
            assert math.isfinite(r[k]), (r["step"], k, r[k])
    assert "r1/r1_penalty" in rows[0] and "greg/density_l1" in rows[0]
