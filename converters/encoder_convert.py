"""Official encoder `.pth` arrays -> Flax trees + configs (encoders.md §1.5, §2-§5; training.md §1.3).

`convert_encoder(kind, arrays)` splits a file's arrays into networks, infers each network's config
from the tensor shapes (so real and small models convert alike), and maps the official names with
the family's rules in `converters/encoder_keymaps.py`: every key is consumed exactly once, and what a
file carries besides the encoder (the generator `decoder.*`, optimiser state) is listed, not kept.

| kind | file | networks (official prefix) |
|---|---|---|
| goae | `encoder_FFHQ.pt` / `afa_FFHQ.pt` (bare state_dicts) | goae (``) or afa (``) |
| psp, e4e | `{'state_dict': {encoder.*, decoder.*}, 'latent_avg', 'opts'}` or a bare encoder | psp / e4e (`encoder.`) |
| triplanenet | `{'state_dict': {psp_encoder.*, triplanenet_encoder.*, decoder.*}, 'latent_avg'}` | psp, triplanenet |
| arcface | `model_ir_se50.pth` (bare) | arcface (``) |
e4e files may also hold `discriminator_state_dict.*` (the latent discriminator, converted too).
"""
import math
import re
from typing import Any, Dict, Mapping, Tuple

import numpy as np

from converters import encoder_keymaps as km
from inversion3d.encoders import swin_v2
from inversion3d.encoders.afa import AFA_WIDTHS
from inversion3d.encoders.irse import irse_units
from inversion3d.networks import template

ENCODER_KINDS = ("goae", "psp", "e4e", "triplanenet", "arcface")
RULES = {"goae": km.GOAE_RULES, "afa": km.AFA_RULES, "psp": km.PSP_RULES, "e4e": km.E4E_RULES,
         "triplanenet": km.TRIPLANENET_RULES, "arcface": km.IRSE_RULES,
         "latent_discriminator": km.LATENT_DISCRIMINATOR_RULES}
IGNORED = {"decoder.": "the generator (pass it to invert with --generator)",
           "discriminator_optimizer_state_dict.": "optimiser state", "optimizer.": "optimiser state"}
_UNITS = {24: 50, 49: 100, 50: 152}  # body units -> IR(-SE) depth (§2.1)


def _shape(sd, key, source):
    if key not in sd:
        raise ValueError(f"{source}: missing {key} (cannot infer the network's configuration)")
    return tuple(np.shape(sd[key]))


def _count(sd, pattern):
    """1 + the largest integer captured by `pattern` over the keys (0 when none match)."""
    found = [int(m.group(1)) for k in sd for m in [re.match(pattern, k)] if m]
    return max(found) + 1 if found else 0


def _body_config(sd, prefix, source) -> Dict[str, Any]:
    """num_layers and stage widths of an IR-SE body from `{prefix}body.{i}.res_layer.1.weight`."""
    units = _count(sd, re.escape(prefix) + r"body\.(\d+)\.")
    if units not in _UNITS:
        raise ValueError(f"{source}: {units} IR-SE body units under {prefix or 'the top level'}; "
                         f"expected one of {sorted(_UNITS)} (IR-SE-50/100/152)")
    num_layers = _UNITS[units]
    starts = [i for i, u in enumerate(irse_units(num_layers)) if u.stride == 2]
    widths = [_shape(sd, f"{prefix}body.{i}.res_layer.1.weight", source)[0] for i in starts]
    return {"num_layers": num_layers, "widths": widths}


def psp_config(sd, prefix="", source="state_dict") -> Dict[str, Any]:
    """GradualStyleEncoder kwargs + image_size (16 * 2^convs of styles.0) (§2.2); style_hidden is
    None (official) when the style convs are as wide as w."""
    n_styles = _count(sd, re.escape(prefix) + r"styles\.(\d+)\.")
    convs = len([k for k in sd if re.fullmatch(re.escape(prefix) + r"styles\.0\.convs\.\d+\.weight", k)])
    style_dim, hidden = _shape(sd, f"{prefix}styles.0.linear.weight", source)
    in_nc = _shape(sd, f"{prefix}input_layer.0.weight", source)[1]
    return dict(n_styles=n_styles, input_nc=in_nc, style_dim=style_dim,
                style_hidden=None if hidden == style_dim else hidden, image_size=16 * 2 ** convs,
                **_body_config(sd, prefix, source))


