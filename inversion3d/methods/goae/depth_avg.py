"""D_avg, the mean background depth of canonical generator samples (GOAE paper Eq. 4, training.md §5).

The paper renders 100k samples at the canonical (front) camera (conditioning and rendering) and
averages their depth over background pixels marked by a face-parsing network. The project has no
face-parsing network, so the mask is the generator's own accumulated opacity: a pixel is background
when its weights_sum is below a threshold (`losses.opacity_background`, the same rule the stage-1
L_BG uses). The result says which mask it used.

  python -m inversion3d.methods.goae.depth_avg --config configs/goae_stage1_full.py \
      --config-override generator.checkpoint=ffhqrebalanced512-128.pkl --out depth_avg.json
  python -m inversion3d.methods.goae.depth_avg --generator ffhqrebalanced512-128.pkl --out depth_avg.json

The JSON ({depth_avg, threshold, mask, ...}) is what `config.losses.bg_depth_file` reads.
"""
import argparse
import importlib.util
import json
import math
import sys

import jax
import jax.numpy as jnp

from inversion3d import camera
from inversion3d.generators import eg3d
from inversion3d.methods.goae.losses import opacity_background

MASK_OPACITY = "generator-opacity"  # weights_sum < threshold; the only mask without a parsing network


def estimate(cfg, variables, num: int, batch: int, key, threshold: float = 0.5, truncation_psi: float = 1.0,
             truncation_cutoff=None, rendering_kwargs=None) -> dict:
    """D_avg over `num` samples z ~ N(0, I) mapped and rendered at the frontal camera of the
    generator (cfg: EG3DConfig, variables: its arrays), `batch` per compiled call.

    -> {'depth_avg' (world units, inside the ray range), 'background_fraction', 'num_samples',
        'threshold', 'mask', 'truncation_psi'}. ValueError when no pixel is background."""
    if num < 1 or batch < 1:
        raise ValueError(f"num, batch: expected >= 1, got {num}, {batch}")
    front = jnp.asarray(camera.rig(cfg.kind, rendering_kwargs).frontal())
    c = jnp.broadcast_to(front, (batch, front.shape[0]))

    @jax.jit
    def sums(variables, key, threshold):
        z = jax.random.normal(key, (batch, cfg.z_dim))
        ws = eg3d.mapping(cfg, variables, z, c, truncation_psi, truncation_cutoff)
        out = eg3d.synthesize(cfg, variables, ws, c, noise_mode="const")
        mask = opacity_background(out["weights_sum"], threshold)
        return jnp.sum(mask * out["image_depth"]), jnp.sum(mask), mask.size

    depth_sum, count, pixels = 0.0, 0.0, 0
    calls = math.ceil(num / batch)
    for i in range(calls):  # the last call may render past `num`: count what was rendered
        d, m, p = sums(variables, jax.random.fold_in(key, i), jnp.float32(threshold))
        depth_sum, count, pixels = depth_sum + float(d), count + float(m), pixels + int(p)
    if count == 0:
        raise ValueError(f"threshold: no pixel of {calls * batch} canonical samples has weights_sum < {threshold}; "
                         "raise the threshold")
    return {"depth_avg": depth_sum / count, "background_fraction": count / pixels, "num_samples": calls * batch,
            "threshold": float(threshold), "mask": MASK_OPACITY, "truncation_psi": float(truncation_psi)}


def write(path: str, result: dict, source: str = "") -> None:
    """Writes `estimate`'s dict (plus the generator source) as JSON."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(dict(result, generator=source), f, indent=1)


def read(path: str):
    """(depth_avg, threshold) from a file `write` wrote; ValueError naming the file otherwise."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return float(data["depth_avg"]), float(data["threshold"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"losses.bg_depth_file: {path} is not a depth_avg JSON ({err})") from None


def _load_config(path: str, overrides):
    spec = importlib.util.spec_from_file_location("goae_train_config", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config()
    for item in overrides:
        key, _, value = item.partition("=")
        node = config
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = type(node[leaf])(value) if node[leaf] is not None else value
    return config


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="a GOAE training config: its generator section (checkpoint or init_kwargs)")
    src.add_argument("--generator", help="a generator checkpoint (official .pkl / .pth or a converted directory)")
    parser.add_argument("--config-override", action="append", default=[], metavar="KEY=VALUE",
                        help="config field override, e.g. generator.checkpoint=PATH (repeatable)")
    parser.add_argument("--out", required=True, help="JSON file to write (config.losses.bg_depth_file)")
    parser.add_argument("--num", type=int, default=1000, help="canonical samples (the paper: 100000)")
    parser.add_argument("--batch", type=int, default=8, help="samples per compiled call")
    parser.add_argument("--threshold", type=float, default=0.5, help="weights_sum below this = background")
    parser.add_argument("--truncation-psi", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--face-parsing", default="", help="a face-parsing network (not available in this project)")
    args = parser.parse_args(argv)
    if args.face_parsing:
        raise SystemExit("--face-parsing: this project has no face-parsing network; leave it out to use the "
                         "generator's accumulated opacity as the background mask")
    from inversion3d.methods.goae.train import load_generator  # the training configs' generator section

    if args.config:
        config = _load_config(args.config, args.config_override)
        gen_section, source = config.generator, args.config
    else:
        import ml_collections

        gen_section = ml_collections.ConfigDict(dict(checkpoint=args.generator, init_kwargs={},
                                                     neural_rendering_resolution=0, ray_chunk=4096))
        source = args.generator
    cfg, variables, rendering_kwargs = load_generator(gen_section, jax.random.PRNGKey(args.seed))
    result = estimate(cfg, variables, args.num, args.batch, jax.random.PRNGKey(args.seed + 1), args.threshold,
                      args.truncation_psi, rendering_kwargs=rendering_kwargs)
    write(args.out, result, source)
    print(f"D_avg = {result['depth_avg']:.4f} over {result['num_samples']} canonical samples; background mask: "
          f"{result['mask']} (weights_sum < {result['threshold']}, no face-parsing network), "
          f"{100 * result['background_fraction']:.1f}% of pixels; written to {args.out}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
