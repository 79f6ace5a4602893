"""TriPlaneNet v2 on the embedded `default` generator (the tiny 64-px EG3D of configs/eg3d_gan.py), for the
synthetic-multiview benchmark's TriPlaneNet row (README; issue 17). Not shipped: `--encoder WORKDIR` runs it.

  .venv/bin/python -m experiments.train --config=configs/default_triplanenet.py --workdir=out/default_triplanenet \
      --config.init_from=out/default_psp [--config.data.folder=/work/data/synth64]
  .venv/bin/inversion3d invert data/synth64 --split test --method triplanenet --encoder out/default_triplanenet \
      --out runs/triplanenet
Staged as TriPlaneNet v2 trains (training.md §2: the pSp branch alone first, then the tri-plane branch on
its codes): the pSp branch is a trained configs/default_psp.py run (`--config.init_from`, its 'encoder' ->
this run's 'psp', `init_from_nets` 'psp=encoder'), so the run is the tri-plane branch's phase only, with the
pSp branch frozen (phases.stop_psp = 0; the official keeps training pSp to step 500k at lr 1e-4). Without
init_from the pSp branch is random: then set phases.add_triplanenet / stop_psp to train it first.
Hardware: the 2-core CPU (any single GPU / TPU host works). Expected time and metric: measured in the
README's benchmark section.
Everything not set here is configs/triplanenet.py's (training.md §2 loss weights, Ranger) with the default
generator and data of configs/default_encoders.py (its generator section, the synthetic train split, its poses).
"""
import ml_collections

from configs import default_encoders, default_psp, triplanenet

TOTAL_STEPS = 750  # the tri-plane branch: ~70 min at the measured 5 s a step (chosen for the CPU session; official 1.5 M)


def get_config():
    config = default_encoders.apply(triplanenet.get_config())
    psp = default_psp.get_config()
    config.total_steps = TOTAL_STEPS
    config.batch_size = 4  # as the default pSp (official 3)
    config.init_from_nets = ("psp=encoder",)  # the pSp branch from a default_psp run (docstring)
    config.generator.triplane_resolution = 0  # the generator's own 64 x 64 planes

    config.phases.add_triplanenet = 0  # the pSp branch is trained already (init_from)
    config.phases.stop_psp = 0  # and stays frozen (docstring)

    m = config.model
    m.psp = ml_collections.ConfigDict(dict(  # = configs/default_psp.py's encoder, so init_from fits
        image_size=psp.model.input_size, input_nc=3, num_layers=50, widths=tuple(psp.model.widths),
        style_hidden=psp.model.style_hidden))
    # IR-SE-50 body at default_psp's narrowed widths (official (64, 128, 256, 512)); the decoder's up1..up4
    # outputs narrowed too (official (512, 256, 128, 64), encoders.md §4); chosen for the CPU
    m.triplanenet = ml_collections.ConfigDict(dict(
        in_nc=9, num_layers=50, widths=tuple(psp.model.widths), up_widths=(64, 64, 32, 32), use_pixelshuffle=False))

    config.losses.resolution = 64  # the generator's full output (default_encoders.py)
    # chosen: the tiny config's Ranger lr 1e-3 (10x the official 1e-4, which starts from IR-SE-50 ArcFace weights;
    # this encoder trains from scratch in a CPU session)
    config.optim.triplanenet.lr = 1e-3
    config.checkpoint.every = 250
    config.logging.log_every = 50
    config.logging.image_every = 500
    config.eval.every = 500  # held-out pseudo-pairs (configs/runs.py) at each 500 steps
    config.eval.num_batches = 2  # 8 pairs
    return config
