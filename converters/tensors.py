"""Torch storages and tensors as numpy, without torch (checkpoints.md §3).

A `Storage` is a flat typed buffer (dtype from the pickled storage class, element count declared
by the writer); a `TensorRef` is a (storage, offset, size, stride) view checked against the
storage's bounds (every element it reaches) when it is built and turned into a numpy array by
`to_numpy` once the data has been read (legacy files store the data after the pickle that
references it). `ReadLimits` bounds what one file may make the reader allocate: its declared
tensor bytes and how much larger than its storage a view may be (a zero-stride view of one
element can claim any shape); `Budget` counts one file's bytes against them.
"""
import dataclasses
import math
from typing import Optional

import numpy as np

MAX_DIMS = 64
MAX_ELEMENTS = 1 << 40  # declared sizes above this are rejected before any arithmetic on them

# torch.<Name>Storage -> numpy dtype (little-endian); bfloat16 comes from ml_dtypes (a JAX dependency).
_STORAGE_DTYPES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "LongStorage": "<i8",
    "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1", "ByteStorage": "u1",
    "BoolStorage": "?", "ComplexFloatStorage": "<c8", "ComplexDoubleStorage": "<c16",
    "BFloat16Storage": "bfloat16", "UntypedStorage": "u1",
}
_TORCH_DTYPES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
                 "bool", "complex64", "complex128", "float", "double", "half", "long", "int"}
# numpy dtype codes allowed for pickled numpy scalars (numeric only: no objects, no structures).
_NUMPY_CODES = {"b1", "?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"}


class UnsafeOrBroken(Exception):
    """A hostile or broken checkpoint; the readers wrap it into a one-line error naming the file."""


@dataclasses.dataclass(frozen=True)
class ReadLimits:
    """What one checkpoint file may make the reader allocate; a file over a limit is refused first.

    max_bytes: tensor data of the file: its storages (the sizes a zip declares for its members, or
      the size of a pickle / legacy file) plus every tensor view that has to be copied (one that is
      not a contiguous slice of its storage). Official EG3D / PanoHead / encoder files need < 1 GiB.
    max_view_ratio: a tensor may have at most this many times the elements of its storage. 1.0
      admits every slice, transpose and shared storage `torch.save` writes for ordinary tensors;
      raise it only for files holding `expand`ed (zero-stride) tensors.
    """
    max_bytes: int = 4 << 30
    max_view_ratio: float = 1.0


DEFAULT_LIMITS = ReadLimits()


def _gib(nbytes: int) -> str:
    return f"{nbytes / (1 << 30):.3g} GiB"


class Budget:
    """The tensor bytes one read has committed to, checked against `limits.max_bytes` before each
    allocation. `charge` raises UnsafeOrBroken('<what>: ...') naming the limit to raise."""

    def __init__(self, limits: ReadLimits = DEFAULT_LIMITS):
        self.limits, self.used = limits, 0

    def charge(self, nbytes: int, what: str) -> None:
        total = self.used + nbytes
        if total > self.limits.max_bytes:
            raise UnsafeOrBroken(f"{what}: {_gib(total)} of tensor data declared in total, over the limit of "
                                 f"{_gib(self.limits.max_bytes)} (ReadLimits.max_bytes; raise it explicitly to read "
                                 f"this file)")
        self.used = total


def _dtype(code: str) -> np.dtype:
    if code == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(code)


