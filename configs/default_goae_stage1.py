"""GOAE stage 1 on the embedded `default` generator (the tiny 64-px EG3D of configs/eg3d_gan.py), trained on
its pseudo-pairs + the synthetic train split (issue 17 item 1); shipped as inversion3d/assets/encoders/goae/.

  .venv/bin/inversion3d depth-avg --config configs/default_goae_stage1.py --num 256 --out out/default_goae1/depth_avg.json
  .venv/bin/python -m experiments.train --config=configs/default_goae_stage1.py --workdir=out/default_goae1 \
      --config.losses.bg_depth_file=out/default_goae1/depth_avg.json [--config.data.folder=/work/data/synth64]
  (or all three encoders in order: make train-default-encoders)
Hardware: the 2-core CPU (any single GPU / TPU host works).
Expected time: SEE_TIMING
Everything not set here is configs/goae_stage1.py's (the paper's loss weights, Eq. 10-11) through
configs/default_encoders.py (generator, data, loss networks).
"""
from configs import default_encoders, goae_stage1

TOTAL_STEPS = 0  # SET BY MEASUREMENT


def get_config():
    config = default_encoders.apply(goae_stage1.get_config())
    return config
