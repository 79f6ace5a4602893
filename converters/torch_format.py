"""Readers for the three on-disk layouts, all through the restricted unpickler (checkpoints.md §1, §3).

- plain pickle: the EG3D / PanoHead network snapshots (`*.pkl`), tensors embedded as legacy streams;
- PyTorch zip (`torch.save` default since 1.6): `<prefix>/data.pkl` + one raw file per storage;
- PyTorch legacy (non-zip `torch.save`): magic, protocol, sys-info, object, storage keys, raw data.
`read_checkpoint_object(path, limits)` returns the unpickled object with every tensor as a numpy
array, persistent modules as `PersistentRecord`s and non-persistent ones as `InertObject`s. The
file's declared tensor bytes are checked against `limits` (tensors.ReadLimits) before anything is
read, and every view before it is materialised.
"""
import io
import os
import re
import zipfile
from typing import Any, Dict

import numpy as np

from converters.safe_pickle import CheckpointError, InertObject, PersistentRecord, restricted_load
from converters.tensors import (DEFAULT_LIMITS, Budget, DTypeTag, ReadLimits, Storage, StorageTag, TensorRef,
                                UnsafeOrBroken)

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
MAX_DEPTH = 100  # container nesting in a checkpoint (EG3D snapshots reach ~20)
MAX_NODES = 2_000_000  # containers + tensors in one checkpoint
MAX_ZIP_RATIO = 200  # uncompressed / compressed size of a compressed zip member (zip bomb guard)
_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,128}\Z")
_PRIMITIVES = (str, bytes, int, float, bool, complex, type(None), np.generic)


def _storage_args(pid, n):
    if len(pid) != n:
        raise UnsafeOrBroken(f"storage persistent id has {len(pid)} fields, expected {n}")
    _, tag, key, _location, numel = pid[:5]
    if not isinstance(tag, StorageTag):
        raise UnsafeOrBroken(f"storage type {tag!r} is not a torch storage class")
    if not isinstance(key, str) or not _KEY.match(key):
        raise UnsafeOrBroken(f"storage key {key!r} is not a plain name")
    return tag, key, numel


def read_legacy(stream, what: str, buffer=None) -> Any:
    """A legacy `torch.save` stream positioned after its magic-number pickle (checkpoints.md §3).

    buffer: the bytes `stream` reads from, if any; storages then view it instead of copying.
    """
    if restricted_load(stream, what) != LEGACY_PROTOCOL:
        raise UnsafeOrBroken(f"{what}: unsupported legacy torch protocol (expected {LEGACY_PROTOCOL})")
    info = restricted_load(stream, what)
    if not isinstance(info, dict) or info.get("little_endian") is not True:
        raise UnsafeOrBroken(f"{what}: only little-endian legacy torch files are supported")
    storages: Dict[str, Storage] = {}

    def load_storage(pid):
        tag, key, numel = _storage_args(pid, 6)
        if pid[5] is not None:
            raise UnsafeOrBroken(f"{what}: storage views (pre-1.0 torch files) are not supported")
        if key not in storages:
            storages[key] = Storage(key, tag.dtype, numel)
        elif storages[key].dtype != tag.dtype or storages[key].numel != numel:
            raise UnsafeOrBroken(f"{what}: storage {key!r} declared twice with different types")
        return storages[key]

    obj = restricted_load(stream, what, load_storage)
    keys = restricted_load(stream, what)
    if not isinstance(keys, list) or sorted(keys) != sorted(storages):
        raise UnsafeOrBroken(f"{what}: storage key list does not match the storages the object uses")
    for key in keys:
        header = stream.read(8)
        if len(header) != 8:
            raise UnsafeOrBroken(f"{what}: truncated before the data of storage {key!r}")
        count = int.from_bytes(header, "little", signed=True)
        storage = storages[key]
        if count != storage.numel:
            raise UnsafeOrBroken(f"{what}: storage {key!r} holds {count} elements, declared {storage.numel}")
        size = count * storage.dtype.itemsize
        if buffer is None:
            storage.set_data(stream.read(size))
        else:
            start = stream.tell()
            storage.set_data(memoryview(buffer)[start:start + size])
            stream.seek(start + size)
    return obj


