"""The EG3D GAN step on 8 fake CPU devices vs 1 device after 2 steps (SGD, every regulariser on every
step: one compiled variant per mesh); writes results.json. Driven by test_eg3d_gan_train.py.
Usage: python gan_multidevice_worker.py OUT_DIR (XLA_FLAGS must ask for 8 host devices)."""
import json
import os
import pathlib
import sys

assert "xla_force_host_platform_device_count=8" in os.environ.get("XLA_FLAGS", ""), "set XLA_FLAGS first"

import jax  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")

from inversion3d.methods import registry  # noqa: E402
from inversion3d.training import loop  # noqa: E402
from tests.methods.gan_helpers import config, make_folder  # noqa: E402
from tests.training.helpers import flat_params, rel_diff  # noqa: E402

OUT = pathlib.Path(sys.argv[1])
# SGD: Adam would turn rounding-level gradient differences into lr-sized steps (goae worker)
SGD = {"optim.generator.name": "sgd", "optim.discriminator.name": "sgd", "optim.generator.lr": 1e-3,
       "optim.discriminator.lr": 1e-3, "losses.g_reg_every": 1, "losses.r1_every": 1}
folder = OUT / "data"
folder.mkdir(parents=True, exist_ok=True)
make_folder(folder, n=16)
states = {}
for devices in (1, 8):
    cfg = config(folder, total_steps=2, batch_size=8, **{"mesh.num_devices": devices}, **SGD)
    state = loop.train_and_evaluate(cfg, str(OUT / f"run{devices}"), registry.trainer(cfg.method))
    states[devices] = flat_params(state)
res = {"device_count": jax.device_count(), "rel_diff": rel_diff(states[8], states[1])}
with open(OUT / "results.json", "w") as f:
    json.dump(res, f, indent=1)
print(json.dumps(res))
