"""Test-size pSp / e4e configs (configs/psp.py, configs/e4e.py), shared by test_psp_train.py and
its 8-device worker so that both build the same programs."""
import importlib.util

from tests.training.helpers import REPO

BATCH = 8  # a multiple of the 8 fake devices: the 8-device run and the in-process run share one batch


def tiny_config(name: str, **overrides):
    """configs/<name>.py at test size: batch 8, log every step, no images / TensorBoard / best keeping."""
    spec = importlib.util.spec_from_file_location(f"{name}_test_config", REPO / "configs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config()
    config.batch_size = BATCH
    config.checkpoint.every = 0
    config.checkpoint.keep = 1
    config.checkpoint.keep_best = 0
    config.logging.log_every = 1
    config.logging.image_every = 0
    config.logging.tensorboard = False
    config.distributed.enabled = "no"
    for key, value in overrides.items():
        node = config
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return config
