"""GAN training of a tiny PanoHead on the 360° split (inversion3d/methods/eg3d_gan/train.py with the
PanoHead generator: tri-grid, background network, raw ToRGB, camera offset with trans_reg; the mask
as the discriminator's 7th channel, MaskDualDiscriminator).

  .venv/bin/python -m experiments.train --config=configs/panohead_gan.py --workdir=/work/runs/panohead_gan \
      --config.data.folder=/work/data/synth64_360
Data: the procedural heads' 360° variant (issue 16 item 1: `inversion3d synth-data --config
configs/synthetic_heads.py --config.split=train360 ...`, which writes foreground masks; data.split train360).
Hardware / time: the 2-core CPU; slower per step than configs/eg3d_gan.py (tri-grid D = 3, background).
Numbers that differ from configs/eg3d_gan.py are PanoHead's README command (panohead.md §1):
--gpc_reg_prob 0.7, --density_reg 0, --trans_reg 10, decoder activation 'none', raw ToRGB, D = 3.
--bcg_reg_prob 0.2 (background ws swap) as well; --density_noise_fade_kimg 200 shortened to 20 (below).
"""
from configs import eg3d_gan, generators


def get_config():
    config = eg3d_gan.get_config()
    config.method = "panohead_gan"
    config.generator.kind = "panohead"
    config.generator.init_kwargs = generators.panohead_init_kwargs(
        image_resolution=64, superresolution_module="training.superresolution.SuperresolutionHybrid2X64",
        depth_resolution=12, depth_resolution_importance=12, triplane_size=64,  # tiny: tri-grid 64
        gpc_reg_prob=0.7, density_reg=0.0, trans_reg=10)
    config.generator.init_kwargs.img_resolution = 64
    config.data.folder, config.data.name = "/work/data/synth64_360", "synth64_360"
    config.data.with_mask = True
    config.data.split = "train360"  # the synthetic 360° training split (the folder's train360.txt)
    config.monitor.fid.split = "train360"
    config.data.vis_yaws = (-3.1416, -1.5708, 0.0, 1.5708)  # back, sides, front
    config.model.discriminator.with_mask = True
    config.losses.gpc_reg_prob = 0.7  # panohead.md §1 README command
    config.losses.density_reg = 0.0  # --density_reg 0
    config.losses.trans_reg = 10.0  # --trans_reg 10
    # The mask's own R1 weight (loss.py r1_gamma_seg; the README command's --gamma_seg=1 equals its --gamma=1).
    # Chosen 10 = 100 x r1_gamma for the tiny run: at r1_gamma (0.1) D told real from fake by the mask alone
    # (d/loss 0.73 at step 25 -> 0.02-0.09 over steps 100-225, g/loss 5 -> 10; without the mask channel 1.24-1.29,
    # as the EG3D run); at 10, d/loss 0.36-0.63 and g/loss 2.7-3.4 over steps 50-400, head-shaped blobs at step 250
    config.losses.r1_gamma_seg = 10.0
    config.losses.bcg_reg_prob = 0.2  # --bcg_reg_prob 0.2 (panohead.md §1 README command)
    # official --density_noise_fade_kimg 200 = 25k steps at batch 8, longer than a CPU run (std still 0.68 at
    # step 8000); shortened as eg3d_gan.py shortens its fades (gpc 1000 -> 100, blur 50 -> 20 kimg): 20 kimg =
    # 2500 steps, as blur_fade_kimg
    config.losses.density_noise_fade_kimg = 20.0
    return config
