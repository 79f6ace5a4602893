"""Tri-plane generators (EG3D eg3d.md §1; PanoHead panohead.md §5-§6): StyleGAN2 backbone ->
tri-planes / tri-grids -> volume rendering [-> background] -> SR.

The Flax module holds the parameters and exposes one method per learned piece (`mapping`,
`planes`, `decode`, `superresolve`); the forward pass that strings them together with the
renderer is the pure function `synthesize`, so the renderer can chunk rays with `lax.map`
around the decoder without lifting Flax modules.

`cfg.compute_dtype` / `cfg.low_precision_blocks` pick the bf16 blocks (README "Mixed precision");
every returned array is float32 whatever they are.
"""
import functools
from typing import Any, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.camera import split_label
from inversion3d.generators.eg3d_config import EG3DConfig
from inversion3d.generators.stylegan2 import FullyConnected, MappingNetwork, SynthesisNetwork, ToRGBLayer
from inversion3d.generators.superres import SuperResolution, block0_overwrites_rgb
from inversion3d.ops.resize import resize_bilinear
from inversion3d.rendering.pixel_features import with_point_delta
from inversion3d.rendering.rays import sample_rays
from inversion3d.rendering.renderer import render


class OSGDecoder(nn.Module):
    """Tri-plane features (N, 3, P, C) -> sigma (N, P, 1) raw, rgb (N, P, 32) (eg3d.md §5.4).

    The MLP computes in `dtype` (None: the features' dtype, at least float32); sigma and rgb are
    float32 (or wider).
    """

    hidden: int = 64
    out_features: int = 32
    lr_multiplier: float = 1.0
    activation: str = "sigmoid"  # 'sigmoid' (EG3D), 'lrelu' or 'none' (PanoHead, panohead.md §3)
    dtype: Any = None

    @nn.compact
    def __call__(self, sampled):
        wide = jnp.promote_types(sampled.dtype, jnp.float32)
        x = jnp.mean(sampled.astype(wide if self.dtype is None else self.dtype), axis=1)
        x = FullyConnected(self.hidden, lr_multiplier=self.lr_multiplier, dtype=self.dtype, name="net_0")(x)
        x = jax.nn.softplus(x)
        x = FullyConnected(1 + self.out_features, lr_multiplier=self.lr_multiplier, dtype=self.dtype,
                           name="net_2")(x)
        x = x.astype(jnp.promote_types(x.dtype, jnp.float32))
        sigma, rgb = x[..., :1], x[..., 1:]
        if self.activation == "sigmoid":
            rgb = jax.nn.sigmoid(rgb) * (1 + 2 * 0.001) - 0.001
        elif self.activation == "lrelu":
            rgb = jax.nn.leaky_relu(rgb, 0.2) * np.sqrt(2.0)
        elif self.activation != "none":
            raise ValueError(f"decoder_activation: expected sigmoid|lrelu|none, got {self.activation!r}")
        return {"sigma": sigma, "rgb": rgb}


class Backbone(nn.Module):
    """StyleGAN2 generator whose 'image' is the stack of three feature planes."""

    cfg: EG3DConfig
    img_channels: int = 96

    def setup(self):
        cfg = self.cfg
        self.mapping = MappingNetwork(cfg.z_dim, cfg.c_dim, cfg.w_dim, num_ws=cfg.num_ws,
                                      num_layers=cfg.mapping_layers, lr_multiplier=cfg.mapping_lr_multiplier)
        self.synthesis = SynthesisNetwork(cfg.w_dim, cfg.triplane_resolution, self.img_channels,
                                          channel_base=cfg.channel_base, channel_max=cfg.channel_max,
                                          conv_clamp=cfg.conv_clamp, fused_modconv=cfg.fused_modconv,
                                          dtype=_dtype(cfg.compute_dtype),
                                          dtype_from_res=cfg.dtype_from_res(cfg.triplane_resolution))

    def __call__(self, z, c, noise_mode="const"):
        return self.synthesis(self.mapping(z, c), noise_mode)


