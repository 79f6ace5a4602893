"""e4e (the editing-oriented baseline encoder) on the embedded `default` generator (the tiny 64-px EG3D of
configs/eg3d_gan.py), trained on its pseudo-pairs + the synthetic train split (issue 17 item 1), for the
synthetic-multiview benchmark's e4e row (README). Not shipped: `--encoder WORKDIR` runs it.

  .venv/bin/python -m experiments.train --config=configs/default_e4e.py --workdir=out/default_e4e \
      [--config.data.folder=/work/data/synth64]
  .venv/bin/inversion3d invert data/synth64 --split test --method e4e --encoder out/default_e4e --out runs/e4e
Hardware: the 2-core CPU (any single GPU / TPU host works).
Expected time and metric: measured in the README's benchmark section (2000 steps at batch 4; a step is
configs/default_psp.py's plus a latent-discriminator update).
Everything not set here is configs/e4e.py's (e4e's loss weights and discriminator, training.md §4)
through configs/default_encoders.py (generator, data, loss networks) and configs/default_psp.py (sizes).
"""
from configs import default_psp, e4e

TOTAL_STEPS = 2000  # as configs/default_psp.py, so the two baselines are compared at equal training


def get_config():
    config = e4e.add_e4e(default_psp.get_config())  # default_psp's sizes, lr, data; e4e's losses and D
    config.total_steps = TOTAL_STEPS
    # The official schedule (w only until step 20000, then one more delta every 2000: training.md §4)
    # scaled to 2000 steps: w only for the first 10 %, then a delta every 100 steps, so every delta of
    # the generator's w+ rows is on by ~65 % of the run and trains for the rest
    config.progressive.start = TOTAL_STEPS // 10
    config.progressive.every = 100
    return config
