"""GOAE stage 1 at the paper's sizes: the released GOAEncoder (Swin-V2 at 256 px, 14 x 512 w+)
against the canonical latent discriminator on EG3D FFHQ 512 (GOAE paper §4.1, §4.5; training.md §5).

  .venv/bin/inversion3d depth-avg --config configs/goae_stage1_full.py \
      --config.generator.checkpoint=ffhqrebalanced512-128.pkl --num 10000 --out out/depth_avg.json
  .venv/bin/python -m experiments.train --config=configs/goae_stage1_full.py --workdir=out/goae1_full \
      --config.generator.checkpoint=ffhqrebalanced512-128.pkl --config.losses.bg_depth_file=out/depth_avg.json \
      --config.losses.lpips_weights=weights/lpips --config.losses.arcface_weights=model_ir_se50.pth \
      [--config.data.source=folder --config.data.folder=ffhq512.zip]
Hardware: one GPU / TPU host or more (batch 4 global; multi-device meshes are automatic).
Expected time: not measured yet (issue 14 item 10 benchmarks the step); the schedule unlocks
the coarse / mid / fine heads at 10k / 20k / 30k steps of 100k.
Expected metric: not measured (no training run at this size has been made).
Constants not in the paper (learning rates, batch, steps) are chosen and marked so.
"""
import ml_collections

from configs import generators, goae_stage1


def get_config():
    config = goae_stage1.get_config()
    config.total_steps = 100_000  # chosen (not in the paper): the fine heads train 70k steps after t3
    config.batch_size = 4  # chosen: pSp's batch (training.md §4)

    # The released EG3D FFHQ generator (ffhqrebalanced512-128.pkl): the file carries init_kwargs.
    config.generator.checkpoint = ""  # REQUIRED: --config.generator.checkpoint=PATH
    config.generator.init_kwargs = {}
    config.generator.neural_rendering_resolution = 0  # the file's (128)
    config.generator.ray_chunk = generators.RAY_CHUNK

    config.data.resolution = 512  # the generator's output: GOAE's input (the encoder gets it at 256)
    config.data.vis_yaw = 0.5

    config.model.encoder = ml_collections.ConfigDict(dict(
        swin=dict(img_size=256, patch_size=4, in_chans=3, embed_dim=128, depths=(2, 2, 18, 2),
                  num_heads=(4, 8, 16, 32), window_size=16, mlp_ratio=4.0,
                  pretrained_window_sizes=(12, 12, 12, 6)),  # goae/configs/swinv2.yaml (encoders.md §1.1)
        nhead=4, dim_feedforward=1024))  # CrossAttention(512, 4, 1024) (encoders.md §1.2)
    config.model.stage_thresholds = (10_000, 20_000, 30_000)  # the release's stage_list (encoders.md §1.2)

    config.losses.lpips_weights = ""  # set: LPIPS alex v0.1 (training.md §1.2); '' leaves the term out
    config.losses.arcface_weights = ""  # set: model_ir_se50.pth (training.md §1.3); '' leaves the term out
    config.losses.resolution = 256  # images compared at 256 (renders area-averaged 512 -> 256, training.md §1.1)
    config.losses.bg_depth_file = ""  # REQUIRED: the depth_avg command's JSON (above)
    config.losses.bg_depth_avg = 0.0  # unused once bg_depth_file is set (0 = not estimated: an error)
    config.losses.bg_mask_threshold = 0.5  # the depth_avg command's default

    config.optim.encoder = ml_collections.ConfigDict(dict(  # chosen: pSp's Ranger lr 1e-4 (training.md §3-4)
        name="ranger", lr=1e-4, b1=0.95, b2=0.999, eps=1e-5, weight_decay=0.0, lookahead_k=6,
        lookahead_alpha=0.5, sma_threshold=5.0, centralize=True, schedule="constant", warmup_steps=0,
        clip_norm=0.0, ema_decay=0.0))
    config.optim.discriminator.lr = 2e-5  # e4e's latent discriminator: Adam 2e-5 (training.md §4)

    config.checkpoint.every = 5000
    config.checkpoint.keep = 3
    config.logging.log_every = 100
    config.logging.image_every = 2000
    config.logging.image_rows = 4
    config.eval.every = 5000  # held-out eval (configs/runs.py): 4 x 4 pseudo-pairs each checkpoint; chosen
    config.eval.num_batches = 4
    # TPU / GPU: --config.encoder.dtype=bfloat16 runs the encoder(s) in bf16 (params, optimiser state f32)
    return config
