"""helpers.tiny_config() as a config file for experiments/train.py (fault tests run the real launcher)."""
from tests.training.helpers import tiny_config


def get_config():
    return tiny_config()
