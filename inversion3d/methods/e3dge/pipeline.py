"""E3DGE-style inversion on EG3D / PanoHead (e3dge.md §2, §6 [ours]): a global pSp encoder plus
a local branch of pixel-aligned features injected at every 3D sample point.

1. Global: ws = pSp(x) + latent average; T = the generator's planes for ws; the global render y
   at the input (reference) camera.
2. Reference features: R = x - y at the branch's side r, and the reference depth D (the global
   render's ray depth) -> P_ref = features(R, D) (encoders/e3dge.py).
3. Any query view q: the global render y_q; the 2D alignment R_q = align(R, y_q) and P_q =
   features(R_q, D_q) (for q = the reference: R_q = R, P_q = P_ref, no aligner); the 3D half:
   every sample point x of the render is projected into both views (rendering/pixel_features.py),
   read there and z-tested against D / D_q; fuse([P_ref(x) v_ref, v_ref, P_q(x) v_q, v_q, PE(x)])
   is added to the plane features before the decoder.
Edits: pass edited ws / planes with the same reference (the aligner re-aligns R to the edited render).
The local branch starts as an exact no-op (its fusion output layer is zero-initialised).
"""
import functools

import jax
import jax.numpy as jnp

from inversion3d.inversion.common import generator_planes, latent_offset, network, render, resize_image, result
from inversion3d.methods.psp import pipeline as psp
from inversion3d.rendering import pixel_features

FILE_KINDS = {"e3dge": ("e3dge",)}  # method -> the kinds of its encoder files, in order
ROLES = ("encoder",)
LOCAL = "e3dge_local"  # the local branch's network name in an e3dge file


def normalised_depth(cfg, depth, size):
    """Ray depth (N, R, R, 1) -> (N, size, size, 1) mapped from [ray_start, ray_end] to [-1, 1]."""
    lo, hi = cfg.render.ray_start, cfg.render.ray_end
    return (resize_image(depth, size) - 0.5 * (lo + hi)) / (0.5 * (hi - lo))


def view_features(cfg, local, local_vars, residual, rendered, c):
    """One view's local inputs: {'c', 'residual', 'feats' P (N, r, r, F), 'depth' (N, R, R, 1)}."""
    r = local.resolution
    feats = local.apply(local_vars, residual, normalised_depth(cfg, rendered["image_depth"], r),
                        method=type(local).features_map)
    return {"c": c, "residual": residual, "feats": feats, "depth": rendered["image_depth"]}


def reference(cfg, local, local_vars, gen, planes, ws, image, c):
    """Step 2: -> (reference features (view_features), the global render at c)."""
    rendered = render(cfg, gen, planes, ws, c)
    r = local.resolution
    residual = resize_image(image, r) - resize_image(rendered["image"], r)
    return view_features(cfg, local, local_vars, residual, rendered, c), rendered


def query(cfg, local, local_vars, gen, planes, ws, ref, c):
    """Step 3's 2D half for a novel / edited view c: -> (query features, the global render at c)."""
    rendered = render(cfg, gen, planes, ws, c)
    aligned = local.apply(local_vars, ref["residual"], resize_image(rendered["image"], local.resolution),
                          method=type(local).align)
    return view_features(cfg, local, local_vars, aligned, rendered, c), rendered


def point_delta(cfg, local, local_vars, ref, qry):
    """coords (N, P, 3) -> the fused feature delta (N, P, C) (step 3's 3D half)."""
    margin = float(local.visibility_margin)

    def delta(coords):
        f_ref, v_ref = pixel_features.pixel_aligned(coords, ref["c"], ref["feats"], ref["depth"], margin)
        f_q, v_q = pixel_features.pixel_aligned(coords, qry["c"], qry["feats"], qry["depth"], margin)
        pe = pixel_features.positional_encoding(coords * (2.0 / cfg.render.box_warp), local.num_freqs)
        inputs = jnp.concatenate([f_ref, v_ref, f_q, v_q, pe], axis=-1)
        return local.apply(local_vars, inputs, method=type(local).fuse)

    return delta


def render_local(cfg, local, local_vars, gen, planes, ws, ref, qry=None):
    """Renders planes at the query camera (the reference's when qry is None) with the local delta."""
    qry = ref if qry is None else qry
    return render(cfg, gen, planes, ws, qry["c"], point_delta=point_delta(cfg, local, local_vars, ref, qry))


def encode(cfg, encoder, size, local, params, image, c):
    """Steps 1-2: -> (ws, planes, reference features, global render at c)."""
    gen = params["generator"]
    ws = psp.encode(encoder, params["psp"], image, size, latent_offset(params))
    planes = generator_planes(cfg, gen, ws)
    ref, rendered = reference(cfg, local, params[LOCAL], gen, planes, ws, image, c)
    return ws, planes, ref, rendered


def invert(cfg, encoder, size, local, params, image, c):
    """E3DGE inversion: image (N, S, S, 3) in [-1, 1], c (N, 25) -> result dict (common.py) with the
    local branch applied, plus `image_global` (the global-only render) and `residual` (N, r, r, 3)."""
    ws, planes, ref, rendered = encode(cfg, encoder, size, local, params, image, c)
    out = render_local(cfg, local, params[LOCAL], params["generator"], planes, ws, ref)
    return result(ws, out, planes, image_global=rendered["image"], residual=ref["residual"])


def views(cfg, encoder, size, local, params, image, c, cams):
    """Novel views with re-aligned local features: cams (V, N, 25) -> {'image': (V, N, S, S, 3),
    'image_depth': (V, N, R, R, 1)} (one compiled body for all views, lax.map over V)."""
    ws, planes, ref, _ = encode(cfg, encoder, size, local, params, image, c)
    gen, lv = params["generator"], params[LOCAL]

    def one(cam):
        qry, _ = query(cfg, local, lv, gen, planes, ws, ref, cam)
        out = render_local(cfg, local, lv, gen, planes, ws, ref, qry)
        return {"image": out["image"], "image_depth": out["image_depth"]}

    return jax.lax.map(one, cams)


def parts(cfg, enc, role="encoder"):
    """((pSp module, input size, local module), {'psp', LOCAL, 'latent_avg'}) of an e3dge file."""
    module, size, variables, avg = psp.parts(cfg, enc, "e3dge", role)
    local, local_vars = network(enc, LOCAL, "e3dge", role)
    if local.plane_channels != cfg.plane_channels:
        raise ValueError(f"{enc.source}: the local branch adds {local.plane_channels} channels, the generator's "
                         f"decoder takes {cfg.plane_channels}")
    return (module, size, local), {"psp": variables, LOCAL: local_vars, "latent_avg": avg}


def build(method, cfg, encoders, sigma=None):
    """-> (fn(params, image, c), the method's params, input size) for registry.make_inverter;
    encoders: (e3dge file,). sigma is unused."""
    del method, sigma
    modules, params = parts(cfg, encoders[0], ROLES[0])
    return functools.partial(invert, cfg, *modules), params, cfg.img_resolution


def build_views(method, cfg, encoders):
    """-> fn(params, image, c, cams (V, N, 25)) for the invert command's novel views (`views`)."""
    del method
    modules, _ = parts(cfg, encoders[0], ROLES[0])
    return functools.partial(views, cfg, *modules)
