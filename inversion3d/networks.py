"""The network registry: encoder-side networks (the encoders, ArcFace, the latent discriminator)
from JSON-able configs, the one place that turns a stored config into a module.

It sits above `encoders/` and `discriminators/` (which never import each other). Used by `inversion3d convert` (to shape the Flax tree of an official file) and `load_encoder` (to
rebuild the modules of a converted directory). A config is the module's constructor kwargs plus,
where the module itself does not fix it, the input size the network expects (`image_size`) or the
tri-plane channel count (`plane_channels`).

| network | module | example input |
|---|---|---|
| goae | GOAEncoder (swin = SwinConfig kwargs) | images (1, swin.img_size, swin.img_size, in_chans) |
| afa | AFA | img, rec_img (1, 64, 64, 3), F (1, 4, 4, feature_dim) |
| psp | GradualStyleEncoder | images (1, image_size, image_size, input_nc) |
| e4e | Encoder4Editing | images (1, image_size, image_size, 3) |
| triplanenet | TriPlaneEncoder | x (1, 32, 32, in_nc), planes (1, 3, 32, 32, plane_channels) |
| arcface | ArcFace | images (1, input_size, input_size, 3) |
| latent_discriminator | LatentCodesDiscriminator | w (1, style_dim) |
| e3dge_local | LocalBranch (E3DGE local features, aligner, fusion) | residual (1, 32, 32, 3), depth (1, 32, 32, 1), render (1, 32, 32, 3) |
"""
import dataclasses
import json
from typing import Any, Dict, Mapping, Tuple

import jax
import jax.numpy as jnp

from inversion3d.discriminators.latent import LatentCodesDiscriminator
from inversion3d.encoders.afa import AFA
from inversion3d.encoders.arcface import ArcFace
from inversion3d.encoders.e3dge import LocalBranch
from inversion3d.encoders.e4e import Encoder4Editing
from inversion3d.encoders.goae import GOAEncoder
from inversion3d.encoders.psp import GradualStyleEncoder
from inversion3d.encoders.swin_v2 import SwinConfig
from inversion3d.encoders.triplanenet import TriPlaneEncoder

NETWORKS = ("goae", "afa", "psp", "e4e", "triplanenet", "arcface", "latent_discriminator", "e3dge_local")
_TUPLES = ("depths", "num_heads", "pretrained_window_sizes", "widths", "up_widths", "align_widths")


def _tuples(cfg: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: (tuple(v) if k in _TUPLES and v is not None else v) for k, v in cfg.items()}


def build(network: str, config: Mapping[str, Any]) -> Tuple[Any, tuple]:
    """(Flax module, example positional inputs for `init`) of `network` built from `config`."""
    if network not in NETWORKS:
        raise ValueError(f"network: expected one of {NETWORKS}, got {network!r}")
    cfg = _tuples(config)
    zeros = lambda *shape: jnp.zeros(shape, jnp.float32)  # noqa: E731
    try:
        if network == "goae":
            swin = SwinConfig(**_tuples(cfg.pop("swin")))
            return GOAEncoder(swin=swin, **cfg), (zeros(1, swin.img_size, swin.img_size, swin.in_chans),)
        if network == "afa":
            return AFA(**cfg), (zeros(1, 64, 64, 3), zeros(1, 64, 64, 3), zeros(1, 4, 4, cfg.get("feature_dim", 512)))
        if network in ("psp", "e4e"):
            size = cfg.pop("image_size")
            module = GradualStyleEncoder(**cfg) if network == "psp" else Encoder4Editing(**cfg)
            return module, (zeros(1, size, size, cfg.get("input_nc", 3)),)
        if network == "triplanenet":
            c = cfg.pop("plane_channels")
            return TriPlaneEncoder(**cfg), (zeros(1, 32, 32, cfg.get("in_nc", 9)), zeros(1, 3, 32, 32, c))
        if network == "arcface":
            s = cfg.get("input_size", 112)
            return ArcFace(**cfg), (zeros(1, s, s, 3),)
        if network == "e3dge_local":
            return LocalBranch(**cfg), (zeros(1, 32, 32, 3), zeros(1, 32, 32, 1), zeros(1, 32, 32, 3))
        return LatentCodesDiscriminator(**cfg), (zeros(1, cfg.get("style_dim", 512)),)
    except (TypeError, KeyError) as err:
        raise ValueError(f"config: not a valid {network} configuration ({err})") from None


def config_of(module, drop: Tuple[str, ...] = (), **extra) -> Dict[str, Any]:
    """The JSON-able config `build` turns back into `module` (its constructor fields, a SwinConfig as a
    dict, tuples as lists) plus `extra` (image_size, plane_channels); `drop`: fields left to their
    defaults (e.g. a training-only setting). What `inversion3d export` writes for a trained network."""
    out = {}
    for field in dataclasses.fields(module):
        if not field.init or field.name in ("parent", "name") + tuple(drop):
            continue
        value = getattr(module, field.name)
        out[field.name] = value._asdict() if hasattr(value, "_asdict") else value
    return json.loads(json.dumps(dict(out, **extra)))


def template(network: str, config: Mapping[str, Any]):
    """(module, variables shaped like `module.init` as ShapeDtypeStructs) without computing anything."""
    module, args = build(network, config)
    return module, jax.eval_shape(module.init, jax.random.PRNGKey(0), *args)
