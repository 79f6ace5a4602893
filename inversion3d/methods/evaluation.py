"""Held-out evaluation of an EG3D encoder during training (the loop's `Method.evaluate` hook).

A method's `evaluate(state, batch, frozen) -> (scalars, columns)` runs its inference forward on a
held-out pseudo-pair batch ({'image', 'c', 'ws'}: the generator's own codes, training/evaluation.py
draws the batch) and hands the result dict (inversion/common.py: ws, planes, image) to
`score_views`, which measures
  input/{mse, lpips, id}: the reconstruction at the input camera vs the input image;
  novel/{mse, lpips, id}: the method's tri-planes rendered at novel cameras (yaw pi/2 -+ eval.novel_yaw,
    data.poses' rig) vs the generator's ground truth there (its render of the pair's true ws),
averaged over those views; lpips / id only when the method loaded those networks. Images are
compared at the input's resolution (renders area-averaged, as the training losses do), LPIPS / ID at
losses.resolution. Columns (the TensorBoard grid): input | reconstruction | novel view | ground truth.
"""
import jax.numpy as jnp

from inversion3d.data import pseudo_pairs
from inversion3d.generators import eg3d
from inversion3d.inversion.common import NOISE_MODE, render
from inversion3d.losses.reconstruction import at_resolution, reconstruction_terms

NAMES = {"l2": "mse", "lpips": "lpips", "id": "id"}


def loss_nets(modules, frozen):
    """{'lpips', 'arcface'} -> (module, variables) or None, from a method's loss modules and `frozen`."""
    modules = modules or {}
    return {k: (modules[k], frozen[k]) if modules.get(k) is not None and k in frozen else None
            for k in ("lpips", "arcface")}


def _scores(pred, target, nets, resolution):
    terms = reconstruction_terms(pred, target, lpips=nets.get("lpips"), arcface=nets.get("arcface"),
                                 resolution=resolution)
    return {NAMES[k]: v for k, v in terms.items()}


def score_views(config, gen_cfg, frozen, out, batch, nets):
    """-> (scalars {'input/*', 'novel/*'}, columns [input, recon, novel, ground truth]) (module doc).
    out: the method's result dict for batch['image'] at batch['c']; config: the run's config."""
    key = config.data.get("image_key", "image")
    resolution = int(config.losses.resolution)
    x = batch["image"]
    size, n = x.shape[1], x.shape[0]
    down = lambda im: at_resolution(im, size)  # noqa: E731
    recon = down(out[key])
    scalars = {f"input/{k}": v for k, v in _scores(recon, x, nets, resolution).items()}
    gen = frozen["generator"]
    yaw = float(config.get("eval", {}).get("novel_yaw", 0.4))
    columns = [x, recon]
    for i, sign in enumerate((-1.0, 1.0)):
        c = pseudo_pairs.side_view_labels(config.data.poses, n, sign * yaw)
        view = down(render(gen_cfg, gen, out["planes"], out["ws"], c)[key])
        truth = down(eg3d.synthesize(gen_cfg, gen, batch["ws"], c, noise_mode=NOISE_MODE)[key])
        for k, v in _scores(view, truth, nets, resolution).items():
            scalars[f"novel/{k}"] = scalars.get(f"novel/{k}", 0.0) + v / 2.0
        if i == 1:
            columns += [view, truth]
    return {k: jnp.asarray(v, jnp.float32) for k, v in scalars.items()}, columns
