"""A corpus of hostile and broken checkpoints, each written by a builder(folder, sentinel) -> path.

Every payload would create `sentinel` if anything in the file were executed. `CORPUS` rows are
(id, builder, substring the one-line error must contain).
"""
import collections
import struct
import zipfile

import numpy as np

from tests.converters import pickle_writer as pw
from tests.converters.pickle_writer import (RECONSTRUCT, REBUILD_TENSOR, Global, NewObj, PersistentId, Raw, Reduce,
                                            dumps, embedded_tensor)
from tests.converters.snapshots import _module_state


def _shell(sentinel):
    return f"touch {sentinel}"


def _py(sentinel):
    return f"open({str(sentinel)!r}, 'w').write('pwned')"


def record(class_name="TriPlaneGenerator", state=None, src="# synthetic\n", kind="class"):
    state = state if state is not None else _module_state({}, {}, {}, {})
    return Reduce(RECONSTRUCT, ({"type": kind, "version": 6, "module_src": src, "class_name": class_name,
                                 "state": state},))


def _pkl(folder, name, obj, protocol=4):
    path = folder / name
    path.write_bytes(dumps(obj, protocol) if not isinstance(obj, bytes) else obj)
    return path


def _snapshot_with(folder, name, **attrs):
    """A G_ema record whose state carries `attrs` (where the hostile object hides)."""
    return _pkl(folder, name, {"G_ema": record(state=_module_state({}, {}, {}, attrs))})


def _zip(folder, name, tensor_pid, size, stride=(1,), data=b"\0" * 24, **kw):
    tree = collections.OrderedDict(w=Reduce(REBUILD_TENSOR, (PersistentId(tensor_pid), 0, size, stride, False,
                                                             collections.OrderedDict())))
    path = folder / name
    with zipfile.ZipFile(path, "w", kw.get("compression", zipfile.ZIP_STORED)) as zf:
        zf.writestr("archive/data.pkl", dumps(tree, 2))
        zf.writestr("archive/byteorder", kw.get("byteorder", b"little"))
        if data is not None:
            zf.writestr("archive/data/0", data)
    return path


def _float_pid(numel, tag="FloatStorage"):
    return ("storage", Global("torch", tag), "0", "cpu", numel)


def _valid_zip(folder, name):
    return pw.write_zip_pth(folder / name, {"a.weight": np.ones((64, 64), np.float32),
                                            "b.weight": np.ones((64, 64), np.float32)})


def _truncated_zip(folder, sentinel):
    path = _valid_zip(folder, "truncated.pth")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _missing_member(folder, sentinel):
    return pw.write_zip_pth(folder / "missing.pth", {"w": np.ones(3, np.float32)}, drop=("archive/data/0",))


def _zip_payload(folder, sentinel):
    return pw.write_zip_pth(folder / "payload.pth", {}, data_pkl=dumps(Reduce(Global("os", "system"),
                                                                            (_shell(sentinel),)), 2))


def _legacy_payload(folder, sentinel):
    return _pkl(folder, "legacy_payload.pth", pw.legacy_stream(Reduce(Global("builtins", "exec"),
                                                                       (_py(sentinel),)), {}))


def _embedded_short_storage(folder, sentinel):
    stream = bytearray(pw.storage_bytes(np.ones(6, np.float32)))
    stream[-24 - 8:-24] = struct.pack("<q", 7)  # count says 7, header said 6
    tensor = Reduce(REBUILD_TENSOR, (Reduce(pw.LOAD_FROM_BYTES, (bytes(stream),)), 0, (6,), (1,), False,
                                     collections.OrderedDict()))
    return _pkl(folder, "short_storage.pkl", {"G_ema": record(state=_module_state({"w": tensor}, {}, {}, {}))})


def _int_weights(folder, sentinel):
    state = _module_state({"weight": embedded_tensor(np.ones((4, 4), np.int64), param=True)}, {}, {}, {})
    module = record("FullyConnectedLayer", state)
    top = _module_state({}, {}, {"decoder": module}, {"_init_args": (), "_init_kwargs": {}, "rendering_kwargs": {},
                                                       "neural_rendering_resolution": 32})
    return _pkl(folder, "int_weights.pkl", {"G_ema": record(state=top)})


def _dag_bomb(folder, sentinel):
    module = record("FullyConnectedLayer", _module_state({"w": embedded_tensor(np.ones(1, np.float32))}, {}, {}, {}))
    for _ in range(25):  # 2**25 paths through ~80 levels of nesting
        module = record("SynthesisBlock", _module_state({}, {}, {"a": module, "b": module}, {}))
    top = _module_state({}, {}, {"backbone": module}, {"_init_args": (), "_init_kwargs": {}})
    return _pkl(folder, "dag_bomb.pkl", {"G_ema": record(state=top)})


