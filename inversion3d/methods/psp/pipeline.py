"""pSp / e4e inference (encoders.md §2-§3): image -> w+ (+ latent average) -> generator render.

The encoders only predict w+; the tri-planes are the generator's own for those codes. e4e shares
this pipeline (its encoder gives w + per-layer deltas as one w+); only its file kind differs.
"""
import functools

from inversion3d.inversion.common import (check_ws, generator_planes, latent_offset, network, render, resize_image,
                                          result)

FILE_KINDS = {"psp": ("psp",), "e4e": ("e4e",)}  # method -> the kinds of its encoder files, in order
ROLES = ("encoder",)


def encode(encoder, variables, image, size, offset, **apply_kwargs):
    """image (N, S, S, 3) in [-1, 1] -> ws (N, n_styles, w_dim) = encoder(image resized to `size`) + offset.

    apply_kwargs go to `encoder.apply` (training passes train=True, mutable=['batch_stats'] and
    then gets (ws, updates) back, as flax's apply returns them)."""
    return encoder.apply(variables, resize_image(image, size), latent_avg=offset, **apply_kwargs)


def invert(cfg, encoder, size, params, image, c):
    """pSp / e4e inversion. cfg: the generator's EG3DConfig; encoder: GradualStyleEncoder or
    Encoder4Editing with input side `size`; params {'generator', 'encoder', 'latent_avg' (None = the
    generator's w_avg)}; image (N, S, S, 3) in [-1, 1]; c (N, 25) -> result dict (common.py)."""
    ws = encode(encoder, params["encoder"], image, size, latent_offset(params))
    gen = params["generator"]
    return result(ws, render(cfg, gen, generator_planes(cfg, gen, ws), ws, c))


def parts(cfg, enc, method, role="encoder"):
    """(module, input size, variables, latent_avg or None) of the pSp / e4e network in file `enc`,
    checked against the generator config `cfg` (also TriPlaneNet's first stage)."""
    name = "e4e" if method == "e4e" else "psp"
    module, variables = network(enc, name, method, role)
    n = module.n_styles if name == "psp" else module.style_count
    check_ws(cfg, n, module.style_dim, enc.source)
    avg = enc.latent_avg
    if avg is not None and avg.shape not in ((cfg.w_dim,), (cfg.num_ws, cfg.w_dim)):
        raise ValueError(f"{enc.source}: latent_avg has shape {tuple(avg.shape)}, expected ({cfg.w_dim},) or "
                         f"({cfg.num_ws}, {cfg.w_dim})")
    return module, enc.configs[name]["image_size"], variables, avg


def build(method, cfg, encoders, sigma=None):
    """-> (fn(params, image, c), the method's params, input size = the encoder's) for
    registry.make_inverter; encoders: (pSp or e4e file,). sigma is unused (no visibility mask)."""
    del sigma
    module, size, variables, avg = parts(cfg, encoders[0], method)
    return functools.partial(invert, cfg, module, size), {"encoder": variables, "latent_avg": avg}, size