class TriPlaneGenerator(nn.Module):
    """Parameter container with one method per learned piece; see `synthesize` for the forward."""

    cfg: EG3DConfig

    def setup(self):
        cfg = self.cfg
        self.backbone = Backbone(cfg, img_channels=3 * cfg.plane_channels * cfg.triplane_depth)
        self.superresolution = SuperResolution(cfg.sr_module, cfg.img_resolution, sr_antialias=cfg.sr_antialias,
                                               conv_clamp=cfg.sr_conv_clamp, fused_modconv=cfg.fused_modconv,
                                               dtype=_dtype(cfg.sr_dtype))
        self.decoder = OSGDecoder(out_features=cfg.plane_channels, lr_multiplier=cfg.decoder_lr_mul,
                                  activation=cfg.decoder_activation, dtype=_dtype(cfg.decoder_dtype))
        if cfg.use_background:  # panohead.md §5.5: no mapping of its own, half the channel base
            self.bcg_synthesis = SynthesisNetwork(cfg.w_dim, cfg.bcg_resolution, cfg.plane_channels,
                                                  channel_base=cfg.channel_base // 2, channel_max=cfg.channel_max,
                                                  conv_clamp=cfg.conv_clamp, fused_modconv=cfg.fused_modconv,
                                                  dtype=_dtype(cfg.compute_dtype),
                                                  dtype_from_res=cfg.dtype_from_res(cfg.bcg_resolution))
        if cfg.use_torgb_raw:
            self.torgb = ToRGBLayer(cfg.img_channels, fused_modconv=cfg.fused_modconv)
        if cfg.camera_offset:  # panohead.md §6: t_mapping, a 3-D "w" added to the camera position
            self.t_mapping = MappingNetwork(cfg.z_dim, cfg.c_dim, 3, num_ws=1, num_layers=cfg.mapping_layers,
                                            last_activation="linear", lr_multiplier=1.0)

    def map(self, z, c, truncation_psi=1.0, truncation_cutoff=None):
        """z (N, z_dim), c (N, 25) -> ws (N, num_ws, w_dim) (eg3d.md §2: c zeroed/scaled first)."""
        if self.cfg.c_gen_conditioning_zero:
            c = jnp.zeros_like(c)
        return self.backbone.mapping(z, c * self.cfg.c_scale, truncation_psi, truncation_cutoff)

    def camera_delta(self, z, c, truncation_psi=1.0, truncation_cutoff=None):
        """PanoHead t_mapping: z, c -> (N, 3) offset of the camera position (panohead.md §6)."""
        if self.cfg.c_gen_conditioning_zero:
            c = jnp.zeros_like(c)
        return self.t_mapping(z, c * self.cfg.c_scale, truncation_psi, truncation_cutoff)[:, 0]

    def background(self, ws_bcg, noise_mode="const"):
        """PanoHead background features (N, B, B, C) from ws (N, bcg_num_ws, w_dim)."""
        return self.bcg_synthesis(ws_bcg, noise_mode)

    def raw_rgb(self, feature_image, w):
        """PanoHead raw image: ToRGB of the feature image with the last w (panohead.md §5.6)."""
        return self.torgb(feature_image, w)

    def planes(self, ws, noise_mode="const"):
        """ws -> tri-planes (N, 3, H, W, C*D): backbone channel k*(C*D) + c*D + d is feature c,
        depth slice d of plane k (D = 1 for EG3D)."""
        return _to_planes(self.backbone.synthesis(ws, noise_mode))

    def backbone_features(self, ws, noise_mode="const", split=32):
        """(F, skip): the backbone's feature map x (N, split, split, C) and skip image after block
        b{split} (GOAE's train_forward_1, encoders.md §1.3)."""
        return self.backbone.synthesis.blocks(ws, noise_mode, last=split)

    def planes_from_features(self, feature, skip, ws, noise_mode="const", split=32):
        """Resumes the backbone after b{split} from (F, skip) -> tri-planes (train_forward_2, §1.4)."""
        return _to_planes(self.backbone.synthesis.blocks(ws, noise_mode, x=feature, img=skip, first=2 * split)[1])

    def decode(self, sampled):
        return self.decoder(sampled)

    def superresolve(self, rgb, features, ws, noise_mode="none", block0_smooth=None):
        return self.superresolution(rgb, features, ws, noise_mode, block0_smooth=block0_smooth)

    def __call__(self, z, c):
        """Touches every parameter once (used by `init`)."""
        ws = self.map(z, c)
        planes = self.planes(ws)
        sampled = planes[:, :, :1, :1, :self.cfg.plane_channels].reshape(planes.shape[0], 3, 1, -1)
        feats = self.decode(sampled)["rgb"]
        r = self.cfg.neural_rendering_resolution
        feats = jnp.broadcast_to(feats.reshape(-1, 1, 1, feats.shape[-1]), (feats.shape[0], r, r, feats.shape[-1]))
        rgb = feats[..., :3]
        if self.cfg.use_background:
            self.background(_background_ws(self.cfg, ws))
        if self.cfg.use_torgb_raw:
            rgb = self.raw_rgb(feats, ws[:, -1])
        if self.cfg.camera_offset:
            self.camera_delta(z, c)
        return self.superresolve(rgb, feats, ws)


