"""In-N-Out on the embedded `default` generator (64 px, 64 x 64 planes) at the budget of the synthetic-multiview
benchmark's other optimisation rows (README: W+ 200 steps, PTI 200 + 200), for its In-N-Out row (issue 17).

  .venv/bin/inversion3d invert data/synth64 --split test --limit 20 --method innout --generator default \
      --config configs/innout_default.py --out runs/bench/innout
Each test image is a 1-frame clip (app/innout_dataset.py); the synthetic scenes have no OOD object, so this
row measures what the composite costs and keeps on in-distribution faces.
Hardware: the 2-core CPU. Expected time: measured in the README's benchmark table (s / image).
Everything not set here is configs/innout.py's (in-n-out.md's values).
"""
from configs import innout


def get_config():
    config = innout.get_config()
    config.w_avg_samples = 2000  # ours: w-bar of the small generator (spec >= 10k), once per run
    config.log_every = 50
    config.stage_a.init_samples = 64  # ours (spec 2000): the nearest-LPIPS start among 64 samples
    config.stage_a.epochs = 100  # ours (spec 500 per pass): 2 passes = the W+ row's 200 steps
    config.stage_b.plane_resolution = 64  # the generator's own plane size (spec 256 = EG3D's planes)
    config.stage_b.steps = 300  # ours (spec 10000)
    config.stage_c.epochs = 50  # ours (spec 100), one frame
    config.inference.views = 4
    return config
