"""Test-size pSp / e4e configs (configs/psp.py, configs/e4e.py), shared by test_psp_train.py and
its 8-device worker so that both build the same programs."""
from tests.training.helpers import apply_overrides, load_config

BATCH = 8  # a multiple of the 8 fake devices: the 8-device run and the in-process run share one batch


def tiny_config(name: str, **overrides):
    """configs/<name>.py at test size: batch 8, log every step, no images / TensorBoard / best keeping."""
    config = load_config(name)
    config.batch_size = BATCH
    config.checkpoint.every = 0
    config.checkpoint.keep = 1
    config.checkpoint.keep_best = 0
    config.logging.log_every = 1
    config.logging.image_every = 0
    config.logging.tensorboard = False
    config.distributed.enabled = "no"
    return apply_overrides(config, overrides)
