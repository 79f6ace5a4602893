"""pSp (Richardson et al. 2021) on EG3D, tiny: a narrow IR-SE-50 GradualStyleEncoder -> w+ of the
embedded tiny EG3D generator, trained on its pseudo-pairs (inversion3d/methods/psp/train.py).

  .venv/bin/python experiments/train.py --config configs/psp.py --workdir out/psp
  .venv/bin/python experiments/train.py --config configs/psp.py --workdir out/psp --config.total_steps=200
Hardware: the 2-core CPU (any single GPU / TPU host works; multi-device meshes are automatic).
Expected time on the 2-core CPU: 1 to 2.5 min of compilation, then about 1.1 s a step at batch 4
(measured 0.9 steps/s on a quiet machine, 0.27 steps/s beside ~8 other jobs): every step
back-propagates through the generator's 256² tri-plane backbone, its render and LPIPS.
Expected metric: loss (= l2 + 0.8 lpips; no ID without ArcFace weights) 1.58 at step 1 -> 0.49 at
step 40, mean of the first / last 10 steps 1.09 -> 0.53 (measured; the pairs change every step,
so single values scatter by about +-0.4).
The generator and LPIPS have random weights (configs/tiny_eg3d.py's seeded tiny generator; LPIPS
'random-init:alex'): the point is the training path, not faces. configs/psp_full.py has the paper's sizes.
"""
import ml_collections

from configs import generators, runs


def generator_kwargs():
    """configs/tiny_eg3d.py's random-weight tiny EG3D (128 px, SR 2X, 32-channel backbone) with 8 + 8 depth samples."""
    return generators.eg3d_init_kwargs(depth_resolution=8, depth_resolution_importance=8)


def get_config():
    config = ml_collections.ConfigDict()
    config.method = "psp"
    config.seed = 0
    config.total_steps = 40
    config.batch_size = 4  # training.md §4: pSp batch 4 (global; a multiple of the device count)
    config.resume = ""  # another run's workdir to continue (full state + input position)
    config.init_from = ""  # another run's workdir to take encoder weights from (fresh optimiser)
    config.init_from_nets = ("encoder",)

    config.generator = ml_collections.ConfigDict()
    config.generator.checkpoint = ""  # '' = seeded random weights; else an EG3D .pkl / .pth / converted dir
    config.generator.init_kwargs = generator_kwargs()
    config.generator.neural_rendering_resolution = 16  # tiny: 16² rays x (8 + 8) samples
    config.generator.ray_chunk = generators.RAY_CHUNK

    config.data = ml_collections.ConfigDict()
    config.data.source = "generator"  # generator (pseudo-pairs) | folder (aligned photos + dataset.json) | mixed
    # data.source='mixed': this share of each batch is pseudo-pairs, the rest folder photos. GOAE (goae.txt,
    # Experiment setup: "we use FFHQ for training"), TriPlaneNet v2 and pSp / e4e train on real photos only (0.0: their runs
    # use source='folder'); E3DGE trains on pseudo-pairs only (1.0); the Dual Encoder found real + synthetic
    # better than either (dual-encoder.txt §5.2, Table 4) without a ratio: 0.5 is chosen.
    config.data.pseudo_fraction = 0.5
    config.data.num_pairs = 0  # pseudo-pair pool size (0 = a new pair per example; tests: one fixed batch)
    config.data.resolution = 32  # tiny: the 128 px renders are area-averaged to 32 px
    config.data.image_key = "image"  # the super-resolved output, what inference returns
    config.data.truncation_psi = 0.7  # pseudo-pairs as configs/toy_psp.py
    config.data.truncation_cutoff = 14
    config.data.vis_yaw = 0.4  # novel views in the image grid at yaw pi/2 -+ 0.4 rad
    config.data.poses = ml_collections.ConfigDict(dict(  # EG3D's FFHQ camera distribution (toy_psp)
        kind="gaussian", yaw_std=0.3, pitch_std=0.15, radius=2.7, pivot=(0.0, 0.0, 0.2), focal=4.2647))
    config.data.folder = ""  # data.source='folder': an aligned folder or dataset_tool .zip
    config.data.name = ""
    config.data.tfds_dir = ""
    config.data.mirror_prob = 0.5  # folder photos are mirrored with their cameras
    config.data.prefetch = 2
    config.data.read_threads = 0

    config.model = ml_collections.ConfigDict()
    config.model.name = "psp"  # GradualStyleEncoder (encoders.md §2); 'e4e' = Encoder4Editing
    config.model.input_size = 32  # tiny (official: 256); a multiple of 16
    config.model.num_layers = 50  # IR-SE-50 body (encoders.md §2.1)
    config.model.widths = (16, 16, 16, 16)  # tiny (official (64, 128, 256, 512)); SE needs >= 16
    config.model.style_hidden = 16  # tiny style-block convs (official None = 512)
    config.model.start_from_latent_avg = True  # training.md §4: codes + the generator's w_avg

    config.losses = ml_collections.ConfigDict()
    config.losses.l2 = 1.0  # training.md §4 (pSp l2_lambda)
    config.losses.lpips = 0.8  # training.md §4 (lpips_lambda)
    config.losses.id = 0.1  # training.md §4: the facial training scripts pass id_lambda 0.1
    config.losses.w_norm = 0.0  # training.md §4 (w_norm_lambda 0)
    config.losses.resolution = 32  # images compared at this size (official: 256, training.md §1.1)
    config.losses.lpips_weights = "random-init:alex"  # tests only; real runs: the LPIPS AlexNet weights
    config.losses.arcface_weights = ""  # '' = no ID term; real runs: model_ir_se50.pth

    config.optim = ml_collections.ConfigDict()
    # training.md §3-4: Ranger lr 1e-4 (psp_full.py); tiny: 1e-3, so that 40 steps show the fall
    config.optim.encoder = ml_collections.ConfigDict(dict(
        name="ranger", lr=1e-3, b1=0.95, b2=0.999, eps=1e-5, weight_decay=0.0, lookahead_k=6,
        lookahead_alpha=0.5, sma_threshold=5.0, centralize=True, schedule="constant", warmup_steps=0,
        clip_norm=0.0, ema_decay=0.0))

    config.update(runs.run_sections(checkpoint_every=20, log_every=10, image_every=20, image_rows=4,
                                     eval_every=20))  # held-out eval (configs/runs.py)
    return config
