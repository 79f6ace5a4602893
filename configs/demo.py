"""The embedded `default` generator and how `make demo` samples it: the tiny EG3D trained by this project
(configs/eg3d_gan.py on the procedural heads of /work/data/synth64, G_ema exported into the package,
inversion3d/assets/generators/default; README "The embedded default generator") rendered at a few yaws.

  .venv/bin/python -m inversion3d demo --config configs/demo.py --out out/demo
  .venv/bin/python -m inversion3d demo --config configs/demo.py --config.num_samples=4
Hardware: the 2-core CPU; under a minute including compilation. Output: out/demo/grid.png (images, 64 px),
out/demo/depth.png (colour-mapped depth) and one PNG per view. The generator's fields (init_kwargs,
neural rendering resolution) are the GAN run's, so the packaged arrays fit them; rendering entries
(depth samples, ray_chunk, neural_rendering_resolution) may be overridden, shapes may not.
"""
import ml_collections

from configs import eg3d_gan, generators
from inversion3d import assets


def get_config():
    gan = eg3d_gan.get_config().generator  # the training config of the packaged weights
    # the shipped arrays' own architecture (their inversion3d.json), the GAN config's when the asset is missing
    init_kwargs = assets.generator_init_kwargs("default", gan.init_kwargs.to_dict())
    config = ml_collections.ConfigDict(generators.generator_fields(
        gan.kind, init_kwargs, neural_rendering_resolution=gan.neural_rendering_resolution,
        weights=assets.generator_dir("default")))
    config.update(generators.sample_fields(pivot=init_kwargs["rendering_kwargs"]["avg_camera_pivot"]))
    config.num_samples = 2  # latent seeds 0..num_samples-1, one row each
    config.yaws_deg = (-35.0, -17.5, 0.0, 17.5, 35.0)  # yaw offsets from the frontal view
    config.pitch_deg = 0.0

    # `inversion3d demo` / `make demo`: the main job (app/demo_pipeline.py); <= 5 min on a 2-core CPU. Measured
    # with an empty compilation cache on the 2-core machine: 2:16 wall (90 s CPU) while a GAN training shared
    # the cores; 6 programs take >= 0.5 s to compile (was 13): the W+ step, the PTI step, one result and one view
    # renderer for every scene, view and edit, the edit sweep and its fit; the rest is 5 x (100 + 50) steps
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
    config.edit.truncation_psi = 0.7  # the samples' truncation (gen_samples default)
    config.edit.chosen_ratio = 0.1  # top / bottom 10 % = 26 + 26 (InterFaceGAN keeps 2 % of 10000 samples)
    config.edit.seed = 0
    config.edit.strengths = (-3.0, 0.0, 3.0)  # In-N-Out's latent_editor range (configs/editing.py)
    config.edit.frames = 24  # orbit video of the strongest edit
    return config