def _deep(levels):
    return b"\x80\x02" + b"]" * levels + b"a" * (levels - 1) + b"."


def _memo_chain(levels, top_down=True):
    """`levels` lists each nested in the next through the memo, with a stack of at most 3 values
    (top-down: each new list appended into the previous one; bottom-up: each new list wraps it)."""
    put, get = (lambda i: b"r" + struct.pack("<I", i)), (lambda i: b"j" + struct.pack("<I", i))
    parts = [b"\x80\x02]" + put(0)]
    for i in range(1, levels):
        parts.append(get(i - 1) + b"]" + put(i) + b"a0" if top_down else b"]" + get(i - 1) + b"a" + put(i) + b"0")
    return b"".join(parts) + get(0 if top_down else levels - 1) + b"."


def _cycle(folder, sentinel):
    loop = []
    loop.append(loop)
    return _pkl(folder, "cycle.pkl", {"G_ema": loop})


def _declared_huge_zip(folder, sentinel):
    """Two 16-byte storages whose central-directory entries declare 0xF0000000 bytes each (7.5 GiB in
    all, over the default ReadLimits.max_bytes); nothing of that size is ever on disk."""
    path = pw.write_zip_pth(folder / "declared.pth", {"a": np.ones(4, np.float32), "b": np.ones(4, np.float32)})
    data = bytearray(path.read_bytes())
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) >= 0:  # central directory file headers
        name_len = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46:start + 46 + name_len].startswith(b"archive/data/"):
            struct.pack_into("<I", data, start + 24, 0xF0000000)  # uncompressed size
        start += 46
    path.write_bytes(bytes(data))
    return path


def _zip_bomb(folder, sentinel):
    return _zip(folder, "zipbomb.pth", _float_pid(2_000_000), (2_000_000,), data=b"\0" * 8_000_000,
                compression=zipfile.ZIP_DEFLATED)


