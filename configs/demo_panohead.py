"""Embedded PanoHead-style generator for `inversion3d render default-panohead`: tiny, with SEEDED RANDOM
WEIGHTS (no trained PanoHead ships: only `default`, the EG3D, is trained) and every PanoHead piece
switched on (tri-grid D=3, background, raw ToRGB, camera offset). It renders abstract shapes, not
heads: it exercises the PanoHead code paths, it is not a model.

  .venv/bin/python -m inversion3d render default-panohead --orbit 360 --frames 24 --out out/pano
Hardware: the 2-core CPU; under a minute for 24 frames at 64x64 neural rendering.
"""
import ml_collections

from configs import generators


def get_config():
    return ml_collections.ConfigDict(generators.generator_fields("panohead", generators.panohead_init_kwargs()))
