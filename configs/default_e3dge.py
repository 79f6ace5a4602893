"""E3DGE-style encoder on the embedded `default` generator (the tiny 64-px EG3D of configs/eg3d_gan.py), for
the synthetic-multiview benchmark's E3DGE row (README; issue 17). Not shipped: `--encoder WORKDIR` runs it.

  .venv/bin/python -m experiments.train --config=configs/default_e3dge.py --workdir=out/default_e3dge \
      --config.init_from=out/default_psp [--config.data.folder=/work/data/synth64]
  .venv/bin/inversion3d invert data/synth64 --split test --method e3dge --encoder out/default_e3dge --out runs/e3dge
Staged as E3DGE trains (e3dge.md §4: E0 first, then the local branch with E0 frozen): the global encoder E0
is a pSp, so it starts from a trained configs/default_psp.py run (`--config.init_from`, its 'encoder'), gets
E3DGE's own global terms (latent, depth, density, the pair's other view) for the first GLOBAL_STEPS, then
stops while the local branch trains. Without init_from E0 starts from scratch (then raise GLOBAL_STEPS).
Hardware: the 2-core CPU (any single GPU / TPU host works). Expected time and metric: measured in the
README's benchmark section.
Everything not set here is configs/e3dge.py's ([code] loss weights, Adam) with the default generator and
data of configs/default_encoders.py (its generator section, the synthetic train split, its poses).
"""
import ml_collections

from configs import default_encoders, default_psp, e3dge
from inversion3d import assets

GLOBAL_STEPS = 300  # E0's E3DGE terms on top of the trained pSp (chosen: ~20 % of the run)
LOCAL_STEPS = 600  # the local branch alone, E0 frozen (chosen for the CPU session budget)


def get_config():
    config = e3dge.get_config()
    enc = default_encoders.apply(default_psp.get_config())  # the shared generator / data / pSp sizes
    config.total_steps = GLOBAL_STEPS + LOCAL_STEPS
    config.batch_size = 4  # pairs + real rows per batch: 2 + 2 (pSp's batch, training.md §4)
    config.init_from_nets = ("encoder",)  # E0 from a default_psp run (docstring); the local branch from scratch

    g = config.generator
    g.init_kwargs = enc.generator.init_kwargs
    g.checkpoint = assets.generator_dir("default")
    g.neural_rendering_resolution = enc.generator.neural_rendering_resolution  # 32 (what the GAN trained with)
    g.ray_chunk = None  # all rays at once (default_encoders.py)
    g.triplane_resolution = 0  # the generator's own 64 x 64 planes

    d = config.data
    d.source = "mixed"  # pseudo-pairs + the synthetic train split's photos (default_encoders.py; e3dge.md §6)
    d.real_fraction = 0.5  # 2 of 4 rows (default_encoders.py's half and half)
    d.folder, d.name, d.split = enc.data.folder, enc.data.name, enc.data.split
    d.resolution = 64  # the generator's output and the photos' size
    d.poses = ml_collections.ConfigDict(enc.data.poses.to_dict())  # the GAN's camera distribution
    d.truncation_psi = 0.7  # EG3D's sampling psi (configs/e3dge.py)

    config.phases.add_local = GLOBAL_STEPS
    config.phases.stop_global = GLOBAL_STEPS  # E3DGE's stage 2 freezes E0 [code]

    m = config.model
    m.encoder = ml_collections.ConfigDict(dict(  # = configs/default_psp.py's encoder, so init_from fits
        image_size=enc.model.input_size, input_nc=3, num_layers=50, widths=tuple(enc.model.widths),
        style_hidden=enc.model.style_hidden))
    m.local.resolution = 32  # [ours, §6] the neural render's side
    m.local.visibility_margin = (3.3 - 2.25) / 12  # [ours, §6] one depth-sample spacing (12 samples a ray)

    config.losses.lpips_weights = ""  # no LPIPS / ArcFace weights ship (default_encoders.py): L2 terms only
    config.losses.arcface_weights = ""
    config.losses.resolution = 64
    config.losses.density_points = 256  # uniform points per example [ours] (tiny 64, full 4096)

    config.optim.encoder.lr = 1e-4  # chosen: E0 is already trained (default_psp's 1e-3 from scratch)
    config.optim.local.lr = 1e-3  # as configs/e3dge.py's tiny run (the local branch from scratch)
    config.checkpoint.every = 300
    config.logging.log_every = 50
    config.logging.image_every = 300
    return config
