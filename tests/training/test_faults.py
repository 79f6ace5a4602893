"""Preemption and kills of the real launcher (experiments/train.py via fault_worker.py), in one
workdir: SIGTERM at a random time (saves the step reached, exit 75), SIGKILL at a random time,
SIGKILL inside a checkpoint save (held open by FAULT_FINALIZE_SLEEP), then a run to the end. The
result must be bit-identical to an uninterrupted run, and metrics.jsonl (last value per step)
identical to its log. Random times are seeded; every subprocess is bounded in time."""
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from inversion3d.methods.toy_psp.train import Method
from inversion3d.training import loop, stopping, writers
from tests.training.helpers import REPO, subprocess_env, tiny_config

T, EVERY = 1000, 50
OVERRIDES = {"total_steps": T, "checkpoint.every": EVERY, "checkpoint.keep": 2}
WORKER = str(REPO / "tests" / "training" / "fault_worker.py")
VOLATILE = {"time", "steps_per_sec", "checkpoint_blocking_sec"}


def _start(workdir, log, env=None, overrides=OVERRIDES):
    args = [f"--config.{k}={v}" for k, v in overrides.items()]
    return subprocess.Popen([sys.executable, WORKER, str(workdir), *args], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=open(log, "w"), env=dict(subprocess_env(), **(env or {})))


def _wait_for(proc, log, pattern, timeout=600):
    """Polls the log until `pattern` matches (returns the match) or the process ends (fails)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        m = re.search(pattern, log.read_text())
        if m:
            return m
        if proc.poll() is not None:
            pytest.fail(f"ended (rc {proc.returncode}) before {pattern!r}:\n{log.read_text()[-3000:]}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"no {pattern!r} in {timeout} s")


def _steps(workdir):
    return sorted(int(p) for p in os.listdir(workdir / "checkpoints") if p.isdigit())


def _logged(workdir):
    return max(writers.read_jsonl(str(workdir / "metrics.jsonl"))[0], default=0)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    rng, work, seen = random.Random(20), root / "w", {}
    # 1. SIGTERM at a random time: finishes the step, saves it, exit 75 with one line.
    proc = _start(work, root / "term.log")
    _wait_for(proc, root / "term.log", r"start at step 0 \(scratch\)")
    time.sleep(rng.uniform(0.3, 1.0))
    proc.send_signal(signal.SIGTERM)
    seen["term"] = (proc.wait(timeout=60), (root / "term.log").read_text(), _steps(work), _logged(work))
    # 2. SIGKILL at a random time (inside a step or a save): nothing can run; the log is flushed.
    proc = _start(work, root / "kill.log")
    start = int(_wait_for(proc, root / "kill.log", r"start at step (\d+) \(workdir\)").group(1))
    time.sleep(rng.uniform(0.3, 1.0))
    proc.kill()
    proc.wait(timeout=60)
    seen["kill"] = (start, _steps(work), _logged(work))
    # 3. SIGKILL while a save is being committed (its files written, the rename to <step> not done).
    proc = _start(work, root / "save.log", {"FAULT_FINALIZE_SLEEP": "30"})
    before = int(_wait_for(proc, root / "save.log", r"start at step (\d+) \(workdir\)").group(1))
    saving = int(_wait_for(proc, root / "save.log", r"FINALIZING (\d+)").group(1))
    proc.kill()
    proc.wait(timeout=60)
    seen["save"] = (before, saving, sorted(os.listdir(work / "checkpoints")))
    # 4. to the end.
    proc = _start(work, root / "end.log")
    seen["end"] = (proc.wait(timeout=300), (root / "end.log").read_text(), sorted(os.listdir(work / "checkpoints")))
    straight = loop.train_and_evaluate(tiny_config(**OVERRIDES), str(root / "straight"), Method)
    return root, work, seen, straight


def test_sigterm_saves_the_step_reached(chain):
    rc, log, steps, logged = chain[2]["term"]
    assert rc == stopping.EXIT_PREEMPTED, log[-3000:]
    m = re.search(r"SIGTERM: stopped after step (\d+) and saved it to (\S+); run the same command", log)
    assert m and 0 < int(m.group(1)) < T and m.group(2) == str(chain[1] / "checkpoints" / m.group(1))
    assert steps[-1] == int(m.group(1)) == logged  # saved == reached == last logged step
    assert "Traceback" not in log


def test_sigkill_keeps_the_log_and_a_checkpoint(chain):
    start, steps, logged = chain[2]["kill"]
    assert steps and steps[-1] >= start and logged >= steps[-1]  # lines were on disk before the kill


def test_kill_during_save_leaves_previous_usable(chain):
    before, saving, names = chain[2]["save"]
    assert saving > before and str(saving) not in names and str(before) in names
    assert any(n.startswith(f"{saving}.orbax-checkpoint-tmp") for n in names)  # the uncommitted save
    rc, log, final = chain[2]["end"]
    assert rc == 0, log[-3000:]
    assert f"start at step {before} (workdir)" in log
    assert not any("tmp" in n for n in final)  # cleaned up when the next run opened the workdir


def test_resumed_params_bit_identical(chain):
    root, work, _, straight = chain
    b = loop.build(tiny_config(**OVERRIDES), str(work), Method)
    assert b["source"] == "workdir" and int(b["state"].step) == T
    b["ckpt"].close()
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(b["state"].params), jax.device_get(straight.params))
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(b["state"].opt_state),
                 jax.device_get(straight.opt_state))


def test_metrics_log_after_resumes(chain):
    root, work, seen, _ = chain
    steps, starts = writers.read_jsonl(str(work / "metrics.jsonl"))
    ref, _ = writers.read_jsonl(str(root / "straight" / "metrics.jsonl"))
    assert sorted(steps) == list(range(1, T + 1))
    strip = lambda d: {k: v for k, v in d.items() if k not in VOLATILE}
    assert all(strip(steps[s]) == strip(ref[s]) for s in ref)  # last value per step == uninterrupted log
    assert [r["start_step"] for r in starts] == [0, seen["kill"][0], seen["save"][0], seen["save"][0]]
    assert all("hparams" in r for r in starts)
