"""K steps of every method's test-size config (tests/methods/fast_train.py) on 8 fake CPU devices;
writes OUT/<method>.npz (params). Driven by test_train_facts.py, which compares them with its
one-device run after the same K steps. Usage: python fast_multidevice_worker.py OUT [METHOD ...]."""
import os
import sys

assert "xla_force_host_platform_device_count=8" in os.environ.get("XLA_FLAGS", ""), "set XLA_FLAGS first"
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".jax_cache"))

import jax  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

from inversion3d.methods import registry  # noqa: E402
from inversion3d.training import loop  # noqa: E402
from tests.methods.fast_train import K, METHODS, config  # noqa: E402
from tests.training.helpers import flat_params  # noqa: E402

out = sys.argv[1]
for name in sys.argv[2:] or METHODS:
    cfg = config(name, total_steps=K, **{"mesh.num_devices": 8, "checkpoint.every": 0})
    state = loop.train_and_evaluate(cfg, os.path.join(out, name), registry.trainer(name))
    np.savez(os.path.join(out, f"{name}.npz"), devices=jax.device_count(), **flat_params(state))
    print(name, "done on", jax.device_count(), "devices", flush=True)
