"""Embedded default for `make demo`: a seeded tiny EG3D generator (random weights) rendered at a few yaws.

  .venv/bin/python -m inversion3d demo --config configs/demo.py --out out/demo
  .venv/bin/python -m inversion3d demo --config configs/demo.py --config.seed=3
Hardware: the 2-core CPU; about a minute including compilation. Output: out/demo/grid.png (images),
out/demo/depth.png (colour-mapped depth) and one PNG per view. Random weights give abstract
shapes, not faces, until this project ships a trained default.
"""
import ml_collections

from configs import generators


def get_config():
    config = ml_collections.ConfigDict(generators.generator_fields("eg3d", generators.eg3d_init_kwargs()))
    config.update(generators.sample_fields(pivot=(0.0, 0.0, 0.2)))
    config.num_samples = 2  # latent seeds 0..num_samples-1, one row each
    config.yaws_deg = (-35.0, -17.5, 0.0, 17.5, 35.0)  # yaw offsets from the frontal view
    config.pitch_deg = 0.0

    # `inversion3d demo` / `make demo`: the main job (app/demo_pipeline.py); <= 5 min on a 2-core CPU
    config.generator = "default"  # the generator inverted into (issue 16: the trained tiny EG3D once shipped)
    config.scenes = 4  # packaged synthetic test scenes (inversion3d/assets/demo_scenes) inverted, at most 4
    config.photo = True  # also scikit-image's astronaut, aligned by `preprocess` (out of domain, no ground truth)
    config.encoders = ("goae", "psp")  # packaged encoders used when shipped (assets/encoders/<method>)
    # ours, for the 5-minute budget: configs/pti.py runs 500 pivot + 350 tuning steps and configs/wplus.py
    # takes w statistics from 10000 z; at 64 px the MSE stops falling fast after ~100 + 50 (measured)
    config.pivot_steps = 100  # W+ (the PTI pivot)
    config.tune_steps = 50  # PTI generator tuning
    config.w_avg_samples = 2000
    config.lpips = ""  # LPIPS weights folder (as `invert --lpips`): the loss and a metric column; none ship
    config.orbit_frames = 24  # orbit video per result (`render --orbit yaw`)
    config.fps = 12
    config.shape_resolution = 64  # density grid of the PTI mesh (`render --shape-res`)
    # ours: the tiny 64 px GAN's densities peak at ~4-7 (measured on its step-1713 snapshot), below the
    # official iso-level 10 (rendering/shapes.py), which its surfaces never cross
    config.shape_level = 2.0
    config.edit = ml_collections.ConfigDict()  # app/demo_edit.py: a direction trained on the fly
    config.edit.enabled = True
    config.edit.samples = 256  # generator samples scored by their face lightness (InterFaceGAN: 10000)
    config.edit.batch = 32  # samples per compiled call
    config.edit.truncation_psi = 0.7  # the samples' truncation (gen_samples default)
    config.edit.chosen_ratio = 0.1  # top / bottom 10 % = 26 + 26 (InterFaceGAN keeps 2 % of 10000 samples)
    config.edit.seed = 0
    config.edit.strengths = (-3.0, 0.0, 3.0)  # In-N-Out's latent_editor range (configs/editing.py)
    config.edit.frames = 24  # orbit video of the strongest edit
    return config
