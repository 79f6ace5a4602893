"""A converted checkpoint directory: Orbax arrays + one JSON of what they are.

    DST/inversion3d.json   {"format": 1, "kind", "network", "layout", "init_kwargs",
                            "neural_rendering_resolution", "source", ...}
    DST/params/            Orbax (StandardCheckpointer) tree of numpy arrays

layout 'flax': the Flax variables tree {'params', 'buffers'} that `load_generator(DST)` uses as is.
layout 'state_dict': {'state_dict': {PyTorch name: array}} in PyTorch layouts, for networks without a
Flax port yet (discriminators, encoders, losses); later key maps read these.
The directory is written under a temporary name beside DST (`.DST.<pid>.partial`) and renamed at
the end, so a failed conversion never leaves a partial DST; the partial folder of a killed run (its
pid no longer running) is removed by the next conversion to the same DST. Folders and files get the
usual permissions (0777 / 0666 minus the umask).
"""
import json
import os
import re
import shutil
from typing import Any, Dict, Mapping, Tuple

import ml_dtypes  # jax's own dependency: the bfloat16 numpy dtype
import numpy as np

META_FILE = "inversion3d.json"
PARAMS_DIR = "params"
FORMAT_VERSION = 1
LAYOUTS = ("flax", "state_dict")
STORAGE = ("float32", "bfloat16")  # how float parameters are stored (write_converted)


def is_converted_dir(path) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, META_FILE))


def _checkpointer():
    import orbax.checkpoint as ocp

    return ocp.StandardCheckpointer()


def check_dst(dst) -> str:
    """The absolute path of a DST that does not exist yet (ValueError otherwise)."""
    dst = os.path.abspath(os.fspath(dst))
    if os.path.lexists(dst):
        raise ValueError(f"dst: {dst} already exists; choose a new output directory")
    return dst


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_partials(dst: str) -> list:
    """Removes `.DST.<pid>.partial` folders beside `dst` whose process is gone; returns their paths."""
    parent, base = os.path.split(dst)
    pattern = re.compile(r"\." + re.escape(base) + r"\.(\d+)\.partial\Z")
    removed = []
    for name in os.listdir(parent) if os.path.isdir(parent) else ():
        match = pattern.match(name)
        if match and int(match.group(1)) != os.getpid() and not _running(int(match.group(1))):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
            removed.append(os.path.join(parent, name))
    return removed


def _permissions(folder):
    """Orbax / mkdir results to the usual modes (0777 / 0666 minus the umask), as a plain copy would be."""
    mask = _umask()
    os.chmod(folder, 0o777 & ~mask)
    for root, dirs, names in os.walk(folder):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o777 & ~mask)
        for n in names:
            os.chmod(os.path.join(root, n), 0o666 & ~mask)


def write_converted(dst, tree: Mapping[str, Any], meta: Mapping[str, Any], storage: str = "float32") -> str:
    """Writes `tree` (nested dict of arrays) and `meta` to a new directory `dst`; returns its path.

    storage 'bfloat16': float32 arrays are stored rounded to bfloat16 (half the bytes; meta 'storage'
    says so) and `read_converted` casts them back to float32, so every reader sees float32."""
    dst = check_dst(dst)
    if meta.get("layout") not in LAYOUTS:
        raise ValueError(f"layout: expected one of {LAYOUTS}, got {meta.get('layout')!r}")
    if storage not in STORAGE:
        raise ValueError(f"storage: expected one of {STORAGE}, got {storage!r}")
    if storage != "float32":
        meta = dict(meta, storage=storage)
    parent = os.path.dirname(dst)
    tmp = os.path.join(parent, f".{os.path.basename(dst)}.{os.getpid()}.partial")
    try:
        os.makedirs(parent, exist_ok=True)
        remove_stale_partials(dst)
        shutil.rmtree(tmp, ignore_errors=True)  # an earlier failed try of this same process
        os.mkdir(tmp)
    except OSError as err:
        raise ValueError(f"dst: cannot create {dst}: {err.strerror or err}") from None
    try:
        arrays = _to_numpy(tree)
        if storage == "bfloat16":
            arrays = _cast_floats(arrays, np.float32, ml_dtypes.bfloat16)
        checkpointer = _checkpointer()
        checkpointer.save(os.path.join(tmp, PARAMS_DIR), arrays)
        checkpointer.wait_until_finished()
        with open(os.path.join(tmp, META_FILE), "w", encoding="utf-8") as f:
            json.dump(dict(meta, format=FORMAT_VERSION), f, indent=1, sort_keys=True)
        _permissions(tmp)
        os.rename(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dst


def _cast_floats(tree, src, dst):
    """tree with every array of dtype `src` cast to `dst`."""
    if isinstance(tree, Mapping):
        return {k: _cast_floats(v, src, dst) for k, v in tree.items()}
    return tree.astype(dst) if tree.dtype == src else tree


def _to_numpy(tree):
    if isinstance(tree, Mapping):
        return {str(k): _to_numpy(v) for k, v in tree.items()}
    return np.asarray(tree)


def read_meta(path) -> Dict[str, Any]:
    path = os.fspath(path)
    try:
        with open(os.path.join(path, META_FILE), encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: unreadable {META_FILE} ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION or meta.get("layout") not in LAYOUTS:
        raise ValueError(f"{path}: {META_FILE} is not a format-{FORMAT_VERSION} inversion3d checkpoint description")
    return meta


def read_converted(path) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(meta, tree of numpy arrays) of a directory written by `write_converted`."""
    meta = read_meta(path)
    params = os.path.join(os.path.abspath(os.fspath(path)), PARAMS_DIR)  # Orbax needs an absolute path
    try:
        tree = _checkpointer().restore(params)
    except Exception as err:  # orbax / tensorstore raise many types; report one line
        raise ValueError(f"{path}: cannot restore the Orbax arrays in {params} ({type(err).__name__}: "
                         f"{' '.join(str(err).split())[:300]})") from None
    if meta.get("storage", "float32") not in STORAGE:
        raise ValueError(f"{path}: unknown storage {meta.get('storage')!r} in {META_FILE}; expected one of {STORAGE}")
    if meta.get("storage") == "bfloat16":  # stored at half size: every reader gets float32 back
        tree = _cast_floats(tree, np.dtype(ml_dtypes.bfloat16), np.float32)
    return meta, tree
