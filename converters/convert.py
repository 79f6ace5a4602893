"""`inversion3d convert` and `inversion3d info`: official files -> converted directories, and summaries.

Generators (EG3D / PanoHead G_ema or G) become the Flax variables tree through the one key map
(converters/keymap.py) and the same `load_generator` code path users call, so a converted
directory loads exactly like the original. Everything else (the discriminator D, encoder / loss
`.pth` files) is stored as its PyTorch state_dict until its Flax port and key map exist.
"""
import os
import time
from typing import Any, Dict, List, Optional

import numpy as np
from flax import traverse_util

from converters.classifier import convert_classifier
from converters.encoder_convert import ENCODER_KINDS, convert_encoder
from converters.load import (GENERATOR_KINDS, NETWORKS, check_convert_kind, check_finite, check_floats, networks_of,
                             reading, select_network, split_arrays)
from converters.modules import (class_name, generator_info, generator_kind, guess_state_dict_kind, module_state_dict,
                                summarize_kwargs, to_jsonable)
from converters.tensors import DEFAULT_LIMITS, ReadLimits, UnsafeOrBroken
from converters.orbax_io import check_dst, is_converted_dir, read_converted, write_converted
from converters.safe_pickle import CheckpointError
from converters.torch_format import read_checkpoint_object


def _count(tree) -> int:
    if isinstance(tree, dict):
        return sum(_count(v) for v in tree.values())
    return int(np.size(tree))


def _flax_variables(kind, state_dict, init_kwargs, nrr):
    from inversion3d.api import load_generator  # the user-facing path: same checks, same key map

    # nrr None (not in the file): load_generator's default
    gen = load_generator(state_dict, kind=kind, init_kwargs=init_kwargs, neural_rendering_resolution=nrr or None)
    return {c: _numpy_tree(v) for c, v in gen.params.items()}


def _numpy_tree(tree):
    if isinstance(tree, dict) or hasattr(tree, "items"):
        return {k: _numpy_tree(v) for k, v in tree.items()}
    return np.asarray(tree)


def _read(src, network, limits):
    """-> (state_dict, meta, detected kind, generator info or None, is a snapshot). Everything else the
    file holds (the other networks) is dropped on return, before the Flax copy is made."""
    obj = read_checkpoint_object(src, limits)
    meta: Dict[str, Any] = {"source": os.path.basename(src)}
    info = None
    with reading(src):
        nets = networks_of(obj)
        if not nets:
            state_dict, extra = split_arrays(obj)
            meta.update(network="state_dict", extra=to_jsonable(extra, "extra", strict=False))
            meta["_extra"] = extra  # the classifier's input size / normalisation / names (popped by convert)
            return state_dict, meta, guess_state_dict_kind(state_dict, obj), None, False
        module = select_network(nets, network)
        state_dict = module_state_dict(module, network)
        gen_module = nets.get("G_ema") or nets.get("G")
        if network == "D" and gen_module is None:
            detected = "panohead" if class_name(module).startswith("Mask") else "eg3d"
        elif network == "D":
            detected = generator_kind(generator_info(gen_module, "G_ema")["init_kwargs"],
                                      module_state_dict(gen_module, "G_ema"))
        elif class_name(module) != "TriPlaneGenerator":
            raise UnsafeOrBroken(f"network {network!r} is a {class_name(module)}, expected a TriPlaneGenerator")
        else:
            info = generator_info(module, network)
            detected = generator_kind(info["init_kwargs"], state_dict)
        meta.update(network=network, class_name=class_name(module),
                    init_kwargs=to_jsonable(module.state.get("_init_kwargs") or {}, network, strict=False))
    return state_dict, meta, detected, info, True


# Dual Encoder roles (paper Sec. 3.4): either name -> the stored role ('e1' visible, 'e2' occluded)
DUAL_ROLES = {"e1": "e1", "visible": "e1", "e2": "e2", "occluded": "e2"}


