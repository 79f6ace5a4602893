"""Procedural multi-view heads (inversion3d/data/synthetic): the dataset the tiny EG3D / PanoHead train on.

  inversion3d synth-data --config configs/synthetic_heads.py --config.split=train \
      --config.num_scenes=8000 --out data/synth64
  inversion3d synth-data --config configs/synthetic_heads.py --config.split=test \
      --config.num_scenes=200 --out data/synth64
Splits (one root holds any of them; dataset.json lists all): train (FFHQ-like poses, image only),
test (input view + held-out views, depth + masks), train360 / test360 (full yaw, PanoHead's pivot),
ood (test views with hats / glasses / hands and their occluder masks).
Hardware: the 2-core CPU; see README "Synthetic heads" for images/s. Resumable: rerun the same line.
"""
import math

import ml_collections

from inversion3d.camera import FFHQ_FOCAL, FFHQ_PIVOT, FFHQ_RADIUS, PANOHEAD_PIVOT


def get_config():
    c = ml_collections.ConfigDict()
    c.split = "train"  # train | test | train360 | test360 | ood
    c.num_scenes = 1000
    c.seed = 0  # scene i of a split is fold_in(fold_in(PRNGKey(seed), split id), i)
    c.resolution = 64  # 64 or 128 (the tiny generator's neural rendering / image sizes)
    c.batch = 50  # scenes rendered per compiled call (divides chunk; one compile per shape)
    c.chunk = 1000  # scenes per folder (EG3D dataset_tool's 00000/ folders of 1000 images); the resume unit

    # cameras: EG3D's FFHQ rig (eg3d.md §8); 360 splits look at PanoHead's pivot (panohead.md §7)
    c.camera = ml_collections.ConfigDict(dict(focal=FFHQ_FOCAL, radius=FFHQ_RADIUS, pivot=FFHQ_PIVOT,
                                              pivot360=PANOHEAD_PIVOT))
    # poses (radians, offsets from the frontal view pi/2). FFHQ is frontal-biased: issue 16 asks for yaw
    # ~ N(0, ~0.3) and pitch ~ N(0, ~0.1) (about 17 and 6 degrees; an approximation of the FFHQ pose
    # histogram EG3D rebalances, not a measurement); clipped at 3 sigma so no view sees behind the ears.
    c.poses = ml_collections.ConfigDict(dict(yaw_std=0.3, yaw_clip=0.9, pitch_std=0.1, pitch_clip=0.3))
    # held-out test views (yaw, pitch offsets): EG3D-style novel views at +-20 / +-40 degrees of yaw and
    # +-11 degrees of pitch (GOAE / TriPlaneNet evaluate yaw sweeps of this size, training.md §"Novel views")
    c.test_views = ((-0.7, 0.0), (-0.35, 0.0), (0.35, 0.0), (0.7, 0.0), (0.0, -0.2), (0.0, 0.2))
    c.test_views_360 = tuple((k * math.pi / 4, 0.0) for k in range(8))  # a full turn every 45 degrees

    # the scene distribution (scene.SceneSpec)
    c.scene = ml_collections.ConfigDict(dict(
        head_size=1.08,  # parts.py's head is a little small for EG3D's FFHQ crop (face ~45 % of the width)
        head_scale=0.06,  # +-6 % overall size: FFHQ crops are scale-normalised by the eye / mouth distances
        head_aspect=0.05,  # +-5 % per axis: narrow / wide, long / short faces
        jitter=1.0,  # factor on parts.py's per-part jitter
        hairline_jitter=0.015,  # +-1.5 cm-ish of hairline height (world units)
        # bald, short, bob, long, bun, volume, fringe (parts.HAIR_STYLES order)
        style_probs=(0.06, 0.28, 0.14, 0.22, 0.1, 0.1, 0.1),
        accessory_probs=(0.0, 0.0, 0.0),  # hat, glasses, hand: the ood split sets its own (below)
        skin_palette=((0.98, 0.82, 0.72), (0.92, 0.7, 0.57), (0.8, 0.57, 0.42), (0.6, 0.4, 0.27),
                      (0.38, 0.24, 0.15)),  # light to dark skin tones, interpolated
        hair_palette=((0.05, 0.04, 0.04), (0.18, 0.11, 0.06), (0.38, 0.24, 0.12), (0.8, 0.66, 0.4),
                      (0.55, 0.24, 0.1), (0.62, 0.62, 0.62)),  # black, dark brown, brown, blond, red, grey
        iris_palette=((0.32, 0.18, 0.08), (0.2, 0.4, 0.65), (0.25, 0.45, 0.25), (0.45, 0.35, 0.15),
                      (0.1, 0.07, 0.05)),  # brown, blue, green, hazel, dark
        colour_jitter=0.12,  # +-12 % per channel on picked colours
        ambient=(0.35, 0.5), key_light=(0.5, 0.8),  # soft frontal lighting as in FFHQ portraits
        light_azimuth=(-0.9, 0.9), light_elevation=(0.0, 0.8),  # light from the front half, above level
    ))
    # 360 splits: the light comes from any side, so the back of the head is lit as often as the face
    c.light_azimuth_360 = (-math.pi, math.pi)
    c.ood_accessory_probs = (0.5, 0.5, 0.4)  # hat, glasses, hand in the ood split (at least one is forced)

    # sphere tracing (render.TraceSpec)
    c.trace = ml_collections.ConfigDict(dict(
        steps=40,  # enough for every ray to converge or leave the bound (checked by the depth test)
        relax=0.9,  # ellipsoid distances are first-order bounds: step a little short
        bound_centre=(0.0, -0.12, 0.0), bound_radius=0.55,  # holds hair, hat brim and the shoulders
        blend_skin=0.012, blend_socket=0.008, blend_colour=0.004,  # world units (~0.7 / 0.5 / 0.25 cm)
        hit_px=0.1,  # a hit is closer than 1/10 pixel
        crease_px=2.0,  # ... or, out of steps inside the bound, within 2 pixels: creases converge slowly
        normal_eps=1e-3,
    ))
    return c
