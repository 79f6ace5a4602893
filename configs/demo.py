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
    config = ml_collections.ConfigDict(generators.generator_fields(
        gan.kind, gan.init_kwargs.to_dict(), neural_rendering_resolution=gan.neural_rendering_resolution,
        weights=assets.generator_dir("default")))
    config.update(generators.sample_fields(pivot=gan.init_kwargs.rendering_kwargs.avg_camera_pivot))
    config.num_samples = 2  # latent seeds 0..num_samples-1, one row each
    config.yaws_deg = (-35.0, -17.5, 0.0, 17.5, 35.0)  # yaw offsets from the frontal view
    config.pitch_deg = 0.0
    return config
