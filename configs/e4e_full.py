"""e4e on EG3D at the paper's sizes: configs/psp_full.py with the Encoder4Editing encoder,
progressive deltas from step 20000 (one every 2000), the delta regulariser 2e-4 and the latent
discriminator (Adam 2e-5, weight 0.1, R1 10 every 16) (training.md §4; encoders.md §3, §5.1).

  .venv/bin/python experiments/train.py --config configs/e4e_full.py --workdir out/e4e_full \
      --config.generator.checkpoint=ckpt/ffhqrebalanced512-128.pkl --config.data.folder=data/ffhq512.zip \
      --config.losses.lpips_weights=weights/lpips --config.losses.arcface_weights=weights/model_ir_se50.pth
Hardware: one 80 GB GPU or a TPU host (batch 4, as configs/psp_full.py).
Expected time: not measured here; the e4e README trains 200k steps.
Expected metric: the reconstruction terms fall while `stage` (active deltas) climbs to 13 by step
20000 + 12 x 2000 = 44000; GOAE Table 1 reports e4e on EG3D (CelebA-HQ input view) MSE .0808 / LPIPS .2281 / ID .7359
(editing-and-eval.md §5).
"""
from configs import e4e, psp_full


def get_config():
    config = e4e.add_e4e(psp_full.get_config())
    config.total_steps = 200000  # e4e README (--max_steps 200000)
    return config
