"""TriPlaneNet v2 at test size: tiny pSp + tri-plane encoders on pseudo-pairs of the embedded tiny EG3D.

  .venv/bin/python -m experiments.train --config=configs/triplanenet.py --workdir=out/triplanenet
  .venv/bin/python -m experiments.train --config=configs/triplanenet.py --workdir=out/triplanenet \
      --config.total_steps=200 --config.phases.add_triplanenet=50
Hardware: the 2-core CPU (or any single GPU / TPU host). Measured on the 2-core CPU (lightly loaded,
cold compilation cache): 218 s in all for the default 30 steps at batch 2, of which about 130 s is
compilation (one program for every phase); then 0.75 steps/s pSp-only (steps 1-10), 0.28 steps/s
with both branches (11-20), 0.45 steps/s tri-plane only (21-30); 0.41 steps/s over the run.
Expected metric (measured, log_every=1): 'loss' 1.79 at step 1 (pSp branch) -> 0.11 at step 30
(tri-plane branch); psp/loss mean 1.21 over steps 1-5 -> 0.59 over 16-20; triplanenet/loss mean 0.30
over 11-15 -> 0.23 over 26-30 (new pseudo-pairs every step, so single steps are noisy).
Outputs as configs/toy_psp.py: <workdir>/checkpoints, best/, metrics.jsonl, TensorBoard scalars
(psp/*, triplanenet/* terms, grad / param / update norms) and grids [input, pSp, TriPlaneNet,
mirrored camera, novel views]. The generator has random weights (configs/tiny_eg3d.py's seeded
init_kwargs, neural rendering 16 px with 8 + 8 depth samples): the point is the training path.
Every training constant not marked "tiny" is training.md §2's (options/train_options_v2.py).
"""
import ml_collections

from configs import generators, runs


def get_config():
    config = ml_collections.ConfigDict()
    config.method = "triplanenet"
    config.seed = 0  # official: 2107 (any seed; the tiny tests use 0)
    config.total_steps = 30  # tiny; official max_steps 1,500,000
    config.batch_size = 2  # tiny; official 3 in every phase
    config.resume = ""
    config.init_from = ""
    config.init_from_nets = ("psp", "triplanenet")

    config.generator = ml_collections.ConfigDict()
    # configs/tiny_eg3d.py's random-weight tiny generator with 8 + 8 depth samples
    config.generator.init_kwargs = generators.eg3d_init_kwargs(depth_resolution=8, depth_resolution_importance=8)
    config.generator.neural_rendering_resolution = 16  # tiny (tiny_eg3d.py: 64)
    config.generator.ray_chunk = generators.RAY_CHUNK
    # tiny: planes of 32 x 32 (8 ws) instead of EG3D's 256 (14 ws): the tri-plane encoder runs at the
    # planes' resolution; at 256 one two-branch step takes minutes on the CPU
    config.generator.triplane_resolution = 32
    config.generator.source = ""  # '' = random weights seeded by config.seed; else a generator file (api.load_generator)

    config.data = ml_collections.ConfigDict()
    config.data.source = "generator"  # generator (pseudo-pairs) | folder (aligned photos + dataset.json) | mixed
    # data.source='mixed': this share of each batch is pseudo-pairs, the rest folder photos. GOAE (goae.txt,
    # Experiment setup: "we use FFHQ for training"), TriPlaneNet v2 and pSp / e4e train on real photos only (0.0: their runs
    # use source='folder'); E3DGE trains on pseudo-pairs only (1.0); the Dual Encoder found real + synthetic
    # better than either (dual-encoder.txt §5.2, Table 4) without a ratio: 0.5 is chosen.
    config.data.pseudo_fraction = 0.5
    config.data.num_pairs = 0  # pseudo-pair pool size (0 = a new pair per example; tests: one fixed batch)
    config.data.resolution = 32  # tiny: the pairs' image side (official: the 512 image)
    config.data.image_key = "image"
    config.data.truncation_psi = 0.7
    config.data.truncation_cutoff = 14
    config.data.vis_yaw = 0.4
    config.data.poses = ml_collections.ConfigDict(dict(
        kind="gaussian", yaw_std=0.3, pitch_std=0.15, radius=2.7, pivot=(0.0, 0.0, 0.2), focal=4.2647))
    config.data.folder = ""
    config.data.name = ""
    config.data.tfds_dir = ""
    config.data.mirror_prob = 0.0  # official: dataset x-flip doubling off; the mirror loss mirrors in the step
    config.data.prefetch = 2
    config.data.read_threads = 0

    config.phases = ml_collections.ConfigDict(dict(
        add_triplanenet=10,  # tiny; official 20000: pSp only before it
        stop_psp=20,  # tiny; official 500000: pSp stops training here
        add_discriminator=600000,  # official; unused (no image discriminator in inversion3d)
        use_discriminator=False))  # official default off; True is refused (no image D network)

    config.model = ml_collections.ConfigDict()
    # tiny IR-SE-50 bodies (tests/inversion/synthetic.py widths); official widths (64, 128, 256, 512),
    # style blocks 512 wide, pSp input 256 (encoders.md §2, §4)
    config.model.psp = ml_collections.ConfigDict(dict(
        image_size=32, input_nc=3, num_layers=50, widths=(16, 16, 32, 32), style_hidden=32))
    config.model.triplanenet = ml_collections.ConfigDict(dict(
        in_nc=9, num_layers=50, widths=(16, 16, 32, 32), up_widths=(16, 16, 8, 8), use_pixelshuffle=False))

    config.losses = ml_collections.ConfigDict()
    config.losses.lpips_weights = "random-init:alex"  # tiny; official AlexNet LPIPS v0.1 (training.md §1.2)
    config.losses.arcface_weights = ""  # tiny: no ID term; official ArcFace IR-SE-50 (§1.3)
    config.losses.resolution = 32  # tiny; official 256 (renders 512 -> 256)
    config.losses.mirror_lambda = 0.1  # §2 mirror_lambda
    config.losses.psp = ml_collections.ConfigDict(dict(id=0.1, l2=1.0, lpips=0.8))  # §2 pSp branch
    config.losses.psp_mirror = ml_collections.ConfigDict(dict(id=0.1, l2=1.0, lpips=0.8))  # §2
    config.losses.triplanenet = ml_collections.ConfigDict(dict(id=0.1, smooth_l1=1.0, lpips=0.8))  # §2
    config.losses.triplanenet_mirror = ml_collections.ConfigDict(dict(id=0.1, smooth_l1=1.0, lpips=0.8))  # §2

    config.optim = ml_collections.ConfigDict()
    ranger = dict(  # training.md §3 (Ranger defaults), lr §2
        name="ranger", lr=1e-4, b1=0.95, b2=0.999, eps=1e-5, weight_decay=0.0, lookahead_k=6,
        lookahead_alpha=0.5, sma_threshold=5.0, centralize=True, schedule="constant", warmup_steps=0,
        clip_norm=0.0, ema_decay=0.0)
    config.optim.psp = ml_collections.ConfigDict(dict(ranger, lr=1e-3))  # tiny: 10x the official lr
    config.optim.triplanenet = ml_collections.ConfigDict(dict(ranger, lr=1e-3))  # tiny: 10x

    config.update(runs.run_sections(checkpoint_every=10, log_every=5, image_every=30, image_rows=2,
                                     eval_every=20))  # held-out eval (configs/runs.py)
    return config
