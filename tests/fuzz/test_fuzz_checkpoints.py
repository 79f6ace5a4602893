"""Fuzzing the checkpoint readers (issue 20 B4) with mutated official-format files.

Seeds (tests/fuzz/mutators.py) are small well-formed zip / legacy `.pth` files and network snapshots,
plus pickles full of code-execution payloads; hypothesis flips, inserts and deletes bytes, replaces,
drops and repeats pickle opcodes and swaps integer arguments (declared sizes, strides, offsets,
storage element counts, memo indices, lengths) for extreme values. Every case must load or be
refused with one line naming the file, within a time bound, and must never execute anything. A
subprocess reads a batch of such cases to bound the memory the reader may take.
"""
import collections
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given, strategies as st  # noqa: E402

from converters import load  # noqa: E402
from converters.convert import info  # noqa: E402
from converters.torch_format import read_checkpoint_object  # noqa: E402
from tests.converters import pickle_writer as pw  # noqa: E402
from tests.fuzz import gadgets, mutators  # noqa: E402
from tests.fuzz.common import fuzz_settings, result_or_one_line_error  # noqa: E402
from tests.training.helpers import REPO, subprocess_env  # noqa: E402

pytestmark = pytest.mark.fuzz
GADGET = ("tests.fuzz.gadgets", "trigger")
MUTATION = st.tuples(st.sampled_from(mutators.KINDS), st.integers(0, 1 << 16), st.integers(0, 1 << 16))


class Corpus(tuple):
    """(folder, seeds); a short repr keeps hypothesis' failure reports readable."""

    def __repr__(self):
        return f"Corpus({self[0]})"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz_ckpt")
    sentinel = folder / "SENTINEL"
    gadgets.SENTINEL[:] = [str(sentinel)]
    yield Corpus((folder, mutators.seeds(sentinel, GADGET)))
    gadgets.SENTINEL[:] = []


def _check_file(path):
    """The readers a user reaches with a checkpoint path: the object reader, `info` and, for what loads,
    the generator source of `load_generator` / `convert`. Returns the object or None."""
    obj, error = result_or_one_line_error(read_checkpoint_object, path)
    if error is not None:
        assert error.startswith(f"{path}: "), error
        return None
    result_or_one_line_error(info, path)
    result_or_one_line_error(load.read_generator_source, path)
    return obj


@fuzz_settings(max_examples=600)
@given(seed=st.sampled_from(sorted(mutators.seeds("S", GADGET))), ops=st.lists(MUTATION, min_size=1, max_size=4),
       whole_file=st.booleans())
@example(seed="zip_payloads", ops=[("opcode", 3, 40)], whole_file=False)
@example(seed="snapshot", ops=[("int", 11, 12)], whole_file=False)
def test_mutated_checkpoints(corpus, seed, ops, whole_file):
    folder, seeds = corpus
    path = folder / f"case_{seed}.pth"
    path.write_bytes(mutators.build_case(seeds[seed], ops, whole_file))
    _check_file(path)
    assert not gadgets.fired(), f"a mutated {seed} file executed code"


def test_seeds_load(corpus):
    """The unmutated seeds are well formed (so the mutations start from real files), payloads refused."""
    folder, seeds = corpus
    for name, seed in seeds.items():
        path = folder / f"seed_{name}.pth"
        path.write_bytes(mutators.build_case(seed, []))
        obj = _check_file(path)
        assert (obj is None) == ("payload" in name), name
    assert not gadgets.fired()


# --- declared shapes, strides, offsets and storage sizes --------------------------------------------

INTS = st.one_of(st.integers(0, 12), st.sampled_from(mutators.INTERESTING_INTS))
STORAGES = ["FloatStorage", "HalfStorage", "LongStorage", "ByteStorage", "BoolStorage", "BFloat16Storage",
            "UntypedStorage", "QInt8Storage", "Storage", "float32"]


@fuzz_settings(max_examples=400)
@given(tag=st.sampled_from(STORAGES), numel=INTS, extra_bytes=st.integers(-5, 5), offset=INTS,
       size=st.lists(INTS, max_size=4), stride=st.lists(INTS, max_size=4), key=st.sampled_from(["0", "../0", "", "a" * 200]),
       fields=st.sampled_from([5, 4, 6]))
