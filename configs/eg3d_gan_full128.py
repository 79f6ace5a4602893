"""The official EG3D ffhq512-128 stage (docs/models.md "ffhq512-128.pkl": train.py --cfg=ffhq --resume=ffhq-64.pkl
--gpus=8 --batch=32 --gamma=1 --gen_pose_cond=True --neural_rendering_resolution_final=128 --kimg=2000) on
inversion3d/methods/eg3d_gan/train.py: configs/eg3d_gan_full.py (ffhq512-64) fine-tuned while the neural
rendering resolution fades from 64 to 128 over the first 1000 kimg (train.py defaults
--neural_rendering_resolution_initial 64, --neural_rendering_resolution_fade_kimg 1000; the fade formula is
loss.py's, methods/eg3d_gan/losses.rendering_resolution).

  .venv/bin/python -m experiments.train --config=configs/eg3d_gan_full128.py --workdir=out/eg3d_gan_full128 \
      --config.data.folder=/data/ffhq512_eg3d --config.init_from=out/eg3d_gan_full   # the ffhq512-64 run
Hardware: 8 accelerators like the first stage; the 128² render quadruples the renderer's work.
Compiles: one step program per resolution and lazy-regularisation variant: 65 resolutions (64..128) x 3
variants (plain, + density reg, + density reg + R1) = 195 over the fade (each resolution lasts ~490 steps
at batch 32; the executables of a finished resolution are dropped), then 3 at 128.
Schedules restart at nimg 0 as in the official resumed run (--resume without --resume_kimg): the blur
fade-in and the pose-conditioning swap fade run again.
Expected metric: the EG3D paper's FFHQ 512 FID for the 128 render (not checked here: shared/papers has no
copy of the paper); sharper geometry and less aliasing than ffhq512-64 (docs/training_guide.md).
"""
from configs import eg3d_gan_full

BATCH = eg3d_gan_full.BATCH


def get_config():
    config = eg3d_gan_full.get_config()
    config.total_steps = 2000 * 1000 // BATCH  # --kimg=2000 (docs/models.md)
    config.init_from = ""  # set to the ffhq512-64 run (--resume=ffhq-64.pkl)
    config.generator.neural_rendering_resolution = 64  # --neural_rendering_resolution_initial 64 (default)
    config.generator.neural_rendering_resolution_final = 128  # --neural_rendering_resolution_final=128
    config.generator.neural_rendering_resolution_fade_kimg = 1000.0  # --neural_rendering_resolution_fade_kimg default
    return config
