"""Runs the 8-fake-device checks in a fresh process (XLA_FLAGS set before JAX starts) and writes
one JSON of results; driven by test_sharding.py. Usage: python multidevice_worker.py OUT_DIR."""
import json
import os
import sys
import time

assert "xla_force_host_platform_device_count=8" in os.environ.get("XLA_FLAGS", ""), "set XLA_FLAGS first"

import jax  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")

from inversion3d.methods.toy_psp.train import Method  # noqa: E402
from inversion3d.training import loop  # noqa: E402
from tests.training.helpers import flat_params, max_rel_diff, rel_diff, steps_per_sec, tiny_config  # noqa: E402

OUT = sys.argv[1]


def run(name, **overrides):
    return loop.train_and_evaluate(tiny_config(**overrides), os.path.join(OUT, name), Method)


def sharded_leaves(state):
    return sum(any(a is not None for a in x.sharding.spec) for x in jax.tree.leaves(state.params))


def compare(res, name, state, ref):
    a, b = flat_params(state), flat_params(ref)
    res[name], res[name + "_max_leaf"] = rel_diff(a, b), max_rel_diff(a, b)


res = {"device_count": jax.device_count()}
ckpt = {"checkpoint.every": 3}
single = run("single", **{"mesh.num_devices": 1}, **ckpt)
for name, over in {"jit8": {}, "fsdp8": {"mesh.fsdp": True, **ckpt}, "shard_map8": {"mesh.mode": "shard_map"}}.items():
    state = run(name, **{"mesh.num_devices": 8, **over})
    compare(res, name, state, single)
    res[name + "_sharded_leaves"] = sharded_leaves(state)
    if name == "fsdp8":
        fsdp8 = state

# Save on 8 devices (FSDP) -> restore on 1; save on 1 -> restore on 8 (FSDP).
t0 = time.time()
on_1 = loop.build(tiny_config(**{"mesh.num_devices": 1}), os.path.join(OUT, "fsdp8"), Method)
res["restore_8_to_1_sec"] = time.time() - t0
res["restore_8_to_1_source"] = on_1["source"]
res["restore_8_to_1"] = rel_diff(flat_params(on_1["state"]), flat_params(fsdp8))
res["restore_8_to_1_devices"] = len(jax.tree.leaves(on_1["state"].params)[0].sharding.device_set)
on_8 = loop.build(tiny_config(**{"mesh.num_devices": 8, "mesh.fsdp": True}), os.path.join(OUT, "single"), Method)
res["restore_1_to_8"] = rel_diff(flat_params(on_8["state"]), flat_params(single))
res["restore_1_to_8_sharded_leaves"] = sharded_leaves(on_8["state"])
res["checkpoint_bytes"] = sum(os.path.getsize(os.path.join(d, f))
                              for d, _, fs in os.walk(os.path.join(OUT, "fsdp8", "checkpoints", "3")) for f in fs)

# Continue the 8-device run for 2 more steps on 1 device == 5 uninterrupted steps.
continued = run("fsdp8", **{"mesh.num_devices": 1, "total_steps": 5})
full1 = run("full1", **{"mesh.num_devices": 1, "total_steps": 8})
full8 = run("full8", **{"mesh.num_devices": 8, "total_steps": 8})
res["steps_per_sec_1"] = steps_per_sec(os.path.join(OUT, "full1"))
res["steps_per_sec_8"] = steps_per_sec(os.path.join(OUT, "full8"))
five = run("five1", **{"mesh.num_devices": 1, "total_steps": 5})
compare(res, "resume_8_to_1_vs_full", continued, five)
with open(os.path.join(OUT, "results.json"), "w") as f:
    json.dump(res, f, indent=1)
print(json.dumps(res))
