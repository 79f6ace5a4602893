"""D_avg, the mean background depth of canonical generator samples (GOAE paper Eq. 4, training.md §5).

The paper renders 100k samples at the canonical (front) camera (conditioning and rendering) and
averages their depth over background pixels marked by a face-parsing network. The project has no
face-parsing network, so the mask is the generator's own accumulated opacity: a pixel is background
when its weights_sum is below a threshold (`losses.opacity_background`, the same rule the stage-1
L_BG uses). The result says which mask it used.

The command is `inversion3d depth-avg` (inversion3d/app/depth_avg.py):

  inversion3d depth-avg --config configs/goae_stage1_full.py \
      --config.generator.checkpoint=ffhqrebalanced512-128.pkl --out depth_avg.json
  inversion3d depth-avg --generator ffhqrebalanced512-128.pkl --out depth_avg.json

The JSON ({depth_avg, threshold, mask, ...}) is what `config.losses.bg_depth_file` reads.
"""
import json
import math

import jax
import jax.numpy as jnp

from inversion3d import camera
from inversion3d.files import atomic_write
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
    """Writes `estimate`'s dict (plus the generator source) as JSON, atomically."""
    def dump(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(dict(result, generator=source), f, indent=1)

    atomic_write(path, dump)


def read(path: str):
    """(depth_avg, threshold) from a file `write` wrote; ValueError naming the file otherwise."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return float(data["depth_avg"]), float(data["threshold"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"losses.bg_depth_file: {path} is not a depth_avg JSON ({err})") from None