def load_from_bytes(data) -> Storage:
    """`torch.storage._load_from_bytes(b)`: one storage in a legacy stream (checkpoints.md §3)."""
    if not isinstance(data, (bytes, bytearray)):
        raise UnsafeOrBroken(f"_load_from_bytes: expected bytes, got {type(data).__name__}")
    stream = io.BytesIO(data)
    if restricted_load(stream, "storage") != LEGACY_MAGIC:
        raise UnsafeOrBroken("storage bytes: not a legacy torch stream (bad magic number)")
    storage = read_legacy(stream, "storage", buffer=data)
    if not isinstance(storage, Storage):
        raise UnsafeOrBroken(f"storage bytes: expected a storage, got {type(storage).__name__}")
    return storage


def read_zip(path: str, budget: Budget) -> Any:
    """A PyTorch zip checkpoint: `<prefix>/data.pkl` with storages in `<prefix>/data/<key>`.

    The sizes the archive declares for its members are charged to `budget` before any is read.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise UnsafeOrBroken(f"not a readable zip archive ({err}; truncated?)") from None
    with archive:
        budget.charge(sum(zinfo.file_size for zinfo in archive.infolist()), "the zip members")
        names = set(archive.namelist())
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise UnsafeOrBroken("zip holds no single '<name>/data.pkl' (not a PyTorch checkpoint)")
        prefix = pickles[0][: -len("data.pkl")]
        if prefix + "byteorder" in names and archive.read(prefix + "byteorder").strip() != b"little":
            raise UnsafeOrBroken("big-endian PyTorch checkpoints are not supported")

        def member(name, expected=None):
            zinfo = archive.getinfo(name)
            if expected is not None and zinfo.file_size != expected:
                raise UnsafeOrBroken(f"{name} holds {zinfo.file_size} bytes, its tensor header declares {expected}")
            if zinfo.compress_type != zipfile.ZIP_STORED and \
                    zinfo.file_size > MAX_ZIP_RATIO * max(zinfo.compress_size, 1) + (1 << 20):
                raise UnsafeOrBroken(f"{name}: compression ratio too high (zip bomb?)")
            return archive.read(name)

        storages: Dict[str, Storage] = {}

        def load_storage(pid):
            tag, key, numel = _storage_args(pid, 5)
            if key in storages:
                return storages[key]
            name = f"{prefix}data/{key}"
            if name not in names:
                raise UnsafeOrBroken(f"data file {name} is missing from the zip")
            storage = Storage(key, tag.dtype, numel)
            storage.set_data(member(name, numel * tag.dtype.itemsize))
            storages[key] = storage
            return storage

        try:
            data = member(pickles[0])
            return restricted_load(io.BytesIO(data), pickles[0], load_storage)
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise UnsafeOrBroken(f"corrupt zip member ({err})") from None


def resolve(obj: Any, budget: Budget) -> Any:
    """Replaces every TensorRef by a numpy array (views checked against `budget`, copies charged to
    it); rejects cycles, > MAX_DEPTH nesting, > MAX_NODES."""
    memo: Dict[int, tuple] = {}
    active = set()
    count = [0]

    def walk(x, depth, path=""):
        if isinstance(x, _PRIMITIVES):
            return x
        if isinstance(x, DTypeTag):
            return x.dtype
        if isinstance(x, type) and issubclass(x, InertObject):
            return f"<class {x.qualname}>"
        key = id(x)
        if key in memo:
            return memo[key][1]
        if key in active:
            raise UnsafeOrBroken("reference cycle in the checkpoint")
        if depth > MAX_DEPTH:
            raise UnsafeOrBroken(f"nesting deeper than {MAX_DEPTH} levels (pickle bomb?)")
        count[0] += 1
        if count[0] > MAX_NODES:
            raise UnsafeOrBroken(f"more than {MAX_NODES} objects (pickle bomb?)")
        active.add(key)
        if isinstance(x, TensorRef):
            out = x.to_numpy(budget, f"tensor {path!r}" if path else "tensor")
        elif isinstance(x, dict):
            bad = [k for k in x if not isinstance(k, _PRIMITIVES)]
            if bad:
                raise UnsafeOrBroken(f"dict key of type {type(bad[0]).__name__} is not allowed")
            out = {k: walk(v, depth + 1, _join(path, k)) for k, v in x.items()}
        elif isinstance(x, (list, tuple)):
            out = [walk(v, depth + 1, _join(path, i)) for i, v in enumerate(x)]
            out = tuple(out) if isinstance(x, tuple) else out
        elif isinstance(x, (set, frozenset)):
            if not all(isinstance(v, _PRIMITIVES) for v in x):
                raise UnsafeOrBroken("set members must be plain values")
            out = x
        elif isinstance(x, (PersistentRecord, InertObject)):
            object.__setattr__(x, "state", walk(x.state, depth + 1, path))
            out = x
        else:
            raise UnsafeOrBroken(f"unexpected object of type {type(x).__name__} in the checkpoint")
        active.discard(key)
        memo[key] = (x, out)
        return out

    return walk(obj, 0)


def _join(path: str, key) -> str:
    """Dotted key path of a nested value, as state_dict names read ('decoder.net.0.weight')."""
    return f"{path}.{key}" if path else str(key)


class _BoundedReader:
    """A file whose read(n) never asks for more than what is left (no allocation from a declared length)."""

    def __init__(self, f):
        self._f = f
        self._size = os.fstat(f.fileno()).st_size
        f.seek(0)

    def read(self, n=-1):
        left = self._size - self._f.tell()
        return self._f.read(left if n is None or n < 0 else min(n, left))

    def readline(self, limit=-1):
        return self._f.readline(limit)

    def tell(self):
        return self._f.tell()

    def seek(self, offset, whence=0):
        return self._f.seek(offset, whence)


def read_checkpoint_object(path, limits: ReadLimits = DEFAULT_LIMITS) -> Any:
    """Any supported file -> its object, tensors as numpy. Raises CheckpointError('<path>: reason').

    limits: what the file may make the reader allocate (tensors.ReadLimits: declared tensor bytes,
      view size relative to its storage); a file over a limit is refused before it is read.
    """
    path = os.fspath(path)
    budget = Budget(limits)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such file" + (" (a directory that is not a converted checkpoint)"
                                                          if os.path.isdir(path) else ""))
    try:
        with open(path, "rb") as f:
            head = f.read(4)
            if head.startswith(b"PK"):
                obj = read_zip(path, budget)
            elif head[:1] == b"\x80":
                budget.charge(os.fstat(f.fileno()).st_size, "the file")  # storages are stored inside it
                stream = _BoundedReader(f)
                first = restricted_load(stream, "pickle")
                legacy = isinstance(first, int) and first == LEGACY_MAGIC
                obj = read_legacy(stream, "legacy torch file") if legacy else first
            else:
                raise UnsafeOrBroken("not a pickle or a PyTorch zip checkpoint" + (" (empty file)" if not head else ""))
        return resolve(obj, budget)
    except UnsafeOrBroken as err:
        raise CheckpointError(f"{path}: {_one_line(err)}") from None
    except Exception as err:  # anything else a malformed file provokes: still one line naming the file
        raise CheckpointError(f"{path}: unreadable ({type(err).__name__}: {_one_line(err)})") from None


def _one_line(err) -> str:
    return " ".join(str(err).split())[:500]
