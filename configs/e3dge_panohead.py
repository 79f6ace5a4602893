"""E3DGE-style encoder on PanoHead 'easy-khair-180-gpc0.8-trans10-025000' (tri-grids, 360-degree views):
configs/e3dge_full.py with PanoHead's generator and camera rig (e3dge.md §6 [ours]; panohead.md §1, §7).

  .venv/bin/python -m experiments.train --config=configs/e3dge_panohead.py --workdir=out/e3dge-pano \
      --config.generator.checkpoint=/path/to/easy-khair-180-gpc0.8-trans10-025000.pkl \
      --config.losses.lpips_weights=/path/to/lpips --config.losses.arcface_weights=/path/to/model_ir_se50.pth
Hardware: as configs/e3dge_full.py (tri-grid lookups cost about 3x the tri-plane ones).
Expected time / metric: not measured (no trained weights in this port).
"""
from configs import e3dge_full, generators


def get_config():
    config = e3dge_full.get_config()
    config.generator.kind = "panohead"
    config.generator.init_kwargs = generators.panohead_init_kwargs(full=True)  # panohead.md §1
    config.generator.neural_rendering_resolution = 64  # panohead.md §1: 64 (128 after the optional second stage)
    # PanoHead's rig: pivot at the origin, radius 2.7 (panohead.md §7); the two views may lie anywhere
    # on the circle (yaw std pi/2): the query view is often the back of the head
    config.data.poses.pivot = (0.0, 0.0, 0.0)
    config.data.poses.yaw_std = 1.5708
    config.model.local.resolution = 64  # [ours] the neural render's side
    return config
