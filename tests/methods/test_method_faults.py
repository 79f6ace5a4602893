"""The fault chain of tests/training/test_faults.py on a real method of each step kind, through the real
launcher: pSp (one network) and e4e (encoder + latent discriminator with lazy R1, the GAN step). SIGTERM at a random time saves the step
reached (exit 75); a SIGKILL during a checkpoint save leaves the previous checkpoint usable; the run then
completes bit-identical to an uninterrupted run. Slow: every subprocess compiles the method's step (3 minutes a method on 2 cores)."""
import os
import random
import re
import signal
import time

import jax
import numpy as np
import pytest

from inversion3d.methods import registry
from inversion3d.training import loop, stopping
from tests.methods.psp_train_helpers import tiny_config
from tests.training.helpers import REPO
from tests.training.test_faults import _start, _steps, _wait_for

T, EVERY = 9, 3
OVERRIDES = {"total_steps": T, "checkpoint.every": EVERY, "checkpoint.keep": 2}
CONFIG = str(REPO / "tests" / "methods" / "tiny_psp_e4e_config.py")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["psp", "e4e"])
def test_sigterm_kill_during_save_then_bit_identical(tmp_path, name):
    ENV = {"FAULT_CONFIG": CONFIG, "FAULT_METHOD": name}
    rng, work = random.Random(7), tmp_path / "w"
    proc = _start(work, tmp_path / "term.log", ENV, OVERRIDES)
    _wait_for(proc, tmp_path / "term.log", r"start at step 0 \(scratch\)")
    time.sleep(rng.uniform(0.3, 1.0))
    proc.send_signal(signal.SIGTERM)
    rc, log = proc.wait(timeout=600), (tmp_path / "term.log").read_text()
    assert rc == stopping.EXIT_PREEMPTED, log[-3000:]
    m = re.search(r"SIGTERM: stopped after step (\d+) and saved it", log)
    assert m and _steps(work)[-1] == int(m.group(1)) and "Traceback" not in log

    proc = _start(work, tmp_path / "save.log", dict(ENV, FAULT_FINALIZE_SLEEP="30"), OVERRIDES)
    before = int(_wait_for(proc, tmp_path / "save.log", r"start at step (\d+) \(workdir\)").group(1))
    saving = int(_wait_for(proc, tmp_path / "save.log", r"FINALIZING (\d+)").group(1))
    proc.kill()
    proc.wait(timeout=60)
    names = sorted(os.listdir(work / "checkpoints"))
    assert saving > before and str(saving) not in names and str(before) in names

    proc = _start(work, tmp_path / "end.log", ENV, OVERRIDES)
    assert proc.wait(timeout=900) == 0, (tmp_path / "end.log").read_text()[-3000:]
    assert f"start at step {before} (workdir)" in (tmp_path / "end.log").read_text()

    method = registry.trainer(name)
    straight = loop.train_and_evaluate(tiny_config(name, **{"mesh.num_devices": 1}, **OVERRIDES),
                                       str(tmp_path / "straight"), method)
    b = loop.build(tiny_config(name, **{"mesh.num_devices": 1}, **OVERRIDES), str(work), method)
    assert b["source"] == "workdir" and int(b["state"].step) == T
    b["ckpt"].close()
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(b["state"].params), jax.device_get(straight.params))
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(b["state"].opt_state),
                 jax.device_get(straight.opt_state))
