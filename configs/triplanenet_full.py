"""TriPlaneNet v2 at the paper's sizes (training.md §2, options/train_options_v2.py): IR-SE-50 pSp and
tri-plane encoders on an EG3D FFHQ 512 generator, pseudo-pairs or aligned photos.

  .venv/bin/python -m experiments.train --config=configs/triplanenet_full.py --workdir=out/triplanenet \
      --config.generator.checkpoint=/path/to/ffhqrebalanced512-128.pkl \
      --config.losses.lpips_weights=/path/to/lpips --config.losses.arcface_weights=/path/to/model_ir_se50.pth
  (aligned photos: add --config.data.source=folder --config.data.folder=/path/to/ffhq_aligned)
Hardware: one accelerator with >= 40 GiB (batch 3 back-propagates through the 512 renders twice per
branch); multi-device meshes are automatic (batch must be a multiple of the device count).
Expected time / metric: not measured in this port (no trained weights yet); the official run is
1.5 M steps. The official reports on FFHQ -> CelebA-HQ test: MSE 0.0112, LPIPS 0.0922 (input view).
Deviations (methods/triplanenet/train.py docstring): no unsup3d confidence (conf = 0 unless the data
has a 'conf' key), no image discriminator, encoders from random init unless --config.init_from.
"""
import ml_collections

from configs import eg3d_ffhq512, triplanenet



def get_config():
    config = triplanenet.get_config()
    config.seed = 2107  # §2
    config.total_steps = 1_500_000  # §2 max_steps
    config.batch_size = 3  # §2: 3 in every phase

    # EG3D FFHQ 512 (eg3d.md §0): official init_kwargs of ffhqrebalanced512-128.pkl
    config.generator.init_kwargs = eg3d_ffhq512.get_config().init_kwargs
    config.generator.neural_rendering_resolution = 128  # the checkpoint's (ffhq512-128)
    config.generator.triplane_resolution = 0  # EG3D's 256 x 256 planes, 14 ws
    # the frozen generator's weights: an official .pkl / .pth or an `inversion3d convert` directory
    # (api.load_generator); '' = random weights (only meaningful for smoke runs)
    config.generator.checkpoint = ""

    config.data.resolution = 512  # §2: the 512 image (its 256 resize feeds the encoders)
    config.data.truncation_psi = 0.7
    config.data.truncation_cutoff = 14
    config.data.mirror_prob = 0.0  # §2: dataset x-flip doubling off by default

    config.phases = ml_collections.ConfigDict(dict(
        add_triplanenet=20000, stop_psp=500000,  # §2
        add_discriminator=600000, use_discriminator=False))  # §2 (the D itself is not in inversion3d)

    config.model.psp = ml_collections.ConfigDict(dict(  # encoders.md §2: IR-SE-50, 256 input, 512-wide styles
        image_size=256, input_nc=3, num_layers=50, widths=(64, 128, 256, 512), style_hidden=None))
    config.model.triplanenet = ml_collections.ConfigDict(dict(  # encoders.md §4 (nearest-upsample variant)
        in_nc=9, num_layers=50, widths=(64, 128, 256, 512), up_widths=None, use_pixelshuffle=False))

    config.losses.lpips_weights = ""  # set: AlexNet LPIPS v0.1 (training.md §1.2)
    config.losses.arcface_weights = ""  # set: ArcFace IR-SE-50 model_ir_se50.pth (§1.3)
    config.losses.resolution = 256  # §1.1: losses on 256 images (renders 512 -> 256)

    config.optim.psp.lr = 1e-4  # §2 Ranger lr 1e-4
    config.optim.triplanenet.lr = 1e-4  # §2 Ranger lr 1e-4

    config.checkpoint.every = 5000
    config.logging = ml_collections.ConfigDict(dict(log_every=100, image_every=1000, image_rows=4,
                                                    tensorboard=True, profile_at=0, profile_steps=3))
    config.eval.every = 5000  # held-out eval (configs/runs.py): 4 x 4 pseudo-pairs each checkpoint; chosen
    config.eval.num_batches = 4
    # TPU / GPU: --config.encoder.dtype=bfloat16 runs the encoder(s) in bf16 (params, optimiser state f32)
    return config
