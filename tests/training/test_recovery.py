"""In-process recovery paths of the loop: a damaged latest checkpoint falls back to the previous
intact one (or stops, naming it), and NaN / Inf steps are skipped or stop the run (on_nonfinite)."""
import glob
import os
import shutil

import jax
import numpy as np
import pytest

from inversion3d.methods.toy_psp.train import Method
from inversion3d.training import loop, stopping, writers
from tests.training.helpers import tiny_config

CKPT = {"checkpoint.every": 2, "checkpoint.keep": 2}


def _tree(state):
    return jax.tree.map(np.asarray, jax.device_get({"params": state.params, "opt": state.opt_state,
                                                     "stats": state.batch_stats, "step": state.step}))


def _damage(step_dir):
    """Truncates the biggest array file of a checkpoint (a disk-full / half-copied file)."""
    path = max(glob.glob(os.path.join(step_dir, "state", "ocdbt.process_0", "d", "*")), key=os.path.getsize)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A run saved at steps 2 and 4, and the state of an uninterrupted 6-step run."""
    root = tmp_path_factory.mktemp("recovery")
    loop.train_and_evaluate(tiny_config(**CKPT, total_steps=4), str(root / "saved"), Method)
    straight = _tree(loop.train_and_evaluate(tiny_config(**CKPT, total_steps=6), str(root / "straight"), Method))
    return root, straight


def _copy(saved, name):
    dst = saved[0] / name
    shutil.copytree(saved[0] / "saved", dst)
    return dst


def test_damaged_latest_falls_back_exactly(saved, capsys):
    work = _copy(saved, "fallback")
    _damage(str(work / "checkpoints" / "4"))
    capsys.readouterr()
    resumed = _tree(loop.train_and_evaluate(tiny_config(**CKPT, total_steps=6), str(work), Method))
    err = capsys.readouterr().err
    line = [l for l in err.splitlines() if "cannot be restored" in l]
    assert len(line) == 1 and str(work / "checkpoints" / "4") in line[0] and "restored step 2 instead" in line[0]
    assert "Traceback" not in err and "start at step 2 (workdir)" in err
    assert (work / "checkpoints" / "4.corrupt").is_dir()  # kept aside, not deleted
    jax.tree.map(np.testing.assert_array_equal, resumed, saved[1])


def test_damaged_latest_stops_when_asked(saved):
    work = _copy(saved, "stop")
    _damage(str(work / "checkpoints" / "4"))
    with pytest.raises(stopping.NoIntactCheckpoint, match=r"checkpoints/4 cannot be restored") as e:
        loop.train_and_evaluate(tiny_config(**CKPT, total_steps=6, **{"checkpoint.on_corrupt": "stop"}), str(work), Method)
    assert e.value.exit_code == stopping.EXIT_NO_INTACT_CHECKPOINT and "\n" not in str(e.value)
    assert sorted(os.listdir(work / "checkpoints")) == ["2", "4"]


def test_no_intact_checkpoint_names_them(saved):
    work = _copy(saved, "none")
    for step in ("2", "4"):
        _damage(str(work / "checkpoints" / step))
    with pytest.raises(stopping.NoIntactCheckpoint) as e:
        loop.train_and_evaluate(tiny_config(**CKPT, total_steps=6), str(work), Method)
    assert str(work / "checkpoints" / "4") in str(e.value) and str(work / "checkpoints" / "2") in str(e.value)
    assert sorted(os.listdir(work / "checkpoints")) == ["2", "4"]  # nothing renamed: no silent restart


def test_nonfinite_skip_keeps_the_state(tmp_path, capsys):
    one = _tree(loop.train_and_evaluate(tiny_config(total_steps=1), str(tmp_path / "one"), Method))
    capsys.readouterr()
    cfg = tiny_config(total_steps=3, on_nonfinite="skip", **{"debug.nonfinite_at": 2})
    state = loop.train_and_evaluate(cfg, str(tmp_path / "skip"), Method)
    err = capsys.readouterr().err
    assert "step 2: non-finite latent_l2, loss, grads; update skipped (on_nonfinite=skip)" in err
    steps, _ = writers.read_jsonl(str(tmp_path / "skip" / "metrics.jsonl"))
    assert [steps[s]["nonfinite_steps"] for s in (1, 2, 3)] == [0, 1, 0]
    assert np.isnan(steps[2]["loss"]) and np.isfinite(steps[3]["loss"]) and steps[2]["update_norm"] == 0
    # step 2 changed nothing: a 2-step run stopped there equals the 1-step run
    two = _tree(loop.train_and_evaluate(tiny_config(total_steps=2, on_nonfinite="skip",
                                                    **{"debug.nonfinite_at": 2}), str(tmp_path / "two"), Method))
    for key in ("params", "opt", "stats"):
        jax.tree.map(np.testing.assert_array_equal, two[key], one[key])
    assert all(np.isfinite(x).all() for x in jax.tree.leaves(_tree(state)))


def test_nonfinite_stop_keeps_last_good_checkpoint(tmp_path):
    work = tmp_path / "stop"
    with pytest.raises(stopping.NonFinite) as e:
        loop.train_and_evaluate(tiny_config(**CKPT, total_steps=6, **{"debug.nonfinite_at": 3}), str(work), Method)
    msg = str(e.value)
    assert msg.startswith("step 3: non-finite latent_l2") and msg.endswith(str(work / "checkpoints" / "2"))
    assert e.value.exit_code == stopping.EXIT_NONFINITE
    assert sorted(p for p in os.listdir(work / "checkpoints") if p.isdigit()) == ["2"]
