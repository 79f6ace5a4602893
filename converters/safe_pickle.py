"""Restricted unpickling of EG3D / PanoHead / PyTorch checkpoints (checkpoints.md §2-§4).

Nothing in a checkpoint is ever imported or executed. `find_class` returns only the inert
substitutes of `ALLOWED` (records, tensor views, dtype tags); classes of non-persistent modules
(`training.*`, `torch.nn.modules.*`) become `InertObject`s that keep their pickled `__dict__`.
What `find_class` returns is shared by every load in the process, so it is immutable: BUILD (the
only pickle opcode that mutates an existing object) is refused on whitelisted globals and on class
objects; only fresh instances (stubs, dicts, dtype tags) take state.
Before a pickle is handed to the C unpickler, `prescan` walks its opcodes to reject forbidden
opcodes and resource bombs (declared lengths past the end of the data, huge memo indices, deep
stacks) before anything is allocated.
"""
import hashlib
import pickle
import pickletools
import re
import types
from typing import Any, Dict, Tuple

import numpy as np

from converters.tensors import DTypeTag, Storage, TensorRef, UnsafeOrBroken, storage_tag, torch_dtype_name

MAX_STACK = 20_000  # values on the unpickler stack at once (legit checkpoints stay below ~3k)
MAX_MARKS = 1_000  # open MARKs at once
# Containers inside containers, as the pickle builds them (a tensor is ~4 levels: REDUCE, args tuple,
# storage tuple ...; the tiny EG3D test snapshot, with the full module tree, reaches 36); torch_format.MAX_DEPTH checks the objects after.
MAX_NESTING = 300
FORBIDDEN_OPCODES = {"EXT1", "EXT2", "EXT4", "INST", "OBJ", "PERSID", "NEXT_BUFFER", "READONLY_BUFFER"}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read safely; the message is one line: '<file>: <reason>'."""


class _Node:
    """A container the pre-scan models: the longest chain of containers known above it (`level`) and
    below it (`height`)."""

    __slots__ = ("level", "height")

    def __init__(self, height=0):
        self.level, self.height = 0, height


# Opcodes that make a new container from what they pop (its children), and those that add the popped
# values to the container below them (APPEND: list, SETITEM: dict, BUILD: object state ...).
_MAKES = {"EMPTY_LIST", "EMPTY_DICT", "EMPTY_TUPLE", "EMPTY_SET", "LIST", "DICT", "TUPLE", "TUPLE1", "TUPLE2",
          "TUPLE3", "FROZENSET", "REDUCE", "NEWOBJ", "NEWOBJ_EX"}
_ADDS = {"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"}
_PUTS = {"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"}
_GETS = {"GET", "BINGET", "LONG_BINGET"}


def _link(parent, child, what):
    """Records that `child` is nested in `parent`; refuses a chain longer than MAX_NESTING."""
    if not isinstance(child, _Node):
        return
    if parent.level + 1 + child.height > MAX_NESTING:
        raise UnsafeOrBroken(f"{what}: object nesting deeper than {MAX_NESTING} levels (pickle bomb?)")
    child.level = max(child.level, parent.level + 1)
    parent.height = max(parent.height, child.height + 1)


def prescan(stream, what: str = "pickle") -> None:
    """Checks one pickle's opcodes from the stream's position to its STOP (the stream is advanced).

    Rejects opcodes that construct objects outside `find_class` (INST/OBJ/EXT*), out-of-band
    buffers, memo indices larger than the pickle could have created, a stack deeper than
    MAX_STACK, every length that runs past the end of the data (pickletools raises) and chains of
    containers nested deeper than MAX_NESTING, also when they are built through the memo with a
    shallow stack (a 10^6-deep chain is refused after MAX_NESTING links, not after building it).
    The nesting model keeps, per container, the longest chain known above and below it when a link
    is made, so it never over-counts; `torch_format.resolve` checks the exact depth afterwards.
    """
    stack, marks, memo, count = [], [], {}, 0
    start = stream.tell()
    stream.seek(0, 2)
    remaining = stream.tell() - start
    stream.seek(start)
    try:
        for opcode, arg, _ in pickletools.genops(stream):
            count += 1
            name = opcode.name
            if name in FORBIDDEN_OPCODES:
                raise UnsafeOrBroken(f"{what}: forbidden pickle opcode {name}")
            if name in ("PUT", "BINPUT", "LONG_BINPUT") and int(arg) > count:
                raise UnsafeOrBroken(f"{what}: memo index {arg} out of range (pickle bomb?)")
            if name == "FRAME" and int(arg) > remaining:
                raise UnsafeOrBroken(f"{what}: frame of {arg} bytes runs past the end of the data")
            if name == "MARK":
                marks.append(len(stack))
                if len(marks) > MAX_MARKS:
                    raise UnsafeOrBroken(f"{what}: more than {MAX_MARKS} nested MARKs (pickle bomb?)")
                continue
            before, after = opcode.stack_before, opcode.stack_after
            if name in _PUTS:
                if not stack:
                    raise UnsafeOrBroken(f"{what}: malformed pickle (stack underflow at {name})")
                memo[len(memo) if name == "MEMOIZE" else int(arg)] = stack[-1]
                continue
            if name in _GETS:
                stack.append(memo.get(int(arg)))
            elif name == "DUP":
                stack.append(stack[-1] if stack else None)
            else:
                if pickletools.markobject in before:
                    if not marks:
                        raise UnsafeOrBroken(f"{what}: malformed pickle ({name} without MARK)")
                    base = marks.pop() - before.index(pickletools.markobject)
                elif name == "POP" and marks and marks[-1] == len(stack):
                    marks.pop()  # POP of an empty MARK
                    continue
                else:
                    base = len(stack) - len(before)
                if base < 0:
                    raise UnsafeOrBroken(f"{what}: malformed pickle (stack underflow at {name})")
                popped = stack[base:]
                del stack[base:]
                if name in _ADDS:  # the container stays below: popped = [container, (mark,) values...]
                    container = popped[0]
                    if isinstance(container, _Node):
                        for child in popped[1:]:
                            _link(container, child, what)
                    stack.append(container)
                elif name in _MAKES:
                    node = _Node()
                    for child in popped:
                        _link(node, child, what)
                    stack.append(node)
                else:
                    stack.extend([None] * len(after))
            if len(stack) > MAX_STACK:
                raise UnsafeOrBroken(f"{what}: nesting deeper than {MAX_STACK} levels (pickle bomb?)")
    except ValueError as err:  # pickletools: truncated data, bad lengths, no STOP
        raise UnsafeOrBroken(f"{what}: {err}") from None


class _Sealed(type):
    """Metaclass of the classes a checkpoint may name: the class object itself refuses BUILD and
    attribute assignment (instances still take their state through their own `__setstate__`)."""

    @property
    def __setstate__(cls):  # a data descriptor on the metaclass wins over the class's own method
        def refuse(state):
            raise UnsafeOrBroken(f"BUILD applied to the class {_class_name(cls)} (only instances take state)")
        return refuse

    def __setattr__(cls, key, value):
        raise UnsafeOrBroken(f"class {_class_name(cls)}: attribute assignment is not allowed")

    def __delattr__(cls, key):
        raise UnsafeOrBroken(f"class {_class_name(cls)}: attribute deletion is not allowed")


def _class_name(cls):
    return cls.__dict__.get("qualname", cls.__qualname__)


class AllowedGlobal:
    """A whitelisted global as a pickle sees it: immutable, refuses BUILD; calls `func` (None: a marker
    such as torch.Tensor that must never be called)."""

    __slots__ = ("name", "func")

    def __init__(self, name, func=None):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "func", func)

    def __call__(self, *args, **kwargs):
        if self.func is None:
            raise UnsafeOrBroken(f"calling {self.name} is not allowed")
        return self.func(*args, **kwargs)

    def __setstate__(self, state):
        raise UnsafeOrBroken(f"BUILD applied to the whitelisted global {self.name}")

    def __setattr__(self, key, value):
        raise UnsafeOrBroken(f"{self.name}: attribute assignment is not allowed")

    def __delattr__(self, key):
        raise UnsafeOrBroken(f"{self.name}: attribute deletion is not allowed")

    def __repr__(self):
        return f"<global {self.name}>"


class PersistentRecord:
    """What `torch_utils.persistence._reconstruct_persistent_obj(meta)` stands for, as data.

    class_name: e.g. 'TriPlaneGenerator'; state: the module __dict__; source_sha256 / source_len
    identify the embedded `module_src`, which is never executed.
    """

    def __init__(self, class_name: str, state: dict, source_sha256: str, source_len: int):
        self.class_name, self.state = class_name, state
        self.source_sha256, self.source_len = source_sha256, source_len

    def __setstate__(self, state):
        raise UnsafeOrBroken("BUILD applied to a persistent record")

    def __repr__(self):
        return f"<persistent {self.class_name}>"


def _reconstruct_persistent_obj(meta):
    if not isinstance(meta, dict):
        raise UnsafeOrBroken(f"persistent object: expected a meta dict, got {type(meta).__name__}")
    if meta.get("type") != "class":
        raise UnsafeOrBroken(f"persistent object: unsupported type {meta.get('type')!r} (expected 'class')")
    name, src, state = meta.get("class_name"), meta.get("module_src"), meta.get("state")
    if not isinstance(name, str) or not _IDENT.match(name):
        raise UnsafeOrBroken(f"persistent object: class name {name!r} is not a plain class name")
    if not isinstance(src, str) or not isinstance(meta.get("version"), int):
        raise UnsafeOrBroken(f"persistent object {name}: module_src / version missing")
    if not isinstance(state, dict):
        raise UnsafeOrBroken(f"persistent object {name}: state is {type(state).__name__}, expected a dict")
    digest = hashlib.sha256(src.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return PersistentRecord(name, state, digest, len(src))


class InertObject(metaclass=_Sealed):
    """Stand-in for a non-persistent class (never imported); keeps the pickled __dict__ as `state`."""

    qualname = "?"

    def __new__(cls, *args):
        obj = object.__new__(cls)
        object.__setattr__(obj, "state", {})
        return obj

    def __init__(self, *args, **kwargs):  # reached only by REDUCE (calling the class), never NEWOBJ
        raise UnsafeOrBroken(f"calling class {self.qualname} is not allowed")

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2:  # (__dict__, slot state)
            state = {**(state[0] or {}), **(state[1] or {})}
        if not isinstance(state, dict):
            raise UnsafeOrBroken(f"{self.qualname}: state is {type(state).__name__}, expected a dict")
        object.__setattr__(self, "state", state)

    def __setattr__(self, key, value):
        raise UnsafeOrBroken(f"{self.qualname}: attribute assignment is not allowed")

    def __repr__(self):
        return f"<inert {self.qualname}>"


class EasyDict(dict, metaclass=_Sealed):
    """`dnnlib.util.EasyDict` (a dict subclass) read as a plain dict."""

    def __setstate__(self, state):
        if state:
            raise UnsafeOrBroken("EasyDict: unexpected instance state")


class StateDictRecord(dict, metaclass=_Sealed):
    """`collections.OrderedDict` read as a plain dict. `module.state_dict()` carries its `_metadata`
    (per-module versions) as instance state, applied by BUILD; that state is checked and dropped."""

    def __setstate__(self, state):
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise UnsafeOrBroken(f"OrderedDict: instance state is {type(state).__name__}, expected a dict")


def _checked(name, value, kind):
    if not isinstance(value, kind):
        raise UnsafeOrBroken(f"{name}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    return value


def _rebuild_tensor(storage, offset, size, stride, *rest):
    return TensorRef(_checked("tensor storage", storage, Storage), offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, hooks=None, state=None):
    return _checked("parameter data", data, TensorRef)


def _rebuild_from_type_v2(func, new_type, args, state):
    if not isinstance(func, AllowedGlobal) or func.func is not _rebuild_tensor or new_type not in _TENSOR_TYPES:
        raise UnsafeOrBroken("_rebuild_from_type_v2: only plain tensors are allowed")
    if state:
        raise UnsafeOrBroken("_rebuild_from_type_v2: tensor attributes are not supported")
    return _rebuild_tensor(*_checked("_rebuild_from_type_v2 args", args, tuple))


def _load_from_bytes(data):
    from converters.torch_format import load_from_bytes  # the legacy reader uses this module too

    return load_from_bytes(data)


def _codecs_encode(text, encoding="utf-8"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafeOrBroken("_codecs.encode: only str -> latin1 bytes is allowed")
    return text.encode("latin1")


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, DTypeTag) or not isinstance(data, bytes) or len(data) != dtype.dtype.itemsize:
        raise UnsafeOrBroken("numpy scalar: expected a numeric dtype and its bytes")
    return np.frombuffer(data, dtype.dtype)[0]


def _small_tuple(name):
    def build(values=()):
        values = tuple(_checked(name, values, (tuple, list)))
        if len(values) > 64 or not all(isinstance(v, int) for v in values):
            raise UnsafeOrBroken(f"{name}: expected a short tuple of ints")
        return values
    return build


def _device(kind, index=None):
    return f"{_checked('torch.device', kind, str)}" + ("" if index is None else f":{int(index)}")


def _set(items=()):
    items = _checked("set", items, (list, tuple))
    return set(items)


_FUNCTIONS = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("torch", "Size"): _small_tuple("torch.Size"),
    ("torch", "device"): _device,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy", "dtype"): DTypeTag.from_pickle,
    ("_codecs", "encode"): _codecs_encode,
    ("builtins", "set"): _set,
    ("builtins", "frozenset"): lambda items=(): frozenset(_set(items)),
    ("__builtin__", "set"): _set,
}
_TENSOR_TYPES = (AllowedGlobal("torch.Tensor"), AllowedGlobal("torch.nn.parameter.Parameter"))  # markers, never called
# Shared by every load: a read-only table of immutable entries (classes are _Sealed).
ALLOWED: Dict[Tuple[str, str], Any] = types.MappingProxyType({
    **{key: AllowedGlobal(".".join(key), func) for key, func in _FUNCTIONS.items()},
    ("torch", "Tensor"): _TENSOR_TYPES[0], ("torch.nn.parameter", "Parameter"): _TENSOR_TYPES[1],
    ("collections", "OrderedDict"): StateDictRecord,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
})
# Modules whose classes are pickled by reference in the official files (checkpoints.md §2).
INERT_MODULE_PREFIXES = ("training.", "torch.nn.modules.")


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler whose globals come only from ALLOWED / inert stubs / storage tags.

    load_storage: called with a storage persistent id tuple; returns a `Storage` (zip and legacy
      torch files). None (plain persistence pickles) rejects persistent ids.
    """

    def __init__(self, file, load_storage=None):
        super().__init__(file)
        self._load_storage = load_storage
        self._stubs: Dict[str, type] = {}

    def find_class(self, module, name):
        key = (module, name)
        if key in ALLOWED:
            return ALLOWED[key]
        if module == "torch":
            tag = storage_tag(name) or torch_dtype_name(name)
            if tag is not None:
                return tag
        if module.startswith(INERT_MODULE_PREFIXES) and _IDENT.match(name) and \
                all(_IDENT.match(part) for part in module.split(".")):
            qualname = f"{module}.{name}"
            if qualname not in self._stubs:
                self._stubs[qualname] = _Sealed(name, (InertObject,), {"qualname": qualname, "__module__": __name__})
            return self._stubs[qualname]
        raise UnsafeOrBroken(f"refusing global {module}.{name} (not on the checkpoint whitelist)")

    def persistent_load(self, pid):
        if self._load_storage is None:
            raise UnsafeOrBroken(f"unexpected persistent id {type(pid).__name__} in a plain pickle")
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise UnsafeOrBroken("persistent id is not a ('storage', ...) tuple")
        return self._load_storage(pid)


def restricted_load(stream, what: str, load_storage=None) -> Any:
    """prescan + unpickle one pickle from `stream` (positioned at its start; left after its STOP)."""
    start = stream.tell()
    prescan(stream, what)
    stream.seek(start)
    try:
        return RestrictedUnpickler(stream, load_storage).load()
    except UnsafeOrBroken:
        raise
    except (pickle.UnpicklingError, EOFError, KeyError, IndexError, TypeError, AttributeError,
            ValueError, OverflowError, MemoryError, RecursionError, UnicodeDecodeError) as err:
        raise UnsafeOrBroken(f"{what}: {type(err).__name__}: {err}") from None
