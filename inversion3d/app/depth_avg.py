"""`inversion3d depth-avg`: D_avg, the mean background depth of canonical samples of a generator
(GOAE Eq. 4), written as the JSON a GOAE stage-1 config reads (`losses.bg_depth_file`).

  inversion3d depth-avg --config configs/goae_stage1_full.py \
      --config.generator.checkpoint=ffhqrebalanced512-128.pkl --num 10000 --out depth_avg.json
  inversion3d depth-avg --generator ffhqrebalanced512-128.pkl --out depth_avg.json

--config takes a GOAE training config (its `generator` section: a checkpoint or random-weight
init_kwargs), with ml_collections overrides `--config.KEY=VALUE` (app/loading.load_config);
--generator a generator file. The background mask is the generator's accumulated opacity (the
project has no face-parsing network); the output line says so. Library: methods/goae/depth_avg.py.
"""
import os

from inversion3d.app.loading import COMPILING, load_config


def _generator_section(args, overrides):
    """(config.generator section, source name) from --config [+ overrides] or --generator."""
    import ml_collections

    if args.config:
        config = load_config(args.config, overrides)
        if "generator" not in config:
            raise ValueError(f"--config: {args.config} has no generator section (expected a GOAE training config "
                             "such as configs/goae_stage1.py)")
        return config.generator, args.config
    if overrides:
        raise ValueError(f"{overrides[0].split('=', 1)[0]}: overrides need --config, got --generator")
    if not os.path.exists(args.generator):
        raise ValueError(f"--generator: no such file or directory: {args.generator}")
    section = ml_collections.ConfigDict(dict(checkpoint=args.generator, init_kwargs={}, neural_rendering_resolution=0,
                                             ray_chunk=4096))
    return section, args.generator


def run(args, overrides=()):
    """Estimates D_avg and writes --out; prints one summary line naming the mask; returns the result dict."""
    if args.face_parsing:
        raise ValueError("--face-parsing: this project has no face-parsing network; leave it out to use the "
                         "generator's accumulated opacity as the background mask")
    if args.num < 1 or args.batch < 1:
        raise ValueError(f"--num, --batch: expected >= 1, got {args.num}, {args.batch}")
    if not 0 < args.threshold <= 1:
        raise ValueError(f"--threshold: expected an opacity in (0, 1], got {args.threshold}")
    if os.path.isdir(args.out):
        raise ValueError(f"--out: {args.out} is a directory; expected a .json file path")
    section, source = _generator_section(args, overrides)

    import jax

    from inversion3d.methods.goae import depth_avg
    from inversion3d.methods.goae.train import load_generator  # the training configs' generator section

    cfg, variables, rendering_kwargs = load_generator(section, jax.random.PRNGKey(args.seed))
    print(COMPILING.format(command="depth-avg"), flush=True)
    result = depth_avg.estimate(cfg, variables, args.num, args.batch, jax.random.PRNGKey(args.seed + 1),
                                args.threshold, args.truncation_psi, rendering_kwargs=rendering_kwargs)
    depth_avg.write(args.out, result, source)
    print(f"[depth-avg] D_avg = {result['depth_avg']:.4f} over {result['num_samples']} canonical samples; background "
          f"mask: {result['mask']} (weights_sum < {result['threshold']}, no face-parsing network), "
          f"{100 * result['background_fraction']:.1f}% of pixels; written to {args.out} "
          f"(config.losses.bg_depth_file)")
    return result
