"""E3DGE-style encoder at test size: tiny pSp + local branch on two-view pseudo-pairs of the embedded tiny EG3D.

  .venv/bin/python -m experiments.train --config=configs/e3dge.py --workdir=out/e3dge
  .venv/bin/python -m experiments.train --config=configs/e3dge.py --workdir=out/e3dge --config.total_steps=100
  .venv/bin/python -m inversion3d invert photo.png --method e3dge --encoder out/e3dge --camera frontal \
      --out out/e3dge-invert   # the workdir's latest checkpoint and the run's own generator
  .venv/bin/python -m inversion3d export out/e3dge --out out/e3dge-encoder   # (--encoder DIR --generator ...)
Hardware: the 2-core CPU (or any single GPU / TPU host). Expected time and metric: see the README's
E3DGE section (measured there). The generator has random weights (configs/tiny_eg3d.py's seeded
init_kwargs, neural rendering 16 px with 8 + 8 depth samples): the point is the training path.
Constants marked [code] are E3DGE's official scripts' (e3dge.md §3-§4, scripts/train/ffhq/stage*.sh);
[ours] are the EG3D adaptation's (e3dge.md §6); 'tiny' marks test-size choices.
"""
import ml_collections

from configs import generators, runs


def get_config():
    config = ml_collections.ConfigDict()
    config.method = "e3dge"
    config.seed = 0
    config.total_steps = 30  # tiny
    config.batch_size = 2  # tiny; [code] 4 x 4 GPUs (stage 1), 8 x 4 (stage 2.1), 4 x 4 (stage 2.2)
    config.resume = ""
    config.init_from = ""
    config.init_from_nets = ("encoder", "local")

    config.generator = ml_collections.ConfigDict()
    config.generator.kind = "eg3d"  # eg3d | panohead (configs/e3dge_panohead.py)
    config.generator.init_kwargs = generators.eg3d_init_kwargs(depth_resolution=8, depth_resolution_importance=8)
    config.generator.neural_rendering_resolution = 16  # tiny (EG3D ffhq512-128: 128)
    config.generator.ray_chunk = generators.RAY_CHUNK
    config.generator.triplane_resolution = 32  # tiny (EG3D: 256)
    config.generator.source = ""  # '' = random weights seeded by config.seed; else a generator file

    config.data = ml_collections.ConfigDict()
    config.data.source = "generator"  # generator (two-view pseudo-pairs) | mixed (+ real photos, data.folder)
    config.data.real_fraction = 0.5  # 'mixed': share of each batch that is real photos (>= 2 rows) [ours, §6]
    config.data.resolution = 32  # tiny: the pairs' image side (EG3D: 512)
    config.data.image_key = "image"
    config.data.truncation_psi = 0.7  # EG3D's sampling psi (configs/generators.sample_fields)
    config.data.truncation_cutoff = 14
    # both cameras from EG3D's Gaussian pose sampler (pseudo_pairs.sample_pose) [ours, §6]
    config.data.poses = ml_collections.ConfigDict(dict(
        kind="gaussian", yaw_std=0.3, pitch_std=0.15, radius=2.7, pivot=(0.0, 0.0, 0.2), focal=4.2647))
    config.data.folder = ""
    config.data.name = ""
    config.data.tfds_dir = ""
    config.data.mirror_prob = 0.0
    config.data.prefetch = 2
    config.data.read_threads = 0

    config.phases = ml_collections.ConfigDict(dict(
        add_local=10,  # tiny; E3DGE trains stage 2 after stage 1 [code]: global only before it
        stop_global=20))  # tiny; [code] stage 2 freezes E0 (the encoder stops here)

    config.model = ml_collections.ConfigDict()
    # tiny IR-SE bodies (configs/triplanenet.py widths); [code] E0 is a pSp (IR-SE-50, 256 input)
    config.model.encoder = ml_collections.ConfigDict(dict(
        image_size=32, input_nc=3, num_layers=50, widths=(16, 16, 32, 32), style_hidden=32))
    config.model.local = ml_collections.ConfigDict(dict(
        features=16,  # tiny; [code] 256 pixel-aligned channels
        stem=8,  # tiny; [code] 32 per stem (residual, depth)
        hourglass=16,  # tiny; [code] PIFu hourglass_dim 256
        hidden=32, layers=2,  # tiny; [code] Fuse_sft_MLP 256 wide
        num_freqs=7,  # [code] 7 log-spaced frequencies -> 45-d PE
        align_widths=(8, 16, 24),  # tiny; [code] ResidualAligner 16, 32, 48 (+64)
        resolution=16,  # tiny: side of R and P ([code] 256; [ours] the neural render's 128)
        visibility_margin=0.13))  # [ours, §6]: one depth-sample spacing, (3.3 - 2.25) / 8 samples

    config.losses = ml_collections.ConfigDict()
    config.losses.lpips_weights = "random-init:alex"  # tiny; [code] AlexNet LPIPS (and VGG)
    config.losses.arcface_weights = ""  # tiny: no ID term; [code] ArcFace IR-SE-50, weight 0.1
    config.losses.resolution = 32  # tiny; [code] 256
    config.losses.density_points = 64  # tiny; uniform points per example for the density term [ours]
    # [code] stage 1: L2 1, LPIPS 0.8, ID 0.1, latent regression 1; geometry 1 (surface terms) ->
    # [ours] depth 1, density 0.2 (StyleSDF's uniform-point SDF weight); novel view = the input view's
    config.losses.encoder = ml_collections.ConfigDict(dict(
        l2=1.0, lpips=0.8, id=0.1, novel_l2=1.0, novel_lpips=0.8, novel_id=0.1, latent=1.0, depth=1.0, density=0.2))
    # [code] stage 2: L2 1, LPIPS 0.8, ID 0.1 on both generated views, res 1 (the aligned residual)
    config.losses.local = ml_collections.ConfigDict(dict(
        l2=1.0, lpips=0.8, id=0.1, novel_l2=1.0, novel_lpips=0.8, novel_id=0.1, residual=1.0))

    config.optim = ml_collections.ConfigDict()
    adam = dict(  # [code] E3DGE trains with Adam at lr 5e-5 in every stage
        name="adam", lr=5e-5, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, schedule="constant", warmup_steps=0,
        clip_norm=0.0, ema_decay=0.0)
    config.optim.encoder = ml_collections.ConfigDict(dict(adam, lr=1e-3))  # tiny: 20x the official lr
    config.optim.local = ml_collections.ConfigDict(dict(adam, lr=1e-3))  # tiny: 20x

    config.update(runs.run_sections(checkpoint_every=10, log_every=5, image_every=30, image_rows=2))
    return config
