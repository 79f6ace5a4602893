"""Byte- and opcode-level mutations of files, and the seed checkpoints they start from.

A mutation is a tuple (kind, a, b) of plain ints so that hypothesis (which shrinks them) and the
memory-bound batch (which draws them from `random.Random`) share one implementation:
  flip     byte a XOR (b % 255 + 1)
  insert   1 + b // 256 % 8 copies of byte b % 256 before position a
  delete   1 + b % 8 bytes from position a
  opcode   the opcode byte of pickle op a replaced by opcode b
  drop_op  pickle op a (opcode and argument) removed
  dup_op   pickle op a repeated
  int      the integer argument of int op a replaced by INTERESTING_INTS[b] (sizes, strides, offsets,
           storage element counts, memo indices, lengths)
Positions and indices are taken modulo what the data holds, so every tuple applies to every file.
"""
import collections
import io
import pickletools
import random
import struct
import zipfile

import numpy as np

from tests.converters import pickle_writer as pw
from tests.converters.hostile import record
from tests.converters.snapshots import _module_state

KINDS = ("flip", "insert", "delete", "opcode", "drop_op", "dup_op", "int")
OPCODE_BYTES = sorted({op.code.encode("latin1")[0] for op in pickletools.opcodes})
INTERESTING_INTS = (0, 1, 2, -1, 3, 7, 255, 256, 65535, 2 ** 31 - 1, -2 ** 31, 2 ** 32, 2 ** 40, 2 ** 40 + 1,
                    2 ** 62, 2 ** 63 - 1, 2 ** 64, -2 ** 63, 10 ** 30, 23000)
_INT_OPS = {"BININT", "BININT1", "BININT2", "LONG1", "INT", "LONG", "LONG4"}


def op_spans(data: bytes):
    """[(start, end, opcode name)] of the pickle ops at the start of `data`, as far as they parse."""
    spans, stream = [], io.BytesIO(data)
    try:
        for op, _, pos in pickletools.genops(stream):
            spans.append([pos, None, op.name])
            if len(spans) > 1:
                spans[-2][1] = pos
            if op.name == "STOP":
                break
    except Exception:  # a mutated stream stops parsing somewhere: use what parsed
        pass
    if spans and spans[-1][1] is None:
        spans[-1][1] = stream.tell() if spans[-1][2] == "STOP" else min(len(data), spans[-1][0] + 1)
    return [tuple(s) for s in spans]