def convert(src, dst, network: str = "G_ema", kind: str = "auto",
            limits: ReadLimits = DEFAULT_LIMITS, role: Optional[str] = None,
            classifier: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Converts one official file into the directory `dst` (which must not exist); returns a summary.
    limits: what reading `src` may allocate (converters.tensors.ReadLimits). role: a TriPlaneNet-style
    file's Dual Encoder role, under either name (DUAL_ROLES: e1 = visible, e2 = occluded), stored as
    'e1' / 'e2' and checked by `invert --method dual` (E1 goes to --encoder, E2 to --encoder2).
    classifier: kind 'classifier' only: {'input_size', 'mean', 'std', 'attributes'} (None values are
    taken from the file's non-tensor entries; converters/classifier.py)."""
    src = os.fspath(src)
    if network not in NETWORKS:
        raise ValueError(f"network: expected one of {NETWORKS}, got {network!r}")
    if role is not None and role not in DUAL_ROLES:
        raise ValueError(f"role: expected one of {tuple(DUAL_ROLES)}, got {role!r}")
    if is_converted_dir(src):
        raise ValueError(f"src: {src} is already a converted checkpoint")
    check_dst(dst)  # before the (long) conversion
    start = time.perf_counter()
    state_dict, meta, detected, info, snapshot = _read(src, network, limits)
    extra = meta.pop("_extra", {})
    kind = check_convert_kind(kind, detected, src, snapshot=snapshot)
    if classifier and any(v is not None for v in classifier.values()) and kind != "classifier":
        raise ValueError(f"--input-size / --mean / --std / --attributes: only for --kind classifier, {src} is {kind}")
    if not state_dict:
        raise CheckpointError(f"{src}: holds no tensors")
    check_finite(src, state_dict)
    if kind in GENERATOR_KINDS and network != "D":
        if not snapshot:
            raise ValueError(f"src: {src} is a bare {kind} state_dict without constructor kwargs; convert the "
                             f"official .pkl, or call load_generator(src, init_kwargs=...)")
        from inversion3d.generators.eg3d_config import NEURAL_RENDERING_RESOLUTION  # the default, as load_generator

        check_floats(src, state_dict)
        tree = _flax_variables(kind, state_dict, info["init_kwargs"], info["neural_rendering_resolution"])
        meta.update(layout="flax", init_kwargs=info["init_kwargs"],
                    neural_rendering_resolution=info["neural_rendering_resolution"] or NEURAL_RENDERING_RESOLUTION)
    elif kind == "classifier":  # torchvision-style ResNet attribute classifier (inversion3d/nn/resnet.py)
        tree, classifier_meta = convert_classifier(state_dict, extra, source=src, **(classifier or {}))
        meta.update(classifier_meta, source=os.path.basename(src))
    elif kind in ENCODER_KINDS:  # Flax encoders + configs inferred from the shapes
        tree, encoder_meta = convert_encoder(kind, state_dict, source=src)
        meta.update(layout="flax", **encoder_meta)
        if role is not None:
            meta.update(role=DUAL_ROLES[role])
    else:
        tree = {"state_dict": state_dict}
        meta.update(layout="state_dict")
    if role is not None and kind != "triplanenet":
        raise ValueError(f"role: only Dual Encoder files (TriPlaneNet-style, kind triplanenet) take a role, "
                         f"{src} is {kind}")
    meta.update(kind=kind, num_arrays=len(state_dict), num_elements=_count(state_dict))
    del state_dict  # the Flax tree is a copy; let the pickled bytes go before Orbax buffers its writes
    path = write_converted(dst, tree, meta)
    return dict(meta, dst=path, seconds=time.perf_counter() - start)


def _tensor_summary(arrays: Dict[str, np.ndarray], buffers=None) -> str:
    """'N tensors, P parameters + B buffer elements, dtype ...' (without buffers: all values)."""
    n_all = sum(int(v.size) for v in arrays.values())
    dtypes = ",".join(sorted({v.dtype.name for v in arrays.values()})) or "-"
    if buffers is None:
        return f"{len(arrays)} tensors, {n_all:,} values, dtype {dtypes}"
    n_buf = sum(int(v.size) for k, v in arrays.items() if k in buffers)
    return f"{len(arrays)} tensors, {n_all - n_buf:,} parameters + {n_buf:,} buffer elements, dtype {dtypes}"


def info(path, limits: ReadLimits = DEFAULT_LIMITS) -> List[str]:
    """Human-readable lines describing a checkpoint (networks, kwargs, parameter count, dtype).
    limits: what reading `path` may allocate (converters.tensors.ReadLimits)."""
    path = os.fspath(path)
    if is_converted_dir(path):
        meta, tree = read_converted(path)
        flat = {k: np.asarray(v) for k, v in traverse_util.flatten_dict(tree, sep="/").items()}
        buffers = None if meta["layout"] != "flax" else \
            {k for k in flat if k.startswith("buffers/") or "batch_stats/" in k}
        lines = [f"{path}: converted checkpoint (layout {meta['layout']}), kind {meta.get('kind')}, "
                 f"network {meta.get('network')}, from {meta.get('source')}",
                 f"  {_tensor_summary(flat, buffers)}"]
        if meta.get("role"):
            lines.append(f"  Dual Encoder role: {meta['role']} ({'visible' if meta['role'] == 'e1' else 'occluded'})")
        for key in ("neural_rendering_resolution", "init_kwargs", "networks"):
            if meta.get(key) is not None:
                lines.append(f"  {key}: {summarize_kwargs({key: meta[key]})[len(key) + 5:-1]}")
        return lines
    obj = read_checkpoint_object(path, limits)
    with reading(path):
        nets = networks_of(obj)
        if not nets:
            arrays, extra = split_arrays(obj)
            kind = guess_state_dict_kind(arrays, obj) or "unknown (pass --kind to convert)"
            lines = [f"{path}: PyTorch checkpoint, kind {kind}", f"  {_tensor_summary(arrays)}"]
            tops = sorted({k.split(".", 1)[0] for k in arrays})
            lines.append(f"  top-level names: {', '.join(tops[:12])}{' ...' if len(tops) > 12 else ''}")
            if extra:
                lines.append(f"  other entries: {', '.join(sorted(extra)[:20])}")
            return lines
        lines = [f"{path}: network snapshot (EG3D/PanoHead persistence pickle)"]
        for name, value in obj.items():
            if name not in nets:
                lines.append(f"  {name}: {type(value).__name__}" + (f" ({len(value)} entries)" if isinstance(value, dict) else ""))
                continue
            buffers: set = set()
            arrays = module_state_dict(value, name, buffers=buffers)
            lines.append(f"  {name}: {class_name(value)}, {_tensor_summary(arrays, buffers)}")
            if class_name(value) == "TriPlaneGenerator" and name == ("G_ema" if "G_ema" in nets else name):
                gi = generator_info(value, name)
                lines.append(f"    kind {generator_kind(gi['init_kwargs'], arrays)}, neural_rendering_resolution "
                             f"{gi['neural_rendering_resolution']}")
                lines.append(f"    init_kwargs (rendering_kwargs from the live attribute): "
                             f"{summarize_kwargs(gi['init_kwargs'])}")
    return lines
