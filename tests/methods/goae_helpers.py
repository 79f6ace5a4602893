"""Shared pieces of the GOAE training tests (test_goae_train.py and its 8-device worker)."""
import importlib.util
import json
import os

from tests.training.helpers import REPO


def config(stage: int, **overrides):
    """configs/goae_stage{stage}.py at test settings (log every step, no TensorBoard, no best
    checkpoints, single process) with dotted-key overrides."""
    path = REPO / "configs" / f"goae_stage{stage}.py"
    spec = importlib.util.spec_from_file_location(f"goae_stage{stage}_test_config", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cfg = module.get_config()
    cfg.checkpoint.every = 0
    cfg.checkpoint.keep_best = 0
    cfg.logging.log_every = 1
    cfg.logging.image_every = 0
    cfg.logging.tensorboard = False
    cfg.distributed.enabled = "no"
    for key, value in overrides.items():
        node = cfg
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return cfg


def logged(workdir):
    """metrics.jsonl rows with losses, in step order."""
    with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return [r for r in rows if "loss" in r]
