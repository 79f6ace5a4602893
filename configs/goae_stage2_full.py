"""GOAE stage 2 at the paper's sizes: AFA (F space, 512-channel b32 feature) trained through the
occlusion-aware mix on EG3D FFHQ 512, the stage-1 encoder frozen (GOAE paper §4.2-4.5; training.md §5).

  .venv/bin/python -m experiments.train --config=configs/goae_stage2_full.py --workdir=out/goae2_full \
      --config.init_from=out/goae1_full --config.generator.checkpoint=ffhqrebalanced512-128.pkl \
      --config.losses.lpips_weights=weights/lpips --config.losses.arcface_weights=model_ir_se50.pth
Hardware: one GPU / TPU host or more (batch 4 global).
Expected time / metric: not measured yet (issue 14 item 10 benchmarks the step).
The workdir then holds the encoder and the AFA, the two networks `invert --method goae` needs.
"""
import ml_collections

from configs import goae_stage1_full, goae_stage2


def get_config():
    config = goae_stage2.stage2(goae_stage1_full.get_config())
    config.total_steps = 50_000  # chosen (not in the paper)
    config.model.afa = ml_collections.ConfigDict(dict(nhead=4, dim_feedforward=1024))  # encoders.md §1.3
    config.optim.afa = ml_collections.ConfigDict(dict(  # chosen: pSp's Ranger lr 1e-4 (training.md §3-4)
        name="ranger", lr=1e-4, b1=0.95, b2=0.999, eps=1e-5, weight_decay=0.0, lookahead_k=6,
        lookahead_alpha=0.5, sma_threshold=5.0, centralize=True, schedule="constant", warmup_steps=0,
        clip_norm=0.0, ema_decay=0.0))
    return config
