"""The Dual Encoder test config (configs/dual.py at test size) shared by the in-process tests and the
8-device worker, so both compile and run the same step."""
from tests.training.helpers import apply_overrides, load_config

N_STEPS = 3  # R1 every 2 steps: steps 0 and 2 run the R1 variant, step 1 the plain one


def config(**overrides):
    cfg = load_config("dual")
    settings = {"batch_size": 8, "total_steps": N_STEPS, "mesh.num_devices": 1, "checkpoint.every": 0,
                "checkpoint.keep_best": 0, "logging.log_every": 1, "logging.image_every": 0,
                "logging.tensorboard": False, "distributed.enabled": "no", "losses.r1_every": 2,
                "data.synthetic_ratio": 0.25, **overrides}
    return apply_overrides(cfg, settings)
