"""GOAE inference (encoders.md §1.4): encoder -> w+ -> F -> AFA -> occlusion-aware mix.

1. x (the image at the encoder's size) -> GOAEncoder -> ws (+ the generator's w_avg).
2. The backbone up to b32 gives (F, skip); finishing it gives the W tri-planes and render 1.
3. AFA(image, render 1's image, F) -> F'; finishing the backbone from (F', skip) gives the refined
   tri-planes and render 2.
4. Render 2's depth marks the cells of plane 0 (the xy plane) the input view sees; the soft mask
   takes plane 0 from the refined tri-planes where seen and from the W tri-planes elsewhere
   (planes 1 and 2 are the refined ones), see `visibility.py`.
5. The mixed tri-planes are rendered (with ws feeding the super-resolution) for the output.
"""
import functools

import jax.numpy as jnp

from inversion3d.generators import eg3d
from inversion3d.inversion import visibility
from inversion3d.inversion.common import NOISE_MODE, check_ws, network, render, resize_image, result, w_avg

SPLIT = 32  # F is the backbone feature after block b32 (§1.3)
FILE_KINDS = {"goae": ("goae", "goae"), "goae-noafa": ("goae",)}  # method -> its encoder files' kinds, in order
ROLES = ("encoder", "AFA")


def feature_channels(cfg):
    """Channels of F, the backbone feature after b32 (§1.3): what AFA's feature_dim must be."""
    return min(cfg.channel_base // SPLIT, cfg.channel_max)


def codes(encoder, encoder_vars, gen, image, stage=None):
    """Step 1: image (N, S, S, 3) -> ws (N, num_ws, w_dim), resized to the encoder's input, plus w_avg."""
    ws, _ = encoder.apply(encoder_vars, resize_image(image, encoder.swin.img_size), latent_avg=w_avg(gen), stage=stage)
    return ws


def encode(cfg, encoder, encoder_vars, gen, image, c, stage=None):
    """Steps 1-2: image (N, S, S, 3) -> dict ws (N, num_ws, w_dim), feature F and skip (the backbone
    after b32), w_planes (the W tri-planes) and render_w (render 1 at cameras c, a render dict).
    stage: the encoder's progressive stage (None = its attribute, 3 at inference; training passes
    the schedule's, possibly traced)."""
    module = eg3d.TriPlaneGenerator(cfg)
    ws = codes(encoder, encoder_vars, gen, image, stage)
    feature, skip = module.apply(gen, ws, NOISE_MODE, SPLIT, method=eg3d.TriPlaneGenerator.backbone_features)
    w_planes = finish_planes(cfg, gen, feature, skip, ws)
    return {"ws": ws, "feature": feature, "skip": skip, "w_planes": w_planes,
            "render_w": render(cfg, gen, w_planes, ws, c)}


def finish_planes(cfg, gen, feature, skip, ws):
    """The backbone from b64 on: (F (or F'), skip) -> tri-planes (N, 3, H, W, C)."""
    return eg3d.TriPlaneGenerator(cfg).apply(gen, feature, skip, ws, NOISE_MODE, SPLIT,
                                             method=eg3d.TriPlaneGenerator.planes_from_features)


def afa_inputs(image, render_w):
    """AFA's (img, rec_img): the input image at render 1's size and render 1's image."""
    rec = render_w["image"]
    return resize_image(image, rec.shape[1]), rec


def mix(cfg, gen, w, refined, c, sigma=visibility.DEFAULT_SIGMA):
    """Steps 3-5 after AFA: F' -> refined tri-planes, render 2, the occlusion-aware mix and its render.
    w: `encode`'s dict; refined: F' (N, h, w, C) -> dict f_planes, render_f, mask (N, 1, 1, H, W)
    on plane 0, mixed (tri-planes) and final (their render at cameras c)."""
    ws = w["ws"]
    f_planes = finish_planes(cfg, gen, refined, w["skip"], ws)
    render_f = render(cfg, gen, f_planes, ws, c)
    r = cfg.render
    mask = visibility.visibility(render_f["image_depth"], c, f_planes.shape[2], r.triplane_depth, r.box_warp,
                                 "eg3d" if r.plane_kind == "eg3d" else "panohead", sigma)[:, :1]
    w_planes = w["w_planes"]
    mixed = jnp.concatenate([visibility.blend_planes(f_planes[:, :1], w_planes[:, :1], mask), f_planes[:, 1:]],
                            axis=1)
    return {"f_planes": f_planes, "render_f": render_f, "mask": mask, "mixed": mixed,
            "final": render(cfg, gen, mixed, ws, c)}


def invert(cfg, encoder, afa, params, image, c, sigma=visibility.DEFAULT_SIGMA):
    """GOAE inversion. cfg: the generator's EG3DConfig; encoder / afa: GOAEncoder / AFA modules;
    params {'generator', 'goae', 'afa'}; image (N, S, S, 3) in [-1, 1] at the generator's output size
    (AFA's input; the encoder gets it resized); c (N, 25) -> result dict (common.py) plus
    `image_w` (render 1), `image_f` (render 2), `mask` (N, H, W) on plane 0 and `afa_feature`
    (N, 32, 32, C), AFA's refined feature F* (what GOAE's editing carries, editing/triplane.py).
    Training (methods/goae/train_stage*.py) runs the same pieces: `encode`, `afa_inputs`, `mix`."""
    gen = params["generator"]
    w = encode(cfg, encoder, params["goae"], gen, image, c)
    refined, _, _ = afa.apply(params["afa"], *afa_inputs(image, w["render_w"]), w["feature"])
    m = mix(cfg, gen, w, refined, c, sigma)
    return result(w["ws"], m["final"], m["mixed"], image_w=w["render_w"]["image"], image_f=m["render_f"]["image"],
                  mask=m["mask"][:, 0, 0], afa_feature=refined)


def invert_w(cfg, encoder, params, image, c):
    """'goae-noafa' (a stage-1 encoder alone, steps 1-2): the W tri-planes and their render (render 1);
    params {'generator', 'goae'}; the result dict (common.py)."""
    w = encode(cfg, encoder, params["goae"], params["generator"], image, c)
    return result(w["ws"], w["render_w"], w["w_planes"])


def build(method, cfg, encoders, sigma=visibility.DEFAULT_SIGMA):
    """-> (fn(params, image, c), the method's params, input size) for registry.make_inverter.
    encoders: (GOAE encoder file, AFA file) for 'goae', (GOAE encoder file,) for 'goae-noafa'; checks
    they fit the generator config `cfg`."""
    encoder, encoder_vars = network(encoders[0], "goae", method, ROLES[0])
    check_ws(cfg, encoder.num_ws, encoder.w_dim, encoders[0].source)
    if method == "goae-noafa":
        return functools.partial(invert_w, cfg, encoder), {"goae": encoder_vars}, cfg.img_resolution
    enc, afa_enc = encoders
    afa, afa_vars = network(afa_enc, "afa", method, ROLES[1])
    channels = feature_channels(cfg)
    if cfg.triplane_resolution <= SPLIT or afa.feature_dim != channels:
        raise ValueError(f"--afa: {afa_enc.source} refines {afa.feature_dim}-channel features at 32x32, the "
                         f"generator's b32 block has {channels} channels (tri-planes {cfg.triplane_resolution})")
    fn = functools.partial(invert, cfg, encoder, afa, sigma=sigma)
    return fn, {"goae": encoder_vars, "afa": afa_vars}, cfg.img_resolution
