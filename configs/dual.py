"""Dual Encoder at test size: tiny E1 / E2 (pSp + tri-grid encoders) and a shrunk Table 6 tri-plane D on
pseudo-pairs of the embedded tiny PanoHead ('default-panohead' shrunk: 32 x 32 tri-grids).

  .venv/bin/python -m experiments.train --config=configs/dual.py --workdir=out/dual
  .venv/bin/python -m experiments.train --config=configs/dual.py --workdir=out/dual --config.total_steps=100
Hardware: the 2-core CPU (or any single GPU / TPU host). Outputs as configs/toy_psp.py: checkpoints,
best/, metrics.jsonl (e1/*, e2/*, d/*, r1/* terms, grad / param / update norms), TensorBoard and image
grids [input, E1, E2, stitched Dual, O, novel views, back view]. The generator has random weights:
the point is the training path. Measured numbers: see methods/dual/train.py's docstring and the
README's Dual Encoder section. Constants not marked "tiny" or "choice" are the paper's (Dual Encoder,
Appendix A.2 / Sec. 4.1; seed text in shared/papers/dual-encoder.txt) or training.md's.
"""
import math

import ml_collections

from configs import generators, runs


def get_config():
    config = ml_collections.ConfigDict()
    config.method = "dual"
    config.seed = 0  # choice (the paper gives none)
    config.total_steps = 20  # tiny; paper Sec. 4.1: 500k iterations
    config.batch_size = 2  # tiny; paper Sec. 4.1: batch 3
    config.resume = ""
    config.init_from = ""
    config.init_from_nets = ("e1", "e2", "discriminator")

    config.generator = ml_collections.ConfigDict()
    # the embedded 'default-panohead' (configs/demo_panohead.py) with 8 + 8 depth samples
    config.generator.init_kwargs = generators.panohead_init_kwargs(depth_resolution=8, depth_resolution_importance=8)
    config.generator.neural_rendering_resolution = 16  # tiny (PanoHead: 64)
    config.generator.ray_chunk = generators.RAY_CHUNK
    config.generator.triplane_resolution = 32  # tiny: 32 x 32 tri-grids (PanoHead 256); D and O follow it
    config.generator.checkpoint = ""  # '' = random weights seeded by config.seed; else a generator file

    config.data = ml_collections.ConfigDict()
    config.data.source = "generator"  # generator (pseudo-pairs) | folder (aligned photos + dataset.json)
    config.data.resolution = 32  # tiny: the image side (paper: 512 renders, encoders at 256)
    config.data.image_key = "image"
    config.data.truncation_psi = 0.7  # pseudo-pairs: PanoHead's sampling psi (panohead.md §7)
    config.data.truncation_cutoff = 14
    config.data.vis_yaw = 0.6
    config.data.poses = ml_collections.ConfigDict(dict(  # PanoHead rig: pivot at the origin, radius 2.7
        kind="gaussian", yaw_std=0.6, pitch_std=0.15, radius=2.7, pivot=(0.0, 0.0, 0.0), focal=4.2647))
    # Table 4 "Real imgs. + Z+": this fraction of each batch's rows are Z+ renders (ratio: choice, the
    # paper gives none); z+ through the mapping at the front camera with psi 0.85 (Appendix A.2)
    config.data.synthetic_ratio = 0.5
    config.data.synthetic_psi = 0.85
    config.data.synthetic_poses = ml_collections.ConfigDict(dict(  # choice: wide yaw for 360-degree heads
        kind="gaussian", yaw_std=math.pi / 2, pitch_std=0.15, radius=2.7, pivot=(0.0, 0.0, 0.0), focal=4.2647))
    config.data.folder = ""
    config.data.name = ""
    config.data.tfds_dir = ""
    config.data.mirror_prob = 0.5  # Sec. 4.1: camera and image mirroring during training
    config.data.prefetch = 2
    config.data.read_threads = 0

    config.model = ml_collections.ConfigDict()
    # Appendix A.1: both encoders are pSp GradualStyleEncoder + TriPlaneNet v2 encoder (encoders.md §2, §4);
    # tiny IR-SE-50 widths (tests/inversion/synthetic.py)
    config.model.psp = ml_collections.ConfigDict(dict(
        image_size=32, input_nc=3, num_layers=50, widths=(16, 16, 32, 32), style_hidden=32))
    config.model.triplanenet = ml_collections.ConfigDict(dict(
        in_nc=9, num_layers=50, widths=(16, 16, 32, 32), up_widths=(16, 16, 8, 8), use_pixelshuffle=False))
    # Table 6 widths (64, 128, 256, 512); tiny (8, 16, 16, 32)
    config.model.discriminator = ml_collections.ConfigDict(dict(widths=(8, 16, 16, 32)))
    # O's post-processing (methods/dual/pipeline.py, choice: GOAE's blur -> > 0.35 -> blur, sigma 1.5;
    # 0 = Eq. 3's hard mask); used by training (D's masks) and by the image grids
    config.model.mask_sigma = 1.5

    config.losses = ml_collections.ConfigDict()
    config.losses.lpips_weights = "random-init:alex"  # tiny; paper: LPIPS [41] (training.md §1.2 AlexNet)
    config.losses.arcface_weights = ""  # tiny: no ID term; paper: ArcFace [12] (training.md §1.3)
    config.losses.resolution = 32  # tiny; 256 (training.md §1)
    # Eq. 5 lambda_1..3 = 0.8, 1.0, 0.5; Eq. 6 lambda_4 = 0.001 (E2's adversarial term)
    config.losses.weights = ml_collections.ConfigDict(dict(lpips=0.8, l2=1.0, id=0.5, adv=0.001))
    config.losses.d_lambda = 0.5  # Eq. 8 lambda
    config.losses.r1_gamma = 10.0  # Appendix A.2: R1 weight 10
    config.losses.r1_every = 16  # Appendix A.2: every 16 iterations
    config.losses.real_truncation_psi = 0.85  # T_synth: z+ with psi 0.85 (Appendix A.2)

    config.optim = ml_collections.ConfigDict()
    ranger = dict(  # Sec. 4.1: Ranger, lr 1e-4 for both encoders and D; Ranger defaults training.md §3
        name="ranger", lr=1e-4, b1=0.95, b2=0.999, eps=1e-5, weight_decay=0.0, lookahead_k=6,
        lookahead_alpha=0.5, sma_threshold=5.0, centralize=True, schedule="constant", warmup_steps=0,
        clip_norm=0.0, ema_decay=0.0)
    for net in ("e1", "e2", "discriminator"):
        config.optim[net] = ml_collections.ConfigDict(dict(ranger, lr=1e-3))  # tiny: 10x the paper's lr

    config.update(runs.run_sections(checkpoint_every=10, log_every=5, image_every=20, image_rows=2))
    return config
