"""Official encoder / latent-discriminator state_dict names -> Flax trees (encoders.md §1.5, §2-§5).

One rules table per model family, in the style of `converters/keymap.py` (first full match wins;
the Flax leaf is `flax_path(key)` in the rule's collection). Two kinds of official keys carry no
trainable state and are removed by `split_state_dict` before `fill_variables` sees the rest:
- `*.num_batches_tracked` (BatchNorm counter, unused with momentum 0.1): dropped;
- Swin-V2 buffers `relative_coords_table`, `relative_position_index`, `attn_mask`: the port derives
  them from the config (inversion3d/encoders/swin_v2.py); the stored ones are checked against that
  derivation, and a mismatch is an error (it means the config does not match the checkpoint).
"""
import re
from typing import Dict, Iterable, Mapping, Optional

import numpy as np

from converters.keymap import Rule, fill_variables
from inversion3d.encoders import swin_v2

_BATCH_NORM = (
    Rule(r"(.*\.)?running_(mean|var)", "batch_stats", "same", "BatchNorm running statistics (C,)"),
)
_GENERIC = (
    Rule(r".*\.weight", "params", "by_rank",
         "Linear (out,in)->(in,out); conv (O,I,kh,kw)->(kh,kw,I,O); BN/LN/PReLU (C,) unchanged"),
    Rule(r".*\.bias", "params", "same", "biases"),
)
_MHA = (
    Rule(r"(.*\.)?multihead_attn\.in_proj_weight", "params", "by_rank", "packed (3E,E) [q;k;v] -> (E,3E) [q|k|v]"),
    Rule(r"(.*\.)?multihead_attn\.in_proj_bias", "params", "same", "packed (3E,) [q;k;v]"),
)
_SWIN = (
    Rule(r"(.*\.)?attn\.logit_scale", "params", "same", "per-head cosine-attention scale (heads,1,1), log space"),
    Rule(r"(.*\.)?attn\.(q_bias|v_bias)", "params", "same", "q / v biases (C,); the k bias is a constant 0"),
)

# IR / IR-SE units and everything built only from them, convs and EqualLinear (§2.1-§4).
IRSE_RULES = _BATCH_NORM + _GENERIC
PSP_RULES = IRSE_RULES  # GradualStyleEncoder; e4e's Encoder4Editing has identical names (§3)
E4E_RULES = IRSE_RULES
TRIPLANENET_RULES = IRSE_RULES  # TriPlane_Encoder v2 (§4)
SWIN_RULES = _SWIN + _GENERIC  # Swin-V2 backbone alone (§1.1)
GOAE_RULES = _SWIN + _MHA + _GENERIC  # GOAEncoder: swin_model.* + latent heads (§1.2)
AFA_RULES = _BATCH_NORM + _MHA + _GENERIC  # AFA: IR-SE body + EqualConv2d + cross-attention (§1.3)
CROSS_ATTENTION_RULES = _MHA + _GENERIC
LATENT_DISCRIMINATOR_RULES = _GENERIC  # e4e LatentCodesDiscriminator mlp.{0,2,4,6} (§5.1)

DROPPED = r"(.*\.)?num_batches_tracked"
DERIVED = r"(.*\.)?(relative_coords_table|relative_position_index|attn_mask)"


def swin_derived_buffers(swin: "swin_v2.SwinTransformerV2", prefix: str = "") -> Dict[str, np.ndarray]:
    """The official derived buffers of a Swin-V2 module, keyed by official name (§1.5).

    Every block has `attn.relative_coords_table` (1, 2w-1, 2w-1, 2) and
    `attn.relative_position_index` (w^2, w^2); shifted blocks also `attn_mask` (nW, w^2, w^2),
    with w the effective (clamped) window of the stage.
    """
    out = {}
    for s, stage in enumerate(swin_v2.stage_geometry(swin)):
        for b in range(stage.depth):
            window, shift = stage.window, stage.shifts[b]
            base = f"{prefix}layers.{s}.blocks.{b}."
            table = swin_v2.relative_coords_table(window, stage.pretrained_window)
            out[base + "attn.relative_coords_table"] = table[None]
            out[base + "attn.relative_position_index"] = swin_v2.relative_position_index(window)
            if shift > 0:
                out[base + "attn_mask"] = swin_v2.shifted_window_mask(stage.grid, stage.grid, window, shift)
    return out


def split_state_dict(state_dict: Mapping[str, np.ndarray], derived: Optional[Mapping[str, np.ndarray]] = None,
                     source: str = "state_dict", atol: float = 1e-6) -> Dict[str, np.ndarray]:
    """The state_dict without `num_batches_tracked` counters and derived buffers.

    derived: official key -> the port's value for every derived buffer (see `swin_derived_buffers`);
      a stored derived buffer that is not listed, or differs by more than `atol`, is an error.
    Raises ValueError listing every problem at once.
    """
    derived = dict(derived or {})
    kept, problems = {}, []
    for key, value in state_dict.items():
        if re.fullmatch(DROPPED, key):
            if np.ndim(value) != 0:
                problems.append(f"{key}: expected a scalar counter, got shape {np.shape(value)}")
            continue
        if re.fullmatch(DERIVED, key):
            want = derived.get(key)
            got = np.asarray(value)
            if want is None:
                problems.append(f"{key}: derived buffer the config does not produce")
            elif got.shape != want.shape:
                problems.append(f"{key}: expected shape {want.shape} from the config, got {got.shape}")
            elif not np.allclose(got.astype(np.float64), want.astype(np.float64), rtol=0, atol=atol):
                err = np.max(np.abs(got.astype(np.float64) - want))
                problems.append(f"{key}: differs from the config's derivation (max |diff| {err:.3g})")
            continue
        kept[key] = value
    if problems:
        raise ValueError(f"{source}: " + "; ".join(problems))
    return kept


def load_variables(state_dict: Mapping[str, np.ndarray], template: Mapping, rules: Iterable[Rule],
                   derived: Optional[Mapping[str, np.ndarray]] = None, strip_prefix: str = "",
                   source: str = "state_dict") -> dict:
    """`split_state_dict` then `fill_variables`: official state_dict -> Flax variables tree.

    template: {'params': ..., 'batch_stats': ...} (arrays or ShapeDtypeStructs, e.g. jax.eval_shape
    of `module.init`). derived keys are the full official keys (including `strip_prefix`).
    """
    kept = split_state_dict(state_dict, derived, source=source)
    return fill_variables(kept, template, rules, strip_prefix=strip_prefix, source=source)