CORPUS = [
    ("reduce_os_system", lambda f, s: _pkl(f, "os_system.pkl", Reduce(Global("os", "system"), (_shell(s),))),
     "refusing global os.system"),
    ("nested_posix_system", lambda f, s: _snapshot_with(f, "posix.pkl", hook=Reduce(Global("posix", "system"),
                                                                                     (_shell(s),))),
     "refusing global posix.system"),
    ("builtins_eval", lambda f, s: _pkl(f, "eval.pkl", Reduce(Global("builtins", "eval"), (_py(s),)), 2),
     "refusing global builtins.eval"),
    ("builtins_exec", lambda f, s: _pkl(f, "exec.pkl", Reduce(Global("builtins", "exec"), (_py(s),))),
     "refusing global builtins.exec"),
    ("builtins_getattr", lambda f, s: _pkl(f, "getattr.pkl", Reduce(Global("builtins", "getattr"),
                                                                     (Global("os", "path"), "join"))),
     "refusing global builtins.getattr"),
    ("unknown_module", lambda f, s: _pkl(f, "unknown.pkl", Reduce(Global("evil_payload", "run"), (_shell(s),))),
     "refusing global evil_payload.run"),
    ("dotted_attribute", lambda f, s: _pkl(f, "dotted.pkl", Global("collections", "OrderedDict.__init__.__globals__")),
     "refusing global collections.OrderedDict.__init__.__globals__"),
    ("inst_opcode", lambda f, s: _pkl(f, "inst.pkl", f"(S'{_shell(s)}'\nios\nsystem\n.".encode()),
     "not a pickle or a PyTorch zip"),
    ("inst_opcode_proto2", lambda f, s: _pkl(f, "inst2.pkl", b"\x80\x02(X\x01\x00\x00\x00xios\nsystem\n."),
     "forbidden pickle opcode INST"),
    ("ext_opcode", lambda f, s: _pkl(f, "ext.pkl", b"\x80\x02\x82\x01."), "forbidden pickle opcode EXT1"),
    ("persistent_class_os_system", lambda f, s: _pkl(f, "cls.pkl", {"G_ema": record(state=_module_state(
        {}, {}, {"decoder": record("os.system")}, {}))}), "class name 'os.system' is not a plain class name"),
    ("persistent_type_not_class", lambda f, s: _pkl(f, "type.pkl", {"G_ema": record(kind="function")}),
     "unsupported type 'function'"),
    ("nested_arbitrary_class", lambda f, s: _pkl(f, "popen.pkl", {"G_ema": record(state=_module_state(
        {}, {}, {"decoder": NewObj(Global("subprocess", "Popen"), {"args": _shell(s)})}, {}))}),
     "refusing global subprocess.Popen"),
    ("stub_class_called", lambda f, s: _pkl(f, "stubcall.pkl", Reduce(Global("training.triplane", "OSGDecoder"),
                                                                       (_shell(s),))),
     "calling class training.triplane.OSGDecoder is not allowed"),
    ("truncated_zip", _truncated_zip, "not a readable zip archive"),
    ("zip_missing_data_file", _missing_member, "data file archive/data/0 is missing from the zip"),
    ("zip_payload", _zip_payload, "refusing global os.system"),
    ("legacy_payload", _legacy_payload, "refusing global builtins.exec"),
    ("zip_storage_shorter_than_header", lambda f, s: _zip(f, "short.pth", _float_pid(100), (100,)),
     "holds 24 bytes, its tensor header declares 400"),
    ("tensor_larger_than_storage", lambda f, s: _zip(f, "big.pth", _float_pid(6), (1000,)),
     "needs 1000 elements, its storage '0' has 6"),
    ("embedded_storage_count_mismatch", _embedded_short_storage, "holds 7 elements, declared 6"),
    ("storage_type_qint8", lambda f, s: _zip(f, "qint.pth", _float_pid(6, "QInt8Storage"), (6,)),
     "refusing global torch.QInt8Storage"),
    ("numpy_object_dtype", lambda f, s: _pkl(f, "objdtype.pkl", Reduce(Global("numpy", "dtype"), ("O", False, True))),
     "numpy dtype 'O' is not allowed"),
    ("integer_generator_weights", _int_weights, "has dtype int64, expected floating point"),
    ("deep_nesting_stack", lambda f, s: _pkl(f, "deep.pkl", _deep(100_000)), "nesting deeper than 20000 levels"),
    ("deep_nesting_objects", lambda f, s: _pkl(f, "deep2.pkl", _deep(5_000)), "object nesting deeper than 300 levels"),
    ("deep_nesting_memo_top_down", lambda f, s: _pkl(f, "chain.pkl", _memo_chain(1_000_000)),
     "object nesting deeper than 300 levels"),
    ("deep_nesting_memo_bottom_up", lambda f, s: _pkl(f, "chain2.pkl", _memo_chain(100_000, top_down=False)),
     "object nesting deeper than 300 levels"),
    ("deep_nesting_resolved", lambda f, s: _pkl(f, "deep3.pkl", _deep(200)), "nesting deeper than 100 levels"),
    ("huge_bytes_length", lambda f, s: _pkl(f, "bytes8.pkl", b"\x80\x04\x8e" + struct.pack("<Q", 1 << 40) + b"x."),
     "bytes8, but only"),
    ("huge_memo_index", lambda f, s: _pkl(f, "memo.pkl", b"\x80\x02Nr" + struct.pack("<I", 1 << 31) + b"."),
     "memo index 2147483648 out of range"),
    ("huge_tensor_size", lambda f, s: _zip(f, "size.pth", _float_pid(6), (1 << 40, 1 << 40), (1 << 40, 1)),
     "its storage '0' has 6"),
    ("huge_storage_numel", lambda f, s: _zip(f, "numel.pth", _float_pid(1 << 50), (6,)),
     "declared element count 1125899906842624 out of range"),
    ("shared_module_bomb", _dag_bomb, "shared-module bomb"),
    ("reference_cycle", _cycle, "reference cycle"),
    ("zip_bomb", _zip_bomb, "compression ratio too high"),
    ("zero_stride_view_bomb", lambda f, s: _zip(f, "expand.pth", _float_pid(1), (23000, 23000), (0, 0),
                                                data=b"\0" * 4),
     "tensor 'w': a view of size (23000, 23000) (stride (0, 0)) has 529000000 elements, over 1 x the 1 of its storage"),
    ("view_past_storage_end", lambda f, s: _zip(f, "past.pth", _float_pid(6), (3, 3), (2, 1)),
     "needs 7 elements, its storage '0' has 6"),
    ("declared_bytes_over_limit", _declared_huge_zip,
     "7.5 GiB of tensor data declared in total, over the limit of 4 GiB"),
    ("big_endian_zip", lambda f, s: _zip(f, "be.pth", _float_pid(6), (6,), byteorder=b"big"), "big-endian"),
    ("legacy_storage_view", lambda f, s: _pkl(f, "view.pth", pw.legacy_stream(PersistentId(
        ("storage", Global("torch", "FloatStorage"), "0", "cpu", 6, ("1", 0, 3))), {"0": np.ones(6, np.float32)})),
     "storage views"),
    ("empty_file", lambda f, s: _pkl(f, "empty.pkl", b""), "empty file"),
    ("random_bytes", lambda f, s: _pkl(f, "random.pth", bytes(np.random.RandomState(0).randint(0, 255, 512,
                                                                                           dtype=np.uint8))),
     "not a pickle or a PyTorch zip"),
    ("pickle_without_stop", lambda f, s: _pkl(f, "nostop.pkl", b"\x80\x02]q\x00"), "pickle"),
]
