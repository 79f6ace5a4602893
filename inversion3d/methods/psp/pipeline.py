"""pSp / e4e inference (encoders.md §2-§3): image -> w+ (+ latent average) -> generator render.

The encoders only predict w+; the tri-planes are the generator's own for those codes.
"""
from inversion3d.inversion.common import generator_planes, latent_offset, render, resize_image, result


def encode(encoder, variables, image, size, offset):
    """image (N, S, S, 3) in [-1, 1] -> ws (N, n_styles, w_dim) = encoder(image resized to `size`) + offset."""
    return encoder.apply(variables, resize_image(image, size), latent_avg=offset)


def invert(cfg, encoder, size, params, image, c):
    """pSp / e4e inversion. cfg: the generator's EG3DConfig; encoder: GradualStyleEncoder or
    Encoder4Editing with input side `size`; params {'generator', 'encoder', 'latent_avg' (None = the
    generator's w_avg)}; image (N, S, S, 3) in [-1, 1]; c (N, 25) -> result dict (common.py)."""
    ws = encode(encoder, params["encoder"], image, size, latent_offset(params))
    gen = params["generator"]
    return result(ws, render(cfg, gen, generator_planes(cfg, gen, ws), ws, c))
