"""Dual Encoder on a tiny PanoHead trained by this project (configs/panohead_gan.py on the synthetic 360° split),
for the synthetic-multiview benchmark's Dual row on the full-turn test360 split (README; issue 17).

  .venv/bin/python -m experiments.train --config=configs/panohead_gan.py --workdir=out/panohead_gan \
      --config.data.folder=/work/data/synth64_360
  .venv/bin/inversion3d export out/panohead_gan --out out/panohead_gan_g   # its G_ema as a generator directory
  .venv/bin/python -m experiments.train --config=configs/default_dual.py --workdir=out/default_dual \
      --config.generator.checkpoint=out/panohead_gan_g [--config.data.folder=/work/data/synth64_360]
  .venv/bin/inversion3d invert data/synth64 --split test360 --method dual --encoder out/default_dual --out runs/dual
Data (Table 4 "Real imgs. + Z+"): the train360 photos the PanoHead trained on (folder source, their
dataset.json cameras) with data.synthetic_ratio of each batch replaced by z+ renders (configs/dual.py).
Hardware: the 2-core CPU (any single GPU / TPU host works). Expected time and metric: measured in the
README's benchmark section.
Everything not set here is configs/dual.py's (Eq. 5-9 weights, R1, Ranger) with configs/panohead_gan.py's
generator; the encoders' sizes are configs/default_triplanenet.py's (the EG3D default's TriPlaneNet v2).
"""
from configs import default_triplanenet, dual, panohead_gan

PANO_FOLDER = "/work/data/synth64_360"  # `inversion3d synth-data --config.split=train360` (panohead_gan.py)
TOTAL_STEPS = 600  # chosen for the CPU session budget (paper: 500k)


def get_config():
    config = dual.get_config()
    gan, tpn = panohead_gan.get_config(), default_triplanenet.get_config()
    config.total_steps = TOTAL_STEPS
    config.batch_size = 4  # as the default encoders (paper: 3)

    g = config.generator
    g.kind = "panohead"
    g.init_kwargs = gan.generator.init_kwargs  # the GAN run's architecture (what its export holds)
    g.neural_rendering_resolution = gan.generator.neural_rendering_resolution  # 32, as it trained
    g.ray_chunk = None  # all rays at once: fastest on the CPU (configs/default_encoders.py)
    g.triplane_resolution = 0  # the generator's own 64 x 64 tri-grids
    g.checkpoint = ""  # set: the `inversion3d export` of the panohead_gan run ('' = random weights)

    d = config.data
    d.source = "folder"  # the 360° photos; the z+ rows come from data.synthetic_ratio (docstring)
    d.folder, d.name, d.split = PANO_FOLDER, gan.data.name, gan.data.split  # train360; test360 stays out
    d.resolution = 64  # the generator's output and the photos' size
    d.vis_yaw = 1.2  # image grid: novel views at yaw pi/2 -+ 1.2 (the back view is its own column)

    m = config.model
    m.psp = tpn.model.psp  # default_psp's narrowed IR-SE-50 (64 input, widths 32/32/64/64, style 64)
    m.triplanenet = tpn.model.triplanenet
    # Table 6 widths (64, 128, 256, 512) narrowed by 4 for the CPU (chosen), on 64 x 64 tri-grids
    m.discriminator.widths = (16, 32, 64, 128)

    config.losses.lpips_weights = ""  # no LPIPS / ArcFace weights ship (default_encoders.py): L2 terms only
    config.losses.arcface_weights = ""
    config.losses.resolution = 64

    for net in ("e1", "e2", "discriminator"):
        config.optim[net].lr = 1e-3  # as configs/dual.py's tiny run: 10x the paper's, from scratch on a CPU
    config.checkpoint.every = 100
    config.logging.log_every = 25
    config.logging.image_every = 200
    return config
