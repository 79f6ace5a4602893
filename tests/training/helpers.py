"""Shared pieces of the training tests: the tiny toy config and param comparison."""
import importlib
import os
import pathlib

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[2]


def load_config(name: str):
    """get_config() of configs/<name>.py (the configs package)."""
    return importlib.import_module(f"configs.{name}").get_config()


def apply_overrides(config, overrides):
    """Sets dotted keys ('a.b': value) in a ConfigDict, in place; returns it."""
    for key, value in overrides.items():
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return config


def tiny_config(**overrides):
    """configs/toy_psp.py at test size: synthetic target, 8x8 images, w+ of 4 x 8, BatchNorm on."""
    config = load_config("toy_psp")
    config.data.source = "synthetic"
    config.data.resolution = 8
    config.model.num_ws, config.model.w_dim, config.model.widths = 4, 8, (8, 16)
    config.batch_size = 8
    config.total_steps = 3
    config.optim.encoder.name = "adam"
    config.optim.encoder.warmup_steps = 0
    config.checkpoint.every = 0
    config.checkpoint.keep_best = 0
    config.checkpoint.async_save = True
    config.logging.log_every = 1
    config.logging.image_every = 0
    config.logging.tensorboard = False
    config.mesh.fsdp_min_size = 64
    config.distributed.enabled = "no"
    return apply_overrides(config, overrides)


def flat_params(state):
    """{'encoder/conv0/kernel': np.ndarray, ...} from a TrainState (fetched to host)."""
    import jax

    from inversion3d.training.sharding import fetch

    leaves = jax.tree_util.tree_flatten_with_path(fetch(state.params))[0]
    return {"/".join(str(getattr(k, "key", k)) for k in path): np.asarray(v) for path, v in leaves}


def step_fed_batches(built, out, n_steps: int):
    """The multi-device workers' run on the one-device run's batches: saves the built loop's own first batch
    as OUT/batch8.npz (the pipeline's check), then steps built['train_step'] on OUT/batches.npz
    ('<step>/<key>' arrays, placed with the pipeline's shardings) and saves OUT/params8.npz."""
    import os

    import jax

    from inversion3d.training import sharding

    own = next(built["data"])
    np.savez(os.path.join(out, "batch8.npz"), **sharding.fetch(own))
    state = built["state"]
    with np.load(os.path.join(out, "batches.npz")) as f:
        for i in range(n_steps):
            batch = {k: jax.device_put(f[f"{i}/{k}"], v.sharding) for k, v in own.items()}
            state, _ = built["train_step"](state, batch, built["frozen"], i)
    np.savez(os.path.join(out, "params8.npz"), devices=jax.device_count(), **flat_params(state))


def run_fed_worker(script: str, out, batches, timeout: int):
    """The one-device run's batches -> OUT/batches.npz, then the 8-device worker `script` (step_fed_batches)
    -> (rel. difference of its pipeline's first batch from batches[0], its params after the fed steps)."""
    import pathlib

    out = pathlib.Path(out)
    np.savez(out / "batches.npz", **{f"{i}/{k}": v for i, batch in enumerate(batches) for k, v in batch.items()})
    run_worker(script, out, timeout=timeout)
    with np.load(out / "batch8.npz") as f:
        first = rel_diff({k: f[k] for k in f.files}, batches[0])
    with np.load(out / "params8.npz") as f:
        assert int(f["devices"]) == 8
        return first, {k: f[k] for k in f.files if k != "devices"}


def max_rel_diff(a, b):
    """max over leaves of ||a - b|| / ||b||."""
    assert sorted(a) == sorted(b)
    return max(float(np.linalg.norm(a[k] - b[k]) / max(np.linalg.norm(b[k]), 1e-30)) for k in a)


def rel_diff(a, b):
    """||a - b|| / ||b|| over all params as one vector."""
    assert sorted(a) == sorted(b)
    num = sum(float(np.sum(np.square(a[k] - b[k]))) for k in a)
    den = sum(float(np.sum(np.square(b[k]))) for k in a)
    return (num / den) ** 0.5


def steps_per_sec(workdir, first=2):
    """Steady-state steps/s from metrics.jsonl (log_every=1), skipping the first (compiling) steps."""
    import json

    with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    times = {r["step"]: r["time"] for r in rows if "loss" in r}
    last = max(times)
    return (last - first) / (times[last] - times[first])


def subprocess_env(num_devices=None):
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO))
    if num_devices:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={num_devices}"
    return env


def run_worker(script: str, out, timeout: int, devices: int = 8):
    """Runs tests/<script> OUT in a subprocess with `devices` fake CPU devices; fails the test with the
    worker's stderr tail when it exits non-zero or runs past `timeout` seconds. Returns OUT/results.json when the worker wrote one."""
    import json
    import subprocess
    import sys

    import pytest

    try:
        proc = subprocess.run([sys.executable, str(REPO / "tests" / script), str(out)], cwd=REPO,
                              env=subprocess_env(devices), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:  # a time limit, not a wrong result: say so, with what it printed
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        pytest.fail(f"{script}: no result within {timeout} s ({devices}-device compiles are minutes each on a "
                    f"loaded 2-core CPU; rerun on a quieter machine):\n{err[-2000:]}")
    if proc.returncode:
        pytest.fail(f"{script} failed:\n{proc.stderr[-4000:]}")
    results = pathlib.Path(out) / "results.json"
    return json.loads(results.read_text()) if results.exists() else None