class StorageTag:
    """The global `torch.<Name>Storage` (only its dtype is used); immutable, refuses BUILD."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "dtype", _dtype(_STORAGE_DTYPES[name]))

    def __call__(self, *args, **kwargs):
        raise UnsafeOrBroken(f"calling torch.{self.name} is not allowed")

    def __setstate__(self, state):
        raise UnsafeOrBroken(f"BUILD applied to torch.{self.name}")

    def __setattr__(self, key, value):
        raise UnsafeOrBroken(f"torch.{self.name}: attribute assignment is not allowed")


def storage_tag(name: str) -> Optional[StorageTag]:
    return StorageTag(name) if name in _STORAGE_DTYPES else None


def torch_dtype_name(name: str) -> Optional[str]:
    """The global `torch.float32` etc. (appears in some module states) -> its name."""
    return name if name in _TORCH_DTYPES else None


class DTypeTag:
    """`numpy.dtype(code, align, copy)` restricted to plain numeric types; BUILD state is validated."""

    def __init__(self, dtype: np.dtype):
        self.dtype = dtype

    @classmethod
    def from_pickle(cls, code=None, align=False, copy=True):
        if not isinstance(code, str) or code not in _NUMPY_CODES:
            raise UnsafeOrBroken(f"numpy dtype {code!r} is not allowed (numeric dtypes only)")
        return cls(np.dtype(code))

    def __setstate__(self, state):
        # numpy writes (version, byteorder, subdescr, names, fields, elsize, alignment, flags).
        if not isinstance(state, tuple) or len(state) < 5 or any(s is not None for s in state[2:5]) \
                or state[1] not in ("<", "|", "="):
            raise UnsafeOrBroken("numpy dtype: only little-endian plain dtypes are allowed")


class Storage:
    """A flat typed buffer; `array` is None until the data has been read (legacy files)."""

    __slots__ = ("key", "dtype", "numel", "array")

    def __init__(self, key: str, dtype: np.dtype, numel: int):
        if not isinstance(numel, int) or not 0 <= numel <= MAX_ELEMENTS:
            raise UnsafeOrBroken(f"storage {key!r}: declared element count {numel!r} out of range")
        self.key, self.dtype, self.numel, self.array = key, dtype, numel, None

    def set_data(self, data) -> None:
        """data: a bytes-like holding exactly numel elements."""
        expected = self.numel * self.dtype.itemsize
        if len(data) != expected:
            raise UnsafeOrBroken(f"storage {self.key!r} holds {len(data)} bytes, its header declares "
                               f"{self.numel} x {self.dtype.itemsize} = {expected}")
        self.array = np.frombuffer(data, self.dtype, count=self.numel)

    def __setstate__(self, state):
        raise UnsafeOrBroken("BUILD applied to a storage")


def _ints(name, values):
    if not isinstance(values, (tuple, list)) or len(values) > MAX_DIMS:
        raise UnsafeOrBroken(f"tensor {name}: expected a tuple of at most {MAX_DIMS} ints, got {type(values).__name__}")
    values = tuple(values)
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_ELEMENTS for v in values):
        raise UnsafeOrBroken(f"tensor {name}: entries must be ints in [0, 2**40], got {values[:8]}")
    return values


class TensorRef:
    """A strided view (offset, size, stride in elements) into a Storage; bounds-checked on creation.

    Sizes, strides and the offset are non-negative ints (torch writes no negative strides), so the
    largest element offset the view reaches is offset + sum((size - 1) * stride) (exact Python ints,
    no overflow); it must lie inside the storage. `numel` is the exact element count.
    """

    __slots__ = ("storage", "offset", "size", "stride", "numel")

    def __init__(self, storage: Storage, offset, size, stride):
        size, stride = _ints("size", size), _ints("stride", stride)
        (offset,) = _ints("offset", (offset,))
        if len(size) != len(stride):
            raise UnsafeOrBroken(f"tensor size {size} and stride {stride} differ in rank")
        numel = math.prod(size)
        if numel:
            last = offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= storage.numel:
                raise UnsafeOrBroken(f"tensor of size {size} (stride {stride}, offset {offset}) needs "
                                   f"{last + 1} elements, its storage {storage.key!r} has {storage.numel}")
        self.storage, self.offset, self.size, self.stride, self.numel = storage, offset, size, stride, numel

    @property
    def dtype(self) -> np.dtype:
        return self.storage.dtype

    def __setstate__(self, state):
        raise UnsafeOrBroken("BUILD applied to a tensor")

    @property
    def contiguous(self) -> bool:
        """Whether the view is a C-contiguous slice of its storage (read without a copy)."""
        step = 1
        for n, s in zip(reversed(self.size), reversed(self.stride)):
            if n != 1 and s != step:
                return False
            step *= n
        return True

    def to_numpy(self, budget: Optional[Budget] = None, name: str = "tensor") -> np.ndarray:
        """The tensor as a numpy array (a read-only view when C-contiguous, else a copy).

        The view is checked against `budget.limits` first: at most max_view_ratio times its storage's
        elements, and a copy is charged to the budget (default: a fresh one with DEFAULT_LIMITS).
        name: how errors call the tensor (its key in the checkpoint).
        """
        budget = budget or Budget()
        ratio = budget.limits.max_view_ratio
        if self.numel > ratio * self.storage.numel:
            raise UnsafeOrBroken(f"{name}: a view of size {self.size} (stride {self.stride}) has {self.numel} "
                                 f"elements, over {ratio:g} x the {self.storage.numel} of its storage "
                                 f"{self.storage.key!r} (ReadLimits.max_view_ratio)")
        base = self.storage.array
        if base is None:
            raise UnsafeOrBroken(f"storage {self.storage.key!r} has no data")
        if self.numel == 0:
            return np.zeros(self.size, self.dtype)
        if self.contiguous:
            return base[self.offset:self.offset + self.numel].reshape(self.size)
        budget.charge(self.numel * self.dtype.itemsize, name)
        item = self.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(base[self.offset:], shape=self.size,
                                               strides=[s * item for s in self.stride], writeable=False)
        return np.ascontiguousarray(view)
