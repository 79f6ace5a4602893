"""Toy pSp: a small CNN encoder -> W+ of the embedded tiny EG3D generator, on its pseudo-pairs.

  .venv/bin/python experiments/train.py --config configs/toy_psp.py --workdir out/toy_psp
  .venv/bin/python experiments/train.py --config configs/toy_psp.py --workdir out/toy_psp \
      --config.total_steps=400 --config.losses.image_l2=1.0
Hardware: the 2-core CPU (or any single GPU / TPU host; multi-device meshes are automatic).
Expected time on the 2-core CPU: about 20 s of compilation, then about 4 steps/s at batch 4
(measured 4.2 steps/s; the frozen generator renders the pairs inside each step's input), so under
a minute for the default 100 steps. With --config.losses.image_l2=1.0 every step back-propagates
through the generator: about 10 s a step (measured 0.095 steps/s with other jobs on the machine).
Expected metric: latent_l2 (= loss) 0.555 at step 10 -> 0.536 at step 100 (measured; w of a random
generator is hard to read from 32 px, so it falls slowly). Outputs are
<workdir>/checkpoints (last 2), best/ (by loss), metrics.jsonl, events.out.tfevents.* (scalars +
input / reconstruction / novel-view grids) for `tensorboard --logdir <workdir>`.
The generator has random weights (the same seeded init_kwargs as configs/tiny_eg3d.py, at neural
rendering resolution 16 with 8 + 8 depth samples): the point is the training stack, not faces.
"""
import ml_collections

from configs import generators, runs


def get_config():
    config = ml_collections.ConfigDict()
    config.method = "toy_psp"
    config.seed = 0
    config.total_steps = 100
    config.batch_size = 4  # global; a multiple of the device count
    config.resume = ""  # another run's workdir to continue (full state + input position)
    config.init_from = ""  # another run's workdir to take encoder weights from (fresh optimiser)
    config.init_from_nets = ("encoder",)

    config.generator = ml_collections.ConfigDict()
    config.generator.init_kwargs = generators.eg3d_init_kwargs(  # configs/tiny_eg3d.py's random-weight tiny generator
        depth_resolution=8, depth_resolution_importance=8)
    config.generator.neural_rendering_resolution = 16
    config.generator.ray_chunk = generators.RAY_CHUNK

    config.data = ml_collections.ConfigDict()
    config.data.source = "generator"  # generator | synthetic | folder
    config.data.resolution = 32  # encoder input; the 128 px render is area-averaged down
    # 'image' (super-resolved), 'image_raw' (the official raw output) or 'image_raw_render' (the
    # neural rendering itself; they differ only for a 2X / 4X SR fed without resize, eg3d.synthesize)
    config.data.image_key = "image"
    config.data.truncation_psi = 0.7
    config.data.truncation_cutoff = 14
    config.data.vis_yaw = 0.4  # novel views in the image grid at yaw pi/2 -+ 0.4 rad
    config.data.poses = ml_collections.ConfigDict(dict(
        kind="gaussian", yaw_std=0.3, pitch_std=0.15, radius=2.7, pivot=(0.0, 0.0, 0.2), focal=4.2647))
    # data.source='folder': an aligned folder with dataset.json (inversion3d/data/folder.py), e.g. what
    # `inversion3d preprocess` writes; images are area-averaged down to data.resolution. Folder images
    # have no w+, so train them with --config.losses.latent_l2=0 --config.losses.image_l2=1.0.
    config.data.folder = ""
    config.data.name = ""  # name of its prepared tfds copy (default: the folder's name)
    config.data.tfds_dir = ""  # where tfds keeps prepared copies ('' = tfds's default, ~/tensorflow_datasets)
    config.data.mirror_prob = 0.5
    config.data.prefetch = 2
    config.data.read_threads = 0

    config.model = ml_collections.ConfigDict(dict(
        name="toy", widths=(16, 32), batch_norm=True, start_from_latent_avg=True,
        num_ws=14, w_dim=512))  # num_ws / w_dim are taken from the generator when there is one

    config.losses = ml_collections.ConfigDict(dict(latent_l2=1.0, image_l2=0.0))

    config.optim = ml_collections.ConfigDict()
    config.optim.encoder = ml_collections.ConfigDict(dict(
        name="ranger", lr=1e-3, b1=0.95, b2=0.999, eps=1e-5, weight_decay=0.0, lookahead_k=6,
        lookahead_alpha=0.5, sma_threshold=5.0, centralize=True, schedule="cosine", warmup_steps=10,
        decay_steps=100, end_lr_factor=0.1, clip_norm=1.0, ema_decay=0.0))

    config.update(runs.run_sections(checkpoint_every=50, log_every=10, image_every=50, image_rows=4))
    return config
