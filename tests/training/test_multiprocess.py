"""Two local processes (jax.distributed on CPU, coordinator on 127.0.0.1) train the tiny toy
config to the same params as one process, and save one checkpoint together."""
import os
import socket
import subprocess
import sys

import numpy as np

from inversion3d.methods.toy_psp.train import Method
from inversion3d.training import loop
from tests.training.helpers import REPO, flat_params, rel_diff, subprocess_env, tiny_config


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_equal_one(tmp_path):
    port = str(_free_port())
    workdir = tmp_path / "mp"
    procs = [subprocess.Popen([sys.executable, str(REPO / "tests" / "training" / "multiprocess_worker.py"),
                               str(i), "2", port, str(workdir), str(tmp_path / f"p{i}.npz")],
                              cwd=REPO, env=subprocess_env(1), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for i in range(2)]
    try:
        logs = [p.communicate(timeout=300)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-4000:]
    single = flat_params(loop.train_and_evaluate(tiny_config(**{"mesh.num_devices": 1}), str(tmp_path / "one"), Method))
    for i in range(2):
        with np.load(tmp_path / f"p{i}.npz") as f:
            assert rel_diff(dict(f), single) <= 1e-6
    assert (workdir / "checkpoints" / "3").is_dir()
    assert os.path.exists(workdir / "metrics.jsonl")  # written by process 0 only
    assert "start at step 0" in logs[0] and "start at step 0" not in logs[1]
