"""Shared pieces of the GOAE training tests (test_goae_train.py and its 8-device worker)."""
import json
import os

from tests.training.helpers import apply_overrides, load_config


def config(stage: int, **overrides):
    """configs/goae_stage{stage}.py at test settings (log every step, no TensorBoard, no best
    checkpoints, single process) with dotted-key overrides."""
    cfg = load_config(f"goae_stage{stage}")
    cfg.checkpoint.every = 0
    cfg.checkpoint.keep_best = 0
    cfg.logging.log_every = 1
    cfg.logging.image_every = 0
    cfg.logging.tensorboard = False
    cfg.distributed.enabled = "no"
    return apply_overrides(cfg, overrides)


def logged(workdir):
    """metrics.jsonl rows with losses, in step order."""
    with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return [r for r in rows if "loss" in r]
