"""The TriPlaneNet v2 test config (configs/triplanenet.py at test size) shared by the in-process tests
and the 8-device worker, so both compile and run the same step."""
import importlib.util

from tests.training.helpers import REPO

N_STEPS = 4  # step 0: pSp only; 1: both; 2, 3: tri-plane only
PHASES = {"phases.add_triplanenet": 1, "phases.stop_psp": 2}


def config(**overrides):
    spec = importlib.util.spec_from_file_location("triplanenet_config", REPO / "configs" / "triplanenet.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cfg = module.get_config()
    settings = {"batch_size": 8, "total_steps": N_STEPS, "mesh.num_devices": 1, "checkpoint.every": 0,
                "checkpoint.keep_best": 0, "logging.log_every": 1, "logging.image_every": 0,
                "logging.tensorboard": False, "distributed.enabled": "no", **PHASES, **overrides}
    for key, value in settings.items():
        node = cfg
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return cfg