def e4e_config(sd, prefix="", source="state_dict") -> Dict[str, Any]:
    """Encoder4Editing kwargs: style_count = 2 log2(stylegan_size) - 2 (§3)."""
    cfg = psp_config(sd, prefix, source)
    n = cfg.pop("n_styles")
    if cfg.pop("input_nc") != 3 or n % 2:
        raise ValueError(f"{source}: {n} styles / input channels do not fit an e4e encoder (even count, RGB)")
    return dict(cfg, stylegan_size=2 ** ((n + 2) // 2))


def triplanenet_config(sd, prefix="", source="state_dict") -> Dict[str, Any]:
    """TriPlaneEncoder kwargs + plane_channels (per plane) (§4)."""
    ups = [_shape(sd, f"{prefix}up{i}.conv.double_conv.1.weight", source)[0] for i in range(1, 5)]
    head_in = _shape(sd, f"{prefix}final_head_two.0.weight", source)[1]
    channels = _shape(sd, f"{prefix}final_head_two.4.weight", source)[0]
    pixelshuffle = head_in - channels != ups[3]  # nearest keeps up4's width, pixel shuffle divides it by 4
    if channels % 3:
        raise ValueError(f"{source}: {channels} tri-plane channels are not 3 planes")
    return dict(use_pixelshuffle=bool(pixelshuffle), in_nc=_shape(sd, f"{prefix}input_layer.0.weight", source)[1],
                up_widths=ups, plane_channels=channels // 3, **_body_config(sd, prefix, source))


def arcface_config(sd, prefix="", source="state_dict") -> Dict[str, Any]:
    body = _body_config(sd, prefix, source)
    embedding, flat = _shape(sd, f"{prefix}output_layer.3.weight", source)
    side = math.isqrt(flat // body["widths"][3])
    return dict(input_size=16 * side, embedding=embedding, **body)


def afa_config(sd, prefix="", source="state_dict") -> Dict[str, Any]:
    config = dict(feature_dim=_shape(sd, f"{prefix}output_layer.2.weight", source)[0],
                  dim_feedforward=_shape(sd, f"{prefix}cross_att_gamma.linear1.weight", source)[0])
    widths = [_shape(sd, f"{prefix}body.{i}.res_layer.1.weight", source)[0] for i in (0, 3, 6)]  # one per stage
    if tuple(widths) != AFA_WIDTHS:  # the release's stays implicit (its configs read as before)
        config["widths"] = widths
    return config


def _pretrained_window(table, window, source, key):
    """The pretrained window size whose log-spaced CPB table equals the stored one (0 = none)."""
    for pw in list(range(2, 4 * window + 64)) + [0]:  # pw = window and 0 give the same table
        want = swin_v2.relative_coords_table(window, pw)
        if want.shape == table.shape[1:] and np.allclose(table[0], want, atol=1e-6):
            return pw
    raise ValueError(f"{source}: {key} matches no pretrained window size")


def goae_config(sd, prefix="", source="state_dict") -> Dict[str, Any]:
    """GOAEncoder kwargs with the Swin-V2 config read from shapes and derived buffers (§1.1, §1.5)."""
    p = f"{prefix}swin_model."
    embed, in_chans, patch, _ = _shape(sd, f"{p}patch_embed.proj.weight", source)
    stages = _count(sd, re.escape(p) + r"layers\.(\d+)\.")
    depths = [_count(sd, re.escape(f"{p}layers.{s}.") + r"blocks\.(\d+)\.") for s in range(stages)]
    heads = [_shape(sd, f"{p}layers.{s}.blocks.0.attn.logit_scale", source)[0] for s in range(stages)]
    mlp_ratio = _shape(sd, f"{p}layers.0.blocks.0.mlp.fc1.weight", source)[0] / embed
    tokens = _shape(sd, f"{prefix}mapper_base_spatial.0.weight", source)[0]
    img_size = math.isqrt(tokens) * 2 ** (stages - 1) * patch
    windows, pretrained = [], []
    for s in range(stages):
        key = f"{p}layers.{s}.blocks.0.attn.relative_coords_table"
        table = np.asarray(sd[key]) if key in sd else None
        if table is None:  # no buffers stored: the official config (§1.1)
            windows.append(swin_v2.SwinConfig().window_size)
            pretrained.append(swin_v2.SwinConfig().pretrained_window_sizes[s] if stages == 4 else 0)
            continue
        windows.append((table.shape[1] + 1) // 2)
        pretrained.append(_pretrained_window(table, windows[-1], source, key))
    swin = dict(img_size=img_size, patch_size=patch, in_chans=in_chans, embed_dim=embed, depths=depths,
                num_heads=heads, window_size=windows[0], mlp_ratio=mlp_ratio, pretrained_window_sizes=pretrained)
    return dict(swin=swin, w_dim=_shape(sd, f"{prefix}mapper_base_channel.2.weight", source)[0],
                dim_feedforward=_shape(sd, f"{prefix}cross_att_coarse.linear1.weight", source)[0])


def latent_discriminator_config(sd, prefix="", source="state_dict") -> Dict[str, Any]:
    n_mlp = len([k for k in sd if re.fullmatch(re.escape(prefix) + r"mlp\.\d+\.weight", k)])
    return dict(style_dim=_shape(sd, f"{prefix}mlp.0.weight", source)[1], n_mlp=n_mlp)


CONFIGS = {"goae": goae_config, "afa": afa_config, "psp": psp_config, "e4e": e4e_config,
           "triplanenet": triplanenet_config, "arcface": arcface_config,
           "latent_discriminator": latent_discriminator_config}


def _networks(kind, keys) -> Dict[str, str]:
    """{network: official prefix} present in a file of `kind`."""
    has = lambda prefix: any(k.startswith(prefix) for k in keys)  # noqa: E731
    if kind == "goae":
        return {"goae": ""} if has("swin_model.") else {"afa": ""}
    if kind == "triplanenet":
        return {"psp": "psp_encoder.", "triplanenet": "triplanenet_encoder."}
    if kind == "arcface":
        return {"arcface": ""}
    prefix = next((p for p in ("encoder.", "psp_encoder.") if has(p)), "")
    nets = {kind: prefix}
    if has("discriminator_state_dict."):
        nets["latent_discriminator"] = "discriminator_state_dict."
    return nets


def convert_encoder(kind: str, arrays: Mapping[str, np.ndarray], source: str = "state_dict"
                    ) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """-> (tree {network: {'params'[, 'batch_stats']}, ['latent_avg']}, meta {'networks': {name: config},
    'ignored': {prefix: count}, 'network'}). Raises ValueError listing unconsumed keys."""
    if kind not in ENCODER_KINDS:
        raise ValueError(f"kind: expected one of {ENCODER_KINDS}, got {kind!r}")
    sd = {(k[len("state_dict."):] if k.startswith("state_dict.") else k): v for k, v in arrays.items()}
    tree: Dict[str, Any] = {}
    if "latent_avg" in sd:
        avg = np.asarray(sd.pop("latent_avg"), np.float32)
        tree["latent_avg"] = avg.reshape(-1) if avg.ndim == 2 and avg.shape[0] == 1 else avg
    ignored = {p: n for p in IGNORED if (n := sum(k.startswith(p) for k in sd))}
    sd = {k: v for k, v in sd.items() if not any(k.startswith(p) for p in ignored)}
    nets = _networks(kind, sd)
    configs, consumed = {}, set()
    for name, prefix in sorted(nets.items(), key=lambda item: -len(item[1])):  # longest prefix first
        part = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix) and k not in consumed}
        consumed.update(prefix + k for k in part)
        if not part:
            raise ValueError(f"{source}: no {name} weights (expected keys under {prefix!r})")
        configs[name] = CONFIGS[name](part, "", source)
        _, shapes = template(name, configs[name])
        derived = km.swin_derived_buffers(swin_v2.SwinConfig(**configs[name]["swin"]), "swin_model.") \
            if name == "goae" else None
        tree[name] = km.load_variables(part, shapes, RULES[name], derived=derived, source=f"{source} ({name})")
    leftover = sorted(set(sd) - consumed)
    if leftover:
        more = " ..." if len(leftover) > 20 else ""
        raise ValueError(f"{source}: keys no {kind} network uses: {leftover[:20]}{more}")
    meta = {"networks": configs, "ignored": {p: {"count": n, "what": IGNORED[p]} for p, n in ignored.items()},
            "network": "+".join(sorted(configs)), "latent_avg": "latent_avg" in tree}
    return tree, meta
