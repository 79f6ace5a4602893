"""3 E3DGE steps (encoder only, both, local only) on 8 fake CPU devices; writes the params as one
.npz. Driven by test_e3dge_train.py. Usage: python e3dge_multidevice_worker.py OUT_DIR."""
import os
import sys

assert "xla_force_host_platform_device_count=8" in os.environ.get("XLA_FLAGS", ""), "set XLA_FLAGS first"

import jax  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

from inversion3d.methods.e3dge.train import Method  # noqa: E402
from inversion3d.training import loop  # noqa: E402
from tests.methods.e3dge_train_helpers import config  # noqa: E402
from tests.training.helpers import flat_params  # noqa: E402

out = sys.argv[1]
state = loop.train_and_evaluate(config(**{"mesh.num_devices": 8}), os.path.join(out, "run8"), Method)
np.savez(os.path.join(out, "params8.npz"), devices=jax.device_count(), **flat_params(state))
