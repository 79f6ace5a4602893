"""Official checkpoints -> what `load_generator` and `inversion3d convert` / `info` need.

Accepted sources: EG3D / PanoHead network snapshots (`*.pkl`, checkpoints.md), PyTorch `.pth` /
`.pt` files (zip or legacy; a state_dict, a dict holding one, or a module), and directories
written by `convert` (see converters/orbax_io.py). Nothing in a file is ever executed.
"""
import contextlib
import dataclasses
import os
from typing import Any, Dict, Optional, Tuple

import numpy as np

from converters.modules import class_name, generator_info, generator_kind, is_module, module_state_dict
from converters.orbax_io import META_FILE, is_converted_dir, read_converted
from converters.safe_pickle import CheckpointError
from converters.tensors import DEFAULT_LIMITS, ReadLimits, UnsafeOrBroken
from converters.torch_format import read_checkpoint_object

NETWORKS = ("G_ema", "G", "D")
GENERATOR_KINDS = ("eg3d", "panohead")
RAW_KINDS = ("goae", "psp", "e4e", "triplanenet", "arcface", "lpips", "classifier")
CONVERT_KINDS = ("auto",) + GENERATOR_KINDS + RAW_KINDS
NO_FLAX_YET = "there is no Flax port of it yet, so it cannot be rendered or run"


@contextlib.contextmanager
def reading(path):
    """Turns the readers' internal errors into one-line CheckpointErrors naming the file."""
    try:
        yield
    except UnsafeOrBroken as err:
        raise CheckpointError(f"{path}: {' '.join(str(err).split())[:500]}") from None


@dataclasses.dataclass
class GeneratorSource:
    """A generator read from a file. Exactly one of state_dict (PyTorch names) / variables (Flax tree)."""

    path: str
    kind: str
    network: str
    init_kwargs: Optional[Dict[str, Any]]
    neural_rendering_resolution: Optional[int]
    state_dict: Optional[Dict[str, np.ndarray]] = None
    variables: Optional[Dict[str, Any]] = None

    def resolve_kind(self, kind: Optional[str]) -> str:
        """The caller's kind (None = the file's); a contradiction is a ValueError."""
        if kind is not None and kind != self.kind:
            raise ValueError(f"kind: {self.path} holds a {self.kind!r} generator, got kind={kind!r}")
        return self.kind


def networks_of(obj: Any) -> Dict[str, Any]:
    """The modules of a network snapshot dict ({'G', 'D', 'G_ema', ...}); {} for anything else."""
    if not isinstance(obj, dict):
        return {}
    return {k: v for k, v in obj.items() if isinstance(k, str) and is_module(v)}


def split_arrays(obj: Any) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """(arrays by dotted path, other values by dotted path) of a .pth object; a module gives its state_dict."""
    if is_module(obj):
        return module_state_dict(obj, "module"), {}
    arrays: Dict[str, np.ndarray] = {}
    extra: Dict[str, Any] = {}

    def walk(x, prefix):
        if isinstance(x, np.ndarray):
            if prefix in arrays:
                raise UnsafeOrBroken(f"two tensors are both named {prefix!r}")
            arrays[prefix] = x
        elif isinstance(x, dict) and x:
            for k, v in x.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k))
        elif isinstance(x, (list, tuple)) and any(isinstance(v, (np.ndarray, dict, list, tuple)) for v in x):
            for i, v in enumerate(x):
                walk(v, f"{prefix}.{i}" if prefix else str(i))
        elif is_module(x):
            for k, v in module_state_dict(x, prefix).items():
                walk(v, f"{prefix}.{k}")
        else:
            extra[prefix or "value"] = x

    walk(obj, "")
    return arrays, extra


def check_floats(path, state_dict):
    """Generator weights: every array floating point and finite (CheckpointError naming the tensor)."""
    for key, value in state_dict.items():
        if value.dtype.kind != "f" and value.dtype.name != "bfloat16":
            raise CheckpointError(f"{path}: {key} has dtype {value.dtype.name}, expected floating point weights")
    check_finite(path, state_dict)


