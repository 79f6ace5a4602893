"""Test-size training configs of every trained method, shared by test_train_facts.py (in process, one
device) and fast_multidevice_worker.py (8 fake devices), so both build the same programs.

The configs' own tiny sizes back-propagate through the tiny generator's 256^2 tri-plane backbone
(minutes a method on 2 cores). Here the generator's planes are 32^2 (8 ws; GOAE: 64^2, 10 ws, since
AFA refines the b32 feature), batch 8 (a multiple of the 8 fake devices), lazy R1 on every step and
every head / delta on from step 0 (e4e, GOAE; their schedules are tested on their own), so each
method compiles one step program per mesh, and one fixed batch (data.num_pairs = 8), so the loss
of the straight run must fall.
GOAE uses SGD: Adam turns rounding-level differences of near-zero gradient coordinates into
lr-sized steps (sign(g) lr), so 8-vs-1 device params would compare the optimiser's noise.
"""
from tests.training.helpers import apply_overrides, load_config

BATCH = 8
K, N = 3, 5  # the straight run checkpoints at K (8 devices vs 1 after K steps) and ends at N
METHODS = ("psp", "e4e", "triplanenet", "goae_stage1", "goae_stage2")
SGD = {"name": "sgd", "schedule": "constant", "ema_decay": 0.0}  # at the config's lr (SGD at 1e-2 diverged)
SETTINGS = {
    "psp": {},
    "e4e": {"discriminator.r1_every": 1, "progressive.every": 0},  # every delta on: one objective
    "triplanenet": {"phases.add_triplanenet": 1, "phases.stop_psp": 2},  # pSp only; both; tri-plane only
    "goae_stage1": {"generator.triplane_resolution": 64, "losses.r1_every": 1, "model.stage_thresholds": (0, 0, 0),
                    "data.resolution": 64, "losses.resolution": 32},
    "goae_stage2": {"generator.triplane_resolution": 64, "data.resolution": 64, "losses.resolution": 32},
}
OPTIMIZERS = {"goae_stage1": ("encoder", "discriminator"), "goae_stage2": ("afa",)}


def config(name: str, **overrides):
    """configs/<name>.py at test size (module doc), single process, log every step, no images /
    TensorBoard / best checkpoints; dotted-key overrides on top."""
    cfg = load_config(name)
    settings = {"batch_size": BATCH, "data.num_pairs": BATCH, "total_steps": N, "generator.triplane_resolution": 32, "mesh.num_devices": 1,
                "checkpoint.every": K, "checkpoint.keep": 2, "checkpoint.keep_best": 0, "logging.log_every": 1,
                "logging.image_every": 0, "logging.tensorboard": False, "distributed.enabled": "no",
                **SETTINGS[name], **overrides}
    for net in OPTIMIZERS.get(name, ()):
        cfg.optim[net] = dict(SGD, lr=float(cfg.optim[net].lr))
    return apply_overrides(cfg, settings)
