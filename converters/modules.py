"""Decoded module objects -> PyTorch state_dicts, constructor kwargs and a kind (checkpoints.md §2, §4).

Works on what `torch_format.read_checkpoint_object` returns: persistent modules are
`PersistentRecord`s, non-persistent ones `InertObject`s; both carry the module `__dict__` as `state`.
"""
import json
import re
from typing import Any, Dict, Mapping, Optional

import numpy as np

from converters.safe_pickle import InertObject, PersistentRecord
from converters.tensors import UnsafeOrBroken

MAX_KEYS = 100_000  # state_dict entries of one network (EG3D: 176, PanoHead: 295)
_NAME = re.compile(r"[A-Za-z0-9_]{1,128}\Z")
PANOHEAD_RENDERING_KEYS = ("triplane_depth", "use_background", "decoder_activation", "use_torgb_raw", "triplane_size")
PANOHEAD_STATE_PREFIXES = ("bcg_synthesis.", "t_mapping.", "torgb.")


def is_module(obj: Any) -> bool:
    return isinstance(obj, (PersistentRecord, InertObject))


def class_name(obj: Any) -> str:
    return obj.class_name if isinstance(obj, PersistentRecord) else getattr(obj, "qualname", type(obj).__name__)


def module_state_dict(module: Any, where: str, buffers: Optional[set] = None) -> Dict[str, np.ndarray]:
    """torch `state_dict()` of a decoded module: own parameters, own persistent buffers, then children.

    buffers: if given, the names of the buffer entries are added to it.
    """
    out: Dict[str, np.ndarray] = {}
    visits = [0]

    def entries(state, field):
        table = state.get(field) or {}
        if not isinstance(table, dict):
            raise UnsafeOrBroken(f"{where}: {field} is {type(table).__name__}, expected a dict")
        return table

    def visit(node, prefix, depth):
        state, visits[0] = node.state, visits[0] + 1
        if depth > 64 or visits[0] > MAX_KEYS:
            raise UnsafeOrBroken(f"{where}: modules nested deeper than 64 levels or more than {MAX_KEYS} "
                                 f"modules (shared-module bomb?)")
        skip = state.get("_non_persistent_buffers_set") or set()
        if not isinstance(skip, (set, frozenset, list, tuple)):
            raise UnsafeOrBroken(f"{where}: _non_persistent_buffers_set is {type(skip).__name__}")
        for field in ("_parameters", "_buffers"):
            for name, value in entries(state, field).items():
                if value is None or (field == "_buffers" and name in skip):
                    continue
                if not isinstance(name, str) or not _NAME.match(name):
                    raise UnsafeOrBroken(f"{where}: bad tensor name {name!r} under {prefix or 'the top module'}")
                if not isinstance(value, np.ndarray):
                    raise UnsafeOrBroken(f"{where}: {prefix}{name} is a {type(value).__name__}, expected a tensor")
                if len(out) >= MAX_KEYS:
                    raise UnsafeOrBroken(f"{where}: more than {MAX_KEYS} tensors (shared-module bomb?)")
                out[prefix + name] = value
                if field == "_buffers" and buffers is not None:
                    buffers.add(prefix + name)
        for name, child in entries(state, "_modules").items():
            if child is None:
                continue
            if not isinstance(name, str) or not _NAME.match(name) or not is_module(child):
                raise UnsafeOrBroken(f"{where}: child {prefix}{name!s:.40} is not a module")
            visit(child, f"{prefix}{name}.", depth + 1)

    if not is_module(module):
        raise UnsafeOrBroken(f"{where} is a {type(module).__name__}, not a network")
    visit(module, "", 0)
    return out