@example(tag="FloatStorage", numel=1, extra_bytes=0, offset=0, size=[23000, 23000], stride=[0, 0], key="0", fields=5)
def test_declared_views(corpus, tag, numel, extra_bytes, offset, size, stride, key, fields):
    """A tensor view as a zip `.pth` declares it; what loads equals numpy's view of the stored data."""
    folder, _ = corpus
    itemsize = {"HalfStorage": 2, "LongStorage": 8, "ByteStorage": 1, "BoolStorage": 1, "BFloat16Storage": 2,
                "UntypedStorage": 1}.get(tag, 4)
    nbytes = max(0, min(numel, 4096) * itemsize + extra_bytes)  # never more than 16 KiB on disk
    data = np.random.RandomState(0).randint(0, 2, nbytes, dtype=np.uint8).tobytes()
    pid = ("storage", pw.Global("torch", tag), key, "cpu", numel, None)[:fields]
    tree = collections.OrderedDict(w=pw.Reduce(pw.REBUILD_TENSOR, (pw.PersistentId(pid), offset, tuple(size),
                                                                   tuple(stride), False, collections.OrderedDict())))
    path = folder / "views.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pw.dumps(tree, 2))
        zf.writestr(f"archive/data/{key}", data)
    obj = _check_file(path)
    if obj is not None:
        dtype = np.dtype({"HalfStorage": "<f2", "LongStorage": "<i8", "ByteStorage": "u1", "BoolStorage": "?",
                          "UntypedStorage": "u1"}.get(tag, "<f4")) if tag != "BFloat16Storage" else obj["w"].dtype
        base = np.frombuffer(data, dtype)
        want = np.lib.stride_tricks.as_strided(base[offset:], tuple(size), [s * dtype.itemsize for s in stride])
        np.testing.assert_array_equal(obj["w"], want)


# --- what a snapshot declares about its generator ------------------------------------------------

LEAVES = (st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=6)
          | st.binary(max_size=4) | st.sampled_from(["triplane_depth", "bcg_synthesis.", "superresolution_module"]))
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
                      | st.dictionaries(st.text(max_size=6) | st.sampled_from(["rendering_kwargs", "triplane_depth"]),
                                        inner, max_size=3), max_leaves=8)
KWARG_NAMES = st.sampled_from(["rendering_kwargs", "z_dim", "c_dim", "w_dim", "img_resolution", "mapping_kwargs",
                               "sr_num_fp16_res", "x"])


@fuzz_settings(max_examples=200)
@given(init_kwargs=st.one_of(VALUES, st.dictionaries(KWARG_NAMES, VALUES, max_size=4)),
       rendering_kwargs=st.one_of(st.none(), VALUES), nrr=st.one_of(LEAVES, st.sampled_from([0, 32, 4096, 4097])),
       network=st.sampled_from(load.NETWORKS))
@example(init_kwargs={"rendering_kwargs": 5}, rendering_kwargs=None, nrr=32, network="G_ema")  # was a TypeError
def test_snapshot_generator_fields(corpus, init_kwargs, rendering_kwargs, nrr, network):
    """Any constructor kwargs, live rendering_kwargs and neural_rendering_resolution a snapshot can hold."""
    folder, _ = corpus
    path = folder / "fields.pkl"
    tree = mutators.snapshot_tree(init_kwargs=init_kwargs, rendering_kwargs=rendering_kwargs, nrr=nrr)
    path.write_bytes(pw.dumps(tree, 4))
    result_or_one_line_error(info, path)
    result_or_one_line_error(load.read_generator_source, path, network)


# --- a batch in a subprocess: memory bound, no execution, no hang ------------------------------------

def test_batch_memory_bound_and_nothing_executed(tmp_path):
    """400 mutated cases read in one process: peak RSS grows < 200 MiB over a warmed-up reader, every
    case ends in a result or a one-line CheckpointError, no payload runs, all within the timeout."""
    sentinel = tmp_path / "SENTINEL"
    proc = subprocess.run([sys.executable, "-m", "tests.fuzz.batch", str(tmp_path), str(sentinel), "400"], cwd=REPO,
                          env=subprocess_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["other_exceptions"] == [], report["other_exceptions"][:5]
    assert report["cases"] == 400 and report["refused"] > 0 and report["loaded"] > 0, report
    assert report["rss_growth_mib"] < 200, report
    assert report["slowest_s"] < 10, report
    assert not report["gadget_fired"] and not sentinel.exists() and not os.path.exists(tmp_path / "pwned"), report
