"""e4e (Tov et al. 2021) on EG3D, tiny: configs/psp.py with the Encoder4Editing encoder, progressive
deltas, the delta regulariser and the latent discriminator (inversion3d/methods/psp/train.py).

  .venv/bin/python experiments/train.py --config configs/e4e.py --workdir out/e4e
  .venv/bin/python experiments/train.py --config configs/e4e.py --workdir out/e4e --config.losses.w_discriminator=0
Hardware: the 2-core CPU (any single GPU / TPU host works).
Expected time on the 2-core CPU: 2 to 4 min of compilation (two step variants: with and without
R1), then about 2 s a step at batch 4 (measured 0.5 steps/s beside ~6 other jobs; a step is pSp's
plus a second encoder forward for the D update).
Expected metric: the encoder's loss (g/loss = l2 + 0.8 lpips + 2e-4 delta_reg + 0.1 w_discriminator)
1.00 at step 1 -> 0.37 at step 40, mean of the first / last 10 steps 0.67 -> 0.45; stage 0 -> 13
(all deltas from step 26); d/loss 1.42 -> 0.89 (measured).
Tiny schedule: a new delta every 2 steps from step 2 (official: from 20000, every 2000) and R1 every
4 steps (official 16), so a short run crosses every stage and several R1 steps.
configs/e4e_full.py has the paper's sizes.
"""
from configs import psp


def add_e4e(config):
    """pSp config -> e4e: the official values of training.md §4 / encoders.md §3, §5.1 (in place)."""
    import ml_collections

    config.method = "e4e"
    config.model.name = "e4e"  # Encoder4Editing: w0 + per-row deltas (encoders.md §3)
    config.losses.id = 0.1  # training.md §4 (e4e id_lambda default 0.1)
    config.losses.delta_reg = 2e-4  # training.md §4 (delta_norm_lambda, L2 norm: delta_norm 2)
    config.losses.w_discriminator = 0.1  # training.md §4 (w_discriminator_lambda, e4e README 0.1)
    config.progressive = ml_collections.ConfigDict()
    config.progressive.start = 20000  # e4e README: --progressive_start 20000 (w only before it)
    config.progressive.every = 2000  # training.md §4 (progressive_step_every 2000)
    config.discriminator = ml_collections.ConfigDict()
    config.discriminator.n_mlp = 4  # encoders.md §5.1 LatentCodesDiscriminator(512, 4)
    config.discriminator.r1_gamma = 10.0  # training.md §4 (r1 10)
    config.discriminator.r1_every = 16  # training.md §4 (d_reg_every 16)
    config.optim.discriminator = ml_collections.ConfigDict(dict(  # training.md §4: Adam lr 2e-5
        name="adam", lr=2e-5, b1=0.9, b2=0.999, eps=1e-8, schedule="constant", warmup_steps=0,
        clip_norm=0.0, ema_decay=0.0))  # torch Adam defaults (betas (0.9, 0.999), eps 1e-8)
    return config


def get_config():
    config = add_e4e(psp.get_config())
    config.progressive.start = 2  # tiny (see the docstring)
    config.progressive.every = 2
    config.discriminator.r1_every = 4
    return config
