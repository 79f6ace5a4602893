"""In-N-Out at test / demo size (configs/innout.py with tiny step counts and a small OOD field).

  .venv/bin/python -m inversion3d invert clip.mp4 --method innout --generator default \
      --config configs/innout_tiny.py --camera frontal --out out/innout_tiny
Hardware: the 2-core CPU, about a minute for a 4-frame clip of the embedded default generator.
Expected metric: none (a smoke run); tests/methods/test_innout.py measures the tiny runs.
"""
from configs import innout


def get_config():
    config = innout.get_config()
    config.w_avg_samples = 1000  # ours: fewer w-bar samples at test size
    config.log_every = 10
    config.stage_a.init_samples = 16  # ours: test size (spec 2000)
    config.stage_a.init_chunk = 8
    config.stage_a.epochs = 3  # ours: test size (spec 500 per pass)
    config.stage_a.passes = 2
    config.stage_b.plane_resolution = 32  # ours: test size (spec 256)
    config.stage_b.plane_channels = 32  # must equal the generator's plane channels (its SR reads 32)
    config.stage_b.steps = 20  # ours: test size (spec 10000)
    config.stage_c.epochs = 2  # ours: test size (spec 100)
    config.inference.views = 4
    return config
