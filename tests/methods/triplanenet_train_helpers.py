"""The TriPlaneNet v2 test config (configs/triplanenet.py at test size) shared by the in-process tests
and the 8-device worker, so both compile and run the same step."""
from tests.training.helpers import apply_overrides, load_config

N_STEPS = 4  # step 0: pSp only; 1: both; 2, 3: tri-plane only
PHASES = {"phases.add_triplanenet": 1, "phases.stop_psp": 2}


def config(**overrides):
    cfg = load_config("triplanenet")
    settings = {"batch_size": 8, "total_steps": N_STEPS, "mesh.num_devices": 1, "checkpoint.every": 0,
                "checkpoint.keep_best": 0, "logging.log_every": 1, "logging.image_every": 0,
                "logging.tensorboard": False, "distributed.enabled": "no", **PHASES, **overrides}
    return apply_overrides(cfg, settings)
