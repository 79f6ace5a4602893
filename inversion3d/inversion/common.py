"""Pieces shared by the feed-forward inversion pipelines (inversion3d/methods/<method>/pipeline.py).

Every pipeline is a pure function `(params, image, c) -> dict` of NHWC arrays, jit-compiled with the
generator config and the encoder modules closed over. The generator runs deterministically
(noise_mode 'const', no renderer jitter), so the result depends on the image and camera only.
Common outputs: `ws` (N, num_ws, w_dim), `planes` (N, 3, H, W, C) (what the final image is rendered
from), `image` (N, S, S, 3) in [-1, 1], `image_raw` (N, R, R, 3) (the official key's value),
`image_raw_render` (N, R, R, 3) (the neural render itself; see eg3d.synthesize), `image_depth`
(N, R, R, 1).
"""
import functools

import jax
import numpy as np

from inversion3d.generators import eg3d
from inversion3d.ops.resize import resize_square as resize_image  # noqa: F401 (the pipelines' input resize)

NOISE_MODE = "const"  # deterministic backbone noise (the buffers stored with the generator)
# ours: views per call of `render_in_blocks`; lax.map renders them one after the other, so the block only
# trades padding (at most block - 1 wasted views) against calls, and any number of views compiles once
VIEW_BLOCK = 8


def w_avg(gen_variables):
    """The generator's mapping w_avg (w_dim,), the latent average the encoders start from."""
    return gen_variables["buffers"]["backbone"]["mapping"]["w_avg"]


def latent_offset(params):
    """The w offset an encoder adds: its stored latent_avg if the file had one, else the generator's."""
    avg = params.get("latent_avg")
    return w_avg(params["generator"]) if avg is None else avg


def generator_planes(cfg, gen_variables, ws):
    """ws (N, num_ws, w_dim) -> the generator's tri-planes (N, 3, H, W, C)."""
    return eg3d.TriPlaneGenerator(cfg).apply(gen_variables, ws, NOISE_MODE, method=eg3d.TriPlaneGenerator.planes)


def render(cfg, gen_variables, planes, ws, c, point_delta=None):
    """Renders tri-planes at cameras c (N, 25); ws feed the super-resolution (eg3d.render_planes);
    point_delta: optional per-sample feature delta (E3DGE's local branch, rendering/pixel_features.py)."""
    return eg3d.render_planes(cfg, gen_variables, planes, ws, c, noise_mode=NOISE_MODE, point_delta=point_delta)


def result(ws, rendered, planes=None, **extra):
    """The common output dict of a pipeline (see the module docstring) plus method-specific extras."""
    out = {"ws": ws, "planes": rendered["planes"] if planes is None else planes, "image": rendered["image"],
           "image_raw": rendered["image_raw"], "image_raw_render": rendered["image_raw_render"],
           "image_depth": rendered["image_depth"]}
    if "image_mask" in rendered:
        out["image_mask"] = rendered["image_mask"]
    out.update(extra)
    return out


def render_views(cfg, gen_variables, planes, ws, cams):
    """planes (N, ...), ws (N, ...), cams (V, N, 25) -> {'image': (V, N, S, S, 3), 'image_depth': (V, N, R, R, 1)}.

    One compiled body for all views (lax.map over V), so a sweep costs one compilation per length.
    """
    def one(c):
        out = render(cfg, gen_variables, planes, ws, c)
        return {"image": out["image"], "image_depth": out["image_depth"]}

    return jax.lax.map(one, cams)


@functools.lru_cache(maxsize=None)
def view_renderer(cfg):
    """jit of render_views for one generator config: (gen_params, planes, ws, cams (V, N, 25))."""
    return jax.jit(functools.partial(render_views, cfg))


def render_in_blocks(cfg, gen_variables, planes, ws, cams, block: int = VIEW_BLOCK):
    """planes (1, ...), ws (1, ...), cams (V, 25) -> {'image': (V, S, S, 3), 'image_depth': (V, R, R, 1)} (numpy).

    The views go through `view_renderer` `block` at a time (the last block padded with its last camera),
    so every V costs the same single compilation: the demo and `edit` render inputs, held-out views,
    orbits and strips with one program."""
    cams = np.asarray(cams, np.float32)
    if cams.ndim != 2 or cams.shape[1] != 25 or not len(cams) or planes.shape[0] != 1 or ws.shape[0] != 1:
        raise ValueError(f"render_in_blocks: expected one result and (V, 25) cameras, got planes {planes.shape}, "
                         f"ws {ws.shape}, cams {cams.shape}")
    count = -(-len(cams) // block) * block
    padded = np.concatenate([cams, np.repeat(cams[-1:], count - len(cams), axis=0)])[:, None]
    fn = view_renderer(cfg)
    outs = [jax.device_get(fn(gen_variables, planes, ws, padded[i:i + block])) for i in range(0, count, block)]
    return {k: np.concatenate([o[k][:, 0] for o in outs])[:len(cams)] for k in ("image", "image_depth")}


def network(enc, name, method, role):
    """(module, variables) of network `name` in a loaded `Encoder` file; ValueError naming the file."""
    if name not in enc.modules:
        raise ValueError(f"--encoder: {enc.source} holds {'+'.join(enc.networks)}, but {method} needs its "
                         f"{role} file with a {name} network")
    return enc.modules[name], enc.variables[name]


def check_ws(cfg, n_styles, w_dim, where):
    """The encoder's codes (n_styles x w_dim) fit the generator's (num_ws x w_dim)."""
    if (n_styles, w_dim) != (cfg.num_ws, cfg.w_dim):
        raise ValueError(f"{where}: the encoder gives {n_styles} x {w_dim} codes, the generator needs "
                         f"{cfg.num_ws} x {cfg.w_dim}")
