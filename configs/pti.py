"""PTI (pivotal tuning, Roich et al. 2022, EG3D port): a W+ pivot (configs/wplus.py, fewer steps),
then every generator parameter is fine-tuned on the image with the pivot fixed
(inversion3d/inversion/pti.py).

  .venv/bin/python -m inversion3d invert me.png --method pti --generator ckpt/eg3d-reb128 \
      --camera aligned/dataset.json --out out/pti --lpips weights/lpips [--pose-opt] [--steps N]
Hardware: a GPU for real checkpoints (GOAE Table 1: PTI 115 s per image; with Pose Opt. 220 s). On
the 2-core CPU (bench_optimization.py, busy machine) one tuning step of ffhq512-128 with LPIPS-Alex
took 346 s (942 GFLOP), of the tiny default generator 2.3 s: use `--generator default` or few steps.
Expected metric: tuning stops once LPIPS <= 0.06; GOAE Table 1 reports PTI MSE .0163 / LPIPS .0918 on
CelebA-HQ, Pose Opt. .0164 / .0879 (editing-and-eval.md).
Without LPIPS weights the loss is MSE alone and there is no early stop.
"""
import ml_collections

from configs import wplus


def get_config():
    config = ml_collections.ConfigDict()
    config.pivot = wplus.get_config()  # the W+ projector settings of configs/wplus.py ...
    config.pivot.num_steps = 500  # ... for first_inv_steps (the EG3D PTI port's pivot inversion; PTI's own: 450 in W)
    config.pivot.log_every = 100

    config.tune = ml_collections.ConfigDict()
    config.tune.max_steps = 350  # PTI hyperparameters.max_pti_steps (`invert --steps` overrides both stages)
    config.tune.lr = 3e-4  # PTI pti_learning_rate; torch Adam defaults below
    config.tune.b1 = 0.9
    config.tune.b2 = 0.999
    config.tune.eps = 1e-8
    config.tune.l2 = 1.0  # PTI pt_l2_lambda: MSE on the full-size images in [-1, 1]
    config.tune.lpips = 1.0  # PTI pt_lpips_lambda
    config.tune.lpips_net = "alex"  # PTI lpips_type ('vgg' also works; the pivot stage uses VGG16)
    config.tune.fallback_mse = 1.0  # ours: the loss when no LPIPS weights are given (MSE only)
    config.tune.resolution = 0  # PTI compares full-size images (0 = no resize)
    config.tune.lpips_threshold = 0.06  # PTI LPIPS_value_threshold: stop once LPIPS <= this (checked on the host)
    # PTI use_locality_regularization = False (0 here); > 0 adds this multiple of the space regulariser
    # (inversion/pti.locality_loss; In-N-Out's PTI baseline turns it on with weight 1).
    config.tune.locality_weight = 0.0
    config.tune.locality = ml_collections.ConfigDict()
    config.tune.locality.samples = 1  # PTI latent_ball_num_of_samples (In-N-Out's eg3d copy: 2)
    config.tune.locality.alpha = 30.0  # PTI regulizer_alpha: distance moved from the pivot towards w_z
    config.tune.locality.l2 = 0.1  # PTI regulizer_l2_lambda
    config.tune.locality.lpips = 0.1  # PTI regulizer_lpips_lambda
    config.tune.locality.psi = 0.5  # PTI space_regulizer: mapping(z, truncation_psi=0.5)
    config.tune.locality.seed = 0  # ours: PRNG seed of the z draws (PTI: np.random.randn)
    config.tune.log_every = 50

    config.pose_opt = ml_collections.ConfigDict(config.pivot.pose_opt.to_dict())  # both stages (`--pose-opt`)
    return config
