"""Dual Encoder at the paper's sizes (Dual Encoder paper Sec. 4.1, Appendix A; training.md §6): IR-SE-50
pSp + tri-grid encoders E1 / E2 and the Table 6 tri-plane D (288 -> 64 -> 128 -> 256 -> 512 -> 1 at
256 x 256) on PanoHead 'easy-khair-180-gpc0.8-trans10-025000'.

  .venv/bin/python -m experiments.train --config=configs/dual_full.py --workdir=out/dual \
      --config.generator.checkpoint=/path/to/easy-khair-180-gpc0.8-trans10-025000.pkl \
      --config.data.source=folder --config.data.folder=/path/to/ffhq_lpff_aligned \
      --config.losses.lpips_weights=/path/to/lpips --config.losses.arcface_weights=/path/to/model_ir_se50.pth
Hardware: the paper trains on one RTX 4090 (24 GiB) at batch 3; here one accelerator with >= 40 GiB
(two encoders back-propagate through 512 renders each step). Expected: not measured in this port (no
trained weights); the paper reports FFHQ+LPFF L2 0.017, LPIPS 0.10, ID 0.87, FID 65.44 (Table 1).
"""
import ml_collections

from configs import dual, generators


def get_config():
    config = dual.get_config()
    config.total_steps = 500_000  # Sec. 4.1: 500k iterations
    config.batch_size = 3  # Sec. 4.1: batch size 3

    config.generator.init_kwargs = generators.panohead_init_kwargs(full=True)  # panohead.md §1
    config.generator.neural_rendering_resolution = 64  # PanoHead's released neural rendering resolution
    config.generator.triplane_resolution = 0  # PanoHead's 256 x 256 tri-grids (Appendix A.2), 14 ws
    # [ours] recompute each ray chunk's forward in the backward pass (as configs/e3dge_full.py): E1's and E2's
    # renders both back-propagate; without it one batch-1 step was killed for memory at 14-19 GB on the CPU host
    config.generator.remat = True
    config.generator.checkpoint = ""  # set: the official .pkl / a converted directory

    config.data.resolution = 512  # the 512 photos (encoders see their 256 resize)
    config.data.vis_yaw = 0.6

    config.model.psp = ml_collections.ConfigDict(dict(  # encoders.md §2: IR-SE-50, 256 input, 512-wide styles
        image_size=256, input_nc=3, num_layers=50, widths=(64, 128, 256, 512), style_hidden=None))
    config.model.triplanenet = ml_collections.ConfigDict(dict(  # encoders.md §4 (nearest-upsample variant)
        in_nc=9, num_layers=50, widths=(64, 128, 256, 512), up_widths=None, use_pixelshuffle=False))
    config.model.discriminator.widths = (64, 128, 256, 512)  # Table 6

    config.losses.lpips_weights = ""  # set: AlexNet LPIPS v0.1 (training.md §1.2)
    config.losses.arcface_weights = ""  # set: ArcFace IR-SE-50 (training.md §1.3)
    config.losses.resolution = 256  # training.md §1: losses on 256 images

    for net in ("e1", "e2", "discriminator"):
        config.optim[net].lr = 1e-4  # Sec. 4.1

    config.checkpoint.every = 5000
    config.logging.log_every = 100
    config.logging.image_every = 1000
    config.logging.image_rows = 3
    return config
