"""Fuzzing the camera readers (issue 20 B4): `invert --camera FILE` (app/inputs.read_camera_file), the
dataset.json check of `preprocess` / training data (preprocess/dataset_json.py) and the label helpers
(camera/labels.py).

Documents are written as JSON text so that what Python's json accepts but JSON does not (NaN,
Infinity, integers of thousands of digits, 1e400) and deep nesting reach the readers. Property: a
result whose labels are 25 finite float32, or a one-line ValueError; check_dataset_json never raises
and reports every problem in one line.
"""
import json

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given, strategies as st  # noqa: E402

from inversion3d import camera  # noqa: E402
from inversion3d.app.inputs import read_camera_file  # noqa: E402
from inversion3d.preprocess.dataset_json import check_dataset_json, load_dataset_json  # noqa: E402
from tests.fuzz.common import fuzz_settings, result_or_one_line_error, time_bound  # noqa: E402

pytestmark = pytest.mark.fuzz
FRONT = [float(v) for v in camera.lookat_labels(np.array([camera.FRONT]), np.array([camera.FRONT]))[0]]


class Raw(str):
    """A token written into the document as is (NaN, 1e400, 5000-digit integers, deep nesting)."""


def to_text(value) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {to_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(to_text(v) for v in value) + "]"
    return json.dumps(value, allow_nan=True)


TOKENS = st.sampled_from([Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e400"), Raw("-1e-400"),
                          Raw("9" * 400), Raw("-" + "9" * 400), Raw("1" * 5000), Raw("1" + "0" * 308 + ".0"),
                          Raw("[" * 100_000 + "]" * 100_000), Raw('{"a": ' * 3000 + "1" + "}" * 3000)])
NUMBERS = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-2 ** 80, 2 ** 80), TOKENS,
                    st.sampled_from(["1.0", " 2 ", "nan", "inf", "1e999", "0x10", "", "1_0", "٣"]),
                    st.booleans(), st.none())
JUNK = st.recursive(st.one_of(NUMBERS, st.text(max_size=8)), lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8)


@st.composite
def labels(draw):
    """Mostly near-valid labels: the frontal one with a few entries replaced, cut or extended."""
    kind = draw(st.sampled_from(["edit", "edit", "length", "junk"]))
    if kind == "junk":
        return draw(JUNK)
    label = list(FRONT)
    if kind == "length":
        n = draw(st.integers(0, 30))
        return (label * 2)[:n]
    for _ in range(draw(st.integers(0, 3))):
        label[draw(st.integers(0, 24))] = draw(NUMBERS)
    return label


NAMES = st.one_of(st.sampled_from(["a.png", "sub/b.png", "..\\c.png", "a.png"]), st.text(max_size=12),
                  st.integers(), st.none(), st.lists(st.integers(), max_size=2))
ENTRIES = st.lists(st.one_of(st.tuples(NAMES, labels()).map(list), st.tuples(NAMES, labels(), NAMES).map(list),
                             JUNK), max_size=4)
DOCUMENTS = st.one_of(
    st.builds(lambda e: {"labels": e}, ENTRIES),
    st.dictionaries(st.text(max_size=8), labels(), max_size=3),  # the {name: label} form read by invert
    st.builds(lambda e, extra: {"labels": e, **extra}, ENTRIES, st.dictionaries(st.text(max_size=4), JUNK, max_size=2)),
    JUNK, TOKENS)


def _check_labels(labels):
    for name, value in labels.items():
        assert isinstance(name, str) and value.shape == (25,) and value.dtype == np.float32, (name, value)
        assert np.all(np.isfinite(value)), (name, value)


@fuzz_settings(max_examples=500)
@given(document=DOCUMENTS)
@example(document={"labels": [["a.png", FRONT[:5] + [Raw("9" * 400)] + FRONT[6:]]]})  # OverflowError
@example(document=Raw("[" * 100_000 + "]" * 100_000))  # RecursionError
@example(document={"labels": [["a.png", [Raw("1" * 5000)] + FRONT[1:]]]})  # int digits limit
@example(document={"labels": [["two\nlines.png", FRONT]]})  # a name on two lines
@example(document={"labels": ["one\ntwo"]})  # an entry on two lines
def test_camera_files(tmp_path_factory, document):
    folder = tmp_path_factory.getbasetemp() / "fuzz_cameras"
    folder.mkdir(exist_ok=True)
    path = folder / "dataset.json"
    path.write_text(to_text(document), encoding="utf-8")
    got, _ = result_or_one_line_error(read_camera_file, path)
    if got is not None:
        _check_labels(got)
    with time_bound(what="check_dataset_json"):
        checked, problems = check_dataset_json(path, image_root=folder)
    _check_labels(checked)
    assert all(isinstance(p, str) and p and "\n" not in p for p in problems), problems
    got, _ = result_or_one_line_error(load_dataset_json, path, image_root=folder)
    assert (got is None) == bool(problems)


@fuzz_settings(max_examples=80)
@given(data=st.binary(max_size=64))
def test_camera_files_random_bytes(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "fuzz_camera_bytes.json"
    path.write_bytes(data)
    result_or_one_line_error(read_camera_file, path)
    with time_bound(what="check_dataset_json"):
        _, problems = check_dataset_json(path)
    assert problems and all("\n" not in p for p in problems)


@fuzz_settings(max_examples=80)
@given(shape=st.lists(st.integers(0, 30), max_size=3), pose_shape=st.lists(st.integers(0, 5), max_size=3),
       k_shape=st.lists(st.integers(0, 4), max_size=3))
def test_label_helpers(shape, pose_shape, k_shape):
    """split_label / make_label: arrays of any shape give the documented shapes or a one-line ValueError."""
    c, _ = result_or_one_line_error(camera.split_label, np.zeros(shape, np.float32))
    if c is not None:
        assert c[0].shape == (shape[0], 4, 4) and c[1].shape == (shape[0], 3, 3)
    label, _ = result_or_one_line_error(camera.make_label, np.zeros(pose_shape, np.float32),
                                        np.zeros(k_shape, np.float32))
    if label is not None:
        assert label.ndim == 2 and label.shape[1] == 25