def to_jsonable(value: Any, where: str, strict: bool = True) -> Any:
    """Constructor kwargs -> JSON types (numpy scalars -> Python, tuples -> lists)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, f"{where}[{k!r}]", strict) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, where, strict) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if strict:
        raise UnsafeOrBroken(f"{where}: value of type {type(value).__name__} cannot be stored as JSON")
    return f"<{type(value).__name__}>"


def generator_info(module: Any, where: str) -> Dict[str, Any]:
    """TriPlaneGenerator record -> {init_kwargs (live rendering_kwargs), neural_rendering_resolution}."""
    state = module.state
    args, kwargs = state.get("_init_args", ()), state.get("_init_kwargs")
    if args:
        raise UnsafeOrBroken(f"{where}: positional constructor arguments are not supported")
    if not isinstance(kwargs, dict):
        raise UnsafeOrBroken(f"{where}: no constructor kwargs (_init_kwargs) in the pickle")
    init_kwargs = to_jsonable(kwargs, f"{where}._init_kwargs")
    live = state.get("rendering_kwargs")
    if isinstance(live, dict):  # the attribute is authoritative for rendering (checkpoints.md §2)
        init_kwargs["rendering_kwargs"] = to_jsonable(live, f"{where}.rendering_kwargs")
    rendering = init_kwargs.get("rendering_kwargs")
    if rendering is not None and not isinstance(rendering, dict):  # generator_kind looks keys up in it
        raise UnsafeOrBroken(f"{where}: rendering_kwargs is a {type(rendering).__name__}, expected a dict")
    nrr = state.get("neural_rendering_resolution")
    if isinstance(nrr, np.generic):
        nrr = nrr.item()
    if nrr is not None and (not isinstance(nrr, int) or isinstance(nrr, bool) or not 0 < nrr <= 4096):
        raise UnsafeOrBroken(f"{where}: neural_rendering_resolution {nrr!r} is not a positive int")
    return {"init_kwargs": init_kwargs, "neural_rendering_resolution": nrr}


def generator_kind(init_kwargs: Optional[Mapping], state_dict: Mapping[str, Any]) -> str:
    """'panohead' if the rendering kwargs or state_dict carry PanoHead-only entries, else 'eg3d'."""
    rk = (init_kwargs or {}).get("rendering_kwargs") or {}
    if any(k in rk for k in PANOHEAD_RENDERING_KEYS) or any(k.startswith(PANOHEAD_STATE_PREFIXES) for k in state_dict):
        return "panohead"
    return "eg3d"


def guess_state_dict_kind(state_dict: Mapping[str, Any], checkpoint: Any) -> Optional[str]:
    """Best guess of which family a .pth belongs to (None when unsure) from its tensor names and,
    for pSp / e4e, the `opts` the training code saves beside the state_dict (checkpoint['opts'])."""
    keys = list(state_dict)
    has = lambda prefix: any(k.startswith(prefix) for k in keys)  # noqa: E731
    opts = checkpoint.get("opts") if isinstance(checkpoint, dict) else None
    opts = opts if isinstance(opts, dict) else {}
    if has("backbone.synthesis.") or has("state_dict.backbone.synthesis."):
        return generator_kind(None, {k.split("state_dict.", 1)[-1]: 0 for k in keys})
    if has("swin_model.") or (has("input_layer.") and any("cross_att_" in k for k in keys)):
        return "goae"
    if any("triplanenet_encoder." in k for k in keys):
        return "triplanenet"
    encoder_type = str(opts.get("encoder_type", ""))
    if "Encoder4Editing" in encoder_type:
        return "e4e"
    if "GradualStyle" in encoder_type:
        return "psp"
    if has("input_layer.") and has("body.") and has("output_layer."):
        return "arcface"
    if any(re.match(r"(lin\d+\.model\.1\.weight|\d+\.model\.1\.weight|lin\d+\.weight)\Z", k) for k in keys):
        return "lpips"
    return None


def summarize_kwargs(kwargs: Mapping) -> str:
    return json.dumps(to_jsonable(kwargs, "kwargs", strict=False), sort_keys=True)
