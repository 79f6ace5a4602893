"""3 E3DGE steps (encoder only, both, local only) on 8 fake CPU devices, on the batches the one-device run
stepped (OUT/batches.npz, written by test_e3dge_train.py); writes the params (OUT/params8.npz) and the
8-device input pipeline's own first batch (OUT/batch8.npz). Usage: python e3dge_multidevice_worker.py OUT_DIR.

The batches are fed, not drawn: the pseudo-pairs are rendered by the generator under the mesh's sharding,
so the two runs' pairs agree to float32 error (~1e-6) but not bit for bit, and the tiny random encoder
(BatchNorm over 8 rows) turns that into gradients ~5e-4 apart (measured); the test compares the pipeline
and the step separately."""
import os
import sys

assert "xla_force_host_platform_device_count=8" in os.environ.get("XLA_FLAGS", ""), "set XLA_FLAGS first"

import jax  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

from inversion3d.methods.e3dge.train import Method  # noqa: E402
from inversion3d.training import loop  # noqa: E402
from tests.methods.e3dge_train_helpers import N_STEPS, config  # noqa: E402
from tests.training.helpers import step_fed_batches  # noqa: E402

out = sys.argv[1]
step_fed_batches(loop.build(config(**{"mesh.num_devices": 8}), os.path.join(out, "run8"), Method), out, N_STEPS)
