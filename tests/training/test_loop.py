"""The shared loop on the toy method (1 device): exact resume, resume order, checkpoints, logs."""
import json

import jax
import numpy as np
import pytest

from inversion3d.methods.toy_psp.train import Method
from inversion3d.training import checkpoint, loop
from tests.training.helpers import tiny_config
from tests.training.tb_reader import read_events

N, M = 3, 2
CKPT = {"checkpoint.every": N, "checkpoint.keep": 1, "checkpoint.keep_best": 1, "logging.tensorboard": True,
        "logging.image_every": N, "optim.encoder.name": "ranger", "optim.encoder.lookahead_k": 2,
        "optim.encoder.ema_decay": 0.9}


def _tree(state):
    return jax.tree.map(np.asarray, jax.device_get({"params": state.params, "opt": state.opt_state,
                                                     "stats": state.batch_stats, "ema": state.ema_params,
                                                     "step": state.step}))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("loop")
    first = loop.train_and_evaluate(tiny_config(**CKPT), str(root / "a"), Method)
    first = _tree(first)
    resumed = _tree(loop.train_and_evaluate(tiny_config(**CKPT, total_steps=N + M), str(root / "a"), Method))
    straight = _tree(loop.train_and_evaluate(tiny_config(**CKPT, total_steps=N + M), str(root / "b"), Method))
    return root, first, resumed, straight


def test_resume_is_bit_identical(runs):
    _, _, resumed, straight = runs
    assert int(resumed["step"]) == N + M
    jax.tree.map(np.testing.assert_array_equal, resumed, straight)


def test_checkpoints_keep_last_and_best(runs):
    root = runs[0]
    assert sorted(p.name for p in (root / "a" / "checkpoints").iterdir() if p.name.isdigit()) == [str(N + M)]
    assert len([p for p in (root / "a" / "best").iterdir() if p.name.isdigit()]) == 1
    data = json.loads((root / "a" / "checkpoints" / str(N + M) / "data" / "metadata").read_text())
    assert data == {"position": N + M}


def test_logs_readable_without_tensorflow(runs):
    root = runs[0]
    events = read_events(str(root / "b"))
    losses = [(s, v) for s, t, k, v in events if t == "loss"]
    assert [s for s, _ in losses] == list(range(1, N + M + 1))
    images = [v for s, t, k, v in events if k == "image"]
    assert images and images[0][:8] == b"\x89PNG\r\n\x1a\n"
    rows = [json.loads(line) for line in (root / "b" / "metrics.jsonl").read_text().splitlines()]
    logged = {r["step"]: r["loss"] for r in rows if "loss" in r}
    np.testing.assert_allclose([logged[s] for s, _ in losses], [v for _, v in losses], rtol=1e-6)


def test_resume_order_config_resume_then_init_from(runs, tmp_path):
    root, _, _, straight = runs
    # config.resume: another run's full state + input position -> continues exactly.
    b = loop.build(tiny_config(**CKPT, resume=str(root / "b")), str(tmp_path / "r"), Method)
    assert b["source"] == "resume" and b["data"].get_state() == {"position": N + M}
    jax.tree.map(np.testing.assert_array_equal, _tree(b["state"])["params"], straight["params"])
    # config.init_from: weights only, fresh optimiser and step.
    b = loop.build(tiny_config(**CKPT, init_from=str(root / "b")), str(tmp_path / "i"), Method)
    assert b["source"] == "init_from" and int(b["state"].step) == 0
    jax.tree.map(np.testing.assert_array_equal, _tree(b["state"])["params"], straight["params"])
    assert int(jax.tree.leaves(b["state"].opt_state)[0]) == 0
    # the workdir's own checkpoint wins over both.
    b = loop.build(tiny_config(**CKPT, resume=str(root / "b")), str(root / "a"), Method)
    assert b["source"] == "workdir"


def test_init_from_renames_and_rejects_unknown_nets(runs, tmp_path):
    """init_from_nets 'dst=src' takes this run's dst from the saved run's src; a name that is not a net of
    this run, or a saved net that is missing, is a one-line error."""
    root, _, _, straight = runs
    assert checkpoint.net_pairs(("psp=encoder", "local")) == (("psp", "encoder"), ("local", "local"))
    with pytest.raises(ValueError, match="init_from_nets: expected"):
        checkpoint.net_pairs(("psp=",))
    b = loop.build(tiny_config(**CKPT, init_from=str(root / "b"), init_from_nets=("encoder=encoder",)),
                   str(tmp_path / "i"), Method)
    jax.tree.map(np.testing.assert_array_equal, _tree(b["state"])["params"], straight["params"])
    with pytest.raises(ValueError, match="'psp' is not a net of this run"):
        loop.build(tiny_config(**CKPT, init_from=str(root / "b"), init_from_nets=("psp=encoder",)),
                   str(tmp_path / "j"), Method)
    with pytest.raises(ValueError, match="net 'local' has no params"):
        loop.build(tiny_config(**CKPT, init_from=str(root / "b"), init_from_nets=("encoder=local",)),
                   str(tmp_path / "k"), Method)


def test_metric_averager_accepts_slashes_in_names():
    """Multi-network steps name their scalars 'g/loss', 'psp/l2', ... (not Python identifiers)."""
    avg = loop.MetricAverager()
    avg.add({"g/loss": jax.numpy.asarray(1.0), "loss": jax.numpy.asarray(2.0)})
    avg.add({"g/loss": jax.numpy.asarray(3.0), "loss": jax.numpy.asarray(4.0)})
    assert avg.compute_and_reset() == {"g/loss": 2.0, "loss": 3.0}
