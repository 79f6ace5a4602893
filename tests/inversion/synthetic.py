"""Synthetic official encoder files for the tests: random Flax weights written under the official
PyTorch names and layouts (the inverse key map), plus the buffers and counters the real files carry.

Small configs keep every network cheap; `official_file` writes the layouts of encoder_convert.py's
table with the torch-free `.pth` writer, so no torch is needed.
"""
import numpy as np

from converters.encoder_convert import RULES
from converters.encoder_keymaps import swin_derived_buffers
from converters.keymap import to_state_dict
from inversion3d.encoders.swin_v2 import SwinConfig
from inversion3d.networks import template
from tests.converters import pickle_writer as pw
from tests.encoders.recipe import random_variables

SMALL_WIDTHS = [16, 16, 32, 32]  # SE reduction 16 needs >= 16 channels
SWIN = dict(img_size=64, patch_size=4, in_chans=3, embed_dim=16, depths=[2, 2, 2, 2], num_heads=[1, 2, 2, 4],
            window_size=4, mlp_ratio=4.0, pretrained_window_sizes=[3, 3, 3, 2])


def goae_config(w_dim=512):
    return dict(swin=dict(SWIN), w_dim=w_dim, dim_feedforward=64)


def afa_config(feature_dim=32):
    return dict(feature_dim=feature_dim, dim_feedforward=64)


STYLE_HIDDEN = 32  # style-block conv width; w stays 512 (the SR blocks of EG3D hard-code it)


def psp_config(n_styles=14, style_dim=512, image_size=32):
    hidden = None if style_dim == STYLE_HIDDEN else STYLE_HIDDEN  # None: as wide as w (the official layout)
    return dict(n_styles=n_styles, input_nc=3, style_dim=style_dim, style_hidden=hidden, image_size=image_size,
                num_layers=50, widths=list(SMALL_WIDTHS))


def e4e_config(style_dim=512):
    cfg = psp_config(style_dim=style_dim)
    del cfg["n_styles"], cfg["input_nc"]
    return dict(cfg, stylegan_size=256)


def triplanenet_config(plane_channels=32, pixelshuffle=False):
    ups = [16, 16, 16, 8] if pixelshuffle else [16, 16, 8, 8]
    return dict(use_pixelshuffle=pixelshuffle, in_nc=9, up_widths=ups, plane_channels=plane_channels,
                num_layers=50, widths=list(SMALL_WIDTHS))


def official_state_dict(network, config, seed=0):
    """(numpy Flax variables, official state_dict) for one network with random weights."""
    _, shapes = template(network, config)
    variables = random_variables(shapes, seed=seed)
    sd = to_state_dict(variables, RULES[network])
    for key in [k for k in sd if k.endswith(".running_mean")]:
        sd[key[:-len("running_mean")] + "num_batches_tracked"] = np.array(5, np.int64)
    if network == "goae":
        sd.update(swin_derived_buffers(SwinConfig(**{k: tuple(v) if isinstance(v, list) else v
                                                     for k, v in config["swin"].items()}), "swin_model."))
    return variables, sd


def decoder_stub(seed=0):
    """A few generator tensors as the pSp / TriPlaneNet files store them beside the encoder."""
    rng = np.random.default_rng(seed)
    return {"decoder.backbone.mapping.fc0.weight": rng.standard_normal((8, 8)).astype(np.float32),
            "decoder.backbone.mapping.w_avg": rng.standard_normal(8).astype(np.float32)}


def official_file(path, kind, configs, seed=0, latent_avg=None):
    """Writes `path` like the official checkpoint of `kind`; returns {network: numpy variables}.

    configs: {network: config}: goae -> {'goae'} or {'afa'}; psp / e4e -> {'psp'} / {'e4e'};
    triplanenet -> {'psp', 'triplanenet'}; arcface -> {'arcface'}.
    """
    variables, sds = {}, {}
    for i, (name, cfg) in enumerate(configs.items()):
        variables[name], sds[name] = official_state_dict(name, cfg, seed + i)
    if kind in ("goae", "arcface"):
        (obj,) = sds.values()
    else:
        prefixes = {"psp": "psp_encoder." if kind == "triplanenet" else "encoder.", "e4e": "encoder.",
                    "triplanenet": "triplanenet_encoder."}
        state = {prefixes[n] + k: v for n, sd in sds.items() for k, v in sd.items()}
        state.update(decoder_stub(seed))
        opts = {"encoder_type": "Encoder4Editing" if kind == "e4e" else "GradualStyleEncoder", "lr": 1e-4}
        obj = {"state_dict": state, "opts": opts}
        if latent_avg is not None:
            obj["latent_avg"] = np.asarray(latent_avg, np.float32)
    pw.write_zip_pth(path, obj)
    return variables


def official_encoder_files(d, avg):
    """The random-weight official-layout files of every encoder in folder `d` (goae.pt, afa.pt, psp.pt,
    e4e.pt, tpn.pt for the tiny 128 px EG3D; e1.pt / e2.pt for the tiny PanoHead: 10 ws, 3 x 32 channels
    per plane); `avg` is the latent average stored with pSp-family files."""
    official_file(d / "goae.pt", "goae", {"goae": goae_config()}, seed=1)
    official_file(d / "afa.pt", "goae", {"afa": afa_config()}, seed=2)
    official_file(d / "psp.pt", "psp", {"psp": psp_config()}, seed=3, latent_avg=avg[None])
    official_file(d / "e4e.pt", "e4e", {"e4e": e4e_config()}, seed=4, latent_avg=avg[None])
    official_file(d / "tpn.pt", "triplanenet", {"psp": psp_config(), "triplanenet": triplanenet_config()},
                  seed=5, latent_avg=avg[None])
    for i, ps in ((1, False), (2, True)):
        official_file(d / f"e{i}.pt", "triplanenet", {"psp": psp_config(n_styles=10),
                                                      "triplanenet": triplanenet_config(96, ps)}, seed=5 + i)
