"""One process of a 2-process jax.distributed CPU run of the tiny toy config (test_multiprocess.py).

Usage: python multiprocess_worker.py PROCESS_ID NUM_PROCESSES PORT WORKDIR OUT_NPZ
"""
import sys

import jax
import numpy as np

jax.config.update("jax_default_matmul_precision", "highest")

from inversion3d.methods.toy_psp.train import Method  # noqa: E402
from inversion3d.training import loop  # noqa: E402
from tests.training.helpers import flat_params, tiny_config  # noqa: E402

pid, nproc, port, workdir, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
config = tiny_config(**{"distributed.enabled": "yes", "distributed.coordinator_address": f"127.0.0.1:{port}",
                        "distributed.num_processes": nproc, "distributed.process_id": pid,
                        "checkpoint.every": 3})
state = loop.train_and_evaluate(config, workdir, Method)
assert jax.process_count() == nproc and jax.device_count() == nproc
np.savez(out, **flat_params(state))
jax.distributed.shutdown()
