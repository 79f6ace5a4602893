"""configs/psp.py or configs/e4e.py at test size (tests/methods/psp_train_helpers.tiny_config; which one:
$FAULT_METHOD) as a config file for experiments/train.py: the fault chain runs the real launcher on a real
single-network step (pSp) and a multi-network GAN step (e4e)."""
import os

from tests.methods.psp_train_helpers import tiny_config


def get_config():
    return tiny_config(os.environ.get("FAULT_METHOD", "e4e"), **{"mesh.num_devices": 1})
