"""GOAE stage 1 on the embedded `default` generator (the tiny 64-px EG3D of configs/eg3d_gan.py), trained on
its pseudo-pairs + the synthetic train split (issue 17 item 1); with stage 2 shipped as inversion3d/assets/encoders/goae/.

  .venv/bin/inversion3d depth-avg --config configs/default_goae_stage1.py --num 512 --out out/default_depth_avg.json
  .venv/bin/python -m experiments.train --config=configs/default_goae_stage1.py --workdir=out/default_goae1 \
      --config.losses.bg_depth_file=out/default_depth_avg.json [--config.data.folder=/work/data/synth64]
  (all three default encoders in order, exported into the package: make train-default-encoders)
Hardware: the 2-core CPU (any single GPU / TPU host works).
Expected time: 0.645 CPU-seconds a step at batch 4 (measured, steady state, with the packaged generator),
so ~17 min for 1600 steps on an idle 2-core CPU (wall <= CPU time; less where XLA uses both cores),
plus 1-2 min of compilation. The frozen generator's backward pass dominates: the encoder at embed_dim
16 / 32 / 64 measured 0.576 / 0.587 / 0.645 CPU-s a step; 32 is shipped (size, below); a 100-step check run
(heads on at 10 / 20 / 30) measured 0.65-0.69 CPU-s a step.
Expected metric (that check run, mixed data): g/l2 0.162 at step 10 -> 0.099 at step 100 (`loss` 0.203 ->
0.188: the Δw+ term grows as the heads switch on), eval/input/mse 0.072 (step 50) -> 0.063 (step 100).
Everything not set here is configs/goae_stage1.py's (the paper's loss weights, Eq. 10-11; R1 gamma 10 every
16 steps) through configs/default_encoders.py (generator, data, loss networks).
"""
import ml_collections

from configs import default_encoders, goae_stage1

TOTAL_STEPS = 1600  # ~17 min at the measured 0.645 CPU-s a step (docstring); what the shipped encoder trained


def get_config():
    config = default_encoders.apply(goae_stage1.get_config())
    config.total_steps = TOTAL_STEPS
    config.batch_size = 4  # chosen: pSp's batch (training.md §4), as configs/goae_stage1_full.py
    config.model.encoder = ml_collections.ConfigDict(dict(  # GOAEncoder; w_dim comes from the generator
        swin=dict(img_size=64, patch_size=4, in_chans=3,  # the generator's 64 px output, unresized
                  # the release's 128 / (4, 8, 16, 32) quartered (32 dims a head): the Swin costs ~2 % of a
                  # step at 16-64 (measured below), and 32 keeps the shipped file small (2.3 M of 7.2 M params;
                  # the three cross-attention heads at w_dim 512 are 3.9 M whatever the Swin's width)
                  embed_dim=32, num_heads=(1, 2, 4, 8),
                  depths=(2, 2, 2, 2),  # release (2, 2, 18, 2); 18 -> 2 for the 2-core CPU
                  window_size=4,  # 64 px / patch 4 = 16² tokens: 4² windows (release 16 at 64² tokens)
                  mlp_ratio=4.0, pretrained_window_sizes=(3, 3, 3, 2)),  # as configs/goae_stage1.py
        nhead=4,  # CrossAttention heads as the release (encoders.md §1.2)
        dim_feedforward=256))  # release 1024; a quarter (measured cost above is the generator's)
    # The release's stage_list (10k, 20k, 30k) of 100k steps (encoders.md §1.2) at the same fractions
    config.model.stage_thresholds = tuple(int(TOTAL_STEPS * f) for f in (0.1, 0.2, 0.3))
    # D_avg (Eq. 4): the depth-avg JSON of the packaged generator (make train-default-encoders writes it and
    # passes --config.losses.bg_depth_file); without it this number: depth-avg on the 1713-step snapshot
    config.losses.bg_depth_avg = 2.64  # 2.6417 (256 samples, threshold 0.5; 8.8 % of pixels background)
    config.losses.bg_mask_threshold = 0.5  # the depth-avg command's default: a trained generator's opacity is ~0 / ~1
    # chosen: configs/goae_stage1.py's Adam lr 1e-3 (the paper gives none, training.md §5); the encoder trains
    # from scratch in 3.6k steps (the _full config's Ranger 1e-4 is for 100k)
    config.optim.encoder.lr = 1e-3
    config.checkpoint.every = 400
    config.logging.log_every = 50
    config.logging.image_every = 400
    config.eval.every = 400  # held-out pseudo-pairs (configs/runs.py) at each checkpoint
    config.eval.num_batches = 2  # 8 pairs
    return config