def _dtype(name: str):
    """Module dtype for a config dtype name: None for 'float32' (no casts, so float64 checks stay
    float64), else the jnp dtype."""
    return None if name == "float32" else jnp.dtype(name)


def _to_planes(img):
    n, h, w, _ = img.shape
    return img.reshape(n, h, w, 3, -1).transpose(0, 3, 1, 2, 4)


def _background_ws(cfg: EG3DConfig, ws):
    """ws[:, :bcg_num_ws], repeating the last available w when ws is shorter (panohead.md §5.5)."""
    ws_bcg = ws[:, :cfg.bcg_num_ws]
    missing = cfg.bcg_num_ws - ws_bcg.shape[1]
    if missing > 0:
        ws_bcg = jnp.concatenate([ws_bcg, jnp.repeat(ws_bcg[:, -1:], missing, axis=1)], axis=1)
    return ws_bcg


def init_variables(cfg: EG3DConfig, rng, batch: int = 1):
    """Random variables {'params', 'buffers'} with the official initialisation (weights ~ N(0, 1))."""
    module = TriPlaneGenerator(cfg)
    z = jnp.zeros((batch, cfg.z_dim), jnp.float32)
    c = jnp.zeros((batch, cfg.c_dim), jnp.float32)
    return jax.jit(module.init)({"params": rng}, z, c)


def _first_sown(sown):
    """`sow` stores a tuple per name; each is written once per call here."""
    return {name: values[0] for name, values in sown.items()}


def _split_rng(rng, noise_mode, sr_noise_mode):
    if rng is None:
        if noise_mode == "random" or sr_noise_mode == "random":
            raise ValueError("rng: noise_mode='random' needs an rng key, got None")
        return None, None, None
    return tuple(jax.random.split(rng, 3))


def synthesize(cfg: EG3DConfig, variables, ws, c, noise_mode="const", rng=None, draws=None,
               neural_rendering_resolution: Optional[int] = None, capture: bool = False, ws_bcg=None,
               density_noise=None):
    """ws (N, num_ws, w_dim), c (N, 25) rendering camera -> dict of NHWC arrays (eg3d.md §1).

    Returns `image` (N, S, S, 3), `image_raw` (N, R, R, 3), `image_raw_render` (N, R, R, 3),
    `image_depth` (N, R, R, 1), `planes` (N, 3, H, W, C), `feature_image` (N, R, R, C),
    `weights_sum` (N, R, R, 1) (PanoHead: also `image_mask`); with `capture`, also `intermediates`
    (backbone blocks, renderer aux, SR block outputs).

    `image_raw` is what the official code returns under that key; `image_raw_render` is always the
    raw neural render itself (the SR's rgb input: feature_image[..., :3], or PanoHead's raw ToRGB).
    They differ in one official quirk: when the SR module's block0 does not upsample (2X, 4X) and
    no resize precedes it (R == 64 for 2X, R >= 128 for 4X), the official block0 adds its ToRGB
    output into the rendered rgb tensor in place, so the official `image_raw` is block0's image
    (N, R, R, 3) and not the render. Everywhere else the two keys are equal. `feature_image` is
    always the true render.
    `draws` replaces the renderer's uniforms ({'stratified', 'importance'}); with no draws and no
    rng the render is deterministic (no jitter).
    Training-time options (PanoHead loss.py): ws_bcg (N, k, w_dim) feeds the background network
    instead of ws (bcg_reg_prob); density_noise, a scalar std (may be traced), adds N(0, std^2) to the
    raw densities of both decoder passes (needs rng; drawn from a key folded off the render key, so
    the uniforms are the same as without it).
    """
    noise_rng = _split_rng(rng, noise_mode, cfg.sr_noise_mode)[0]  # the same split render_planes makes
    out = TriPlaneGenerator(cfg).apply(variables, ws, noise_mode, method=TriPlaneGenerator.planes,
                                       mutable=["intermediates"] if capture else False,
                                       rngs=None if noise_rng is None else {"noise": noise_rng})
    planes, inter_bb = out if capture else (out, None)
    result = render_planes(cfg, variables, planes, ws, c, noise_mode, rng, draws, neural_rendering_resolution,
                           capture, ws_bcg=ws_bcg, density_noise=density_noise)
    if capture:
        result["intermediates"]["backbone"] = _first_sown(inter_bb["intermediates"]["backbone"]["synthesis"])
    return result


