"""Shared test fixtures: golden files, JAX set-up (fp32, persistent compilation cache)."""
import os
import pathlib

import numpy as np
import pytest

_REPO = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(_REPO / ".jax_cache"))

import jax  # noqa: E402  (environment must be set first)

jax.config.update("jax_default_matmul_precision", "highest")
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

GOLDEN = pathlib.Path(os.environ.get("INVERSION3D_GOLDEN", _REPO.parent / "shared" / "golden"))


def load_golden(relpath):
    """Returns a dict of numpy arrays from ../shared/golden/<relpath>; fails the test if absent."""
    path = GOLDEN / relpath
    if not path.exists():
        pytest.fail(f"golden file missing: {path}")
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="session")
def ops_golden():
    return load_golden("ops.npz")


def nchw_to_nhwc(x):
    return np.moveaxis(np.asarray(x), 1, -1)


def pytest_configure(config):
    # fuzz tests run in the default suite; `-m fuzz` selects them, `-m "not fuzz"` leaves them out
    config.addinivalue_line("markers", "fuzz: hypothesis fuzz tests of the readers (tests/fuzz, issue 20 B4)")
    config.addinivalue_line("markers", "slow: training runs of the real methods through the loop (minutes each on a "
                                       "2-core CPU); left out of `make test`, run by `make test-slow` (--runslow)")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run tests marked slow (make test-slow)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow (make test-slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
