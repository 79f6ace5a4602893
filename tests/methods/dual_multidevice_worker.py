"""3 Dual Encoder steps (E1, E2 + D, R1 at steps 0 and 2) on 8 fake CPU devices, on the batches the
one-device run stepped (OUT/batches.npz, written by test_dual_train.py); writes the params (OUT/params8.npz)
and the 8-device input pipeline's own first batch (OUT/batch8.npz), which the test compares separately
(tests/methods/e3dge_multidevice_worker.py says why). Usage: python dual_multidevice_worker.py OUT_DIR."""
import os
import sys

assert "xla_force_host_platform_device_count=8" in os.environ.get("XLA_FLAGS", ""), "set XLA_FLAGS first"

import jax  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

from inversion3d.methods.dual.train import Method  # noqa: E402
from inversion3d.training import loop  # noqa: E402
from tests.methods.dual_train_helpers import N_STEPS, config  # noqa: E402
from tests.training.helpers import step_fed_batches  # noqa: E402

out = sys.argv[1]
step_fed_batches(loop.build(config(**{"mesh.num_devices": 8}), os.path.join(out, "run8"), Method), out, N_STEPS)