def render_planes(cfg: EG3DConfig, variables, planes, ws, c, noise_mode="const", rng=None, draws=None,
                  neural_rendering_resolution: Optional[int] = None, capture: bool = False, point_delta=None,
                  ws_bcg=None, density_noise=None):
    """Everything of `synthesize` after the backbone: renders given tri-planes (N, 3, H, W, C*D) at
    cameras c (N, 25), with ws (N, num_ws, w_dim) feeding the super-resolution (and PanoHead's
    background / raw ToRGB). Same outputs as `synthesize` (`planes` is the input); `synthesize(ws, c)`
    equals `render_planes(planes(ws), ws, c)` for the same rng. Used by the encoders that edit
    tri-planes (TriPlaneNet v2, GOAE mix, Dual Encoder stitching). ws_bcg, density_noise: see
    `synthesize`.
    """
    module = TriPlaneGenerator(cfg)
    res = neural_rendering_resolution or cfg.neural_rendering_resolution
    noise_rng, render_rng, sr_rng = _split_rng(rng, noise_mode, cfg.sr_noise_mode)
    mutable = ["intermediates"] if capture else False

    def apply(method, *args, rngs=None):
        out = module.apply(variables, *args, method=method, mutable=mutable, rngs=rngs)
        return out if capture else (out, {})

    cam2world, intrinsics = split_label(c)
    origins, directions = sample_rays(cam2world, intrinsics, res)
    decode_fn = with_point_delta(functools.partial(decode_apply(cfg), variables), point_delta)
    # With a bf16 decoder the lookups gather bf16 features (half the traffic of the renderer's
    # largest arrays); the returned `planes` stay the float32 input.
    lookup_planes = planes if cfg.decoder_dtype == "float32" else planes.astype(cfg.decoder_dtype)
    if ws_bcg is not None and (not cfg.use_background or ws_bcg.ndim != 3 or ws_bcg.shape[0] != ws.shape[0]):
        raise ValueError(f"ws_bcg: expected (N, k, w_dim) for a generator with a background network "
                         f"(use_background {cfg.use_background}), got {tuple(ws_bcg.shape)}")
    noise = None
    if density_noise is not None:
        if render_rng is None:
            raise ValueError("rng: density_noise needs an rng key, got None")
        noise = _density_noise(jax.random.fold_in(render_rng, 1), density_noise, ws.shape[0], res * res, cfg.render)
    out = render(lookup_planes, decode_fn, origins, directions, cfg.render, draws=draws,
                 rng=render_rng, return_aux=capture, density_noise=noise)
    n = ws.shape[0]
    feature_image = out["rgb"].reshape(n, res, res, -1)
    weights = out["weights_sum"].reshape(n, res, res, 1)
    extra = {}
    if cfg.kind == "panohead" and cfg.decoder_activation == "sigmoid":
        feature_image = feature_image * 2 - 1  # the PanoHead marcher leaves this to synthesis
    if cfg.use_background:
        bcg_in = _background_ws(cfg, ws if ws_bcg is None else ws_bcg)
        bcg, _ = apply(TriPlaneGenerator.background, bcg_in, noise_mode,
                       rngs=None if noise_rng is None else {"noise": jax.random.fold_in(noise_rng, 1)})
        extra["background"] = bcg
        feature_image = feature_image + (1 - weights) * resize_bilinear(bcg, (res, res), antialias=cfg.sr_antialias)
    if cfg.use_torgb_raw:
        rgb_image = module.apply(variables, feature_image, ws[:, -1], method=TriPlaneGenerator.raw_rgb)
    else:
        rgb_image = feature_image[..., :3]
    # Always collect the SR intermediates: block0's image is the official `image_raw` when the
    # official block0 overwrites its rgb input in place (superres.block0_overwrites_rgb).
    image, inter_sr = module.apply(variables, rgb_image, feature_image, ws, cfg.sr_noise_mode,
                                   method=TriPlaneGenerator.superresolve, mutable=["intermediates"],
                                   rngs=None if sr_rng is None else {"noise": sr_rng})
    inter_sr = _first_sown(inter_sr["intermediates"]["superresolution"])
    overwritten = block0_overwrites_rgb(cfg.sr_module, res)
    result = {
        "image": image,
        "image_raw": inter_sr["block0_img"] if overwritten else rgb_image,
        "image_raw_render": rgb_image,
        "image_depth": out["depth"].reshape(n, res, res, 1),
        "weights_sum": weights,
        "feature_image": feature_image,
        "planes": planes,
    }
    if cfg.kind == "panohead":
        result["image_mask"] = weights * (1 + 2 * 0.001) - 0.001  # panohead.md §5.8
    if capture:
        result["intermediates"] = {
            "superresolution": inter_sr,
            "render": dict(out["aux"], ray_origins=origins, ray_directions=directions,
                           feature_samples=out["rgb"], depth_samples=out["depth"]),
            **extra,
        }
    return result