def encode_int(value: int) -> bytes:
    """The shortest pickle op pushing `value` (BININT for 32-bit, LONG1 otherwise)."""
    if -2 ** 31 <= value < 2 ** 31:
        return b"J" + struct.pack("<i", value)
    raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def mutate(data: bytes, ops) -> bytes:
    """`data` with the mutations `ops` applied in order (see the module docstring)."""
    data = bytearray(data)
    for kind, a, b in ops:
        n = len(data)
        if kind == "flip" and n:
            data[a % n] ^= b % 255 + 1
        elif kind == "insert":
            pos = a % (n + 1)
            data[pos:pos] = bytes([b % 256]) * (1 + b // 256 % 8)
        elif kind == "delete" and n:
            pos = a % n
            del data[pos:pos + 1 + b % 8]
        elif kind in ("opcode", "drop_op", "dup_op", "int"):
            spans = op_spans(bytes(data))
            if kind == "int":
                spans = [s for s in spans if s[2] in _INT_OPS]
            if not spans:
                continue
            start, end, _ = spans[a % len(spans)]
            if kind == "opcode":
                data[start] = OPCODE_BYTES[b % len(OPCODE_BYTES)]
            elif kind == "drop_op":
                del data[start:end]
            elif kind == "dup_op":
                data[start:start] = data[start:end]
            else:
                data[start:end] = encode_int(INTERESTING_INTS[b % len(INTERESTING_INTS)])
    return bytes(data)


def random_ops(rng: random.Random, count: int):
    """`count` mutations drawn from `rng` (the batch's counterpart of the hypothesis strategy)."""
    return [(rng.choice(KINDS), rng.randrange(1 << 16), rng.randrange(1 << 16)) for _ in range(count)]


# --- seeds: small well-formed files in every official layout ------------------------------------------

def state_dict():
    rng = np.random.RandomState(0)
    return {"enc.weight": rng.randn(4, 3).astype(np.float32), "enc.bias": np.zeros(4, np.float32),
            "enc.num_batches_tracked": np.array(5, np.int64), "head.0.weight": rng.randn(2, 4).astype(np.float16)}


def torch2_tree():
    """A torch >= 2 style state_dict pickle: tensors through _rebuild_from_type_v2 and parameters."""
    values = np.arange(6, dtype=np.float32)
    pid = pw.PersistentId(("storage", pw.storage_tag(values.dtype), "0", "cpu", values.size))
    args = (pid, 0, (2, 3), (3, 1), False, collections.OrderedDict())
    tensor = pw.Reduce(pw.Global("torch._tensor", "_rebuild_from_type_v2"),
                       (pw.REBUILD_TENSOR, pw.Global("torch", "Tensor"), args, collections.OrderedDict()))
    param = pw.Reduce(pw.REBUILD_PARAMETER, (pw.Reduce(pw.REBUILD_TENSOR, (pid, 1, (5,), (1,), False,
                                                                             collections.OrderedDict())), True,
                                             collections.OrderedDict()))
    tree = collections.OrderedDict(w=tensor, p=param, t=pw.Reduce(pw.REBUILD_TENSOR, (pid, 0, (3, 2), (1, 3), False,
                                                                                      collections.OrderedDict())))
    return pw.dumps(pw.Build(pw.Reduce(pw.ORDERED_DICT, ()), {"_metadata": {"": {"version": 1}}}), 2), \
        pw.dumps(tree, 2), values


def snapshot_tree(init_kwargs=None, rendering_kwargs=None, nrr=32, sentinel_src="# synthetic\n"):
    """A tiny network snapshot {'G_ema': TriPlaneGenerator record, 'D': record, 'augment_pipe': None}."""
    rng = np.random.RandomState(1)
    kwargs = init_kwargs if init_kwargs is not None else {"z_dim": 8, "c_dim": 25, "w_dim": 8, "img_resolution": 32,
                                                          "img_channels": 3,
                                                          "rendering_kwargs": {"depth_resolution": 4}}
    decoder = pw.NewObj(pw.Global("training.triplane", "OSGDecoder"),
                        _module_state({"w": pw.embedded_tensor(rng.randn(3, 2).astype(np.float32), param=True)},
                                      {}, {}, {"hidden_dim": 64}))
    attrs = {"_init_args": (), "_init_kwargs": pw.EasyDictValue(kwargs) if isinstance(kwargs, dict) else kwargs, "neural_rendering_resolution": nrr}
    if rendering_kwargs is not None:
        attrs["rendering_kwargs"] = rendering_kwargs
    synthesis = record("SynthesisNetwork", _module_state(
        {"x": pw.embedded_tensor(rng.randn(2, 2).astype(np.float32), param=True)}, {}, {}, {}), src=sentinel_src)
    backbone = record("Generator", _module_state({}, {}, {"synthesis": synthesis}, {}), src=sentinel_src)
    top = _module_state({}, {"w_avg": pw.embedded_tensor(np.zeros(8, np.float32))},
                        {"backbone": backbone, "decoder": decoder}, attrs)
    return {"G_ema": record("TriPlaneGenerator", top, src=sentinel_src),
            "D": record("DualDiscriminator", _module_state({}, {}, {}, {}), src=sentinel_src), "augment_pipe": None}


def payload_tree(sentinel, gadget):
    """Well-formed pickles that would run code if anything were executed: a shell touch of `sentinel`,
    exec / eval of a Python line creating it, and a call of the in-process `gadget` ("module", "name")."""
    py = f"open({str(sentinel)!r}, 'w').write('pwned')"
    return [pw.Reduce(pw.Global("os", "system"), (f"touch {sentinel}",)),
            pw.Reduce(pw.Global("builtins", "exec"), (py,)),
            pw.Reduce(pw.Global("builtins", "eval"), (py,)),
            pw.Reduce(pw.Global("posix", "system"), (f"touch {sentinel}",)),
            pw.Reduce(pw.Global("subprocess", "call"), (["touch", str(sentinel)],)),
            pw.Reduce(pw.Global(*gadget), ()),
            pw.Reduce(pw.Global("builtins", "getattr"), (pw.Global(*gadget), "__call__")),
            pw.Build(pw.Global("torch", "Tensor"), {"__class__": pw.Global(*gadget)})]


def zip_bytes(tree_pkl: bytes, storages, prefix="archive") -> bytes:
    """A PyTorch zip checkpoint around a data.pkl (bytes) and {key: raw bytes} storages."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{prefix}/data.pkl", tree_pkl)
        zf.writestr(f"{prefix}/byteorder", b"little")
        zf.writestr(f"{prefix}/version", b"3\n")
        for key, data in storages.items():
            zf.writestr(f"{prefix}/data/{key}", data)
    return buf.getvalue()


def seeds(sentinel, gadget):
    """{name: (layout, bytes)}: layout 'zip' means the bytes are a data.pkl to wrap with `storages`
    (returned as the third item), 'file' means the bytes are the whole file."""
    sd = state_dict()
    tree, storages = pw._file_tensors(sd, 5)
    flat = {k: v.tobytes() for k, v in storages.items()}
    legacy_tree, _ = pw._file_tensors(sd, 6)
    meta_pkl, torch2_pkl, values = torch2_tree()
    payloads = pw.dumps({f"p{i}": p for i, p in enumerate(payload_tree(sentinel, gadget))}, 2)
    out = {
        "zip_state_dict": ("zip", pw.dumps(tree, 2), flat),
        "zip_torch2": ("zip", torch2_pkl, {"0": values.tobytes()}),
        "zip_metadata": ("zip", meta_pkl, {}),
        "zip_payloads": ("zip", payloads, {}),
        "legacy_state_dict": ("file", pw.legacy_stream(legacy_tree, storages), None),
        "snapshot": ("file", pw.dumps(snapshot_tree(sentinel_src=f"open({str(sentinel)!r}, 'w')\n"), 4), None),
        "snapshot_proto2": ("file", pw.dumps(snapshot_tree(), 2), None),
        "payloads_proto4": ("file", pw.dumps(payload_tree(sentinel, gadget), 4), None),
    }
    return out


def build_case(seed, ops, whole_file: bool = False) -> bytes:
    """The bytes of one fuzz case: `ops` applied to the seed's pickle (a zip seed is re-wrapped around
    the mutated data.pkl) or, with whole_file, to the finished file (zip container included)."""
    layout, data, storages = seed
    if layout == "zip":
        if whole_file:
            return mutate(zip_bytes(data, storages), ops)
        return zip_bytes(mutate(data, ops), storages)
    return mutate(data, ops)
