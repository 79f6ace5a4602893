"""experiments/train.py with the test's JAX settings, for the fault tests (test_faults.py).

Usage: python fault_worker.py WORKDIR [--config.x=v ...]   (config: $FAULT_CONFIG, by default
tests/training/tiny_toy_config.py)
With FAULT_FINALIZE_SLEEP=S, every checkpoint is held S seconds after its files are written and
before Orbax renames its temporary folder to `<step>` (the commit), and "FINALIZING <step>" is
printed then: a kill on that line lands inside a save.
"""
import asyncio
import os
import runpy
import sys

import jax

jax.config.update("jax_default_matmul_precision", "highest")  # as tests/conftest.py
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

delay = float(os.environ.get("FAULT_FINALIZE_SLEEP", 0))
if delay:
    from orbax.checkpoint._src.path import atomicity

    finalize = atomicity.AtomicRenameTemporaryPath.finalize

    async def slow_finalize(self, *args, **kwargs):
        if self._final_path.name.isdigit():  # the step folder (its items are committed first)
            print(f"FINALIZING {self._final_path.name}", file=sys.stderr, flush=True)
            await asyncio.sleep(delay)
        return await finalize(self, *args, **kwargs)

    atomicity.AtomicRenameTemporaryPath.finalize = slow_finalize

repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
config = os.environ.get("FAULT_CONFIG", os.path.join(repo, "tests", "training", "tiny_toy_config.py"))
sys.argv = [os.path.join(repo, "experiments", "train.py"), "--config", config, "--workdir", sys.argv[1], *sys.argv[2:]]
runpy.run_path(sys.argv[0], run_name="__main__")