def _density_noise(rng, std, num, num_rays, render_cfg):
    """{'coarse' (N, M, S, 1)[, 'fine' (N, M, n, 1)]}: N(0, std^2) for the renderer's density_noise."""
    k_c, k_f = jax.random.split(rng)
    noise = {"coarse": std * jax.random.normal(k_c, (num, num_rays, render_cfg.depth_resolution, 1))}
    if render_cfg.depth_resolution_importance > 0:
        noise["fine"] = std * jax.random.normal(k_f, (num, num_rays, render_cfg.depth_resolution_importance, 1))
    return noise


def mapping(cfg: EG3DConfig, variables, z, c, truncation_psi=1.0, truncation_cutoff=None):
    """z (N, z_dim), c (N, c_dim) conditioning camera -> ws (N, num_ws, w_dim)."""
    return TriPlaneGenerator(cfg).apply(variables, z, c, truncation_psi, truncation_cutoff,
                                        method=TriPlaneGenerator.map)


def apply_delta_c(cfg: EG3DConfig, variables, z, c, truncation_psi=1.0, truncation_cutoff=None):
    """PanoHead forward's camera offset: -> (c_new (N, 25), delta (N, 3)) (panohead.md §6).

    c_new is c (zeroed if c_gen_conditioning_zero) with delta added to the translation column.
    """
    delta = TriPlaneGenerator(cfg).apply(variables, z, c, truncation_psi, truncation_cutoff,
                                         method=TriPlaneGenerator.camera_delta)
    c0 = jnp.zeros_like(c) if cfg.c_gen_conditioning_zero else c
    return c0.at[:, jnp.array([3, 7, 11])].add(delta), delta


@functools.lru_cache(maxsize=None)
def decode_apply(cfg: EG3DConfig):
    """A hashable (variables, sampled, coords, dirs) -> {'sigma', 'rgb'} for the given config."""
    module = TriPlaneGenerator(cfg)
    return lambda variables, sampled, coords, dirs: module.apply(variables, sampled, method=TriPlaneGenerator.decode)


@functools.lru_cache(maxsize=None)
def jitted(cfg: EG3DConfig):
    """(mapping, synthesize, apply_delta_c) compiled once per config; variables are arguments."""
    map_fn = jax.jit(functools.partial(mapping, cfg), static_argnames=("truncation_cutoff",))
    syn_fn = jax.jit(functools.partial(synthesize, cfg),
                     static_argnames=("noise_mode", "neural_rendering_resolution", "capture"))
    delta_fn = jax.jit(functools.partial(apply_delta_c, cfg), static_argnames=("truncation_cutoff",))
    return map_fn, syn_fn, delta_fn
