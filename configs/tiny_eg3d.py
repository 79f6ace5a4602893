"""The tiny 128 px EG3D with SEEDED RANDOM WEIGHTS (the embedded default before the project trained one):
2X super-resolution, channel_max 32, 24 + 24 depth samples, neural rendering 64. For tests, smoke runs
and the benchmarks' tiny size, where the code paths and shapes matter, not the samples; `default` is the
trained 64 px EG3D (configs/demo.py).

  .venv/bin/python -m inversion3d render configs/tiny_eg3d.py --seeds 0-1 --out out/tiny
Hardware: the 2-core CPU; about a minute including compilation. Renders abstract shapes, not heads.
"""
import ml_collections

from configs import generators


def get_config():
    config = ml_collections.ConfigDict(generators.generator_fields("eg3d", generators.eg3d_init_kwargs()))
    config.update(generators.sample_fields(pivot=(0.0, 0.0, 0.2)))
    return config
