"""pSp on EG3D at the paper's sizes: IR-SE-50 GradualStyleEncoder (256 px input) -> w+ of the
EG3D FFHQ 512 generator, trained on aligned FFHQ photos (training.md §4; encoders.md §2).

  .venv/bin/python experiments/train.py --config configs/psp_full.py --workdir out/psp_full \
      --config.generator.checkpoint=ckpt/ffhqrebalanced512-128.pkl --config.data.folder=data/ffhq512.zip \
      --config.losses.lpips_weights=weights/lpips --config.losses.arcface_weights=weights/model_ir_se50.pth
Hardware: one 80 GB GPU or a TPU host (batch 4 = the official single-GPU batch; larger meshes split it).
Expected time: not measured here; the official trainers run 500k steps. The encoder starts from
random weights (the official pSp starts its IR-SE-50 body from model_ir_se50.pth; use
--config.init_from=<a run> to start from trained weights).
Expected metric: the reconstruction terms (l2, lpips, id) fall; GOAE Table 1 reports pSp on EG3D
(CelebA-HQ input view) MSE .0726 / LPIPS .2082 / ID .7817 (editing-and-eval.md §5).
"""
from configs import eg3d_ffhq512, psp


def full_sizes(config):
    """Tiny pSp / e4e config -> the paper's sizes (in place)."""
    eg3d = eg3d_ffhq512.get_config()
    config.generator.init_kwargs = eg3d.init_kwargs  # EG3D ffhq512-128 (eg3d.md §0, §6)
    config.generator.neural_rendering_resolution = eg3d.neural_rendering_resolution  # 128
    config.generator.ray_chunk = eg3d.ray_chunk
    config.data.source = "folder"  # aligned FFHQ photos + dataset.json cameras (e.g. a dataset_tool zip)
    config.data.resolution = 256  # training.md §1.1: images and renders compared at 256 (512 area-averaged)
    config.model.input_size = 256  # encoders.md §2: the pSp / e4e input
    config.model.widths = (64, 128, 256, 512)  # IR-SE-50 (encoders.md §2.1)
    config.model.style_hidden = None  # style-block convs 512 wide (encoders.md §2.2)
    config.losses.resolution = 256  # training.md §1.1
    config.optim.encoder.lr = 1e-4  # training.md §4 (pSp / e4e: Ranger lr 1e-4)
    config.losses.lpips_weights = ""  # required: the LPIPS AlexNet v0.1 weights (training.md §1.2)
    config.losses.arcface_weights = ""  # required for the ID term: model_ir_se50.pth (training.md §1.3)
    config.total_steps = 500000  # training.md §4 (pSp max_steps)
    config.checkpoint.every = 5000
    config.logging.log_every = 100
    config.logging.image_every = 2000
    config.eval.every = 5000  # held-out eval (configs/runs.py): 4 x 4 pseudo-pairs each checkpoint; chosen
    config.eval.num_batches = 4
    # TPU / GPU: --config.encoder.dtype=bfloat16 runs the encoder(s) in bf16 (params, optimiser state f32)
    return config


def get_config():
    return full_sizes(psp.get_config())
