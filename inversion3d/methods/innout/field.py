"""In-N-Out's out-of-distribution field and the composite forward of one frame (in-n-out.md §2.1-2.3).

OOD field = a tri-plane T_O (1, 3, R, R, C) shared by all frames + a decoder D_O: the three plane
lookups averaged (C features) concatenated with the frame's code phi_t (code_dim), FC -> softplus
-> FC -> [raw sigma | C colour/feature channels (MipNeRF sigmoid clamp) | blend b = sigmoid].
`composite_synthesize` renders the generator's w+ and the OOD field on the generator's samples
(rendering/composite.py) and runs the generator's super-resolution on the composite features.
"""
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from inversion3d.camera import split_label
from inversion3d.generators import eg3d
from inversion3d.generators.stylegan2 import FullyConnected
from inversion3d.ops.grid import sample_from_planes
from inversion3d.rendering.composite import composite_render
from inversion3d.rendering.rays import sample_rays

NOISE_MODE = "const"


class OODDecoder(nn.Module):
    """(features (N, P, C), code (N, code_dim)) -> dict(sigma (N, P, 1), rgb (N, P, C), blend (N, P, 1))."""

    hidden: int = 64
    out_features: int = 32

    @nn.compact
    def __call__(self, feats, code):
        code = jnp.broadcast_to(code[:, None, :], feats.shape[:2] + (code.shape[-1],))
        x = FullyConnected(self.hidden, name="net_0")(jnp.concatenate([feats, code], axis=-1))
        x = FullyConnected(self.out_features + 2, name="net_2")(jax.nn.softplus(x))
        rgb = jax.nn.sigmoid(x[..., 1:-1]) * (1 + 2 * 0.001) - 0.001  # MipNeRF clamp (§2.2)
        return {"sigma": x[..., :1], "rgb": rgb, "blend": jax.nn.sigmoid(x[..., -1:])}


def init_field(rng, plane_res: int, channels: int, code_dim: int, hidden: int, num_frames: int):
    """Trainable In-N-Out parameters: {'planes' (1, 3, R, R, C) ~ N(0, 1), 'decoder' (equalized-lr FCs),
    'codes' (num_frames, code_dim) ~ N(0, 1)} (in-n-out.md §2.1-2.2)."""
    if min(plane_res, channels, code_dim, hidden, num_frames) < 1:
        raise ValueError(f"init_field: sizes must be >= 1, got plane_res={plane_res} channels={channels} "
                         f"code_dim={code_dim} hidden={hidden} num_frames={num_frames}")
    k_planes, k_dec, k_codes = jax.random.split(rng, 3)
    decoder = OODDecoder(hidden, channels).init(k_dec, jnp.zeros((1, 1, channels)), jnp.zeros((1, code_dim)))
    return {"planes": jax.random.normal(k_planes, (1, 3, plane_res, plane_res, channels)),
            "decoder": decoder["params"], "codes": jax.random.normal(k_codes, (num_frames, code_dim))}


def ood_fn(field, codes, box_warp: float):
    """points (N, P, 3) -> OOD field values for a batch whose frame codes are `codes` (N, code_dim)."""
    channels = field["planes"].shape[-1]
    hidden = field["decoder"]["net_0"]["weight"].shape[-1]
    module = OODDecoder(hidden, channels)

    def fn(points):
        planes = jnp.broadcast_to(field["planes"], (points.shape[0],) + field["planes"].shape[1:])
        feats = jnp.mean(sample_from_planes(planes, points, box_warp, "eg3d"), axis=1)
        return module.apply({"params": field["decoder"]}, feats, codes)
    return fn


def composite_synthesize(cfg, gen_variables, field, ws, codes, c, rng=None, blend_scale=None, with_ood_sr=False,
                         sr_params=None, planes=None):
    """One composite forward (in-n-out.md §2.3 steps 1-7).

    Args:
      cfg: EG3DConfig; gen_variables: the frozen generator; field: `init_field` tree.
      ws (N, num_ws, w_dim), codes (N, code_dim), c (N, 25) rendering cameras.
      rng: renderer jitter (None: deterministic); blend_scale: (N, R*R, 1) per-ray factor on b.
      with_ood_sr: also super-resolve the OOD-only render. sr_params: replaces the generator's
        superresolution parameters (stage C). planes: the generator's tri-planes if already computed.
    Returns:
      dict image (N, S, S, 3), image_raw (N, R, R, 3), image_depth (N, R, R, 1), ood_raw (N, R, R, 3),
      ood_depth, blend_image (N, R, R, 1) (OOD share of the opacity), weights_sum, blend_coarse
      (N, R*R, S_c), blend_fine (N, R*R, S_f) [+ ood_image (N, S, S, 3)].
    """
    module = eg3d.TriPlaneGenerator(cfg)
    if sr_params is not None:
        gen_variables = {**gen_variables, "params": {**gen_variables["params"], "superresolution": sr_params}}
    if planes is None:
        planes = module.apply(gen_variables, ws, NOISE_MODE, method=eg3d.TriPlaneGenerator.planes)
    res = cfg.neural_rendering_resolution
    cam2world, intrinsics = split_label(c)
    origins, dirs = sample_rays(cam2world, intrinsics, res)
    decode_fn = functools.partial(eg3d.decode_apply(cfg), gen_variables)
    out = composite_render(planes, decode_fn, ood_fn(field, codes, cfg.render.box_warp), origins, dirs, cfg.render,
                           rng=rng, blend_scale=blend_scale)
    n = ws.shape[0]
    img = lambda x: x.reshape(n, res, res, -1)  # noqa: E731
    feats = img(out["rgb"])
    sr = lambda f: module.apply(gen_variables, f[..., :3], f, ws, cfg.sr_noise_mode,  # noqa: E731
                                method=eg3d.TriPlaneGenerator.superresolve)
    result = {"image": jnp.clip(sr(feats), -1, 1), "image_raw": jnp.clip(feats[..., :3], -1, 1),
              "feature_image": feats, "image_depth": img(out["depth"]), "weights_sum": img(out["weights_sum"]),
              "ood_raw": jnp.clip(img(out["ood_rgb"])[..., :3], -1, 1), "ood_depth": img(out["ood_depth"]),
              "blend_image": img(out["blend_weight"]), "blend_coarse": out["blend_coarse"],
              "blend_fine": out["blend_fine"]}
    if with_ood_sr:
        result["ood_image"] = jnp.clip(sr(img(out["ood_rgb"])), -1, 1)
    return result


def superresolve(cfg, gen_variables, sr_params, feature_image, ws):
    """The generator's SR with `sr_params` on a (N, R, R, C) composite feature image -> (N, S, S, 3) clipped."""
    variables = {**gen_variables, "params": {**gen_variables["params"], "superresolution": sr_params}}
    out = eg3d.TriPlaneGenerator(cfg).apply(variables, feature_image[..., :3], feature_image, ws, cfg.sr_noise_mode,
                                            method=eg3d.TriPlaneGenerator.superresolve)
    return jnp.clip(out, -1, 1)
