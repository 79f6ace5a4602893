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
    return config
