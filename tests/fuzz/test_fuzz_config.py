"""Fuzzing the config loader (issue 20 B4): app/loading.load_config with `--config.KEY=VALUE` overrides.

Keys are real config paths (leaves and sections of configs/demo.py and configs/pti.py), real paths with
junk appended, or random text; values are numbers, literals, broken literals, huge numbers and random
text, with or without `=`, also in absl's `--noconfig.KEY` form. Property: a ConfigDict, or a one-line
ValueError (never an ml_collections / absl traceback).
"""
import os

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given, strategies as st  # noqa: E402

from inversion3d.app import loading  # noqa: E402
from tests.fuzz.common import fuzz_settings, result_or_one_line_error  # noqa: E402

pytestmark = pytest.mark.fuzz
CONFIGS = {name: os.path.join(loading.CONFIG_DIR, f"{name}.py") for name in ("demo", "pti")}


def _paths(config, prefix=""):
    out = []
    for key, value in config.items():
        path = f"{prefix}{key}"
        out.append(path)
        if hasattr(value, "items"):
            out += _paths(value, path + ".")
    return out


PATHS = {name: _paths(loading.load_config(path)) for name, path in CONFIGS.items()}
VALUES = st.one_of(
    st.integers(-2 ** 70, 2 ** 70).map(str), st.floats().map(repr), st.text(max_size=12),
    st.sampled_from(["abc", "(1, 2)", "(1,", "[1, 2]", "True", "false", "None", "", "1e999", "nan", "-inf", "{'a': 1}",
                     "9" * 5000, "(" * 200 + ")" * 200, "__import__('os')", "1_000", "0x10", "'quoted'", "a=b", " 3 "]))


@st.composite
def overrides(draw, name):
    paths = PATHS[name]
    kind = draw(st.sampled_from(["real", "real", "suffix", "random"]))
    key = draw(st.sampled_from(paths))
    if kind == "suffix":
        key += draw(st.sampled_from([".nope", "[0]", "..", ".", "[", " ", ".seed", ".0", "[-1]"]))
    elif kind == "random":
        key = draw(st.text(alphabet=st.sampled_from("ab_.[]0-= é\t"), max_size=10))
    prefix = draw(st.sampled_from(["--config.", "--config.", "--config.", "--noconfig.", "--config..", "-config.",
                                   "--config"]))
    if draw(st.integers(0, 5)) == 0:
        return prefix + key
    return f"{prefix}{key}={draw(VALUES)}"


CASES = st.sampled_from(sorted(CONFIGS)).flatmap(
    lambda name: st.tuples(st.just(name), st.lists(overrides(name), min_size=1, max_size=3)))


@fuzz_settings(max_examples=250)
@given(case=CASES)
@example(case=("demo", ["--config.seed=abc", "--config.init_kwargs.nope=3"]))
@example(case=("demo", ["--config.init_kwargs.fused_modconv_default.nope=1"]))  # was a TypeError (key below a str)
@example(case=("demo", ["--config.init_kwargs.conv_clamp=3"]))  # was UnsupportedOperationError (a None field)
@example(case=("demo", ["--config.seed =3"]))  # was absl's Error (a space in the flag name)
@example(case=("pti", ["--config.pivot.losses.lpips_net[-1]=a"]))  # was an IndexError (an index into a str)
def test_overrides(case):
    name, args = case
    result_or_one_line_error(loading.load_config, CONFIGS[name], args)
