"""The loop's periodic held-out evaluation (training/evaluation.py) on the toy method with an
`evaluate` hook: every `eval.every` steps (not otherwise) the mean of each scalar over the held-out
batches lands in metrics.jsonl as `eval/<name>`, and the held-out pairs are not the training pairs."""
import json

import jax.numpy as jnp
import numpy as np

from inversion3d.methods.toy_psp.train import Method as Toy
from inversion3d.training import evaluation, loop
from tests.training.helpers import tiny_config


class ToyWithEval(Toy):
    def evaluate(self, state, batch, frozen):
        cols = self.visualize(state, batch, frozen, batch["image"].shape[0])
        return {"input/mse": jnp.mean(jnp.square(cols[1] - cols[0]))}, cols[:2]


def test_eval_every_writes_means_of_held_out_batches(tmp_path):
    config = tiny_config(total_steps=4, **{"eval.every": 2, "eval.batch_size": 4, "eval.num_batches": 2})
    state = loop.train_and_evaluate(config, str(tmp_path), ToyWithEval)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "eval/input/mse" in r]
    assert [r["step"] for r in evals] == [2, 4]
    b = loop.build(config, str(tmp_path), ToyWithEval)  # the same held-out pairs (no checkpoint: step 0)
    assert len(b["held_out"]) == 2 and b["held_out"][0]["image"].shape[0] == 4
    scalars, grid = evaluation.run(b["evaluate"], state, b["frozen"], b["held_out"])  # the trained state
    per_batch = [float(b["method"].evaluate(state, h, b["frozen"])[0]["input/mse"]) for h in b["held_out"]]
    np.testing.assert_allclose(scalars["eval/input/mse"], np.mean(per_batch), rtol=1e-5)
    np.testing.assert_allclose(evals[-1]["eval/input/mse"], np.mean(per_batch), rtol=1e-5)
    assert grid.dtype == np.uint8 and grid.shape[1] == 2 * grid.shape[0] // 4
    train = next(b["data"])["image"]  # the next training batch: other pairs than the held-out ones
    assert not np.allclose(np.asarray(train[:4]), np.asarray(b["held_out"][0]["image"]))