def check_finite(path, state_dict):
    """CheckpointError naming the first floating-point array with NaN / Inf values (a diverged or
    corrupted checkpoint would otherwise load and produce NaN images)."""
    for key, value in state_dict.items():
        if (value.dtype.kind == "f" or value.dtype.name == "bfloat16") and value.size:
            finite = np.isfinite(np.asarray(value, np.float32))
            if not finite.all():
                bad = int(finite.size - np.count_nonzero(finite))
                what = "all NaN/Inf" if bad == finite.size else f"{bad:,} of {finite.size:,} values NaN/Inf"
                raise CheckpointError(f"{path}: tensor {key} is {what}; the checkpoint is diverged or corrupt")


def read_generator_source(source, network: str = "G_ema", limits: ReadLimits = DEFAULT_LIMITS) -> GeneratorSource:
    """A .pkl snapshot, a .pth/.pt state_dict of a generator, or a converted directory -> GeneratorSource.
    limits: what reading an official file may allocate (converters.tensors.ReadLimits)."""
    path = os.fspath(source)
    if network not in NETWORKS:
        raise ValueError(f"network: expected one of {NETWORKS}, got {network!r}")
    if os.path.isdir(path):
        if not is_converted_dir(path):
            raise ValueError(f"source: {path} is a directory without {META_FILE} (not a converted checkpoint)")
        meta, tree = read_converted(path)
        if meta.get("kind") not in GENERATOR_KINDS and meta.get("networks"):
            raise ValueError(f"source: {path} holds a {meta.get('kind')} encoder ({meta.get('network')}), not a "
                             f"generator; load it with inversion3d.load_encoder")
        if meta["layout"] != "flax" or meta.get("kind") not in GENERATOR_KINDS:
            raise ValueError(f"source: {path} holds {meta.get('kind')} network {meta.get('network')!r} as a "
                             f"PyTorch state_dict; {NO_FLAX_YET}")
        return GeneratorSource(path, meta["kind"], meta.get("network", "G_ema"), meta.get("init_kwargs"),
                               meta.get("neural_rendering_resolution"), variables=tree)
    if not os.path.exists(path):
        raise ValueError(f"source: no such file or directory: {path}")
    obj = read_checkpoint_object(path, limits)
    with reading(path):
        nets = networks_of(obj)
        if not nets:
            state_dict, _ = split_arrays(obj)
            if not any(k.startswith("backbone.synthesis.") for k in state_dict):
                raise UnsafeOrBroken("not a generator checkpoint (no backbone.synthesis.* weights)")
            check_floats(path, state_dict)
            return GeneratorSource(path, generator_kind(None, state_dict), "state_dict", None, None,
                                   state_dict=state_dict)
        module = select_network(nets, network)
        if network == "D":
            raise UnsafeOrBroken(f"network 'D' is the discriminator ({class_name(module)}); {NO_FLAX_YET} "
                                 f"(`inversion3d convert SRC DST --network D` stores its state_dict)")
        if class_name(module) != "TriPlaneGenerator":
            raise UnsafeOrBroken(f"network {network!r} is a {class_name(module)}, expected a TriPlaneGenerator")
        state_dict = module_state_dict(module, network)
        info = generator_info(module, network)
    check_floats(path, state_dict)
    return GeneratorSource(path, generator_kind(info["init_kwargs"], state_dict), network, info["init_kwargs"],
                           info["neural_rendering_resolution"], state_dict=state_dict)


def select_network(nets: Dict[str, Any], network: str):
    if network not in nets:
        raise UnsafeOrBroken(f"no network {network!r} in the snapshot; it holds {sorted(nets)}")
    return nets[network]


def check_convert_kind(kind: str, detected: Optional[str], path: str, snapshot: bool) -> str:
    """--kind against what the file looks like ('auto' takes the detected one)."""
    if kind not in CONVERT_KINDS:
        raise ValueError(f"kind: expected one of {CONVERT_KINDS}, got {kind!r}")
    if snapshot and kind not in ("auto",) + GENERATOR_KINDS:
        raise ValueError(f"kind: {path} is an EG3D/PanoHead network snapshot, got kind={kind!r}")
    if kind == "auto":
        if detected is None:
            raise ValueError(f"kind: cannot tell which model {path} belongs to; pass --kind "
                             f"({'|'.join(CONVERT_KINDS[1:])})")
        return detected
    if detected in GENERATOR_KINDS and kind in GENERATOR_KINDS and kind != detected:
        raise ValueError(f"kind: {path} holds a {detected!r} generator, got kind={kind!r}")
    return kind
