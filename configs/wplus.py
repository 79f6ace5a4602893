"""W+ optimisation: the EG3D / StyleGAN2 projector in W+ (inversion3d/inversion/wplus.py).

  .venv/bin/python -m inversion3d invert me.png --method wplus --generator ckpt/eg3d-reb128 \
      --camera aligned/dataset.json --out out/wplus --lpips weights/lpips [--pose-opt] [--steps 1000]
Hardware: a GPU for real checkpoints. On the 2-core CPU (bench_optimization.py, random weights, busy
machine) one step of the ffhq512-128 generator with LPIPS-VGG took 324 s (1056 GFLOP), on the
embedded tiny generator (`--generator default`) 3.1 s (53 GFLOP, mostly VGG); MSE-only steps of the
tiny generator at neural resolution 16 take about 0.5 s.
Expected metric: the loss (LPIPS-VGG at 256) falls over the run (the latent noise makes single steps
noisy); Dual Encoder Table 1 reports W+ opt. L2 .035 / LPIPS .17 / ID .57 on FFHQ+LPFF with PanoHead
(editing-and-eval.md). Measured here (tests, tiny generator, MSE, lr 0.05): 1.08 -> 0.04 in 20 steps.
Without LPIPS weights (`--lpips` not given) the loss is MSE alone (the command says so).
"""
import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.space = "wplus"  # 'wplus' (EG3D w-plus projector) or 'w' (EG3D projector: one w repeated, --config.space=w)
    config.num_steps = 1000  # EG3D w-plus projector's num_steps (`invert --steps` overrides)
    config.w_avg_samples = 10000  # projector: w statistics from 10k z with the frontal conditioning camera
    config.w_avg_seed = 123  # projector: np.random.RandomState(123).randn(w_avg_samples, z_dim)
    config.seed = 0  # ours: PRNG seed of the per-step latent noise draws
    config.panohead_ray_start = 2.35  # PanoHead's projector sets rendering_kwargs['ray_start'] (panohead.md §7)
    config.log_every = 100  # progress line every N steps

    config.optim = ml_collections.ConfigDict()
    config.optim.lr = 0.01  # projector initial_learning_rate
    config.optim.b1 = 0.9  # projector: Adam(betas=(0.9, 0.999)), torch's eps
    config.optim.b2 = 0.999
    config.optim.eps = 1e-8
    config.optim.lr_rampdown_length = 0.25  # projector: cosine ramp-down over the last 25 % of the steps
    config.optim.lr_rampup_length = 0.05  # projector: linear ramp-up over the first 5 %

    config.noise = ml_collections.ConfigDict()
    config.noise.initial_noise_factor = 0.05  # projector: w noise std = w_std * 0.05 * max(0, 1 - t / 0.75)^2
    config.noise.noise_ramp_length = 0.75
    # The projector's noise regulariser (regularize_noise_weight 1e5) acts on optimised synthesis noise
    # buffers; we render with noise_mode 'const' (fixed buffers, not optimised), so it does not apply
    # and there is no field for it.

    config.losses = ml_collections.ConfigDict()
    config.losses.lpips = 1.0  # projector: the VGG16 LPIPS distance is the whole loss
    config.losses.lpips_net = "vgg"  # projector: VGG16 LPIPS ('alex' also available)
    config.losses.mse = 0.0  # projector: no pixel term (PTI's stage uses 1.0)
    config.losses.fallback_mse = 1.0  # ours: the loss when no LPIPS weights are given (MSE only)
    config.losses.resolution = 256  # projector: synth and target area-averaged to 256 when larger

    config.pose_opt = ml_collections.ConfigDict()  # "Pose Opt." (GOAE Table 1; no released code: ours)
    config.pose_opt.enabled = False  # `invert --pose-opt`
    # Adam on (axis-angle (rad), translation (world units)) of the target camera, constant lr: 5e-3 moves
    # at most ~0.3 deg or 5e-3 units a step, so a few-degree error is corrected in ~100-200 steps
    # while the latent still moves (1e-3 is the cautious choice for long runs).
    config.pose_opt.lr = 5e-3
    config.pose_opt.b1 = 0.9
    config.pose_opt.b2 = 0.999
    config.pose_opt.eps = 1e-8
    return config
