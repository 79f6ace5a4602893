"""GOAE stage 2 at test size: AFA trained through the occlusion-aware mix, the stage-1 encoder
frozen (inversion3d/methods/goae/train_stage2.py), on the embedded tiny EG3D generator.

  .venv/bin/python -m experiments.train --config=configs/goae_stage1.py --workdir=out/goae1
  .venv/bin/python -m experiments.train --config=configs/goae_stage2.py --workdir=out/goae2 \
      --config.init_from=out/goae1
Hardware: the 2-core CPU (or any single GPU / TPU host; multi-device meshes are automatic).
Expected time on the 2-core CPU: about a minute of compilation, then about 0.7 steps/s at batch 2
(measured: 38 steps in 53 s), so about 2 minutes for the default 40 steps.
Expected metric: `loss` (L_rec of the mixed render + 1e-4 ΔF) 2.19 at step 1 -> 0.33 at step 40
(measured, after the default 40-step stage-1 run; random generator weights).
The stage-2 workdir holds both networks (encoder copied from init_from, AFA trained).
Everything not set here is configs/goae_stage1.py's (same generator, data, encoder, logging).
"""
import ml_collections

from configs import goae_stage1


def get_config():
    return stage2(goae_stage1.get_config())


def stage2(config):
    """A stage-1 config -> its stage-2 config (goae_stage2_full.py applies it to goae_stage1_full.py)."""
    config.method = "goae_stage2"
    config.init_from = ""  # the stage-1 workdir (REQUIRED for a real run): its encoder is loaded, then frozen
    config.init_from_nets = ("encoder",)

    del config.model.discriminator, config.model.stage_thresholds  # stage 2 drops D_Wc (§4.5); encoder at stage 3
    config.model.afa = ml_collections.ConfigDict(dict(  # AFA; feature_dim = the generator's b32 channels
        nhead=4,  # as the release (encoders.md §1.3)
        dim_feedforward=64))  # shrunk from 1024 for the test
    config.model.mix_sigma = 1.5  # visibility blur: inference's value (GOAE draws it in [1, 2], visibility.py)

    losses = ml_collections.ConfigDict()
    losses.weights = ml_collections.ConfigDict(dict(
        l2=1.0, lpips=0.8, id=0.25,  # L_rec, GOAE Eq. 10
        f_delta=1e-4))  # lambda_7 ||ΔF||, ΔF = F* - F (GOAE §4.5)
    losses.lpips_weights = config.losses.lpips_weights
    losses.arcface_weights = config.losses.arcface_weights
    losses.resolution = config.losses.resolution
    config.losses = losses

    config.optim = ml_collections.ConfigDict()
    # Not in the paper (training.md §5): chosen. Adam for the test (Ranger lr 1e-4 in _full).
    config.optim.afa = ml_collections.ConfigDict(dict(name="adam", lr=1e-3, b1=0.9, b2=0.999, eps=1e-8,
                                                      schedule="constant", warmup_steps=0, clip_norm=0.0,
                                                      ema_decay=0.0))
    # The frozen encoder: the step never applies its optimiser; sgd keeps no optimiser state.
    config.optim.encoder = ml_collections.ConfigDict(dict(name="sgd", lr=0.0, schedule="constant", ema_decay=0.0))
    return config
