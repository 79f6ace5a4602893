"""Three facts for every trained method (pSp, e4e, TriPlaneNet v2, GOAE stage 1 and 2) at test size
(tests/methods/fast_train.py: 32^2 / 64^2 tri-planes, batch 8 of one fixed pool of pseudo-pairs):
  - the straight run's loss falls and every logged term is finite;
  - stop + resume == straight run, bit for bit (params, optimiser state, batch stats, step);
  - 8 fake devices == 1 device after K steps (float32 tolerances).
Per method one straight run (checkpoints at K and N) and one resumed run: the straight run's
workdir copied without checkpoint N, so the loop restores the checkpoint a stop at K writes and
runs K..N (the same programs: the resumed run hits the persistent compilation cache). The 8-device
runs of every method share one subprocess (fast_multidevice_worker.py).
The long tiny runs (dozens of steps, schedules crossing their boundaries) stay in
test_{psp,goae,triplanenet}_train.py, marked slow.
"""
import json
import math
import shutil

import jax
import numpy as np
import pytest

from inversion3d.methods import registry
from inversion3d.training import checkpoint, loop
from tests.methods.fast_train import K, METHODS, N, config
from tests.training.helpers import flat_params, rel_diff, run_worker

# 8 devices vs 1 after K steps, all params as one vector, relative: batch reductions (BatchNorm
# statistics, the loss mean) run in another order, so they differ by rounding; Adam / Ranger (pSp,
# e4e, TriPlaneNet) amplify rounding of near-zero gradient coordinates in their first steps.
# Seen green so far: the others (TriPlaneNet) run under `make test-slow` until they are
# (their in-process runs and the 8-device worker were not finished on the shared 2-core machine).
IN_MAKE_TEST = ("psp", "e4e", "goae_stage1", "goae_stage2")
PARAMS = [m if m in IN_MAKE_TEST else pytest.param(m, marks=pytest.mark.slow) for m in METHODS]
TOL = {"psp": 1e-5, "e4e": 1e-5, "triplanenet": 1e-5, "goae_stage1": 1e-6, "goae_stage2": 1e-6}


def _tree(state):
    return jax.tree.map(np.asarray, jax.device_get({"params": state.params, "opt": state.opt_state,
                                                     "stats": state.batch_stats, "step": state.step}))


def _rows(workdir):
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    by_step = {r["step"]: r for r in rows if "loss" in r}  # last record per step wins (writers.py)
    return [by_step[s] for s in sorted(by_step)]


@pytest.fixture(scope="module", params=PARAMS)
def run(request, tmp_path_factory):
    name = request.param
    root = tmp_path_factory.mktemp(name)
    cls = registry.trainer(name)
    straight = loop.train_and_evaluate(config(name), str(root / "straight"), cls)
    stopped = root / "stopped"
    shutil.copytree(root / "straight", stopped)
    shutil.rmtree(stopped / "checkpoints" / str(N))
    resumed = loop.train_and_evaluate(config(name), str(stopped), cls)
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), straight)
    at_k, _, step = checkpoint.restore(str(root / "straight" / "checkpoints"), abstract, step=K)
    assert step == K
    rows = _rows(root / "straight")
    print(f"{name}: loss {[round(r['loss'], 4) for r in rows]}")
    return dict(name=name, final=flat_params(straight), straight=_tree(straight), resumed=_tree(resumed), at_k=flat_params(at_k), rows=rows,
                resumed_rows=_rows(stopped))


def test_loss_falls_and_terms_finite(run):
    rows = run["rows"]
    assert [r["step"] for r in rows] == list(range(1, N + 1))
    for r in rows:
        bad = {k: v for k, v in r.items() if isinstance(v, float) and not math.isfinite(v)}
        assert not bad, (r["step"], bad)
    losses = [r["loss"] for r in rows]
    assert losses[-1] < losses[0], losses


def test_resume_equals_straight_run(run):
    assert int(run["resumed"]["step"]) == int(run["straight"]["step"]) == N
    jax.tree.map(np.testing.assert_array_equal, run["resumed"], run["straight"])
    # the resumed run really restarted at K: its own rows K+1..N equal the straight run's losses
    assert [r["loss"] for r in run["resumed_rows"][K:]] == [r["loss"] for r in run["rows"][K:]]


def test_afa_stage_keeps_the_encoder_frozen(run):
    """Steps K..N move AFA but not the encoder (its optimiser is never applied)."""
    if run["name"] != "goae_stage2":
        pytest.skip("goae_stage2 only")
    at_k, final = run["at_k"], run["final"]
    assert any(k.startswith("encoder/") for k in final)
    for k in final:
        same = np.array_equal(at_k[k], final[k])
        assert same if k.startswith("encoder/") else True, k
    assert any(not np.array_equal(at_k[k], final[k]) for k in final if k.startswith("afa/"))


@pytest.fixture(scope="module")
def eight_devices(tmp_path_factory):
    out = tmp_path_factory.mktemp("fast_multidevice")
    run_worker("methods/fast_multidevice_worker.py", out, timeout=1200)
    return out


@pytest.mark.slow  # the one worker for all five methods has not been run to the end yet (see IN_MAKE_TEST)
def test_eight_devices_equal_one_device(run, eight_devices):
    with np.load(eight_devices / f"{run['name']}.npz") as f:
        assert int(f["devices"]) == 8
        eight = {k: f[k] for k in f.files if k != "devices"}
    one = run["at_k"]
    assert sorted(eight) == sorted(one)
    diff = rel_diff(eight, one)
    print(run["name"], f"8 vs 1 device after {K} steps: rel {diff:.2e}")
    assert diff <= TOL[run["name"]]
