"""The synthetic multi-view benchmark (`inversion3d eval --benchmark synthetic-multiview`, issue 17 item 4).

  inversion3d invert data/synth64 --split test --method wplus --generator CKPT --out runs/bench/wplus
  inversion3d eval --benchmark synthetic-multiview runs/bench/* --out runs/bench/report \
      [--lpips-backbone alexnet.pth --lpips-heads alex.pth] [--arcface model_ir_se50.pth]
Hardware: any; the metrics of 200 scenes x 7 views take about a minute on a 2-core CPU (SSIM in numpy).
"""
import ml_collections


def get_config():
    c = ml_collections.ConfigDict()
    # |yaw of the held-out view - yaw of the input view| in degrees, bins [lo, hi). The synthetic test
    # split (configs/synthetic_heads.py) has held-out views at +-20 / +-40 degrees absolute yaw and inputs
    # with yaw ~ N(0, 17 degrees) clipped at 52 degrees, so offsets span 0-92 degrees; 15-degree bins
    # follow GOAE's novel-view table (GOAE Table 1 reports views by yaw; the edges are this benchmark's).
    c.yaw_bins_deg = (0.0, 15.0, 30.0, 45.0, 60.0, 180.0)
    c.mask_threshold = 0.5  # a ground-truth mask pixel above this is foreground (masks are 0 / 255)
    c.grid_tile = 96  # pixels per image in the HTML grids (the 64-px synthetic views upscaled 1.5x)
    c.grid_scenes = 4  # scenes per method shown as image grids in report.html (all are in report.json)
    return c
