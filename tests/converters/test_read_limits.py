"""Memory bombs in `.pth` files are refused before anything is allocated (issue 20 A1), while the
aliasing views real checkpoints hold still load; the limits are explicit `ReadLimits`."""
import collections
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from converters.safe_pickle import CheckpointError
from converters.tensors import ReadLimits
from converters.torch_format import read_checkpoint_object
from tests.converters import hostile
from tests.converters import pickle_writer as pw
from tests.training.helpers import REPO, subprocess_env

BOMBS = ["zero_stride_view_bomb", "view_past_storage_end", "declared_bytes_over_limit"]
MEASURE = """
import json, resource, sys, time
from converters.torch_format import read_checkpoint_object
out = {}
for path in sys.argv[1:]:
    before, start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    try:
        read_checkpoint_object(path)
        error = None
    except ValueError as err:
        error = str(err)
    out[path] = dict(error=error, seconds=time.perf_counter() - start,
                     grew_mib=(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
print(json.dumps(out))
"""


def test_bombs_refused_fast_in_little_memory(tmp_path):
    builders = {row[0]: row[1] for row in hostile.CORPUS}
    paths = [str(builders[name](tmp_path, tmp_path / "SENTINEL")) for name in BOMBS]
    proc = subprocess.run([sys.executable, "-c", MEASURE, *paths], cwd=REPO, env=subprocess_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for path, got in json.loads(proc.stdout).items():
        assert got["error"] and "\n" not in got["error"] and got["error"].startswith(path), got
        assert got["seconds"] < 2 and got["grew_mib"] < 32, got  # unfixed: 2 GB for the zero-stride view


def _views(tmp_path, base, views):
    """A zip .pth whose tensors are (offset, size, stride) views of one storage holding `base`."""
    pid = pw.PersistentId(("storage", pw.storage_tag(base.dtype), "0", "cpu", base.size))
    tree = collections.OrderedDict((k, pw.Reduce(pw.REBUILD_TENSOR, (pid, off, size, stride, False,
                                                                      collections.OrderedDict())))
                                   for k, (off, size, stride) in views.items())
    path = tmp_path / "views.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pw.dumps(tree, 2))
        zf.writestr("archive/data/0", base.tobytes())
    return path


def test_shared_storage_views_load(tmp_path):
    """Whole storage, a transpose, a slice and a column of one storage (what torch.save writes for
    `w`, `w.t()`, `w[1:]` and `w[:, 2]`) all load with the default limits."""
    base = np.arange(24, dtype=np.float32)
    path = _views(tmp_path, base, {"w": (0, (4, 6), (6, 1)), "t": (0, (6, 4), (1, 6)),
                                   "tail": (6, (3, 6), (6, 1)), "col": (2, (4,), (6,))})
    got = read_checkpoint_object(path)
    w = base.reshape(4, 6)
    for key, want in {"w": w, "t": w.T, "tail": w[1:], "col": w[:, 2]}.items():
        np.testing.assert_array_equal(got[key], want, err_msg=key)


def test_expanded_view_needs_an_explicit_ratio(tmp_path):
    base = np.arange(3, dtype=np.float32)
    path = _views(tmp_path, base, {"e": (0, (4, 3), (0, 1))})  # torch.arange(3).expand(4, 3)
    with pytest.raises(CheckpointError, match=r"tensor 'e': .* 12 elements, over 1 x the 3 .*max_view_ratio"):
        read_checkpoint_object(path)
    got = read_checkpoint_object(path, ReadLimits(max_view_ratio=4))
    np.testing.assert_array_equal(got["e"], np.broadcast_to(base, (4, 3)))


def test_max_bytes_is_explicit(tmp_path):
    path = pw.write_zip_pth(tmp_path / "w.pth", {"w": np.ones((64, 64), np.float32)})  # 16 KiB of data
    with pytest.raises(CheckpointError, match=r"w\.pth: the zip members: .* over the limit .*ReadLimits\.max_bytes"):
        read_checkpoint_object(path, ReadLimits(max_bytes=8 << 10))
    legacy = pw.write_legacy_pth(tmp_path / "w_legacy.pth", {"w": np.ones((64, 64), np.float32)})
    with pytest.raises(CheckpointError, match=r"w_legacy\.pth: the file: .* over the limit"):
        read_checkpoint_object(legacy, ReadLimits(max_bytes=8 << 10))
    assert read_checkpoint_object(path)["w"].shape == (64, 64)


def test_copies_of_views_count_against_max_bytes(tmp_path):
    """Many transposed (copied) views of one storage cannot add up past max_bytes."""
    base = np.zeros(1 << 12, np.float32)  # 16 KiB, each transposed view copies all of it
    path = _views(tmp_path, base, {f"t{i}": (0, (64, 64), (1, 64)) for i in range(8)})
    with pytest.raises(CheckpointError, match=r"tensor 't\d': .* over the limit"):
        read_checkpoint_object(path, ReadLimits(max_bytes=64 << 10))
    assert len(read_checkpoint_object(path, ReadLimits(max_bytes=1 << 20))) == 8
