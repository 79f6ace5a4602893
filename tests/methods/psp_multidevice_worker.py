"""Runs pSp and e4e for 3 steps on 8 fake CPU devices and writes their params (one .npz per
method); driven by test_psp_train.py. Usage: python psp_multidevice_worker.py OUT_DIR."""
import os
import sys

assert "xla_force_host_platform_device_count=8" in os.environ.get("XLA_FLAGS", ""), "set XLA_FLAGS first"

import jax  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")

from inversion3d.methods import registry  # noqa: E402
from inversion3d.training import loop  # noqa: E402
from tests.methods.psp_train_helpers import tiny_config  # noqa: E402
from tests.training.helpers import flat_params  # noqa: E402

OUT = sys.argv[1]
for name in sys.argv[2:] or ("psp", "e4e"):
    config = tiny_config(name, total_steps=3, **{"mesh.num_devices": 8})
    state = loop.train_and_evaluate(config, os.path.join(OUT, name), registry.trainer(name))
    np.savez(os.path.join(OUT, f"{name}.npz"), **flat_params(state))
    print(name, "done on", jax.device_count(), "devices", flush=True)
