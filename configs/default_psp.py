"""pSp (the baseline encoder) on the embedded `default` generator (the tiny 64-px EG3D of configs/eg3d_gan.py),
trained on its pseudo-pairs + the synthetic train split (issue 17 item 1); shipped as inversion3d/assets/encoders/psp/.

  .venv/bin/python -m experiments.train --config=configs/default_psp.py --workdir=out/default_psp \
      [--config.data.folder=/work/data/synth64]
  (or all three default encoders in order: make train-default-encoders)
Hardware: the 2-core CPU (any single GPU / TPU host works).
Expected time: TIMING
Everything not set here is configs/psp.py's (pSp's loss weights, training.md §4) through
configs/default_encoders.py (generator, data, loss networks).
"""
from configs import default_encoders, psp

TOTAL_STEPS = 4000  # TIMING


def get_config():
    config = default_encoders.apply(psp.get_config())
    config.total_steps = TOTAL_STEPS
    config.batch_size = 4  # pSp's batch (training.md §4)
    config.model.input_size = 64  # the generator's 64 px output, unresized (official: 256 of 1024; a multiple of 16)
    config.model.widths = (32, 32, 64, 64)  # IR-SE-50 body at half / eighth of (64, 128, 256, 512): TIMING
    config.model.style_hidden = 64  # style-block convs (official 512); TIMING
    config.losses.resolution = 64
    config.checkpoint.every = 500
    config.logging.log_every = 50
    config.logging.image_every = 500
    config.eval.every = 500  # held-out pseudo-pairs (configs/runs.py) at each checkpoint
    config.eval.num_batches = 2  # 8 pairs
    return config
