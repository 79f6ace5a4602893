"""GOAE stage 1 at test size: a tiny GOAEncoder (Swin-V2 at 64 px) + the canonical latent
discriminator on pseudo-pairs of the embedded tiny EG3D generator (inversion3d/methods/goae/train_stage1.py).

  .venv/bin/python -m experiments.train --config=configs/goae_stage1.py --workdir=out/goae1
  .venv/bin/python -m experiments.train --config=configs/goae_stage1.py --workdir=out/goae1 \
      --config.total_steps=100 --config.losses.weights.bg_depth=0
Hardware: the 2-core CPU (or any single GPU / TPU host; multi-device meshes are automatic).
Expected time on the 2-core CPU: 1-2 minutes of compilation (two step variants: with and without
the lazy R1 update), then about 1.8 steps/s at batch 2 (measured: 38 steps in 21 s), so about
2-3 minutes for the default 40 steps.
Expected metric: the encoder's total loss (`loss` = g/loss) 2.07 at step 1 -> 0.34 at step 8 (w_base
only) -> 1.08 at step 40 (measured); it jumps at steps 9, 17, 26 where the coarse, mid and fine heads
switch on (a new head starts with O(1) deltas). Random generator weights: the point is the training
stack, not faces.
Outputs as configs/toy_psp.py: <workdir>/checkpoints, best/, metrics.jsonl, TensorBoard scalars
(g/*: encoder terms, d/*: discriminator, r1/*: lazy R1 steps) and image grids
(input | render of w+ | novel views).
Next: configs/goae_stage2.py with --config.init_from=out/goae1.
"""
import ml_collections

from configs import generators, runs


