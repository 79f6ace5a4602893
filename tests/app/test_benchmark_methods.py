"""`eval --benchmark synthetic-multiview` on the dataset runner's output of every method (issue 17 items
2-4): 2 scenes of the tiny synthetic test split (64 px; test360 for Dual, the 360-degree method) inverted
by each method at test size, each run read by the benchmark, then one table over all of them.

Encoders are random-weight files (tests/inversion/synthetic.py, the `invert` tests' tiny 128 px EG3D
and PanoHead) or a perturbed E3DGE training workdir (tests/methods/workdir_helpers.py); W+, PTI and
In-N-Out optimise into the embedded default generator for a few steps. Slow: ten methods compile."""
import json
import os

import numpy as np
import pytest

from inversion3d.app import cli, loading
from tests.app.test_invert import AVG, TINY
from tests.inversion import synthetic as syn
from tests.inversion.test_wplus_pti import GEN_OVERRIDES

pytestmark = pytest.mark.slow

OPT = ["--generator", "default", "--config.w_avg_samples=200", *GEN_OVERRIDES]
INNOUT = ["--generator", "default", "--config", os.path.join(loading.CONFIG_DIR, "innout_tiny.py"),
          "--config.w_avg_samples=200", "--config.stage_a.epochs=1", "--config.stage_a.init_samples=8",
          "--config.stage_b.steps=3", "--config.stage_c.epochs=1"]
METHODS = {  # method: (split, extra invert flags; {files} = the encoder folder)
    "goae": ("test", ["--generator", TINY, "--encoder", "{files}/goae.pt", "--afa", "{files}/afa.pt"]),
    "goae-noafa": ("test", ["--generator", TINY, "--encoder", "{files}/goae.pt"]),
    "psp": ("test", ["--generator", TINY, "--encoder", "{files}/psp.pt"]),
    "e4e": ("test", ["--generator", TINY, "--encoder", "{files}/e4e.pt"]),
    "triplanenet": ("test", ["--generator", TINY, "--encoder", "{files}/tpn.pt"]),
    "e3dge": ("test", ["--encoder", "{files}/e3dge_run"]),
    "dual": ("test360", ["--generator", "default-panohead", "--encoder", "{files}/e1.pt",
                         "--encoder2", "{files}/e2.pt"]),
    "wplus": ("test", ["--steps", "2", *OPT]),
    "pti": ("test", ["--steps", "2", "--generator", "default", "--config.pivot.w_avg_samples=200", *GEN_OVERRIDES]),
    "innout": ("test", INNOUT),
}
VIEWS = {"test": 7, "test360": 9}  # the input view + the held-out views of a scene (configs/synthetic_heads.py)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth_all")
    for split in ("test", "test360"):
        assert cli.main(["synth-data", f"--config.split={split}", "--config.num_scenes=2", "--config.batch=2",
                         "--config.chunk=2", "--out", str(root)]) == 0
    return root


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    from inversion3d.methods.e3dge.train import Method
    from tests.methods.e3dge_train_helpers import config
    from tests.methods.workdir_helpers import perturbed, save_initial
    from tests.training.helpers import apply_overrides

    d = tmp_path_factory.mktemp("encoders")
    syn.official_encoder_files(d, AVG)
    cfg = config(total_steps=0, batch_size=2, **{"checkpoint.every": 1, "losses.lpips_weights": ""})
    cfg = apply_overrides(cfg, {f"optim.{net}.name": "sgd" for net in ("encoder", "local")})
    save_initial(cfg, str(d / "e3dge_run"), Method, perturbed)
    return d


_RUNS = {}


def run_method(method, data, encoders, base):
    """`invert DATA --split S --method M` once per module -> its output folder."""
    if method not in _RUNS:
        split, extra = METHODS[method]
        out = base / method
        argv = ["invert", str(data), "--split", split, "--method", method, "--views", "1", "--out", str(out),
                *[a.format(files=encoders) for a in extra]]
        assert cli.main(argv) == 0, method
        _RUNS[method] = out
    return _RUNS[method]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


def _report(runs, out):
    assert cli.main(["eval", "--benchmark", "synthetic-multiview", *map(str, runs), "--out", str(out)]) == 0
    return json.loads((out / "benchmark.json").read_text())


@pytest.mark.parametrize("method", list(METHODS))
def test_benchmark_reads_every_methods_run(method, data, encoders, base, tmp_path):
    out = run_method(method, data, encoders, base)
    pairs = json.loads((out / "pairs.json").read_text())
    views = VIEWS[METHODS[method][0]]
    assert len(pairs) == 2 * views and {e["method"] for e in pairs} == {method}
    report = _report([out], tmp_path / "report")
    rows = {r["views"]: r for r in report["rows"]}
    assert rows["input view"]["n"] == 2 and rows["held-out (all)"]["n"] == 2 * (views - 1)
    for r in report["rows"]:  # every image metric and the depth error computed, none invented
        assert np.isfinite(r["mse"]) and np.isfinite(r["ssim"]) and np.isfinite(r["depth_l1"]), (method, r)
    assert rows["input view"]["time_s"] > 0
    assert len(report["grids"]) == 2


def test_one_table_over_every_method(data, encoders, base, tmp_path):
    runs = [run_method(m, data, encoders, base) for m in METHODS]
    report = _report(runs, tmp_path / "all")
    assert list(dict.fromkeys(r["method"] for r in report["rows"])) == list(METHODS)
    md = (tmp_path / "all" / "benchmark.md").read_text()
    for method in METHODS:
        assert f"| {method} | input view | 2 |" in md
