"""What the encoders trained on the embedded `default` generator share (issue 17 item 1): its generator
section, the mixed data (its pseudo-pairs + the synthetic train split it was trained on) and the
loss networks. configs/default_goae_stage1.py, default_goae_stage2.py and default_psp.py apply it to
the tiny method configs; `make train-default-encoders` (Makefile) trains and exports them.

The generator is the package's converted directory inversion3d/assets/generators/default/ (the GAN run of
configs/eg3d_gan.py, `inversion3d export`); generator.init_kwargs is the same architecture with seeded
random weights, used only when generator.checkpoint is '' (the config test; sizing before the export).
"""
import ml_collections

from configs import eg3d_gan
from inversion3d import assets

SYNTH_FOLDER = "/work/data/synth64"  # `inversion3d synth-data` output the GAN trained on; --config.data.folder=DIR


def apply(config):
    """config (a tiny method config) -> the same method on the embedded default generator."""
    gan = eg3d_gan.get_config().generator
    config.generator.checkpoint = assets.generator_dir("default")  # as configs/demo.py
    # the shipped arrays' architecture (their inversion3d.json; read only when checkpoint is '')
    config.generator.init_kwargs = assets.generator_init_kwargs("default", gan.init_kwargs.to_dict())
    config.generator.neural_rendering_resolution = 32  # what the GAN trained with (configs/eg3d_gan.py): 32 -> SR 64
    config.generator.ray_chunk = None  # 32² rays x (12 + 12) samples: all at once is fastest on CPU (eg3d_gan.py)

    d = config.data
    d.source = "mixed"  # pseudo-pairs of the generator + the synthetic photos it was trained on (issue 17 item 1)
    # half and half: the Dual Encoder found real + synthetic better than either (dual-encoder.txt §5.2,
    # Table 4) without a ratio; the tiny configs' 0.5
    d.pseudo_fraction = 0.5
    d.folder = SYNTH_FOLDER
    d.name = "synth64"  # the tfds cache name the GAN run prepared (configs/eg3d_gan.py)
    d.split = "train"  # the 200 test scenes (held-out views) stay out of training
    d.resolution = 64  # the generator's output and the synthetic photos' size
    # the poses of the synthetic train split (synth_train.json: yaw_std 0.3, pitch_std 0.1; EG3D pivot,
    # radius and FFHQ focal), so pseudo-pairs come from the camera distribution the GAN was trained on
    d.poses = ml_collections.ConfigDict(dict(kind="gaussian", yaw_std=0.3, pitch_std=0.1, radius=2.7,
                                             pivot=(0.0, 0.0, 0.2), focal=4.2647))
    d.vis_yaw = 0.4  # image-grid novel views at yaw pi/2 -+ 0.4: inside the trained yaw_clip 0.9

    # No LPIPS / ArcFace weights ship with the project and nothing downloads: the random-init networks of
    # the tiny configs "mean nothing" (training/loss_networks.py), so the LPIPS and ID terms are left out
    # (their paper weights stay in losses.weights); pass the files to train with them:
    #   --config.losses.lpips_weights=DIR --config.losses.arcface_weights=model_ir_se50.pth
    config.losses.lpips_weights = ""
    config.losses.arcface_weights = ""
    config.losses.resolution = 64  # compared at the generator's full output size

    config.eval.every = 0  # set per method; held-out pseudo-pairs at indices >= 2**30 (configs/runs.py)
    return config