def get_config():
    config = ml_collections.ConfigDict()
    config.method = "goae_stage1"
    config.seed = 0
    config.total_steps = 40
    config.batch_size = 2  # global; a multiple of the device count
    config.resume = ""  # another run's workdir to continue (full state + input position)
    config.init_from = ""  # another run's workdir to take weights from (fresh optimiser)
    config.init_from_nets = ("encoder",)

    config.generator = ml_collections.ConfigDict()
    # '' = random weights from init_kwargs (seeded); else an official .pkl / .pth or a converted directory
    config.generator.checkpoint = ""
    # configs/tiny_eg3d.py's random-weight tiny generator with 8 + 8 depth samples (as configs/psp.py)
    config.generator.init_kwargs = generators.eg3d_init_kwargs(depth_resolution=8, depth_resolution_importance=8)
    config.generator.neural_rendering_resolution = 16  # 0 = the checkpoint's
    config.generator.ray_chunk = generators.RAY_CHUNK

    config.data = ml_collections.ConfigDict()
    config.data.source = "generator"  # generator (pseudo-pairs) | folder (aligned photos + dataset.json) | mixed
    # data.source='mixed': this share of each batch is pseudo-pairs, the rest folder photos. GOAE (goae.txt,
    # Experiment setup: "we use FFHQ for training"), TriPlaneNet v2 and pSp / e4e train on real photos only (0.0: their runs
    # use source='folder'); E3DGE trains on pseudo-pairs only (1.0); the Dual Encoder found real + synthetic
    # better than either (dual-encoder.txt §5.2, Table 4) without a ratio: 0.5 is chosen.
    config.data.pseudo_fraction = 0.5
    config.data.num_pairs = 0  # pseudo-pair pool size (0 = a new pair per example; tests: one fixed batch)
    config.data.resolution = 128  # the generator's output size: GOAE's input (encoders.md §1.4, AFA input)
    config.data.image_key = "image"  # pairs are the super-resolved image, what the pipeline compares
    config.data.truncation_psi = 0.7  # pseudo-pairs as configs/toy_psp.py (EG3D's sampling default)
    config.data.truncation_cutoff = 14
    config.data.vis_yaw = 0.4  # novel views in the image grid at yaw pi/2 -+ 0.4 rad
    config.data.poses = ml_collections.ConfigDict(dict(  # as configs/toy_psp.py; FFHQ focal (eg3d.md §8)
        kind="gaussian", yaw_std=0.3, pitch_std=0.15, radius=2.7, pivot=(0.0, 0.0, 0.2), focal=4.2647))
    # data.source='folder': an aligned folder or EG3D dataset_tool zip with dataset.json (inversion3d/data)
    config.data.folder = ""
    config.data.name = ""
    config.data.tfds_dir = ""
    config.data.mirror_prob = 0.5  # horizontal flip with the camera mirrored (data/mirror.py)
    config.data.prefetch = 2
    config.data.read_threads = 0

    config.model = ml_collections.ConfigDict()
    config.model.encoder = ml_collections.ConfigDict(dict(  # GOAEncoder; w_dim comes from the generator
        swin=dict(img_size=64, patch_size=4, in_chans=3, embed_dim=16, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4),
                  window_size=4, mlp_ratio=4.0, pretrained_window_sizes=(3, 3, 3, 2)),  # tests/encoders/test_goae.py TINY
        nhead=4, dim_feedforward=64))  # nhead 4 as the release; feed-forward shrunk from 1024 for the test
    config.model.discriminator = ml_collections.ConfigDict(dict(n_mlp=4))  # e4e's MLP (encoders.md §5.1-5.2)
    # Progressive heads (encoders.md §1.2, GOAE set_stage): w_base only before t1, + coarse from t1,
    # + mid from t2, + fine after t3. The release passes (10000, 20000, 30000); here scaled to 40 steps.
    config.model.stage_thresholds = (8, 16, 24)

    config.losses = ml_collections.ConfigDict()
    config.losses.weights = ml_collections.ConfigDict(dict(
        l2=1.0, lpips=0.8, id=0.25,  # L_rec, GOAE Eq. 10 (lambda 1-3)
        adv=0.05,  # lambda_4 L_adv^E, Eq. 11
        bg_depth=5.0,  # lambda_5 L_BG, Eq. 11
        wplus_delta=0.001))  # lambda_6 ||Δw+||, text after Eq. 11
    config.losses.lpips_weights = "random-init:alex"  # tests only; a real run: the LPIPS alex weights (training.md §1.2)
    config.losses.arcface_weights = ""  # '' = no ID term (tiny); a real run: model_ir_se50.pth (training.md §1.3)
    config.losses.resolution = 64  # both images compared at 64 px (the official trainers: 256, training.md §1.1)
    config.losses.r1_gamma = 10.0  # R1 on real codes, GOAE text after Eq. 11
    config.losses.r1_every = 16  # lazy R1 interval (e4e / StyleGAN2, training.md §4)
    config.losses.real_truncation_psi = 1.0  # real codes: plain mapping outputs at the canonical camera (Eq. 2)
    # D_avg (Eq. 4): a JSON from `inversion3d depth-avg --config configs/goae_stage1.py --out F`
    # (depth_avg + the opacity threshold it used), else the two numbers below.
    config.losses.bg_depth_file = ""
    config.losses.bg_depth_avg = 2.76  # the depth_avg command on this generator: 2.7595 (64 samples, threshold 0.25)
    config.losses.bg_mask_threshold = 0.25  # weights_sum below = background (tiny generator's opacity is 0.15-0.34)

    config.optim = ml_collections.ConfigDict()
    # Not in the paper (training.md §5): chosen. Adam for the test-size encoder (Ranger lr 1e-4 in _full).
    config.optim.encoder = ml_collections.ConfigDict(dict(name="adam", lr=1e-3, b1=0.9, b2=0.999, eps=1e-8,
                                                          schedule="constant", warmup_steps=0, clip_norm=0.0,
                                                          ema_decay=0.0))
    config.optim.discriminator = ml_collections.ConfigDict(dict(name="adam", lr=2e-5, b1=0.9, b2=0.999, eps=1e-8,
                                                                schedule="constant", warmup_steps=0, clip_norm=0.0,
                                                                ema_decay=0.0))  # e4e's latent D (training.md §4)

    config.update(runs.run_sections(checkpoint_every=20, log_every=5, image_every=20, image_rows=2,
                                     eval_every=20))  # held-out eval (configs/runs.py)
    return config
