"""The official EG3D ffhq512 GAN run's settings (EG3D train.py `--cfg=ffhq --gpus=8 --batch=32 --gamma=1
--gen_pose_cond=True`, docs/training_guide.md; eg3d.md §0, §6) on inversion3d/methods/eg3d_gan/train.py.

  .venv/bin/python -m experiments.train --config=configs/eg3d_gan_full.py --workdir=out/eg3d_gan_full \
      --config.data.folder=/data/ffhq512_eg3d   # dataset_tool folder / zip with dataset.json
Hardware: 8 accelerators (the official 8 x V100 / A100 run: about 25000 kimg in ~8.5 days at 32 / step);
a 2-core CPU cannot run it. Expected metric: FID50k ~4.7 at 512 (EG3D paper Table 1, ffhq512-64).
The official second stage (ffhq512-128: --neural_rendering_resolution_final=128 fading over 1000 kimg)
is configs/eg3d_gan_full128.py (--config.init_from=<this run>; the 64 -> 128 fade over 1000 kimg).
"""
from configs import eg3d_gan, generators

BATCH = 32  # --batch=32


def get_config():
    config = eg3d_gan.get_config()
    config.total_steps = 25000 * 1000 // BATCH  # --kimg 25000 (train.py default)
    config.batch_size = BATCH
    config.generator.init_kwargs = generators.eg3d_init_kwargs(full=True)  # ffhq512: 8XDC SR, 48 + 48 samples
    config.generator.neural_rendering_resolution = 64  # --neural_rendering_resolution_initial 64
    config.generator.ray_chunk = generators.RAY_CHUNK
    config.data.folder, config.data.name, config.data.resolution = "", "ffhq512", 512
    config.data.mirror_prob = 0.5  # --mirror=1 (x-flips with mirrored cameras)
    config.model.discriminator.update(dict(channel_base=32768, channel_max=512,  # --cbase / --cmax defaults
                                           conv_clamp=256.0))  # d_num_fp16_res 4 -> conv_clamp 256
    config.losses.gpc_reg_fade_kimg = 1000.0  # --gpc_reg_fade_kimg default
    config.losses.blur_fade_kimg = BATCH * 200 / 32  # batch * --blur_fade_kimg 200 / 32
    config.losses.ema_kimg = BATCH * 10 / 32  # c.ema_kimg
    config.checkpoint.every = 5000
    config.logging.update(dict(log_every=100, image_every=2000))
    return config
