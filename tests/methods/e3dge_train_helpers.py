"""The E3DGE test config (configs/e3dge.py at test size) shared by the in-process tests and the
8-device worker, so both compile and run the same step."""
from tests.training.helpers import apply_overrides, load_config

N_STEPS = 3  # step 0: encoder only; 1: both; 2: local only
PHASES = {"phases.add_local": 1, "phases.stop_global": 2}


def config(**overrides):
    cfg = load_config("e3dge")
    settings = {"batch_size": 8, "total_steps": N_STEPS, "mesh.num_devices": 1, "checkpoint.every": 0,
                "checkpoint.keep_best": 0, "logging.log_every": 1, "logging.image_every": 0,
                "logging.tensorboard": False, "distributed.enabled": "no", **PHASES, **overrides}
    return apply_overrides(cfg, settings)
