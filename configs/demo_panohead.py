"""Embedded default PanoHead-style generator for `inversion3d render default-panohead`: tiny, seeded
random weights with every PanoHead piece switched on (tri-grid D=3, background, raw ToRGB,
camera offset). Renders abstract shapes, not heads, until the project ships a trained default.

  .venv/bin/python -m inversion3d render default-panohead --orbit 360 --frames 24 --out out/pano
Hardware: the 2-core CPU; under a minute for 24 frames at 64x64 neural rendering.
"""
import ml_collections

from configs import generators


def get_config():
    return ml_collections.ConfigDict(generators.generator_fields("panohead", generators.panohead_init_kwargs()))
