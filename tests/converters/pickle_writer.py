"""Writes pickles in the official checkpoint formats without torch and without official code.

Globals are written by name (`Global`) so nothing has to be importable; the pure-Python pickler
emits exactly the opcodes checkpoints.md describes (REDUCE of `_rebuild_tensor_v2`, `_load_from_bytes`
with a legacy storage stream, `_reconstruct_persistent_obj(meta)`, NEWOBJ + BUILD for classes pickled
by reference, BINPERSID for the storages of `.pth` files). Also used to build hostile files.
"""
import collections
import io
import pickle
import struct
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
SYS_INFO = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
STORAGE_NAMES = {np.dtype("float32"): "FloatStorage", np.dtype("float64"): "DoubleStorage",
                 np.dtype("float16"): "HalfStorage", np.dtype("int64"): "LongStorage",
                 np.dtype("int32"): "IntStorage", np.dtype("uint8"): "ByteStorage", np.dtype("bool"): "BoolStorage"}


class Global:
    """`module.name`, written as GLOBAL / STACK_GLOBAL without importing anything."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # the pickler only checks that a reduce function is callable
        raise TypeError("marker")


class Reduce:
    """func(*args) in the stream (REDUCE)."""

    def __init__(self, func, args):
        self.func, self.args = func, tuple(args)

    def __reduce__(self):
        return self.func, self.args


class NewObj:
    """An instance of a class pickled by reference: cls.__new__(cls) (NEWOBJ), then BUILD(state)."""

    def __init__(self, cls: Global, state):
        self.cls, self.state = cls, state


class Build:
    """BUILD(state) applied to `target` (any object the writer can save, e.g. a Global): how a pickle
    sets the state of an existing object."""

    def __init__(self, target, state):
        self.target, self.state = target, state


class PersistentId:
    """BINPERSID(pid): how `.pth` files and legacy streams reference storages."""

    def __init__(self, pid):
        self.pid = pid


class EasyDictValue(dict):
    """A `dnnlib.util.EasyDict` instance (dict subclass pickled by reference)."""


class Raw:
    """Bytes copied verbatim into the stream (for hand-made opcodes)."""

    def __init__(self, data: bytes):
        self.data = data


ORDERED_DICT = Global("collections", "OrderedDict")
REBUILD_TENSOR = Global("torch._utils", "_rebuild_tensor_v2")
REBUILD_PARAMETER = Global("torch._utils", "_rebuild_parameter")
LOAD_FROM_BYTES = Global("torch.storage", "_load_from_bytes")
RECONSTRUCT = Global("torch_utils.persistence", "_reconstruct_persistent_obj")


class Writer(pickle._Pickler):
    dispatch = dict(pickle._Pickler.dispatch)

    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, PersistentId) else None

    def save_global_marker(self, obj):
        if self.proto >= 4:
            self.save(obj.module)
            self.save(obj.name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    def save_newobj(self, obj):
        self.save(obj.cls)
        self.save(())
        self.write(pickle.NEWOBJ)
        self.memoize(obj)
        self.save(obj.state)
        self.write(pickle.BUILD)

    def save_easydict(self, obj):
        self.save(Global("dnnlib.util", "EasyDict"))
        self.save(())
        self.write(pickle.NEWOBJ)
        self.memoize(obj)
        self._batch_setitems(iter(obj.items()))

    def save_raw(self, obj):
        self.write(obj.data)

    def save_build(self, obj):
        self.save(obj.target)
        self.save(obj.state)
        self.write(pickle.BUILD)

    dispatch[Global] = save_global_marker
    dispatch[NewObj] = save_newobj
    dispatch[EasyDictValue] = save_easydict
    dispatch[Raw] = save_raw
    dispatch[Build] = save_build


def dumps(obj, protocol: int = 4) -> bytes:
    buf = io.BytesIO()
    Writer(buf, protocol).dump(obj)
    return buf.getvalue()


def c_strides(shape):
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def storage_tag(dtype) -> Global:
    return Global("torch", STORAGE_NAMES[np.dtype(dtype)])


def legacy_stream(obj, storages, protocol: int = 2) -> bytes:
    """A legacy `torch.save` stream: magic, protocol, sys-info, obj, keys, then per key count + data.

    storages: {key: flat numpy array}, referenced from `obj` by PersistentIds with 6-field ids.
    """
    keys = sorted(storages)
    parts = [dumps(LEGACY_MAGIC, 2), dumps(1001, 2), dumps(SYS_INFO, 2), dumps(obj, protocol), dumps(keys, 2)]
    for key in keys:
        flat = np.ascontiguousarray(storages[key]).reshape(-1)
        parts += [struct.pack("<q", flat.size), flat.tobytes()]
    return b"".join(parts)


def storage_bytes(array, key: str = "94856857133408", location: str = "cuda:0") -> bytes:
    """What `torch.storage._load_from_bytes` receives: a legacy stream of one storage (checkpoints.md §3)."""
    flat = np.ascontiguousarray(array).reshape(-1)
    pid = PersistentId(("storage", storage_tag(flat.dtype), key, location, flat.size, None))
    return legacy_stream(pid, {key: flat})


def embedded_tensor(array, param: bool = False, storage=None) -> Reduce:
    """A tensor inside a plain pickle (persistence snapshots): storage = `_load_from_bytes(<bytes>)`."""
    array = np.asarray(array)
    storage = storage or Reduce(LOAD_FROM_BYTES, (storage_bytes(array),))
    hooks = collections.OrderedDict()
    tensor = Reduce(REBUILD_TENSOR, (storage, 0, tuple(array.shape), c_strides(array.shape), False, hooks))
    return Reduce(REBUILD_PARAMETER, (tensor, False, collections.OrderedDict())) if param else tensor


def _file_tensors(obj, fields: int):
    """Replaces numpy arrays in a nested dict/list by storage-backed tensors; -> (object, storages)."""
    storages = {}

    def walk(x):
        if isinstance(x, np.ndarray):
            key = str(len(storages))
            storages[key] = np.ascontiguousarray(x).reshape(-1)
            pid = ("storage", storage_tag(x.dtype), key, "cpu", x.size) + ((None,) if fields == 6 else ())
            return Reduce(REBUILD_TENSOR, (PersistentId(pid), 0, tuple(x.shape), c_strides(x.shape), False,
                                           collections.OrderedDict()))
        if isinstance(x, dict):
            return collections.OrderedDict((k, walk(v)) for k, v in x.items())
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x

    return walk(obj), storages


def write_zip_pth(path, obj, prefix: str = "archive", drop=(), data_pkl: bytes = None):
    """A PyTorch zip checkpoint of `obj` (nested dicts of numpy arrays), like torch.save does.

    drop: member names to leave out (broken files); data_pkl: replaces the pickle (hostile files).
    """
    tree, storages = _file_tensors(obj, 5)
    members = {f"{prefix}/data.pkl": data_pkl if data_pkl is not None else dumps(tree, 2),
               f"{prefix}/byteorder": b"little", f"{prefix}/version": b"3\n"}
    members.update({f"{prefix}/data/{k}": v.tobytes() for k, v in storages.items()})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            if name not in drop:
                zf.writestr(name, data)
    return path


def write_legacy_pth(path, obj):
    """A legacy (non-zip) `torch.save` file of `obj` (nested dicts of numpy arrays)."""
    tree, storages = _file_tensors(obj, 6)
    with open(path, "wb") as f:
        f.write(legacy_stream(tree, storages))
    return path
