"""TriPlaneNet v2 inference (encoders.md §4): pSp w+, then a tri-plane encoder replaces the planes.

1. ws = pSp(x) + latent average; T0 = the generator's tri-planes for ws.
2. y0 / y0_mirror = renders of T0 at the input camera and at its mirror image, resized to the
   tri-plane resolution like x and its horizontal flip x_mirror.
3. T = TriPlaneEncoder(concat(y0, x - y0, x_mirror - y0_mirror), T0) = T0 + offsets; the output is
   T rendered at the input camera (ws still feed the super-resolution).
"""
import functools

import jax.numpy as jnp

from inversion3d.camera import mirror_label
from inversion3d.inversion.common import generator_planes, latent_offset, network, render, resize_image, result
from inversion3d.methods.psp import pipeline as psp

FILE_KINDS = {"triplanenet": ("triplanenet",)}  # method -> the kinds of its encoder files, in order
ROLES = ("encoder",)


def refine(cfg, encoder, size, tri_encoder, params, image, c):
    """(ws, T0, T, render of T at c) for one TriPlaneNet-style encoder pair.

    params {'generator', 'psp', 'triplanenet', 'latent_avg' (None = the generator's w_avg)}."""
    gen = params["generator"]
    ws = psp.encode(encoder, params["psp"], image, size, latent_offset(params))
    t0, inputs = encoder_inputs(cfg, gen, ws, image, c)
    planes = tri_encoder.apply(params["triplanenet"], inputs, t0)
    return ws, t0, planes, render(cfg, gen, planes, ws, c)


def encoder_inputs(cfg, gen, ws, image, c):
    """Steps 1-2 for given codes: (T0 (N, 3, R, R, C), the tri-plane encoder's input (N, R, R, 9) =
    concat(y0, x - y0, x_mirror - y0_mirror) at the tri-plane resolution R). Training calls it too."""
    t0 = generator_planes(cfg, gen, ws)
    res = t0.shape[2]
    y0 = resize_image(render(cfg, gen, t0, ws, c)["image"], res)
    y0_mirror = resize_image(render(cfg, gen, t0, ws, mirror_label(c))["image"], res)
    x = resize_image(image, res)
    return t0, jnp.concatenate([y0, x - y0, x[:, :, ::-1] - y0_mirror], axis=-1)


def invert(cfg, encoder, size, tri_encoder, params, image, c):
    """TriPlaneNet v2 inversion: image (N, S, S, 3) in [-1, 1] (ideally at the generator's output
    size), c (N, 25) -> result dict (common.py) plus `planes_w` (T0, the generator's own planes)."""
    ws, t0, planes, out = refine(cfg, encoder, size, tri_encoder, params, image, c)
    return result(ws, out, planes, planes_w=t0)


def parts(cfg, enc, role):
    """((pSp module, pSp input size, tri-plane encoder module), {'psp', 'triplanenet', 'latent_avg'})
    of one TriPlaneNet v2 file `enc`, checked against the generator config `cfg` (also Dual's E1 / E2)."""
    module, size, variables, avg = psp.parts(cfg, enc, "triplanenet", role)
    tri, tri_vars = network(enc, "triplanenet", "triplanenet", role)
    want = cfg.plane_channels * cfg.triplane_depth
    if enc.configs["triplanenet"]["plane_channels"] != want:
        raise ValueError(f"{enc.source}: the tri-plane encoder refines {enc.configs['triplanenet']['plane_channels']} "
                         f"channels per plane, the generator has {want}")
    return (module, size, tri), {"psp": variables, "triplanenet": tri_vars, "latent_avg": avg}


def build(method, cfg, encoders, sigma=None):
    """-> (fn(params, image, c), the method's params, input size) for registry.make_inverter;
    encoders: (TriPlaneNet v2 file,). sigma is unused (no visibility mask)."""
    del method, sigma
    modules, params = parts(cfg, encoders[0], ROLES[0])
    return functools.partial(invert, cfg, *modules), params, cfg.img_resolution
