"""GOAE steps on 8 fake CPU devices vs 1 device after 3 steps (SGD), one run per step kind
(stage 1's encoder + D + R1 step, stage 2's AFA step); writes results.json. Driven by test_goae_train.py.
Usage: python goae_multidevice_worker.py OUT_DIR (XLA_FLAGS must ask for 8 host devices)."""
import json
import os
import sys

assert "xla_force_host_platform_device_count=8" in os.environ.get("XLA_FLAGS", ""), "set XLA_FLAGS first"

import jax  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")

from inversion3d.methods import registry  # noqa: E402
from inversion3d.training import loop  # noqa: E402
from tests.methods.goae_helpers import config, logged  # noqa: E402
from tests.training.helpers import flat_params, rel_diff  # noqa: E402

OUT = sys.argv[1]
FLOOR = 1e-6
# r1_every = 1: every step is the R1 variant, which runs all three updates (one compile per mesh);
# thresholds (1, 2, 3): the three steps run progressive stages 0, 1, 2 (the heads switching on)
# SGD: Adam would turn rounding-level differences of near-zero gradient coordinates into lr-sized
# steps (sign(g) lr early on), so its params compare the optimiser's noise, not the step's gradients.
SGD = {"optim.encoder.name": "sgd", "optim.discriminator.name": "sgd"}
KINDS = {"stage1": (1, {"losses.r1_every": 1, "model.stage_thresholds": (1, 2, 3), **SGD}),
         "stage2": (2, {"optim.afa.name": "sgd"})}

res = {"device_count": jax.device_count()}
for name, (stage, extra) in KINDS.items():
    states = {}
    for devices in (1, 8):
        cfg = config(stage, total_steps=3, batch_size=8, **{"mesh.num_devices": devices}, **extra)
        states[devices] = flat_params(loop.train_and_evaluate(cfg, os.path.join(OUT, f"{name}_{devices}"),
                                                              registry.trainer(cfg.method)))
    res[name] = rel_diff(states[8], states[1])
    # per leaf relative to max(||leaf||, FLOOR): a leaf at rounding level (e.g. a BatchNorm bias of
    # AFA whose gradient is ~0, ||leaf|| ~ 1e-11) has no meaningful relative error
    diffs = {k: np.linalg.norm(states[8][k] - states[1][k]) / max(np.linalg.norm(states[1][k]), FLOOR)
             for k in states[1]}
    worst = max(diffs, key=diffs.get)
    res[name + "_max_leaf"], res[name + "_worst_leaf"] = float(diffs[worst]), worst
    if name == "stage1":
        rows = logged(os.path.join(OUT, f"{name}_1"))
        res["stage1_stages"] = [r["progressive_stage"] for r in rows]
        res["stage1_wplus_delta"] = [r["g/wplus_delta"] for r in rows]
with open(os.path.join(OUT, "results.json"), "w") as f:
    json.dump(res, f, indent=1)
print(json.dumps(res))
