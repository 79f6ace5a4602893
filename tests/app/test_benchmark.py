"""The dataset runner (`invert DATASET --split test`) and `eval --benchmark synthetic-multiview` (issue 17
items 3-4), end to end on 2 scenes of `inversion3d synth-data` (64 px) inverted by W+ (2 steps) into
the embedded tiny generator at the W+ tests' sizes (neural resolution 16, 8 + 8 samples)."""
import glob
import json
import os

import numpy as np
import pytest
from PIL import Image

from inversion3d.app import benchmark, cli, dataset_inputs, dataset_run, eval as eval_app, loading
from inversion3d.data import folder
from inversion3d.metrics import depth as depth_metric
from inversion3d.metrics.image import mse, ssim
from tests.inversion.test_wplus_pti import GEN_OVERRIDES
from tests.tolerances import f32_tol

WPLUS = ["--method", "wplus", "--generator", "default", "--steps", "2", "--views", "1",
         "--config.w_avg_samples=200", *GEN_OVERRIDES]


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    assert cli.main(["synth-data", "--config.split=test", "--config.num_scenes=2", "--config.batch=2",
                     "--config.chunk=2", "--out", str(root)]) == 0
    return root


@pytest.fixture(scope="module")
def full_run(synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "wplus"
    assert cli.main(["invert", str(synth), "--split", "test", "--out", str(out), *WPLUS]) == 0
    return out


def _pairs(out):
    with open(out / "pairs.json", encoding="utf-8") as f:
        return json.load(f)


def _stable(entries):  # the fields that do not depend on the wall clock
    return [{k: v for k, v in e.items() if k not in ("time_s", "includes_compile")} for e in entries]


def test_pairs_json_lists_input_and_every_held_out_view(synth, full_run):
    pairs = _pairs(full_run)
    labels = folder.read_labels(str(synth))
    with open(synth / "test_views.json", encoding="utf-8") as f:
        views = json.load(f)["rows"]
    assert len(pairs) == len(views) == 14  # 2 scenes x (input + 6 held-out)
    by_target = {os.path.relpath(e["target"], synth).replace(os.sep, "/"): e for e in pairs}
    assert sorted(by_target) == sorted(r[0] for r in views)
    for name, scene, view, _, _ in views:
        e = by_target[name]
        assert e["view"] == view and e["role"] == ("input" if view == 0 else "heldout")
        np.testing.assert_allclose(e["camera"], labels[name], rtol=0, atol=0)
        assert e["depth_target"] == os.path.join(str(synth), "depth", name[:-4] + ".npy")
        assert e["mask_target"] == os.path.join(str(synth), "masks", name)
        assert (e["time_s"] is not None) == (view == 0)
        result = np.asarray(Image.open(full_run / e["result"]))
        assert result.shape == (64, 64, 3)  # the embedded default's image size
        assert np.load(full_run / e["depth_result"]).shape == (16, 16)  # its neural rendering resolution
    inputs = [e for e in pairs if e["role"] == "input"]
    assert [e["yaw_deg"] for e in inputs] == [0.0, 0.0]
    for e in pairs:  # yaw_deg: the offset from the scene's input view (eval's convention)
        first = next(i for i in inputs if i["name"] == e["name"])
        assert e["yaw_deg"] == pytest.approx(e["yaw_abs_deg"] - first["yaw_abs_deg"])
    timing = json.loads((full_run / "timing.json").read_text())
    assert [i["includes_compile"] for i in timing["images"]] == [True, False]
    assert timing["summary"] == {"n": 1, "mean_s": timing["images"][1]["time_s"], "excluded_compile": True,
                                 "includes_compile": False}


def test_killed_run_leaves_whole_files_and_resume_completes_it(synth, full_run, tmp_path, monkeypatch, capsys):
    out = tmp_path / "killed"
    write = dataset_run.Recorder.write

    def write_then_die(self, path, stem, *args, **kwargs):
        written = write(self, path, stem, *args, **kwargs)
        if len(self.records) == 1:
            raise RuntimeError("killed after image 1")
        return written

    monkeypatch.setattr(dataset_run.Recorder, "write", write_then_die)
    assert cli.main(["invert", str(synth), "--split", "test", "--out", str(out), *WPLUS]) == 1
    assert "killed after image 1" in capsys.readouterr().err
    assert not [p for p in glob.glob(str(out / "**" / ".*"), recursive=True)]  # no temp file left
    assert sorted(os.listdir(out / "bench")) == ["img00000000_v00", "img00000000_v00.json"]
    assert _stable(_pairs(out)) == [e for e in _stable(_pairs(full_run)) if e["name"] == "img00000000_v00"]
    monkeypatch.setattr(dataset_run.Recorder, "write", write)
    assert cli.main(["invert", str(synth), "--split", "test", "--out", str(out), *WPLUS]) == 2  # no flag: refused
    assert "pass --resume" in capsys.readouterr().err
    assert cli.main(["invert", str(synth), "--split", "test", "--out", str(out), "--resume", *WPLUS]) == 0
    assert "1 of 2 image(s) already done" in capsys.readouterr().out
    assert _stable(_pairs(out)) == _stable(_pairs(full_run))
    for e in _pairs(full_run):  # the same renders as the straight run (uint8 PNGs: at most one level apart)
        a, b = (np.asarray(Image.open(d / e["result"]), np.int16) for d in (out, full_run))
        assert np.abs(a - b).max() <= 1, e["result"]
        np.testing.assert_allclose(np.load(out / e["depth_result"]), np.load(full_run / e["depth_result"]),
                                   atol=f32_tol(4.0, 64), rtol=0)
    monkeypatch.setattr(loading, "open_generator", lambda *a, **k: pytest.fail("a model load on a finished run"))
    assert cli.main(["invert", str(synth), "--split", "test", "--out", str(out), "--resume", *WPLUS]) == 0


def test_benchmark_row_equals_the_metrics_computed_directly(full_run, tmp_path):
    config = loading.load_config(os.path.join(loading.CONFIG_DIR, "benchmark.py"))
    paths = benchmark.evaluate([str(full_run)], str(tmp_path / "report"), config)
    report = json.loads(open(paths["json"], encoding="utf-8").read())
    assert set(report["missing"]) == {"LPIPS", "ID"}  # no weights given: said, not invented
    held = [e for e in _pairs(full_run) if e["role"] == "heldout"]
    row = next(r for r in report["rows"] if r["views"] == "held-out (all)")
    assert row["n"] == len(held) == 12 and row["lpips"] is None and row["id"] is None
    x = np.stack([eval_app.load_image(full_run / e["result"]) for e in held])
    y = np.stack([eval_app.load_image(e["target"]) for e in held])
    depth = []
    for e in held:
        mask = np.asarray(Image.open(e["mask_target"]).convert("L"), np.float32) / 255.0
        pred = np.load(full_run / e["depth_result"])
        depth.append(depth_metric.masked_l1(pred[None], np.load(e["depth_target"])[None], mask[None])[0])
    np.testing.assert_allclose(row["mse"], np.mean(np.asarray(mse(x, y))), rtol=1e-5)
    np.testing.assert_allclose(row["ssim"], np.mean(ssim(x, y)), rtol=1e-5)
    np.testing.assert_allclose(row["depth_l1"], np.mean(depth), rtol=1e-6)
    timing = json.loads((full_run / "timing.json").read_text())
    inp = next(r for r in report["rows"] if r["views"] == "input view")
    assert inp["n"] == 2 and inp["time_s"] == timing["summary"]["mean_s"]
    bins = [r for r in report["rows"] if r["views"].startswith("held-out Δyaw")]
    assert sum(r["n"] for r in bins) == 12
    md = open(paths["md"], encoding="utf-8").read()
    assert "| wplus | held-out (all) | 12 |" in md and "LPIPS: --lpips-backbone/--lpips-heads not given" in md
    html = open(paths["html"], encoding="utf-8").read()
    assert html.count("<img src='grids/wplus__img0000000") == 2
    grid = np.asarray(Image.open(tmp_path / "report" / "grids" / "wplus__img00000000_v00.png"))
    assert grid.shape == (2 * config.grid_tile, 7 * config.grid_tile, 3)  # ground truth over render, 7 views


def test_masked_depth_l1_against_numpy():
    rng = np.random.default_rng(0)
    target = rng.uniform(2.0, 3.0, (2, 8, 8))
    target[0, :2] = np.inf  # off the head
    mask = (rng.uniform(size=(2, 8, 8)) > 0.3).astype(np.float32)
    pred = rng.uniform(2.0, 3.0, (2, 8, 8, 1)).astype(np.float32)
    fg = (mask > 0.5) & np.isfinite(target)
    expected = [np.abs(pred[i, ..., 0] - target[i])[fg[i]].mean() for i in range(2)]
    np.testing.assert_allclose(depth_metric.masked_l1(pred, target, mask), expected, rtol=1e-6)
    # a constant render upsampled from 4x4 stays constant; an empty foreground is NaN, not 0
    out = depth_metric.masked_l1(np.full((2, 4, 4), 2.5), np.full((2, 8, 8), 2.0), np.stack([np.ones((8, 8)),
                                                                                            np.zeros((8, 8))]))
    assert out[0] == pytest.approx(0.5, abs=1e-6) and np.isnan(out[1])


def test_photo_folder_expands_to_its_images(tmp_path):
    for name in ("b.png", "a.jpg"):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    paths, camera, held, root = dataset_inputs.expand([str(tmp_path)], "frontal")
    assert paths == [str(tmp_path / "a.jpg"), str(tmp_path / "b.png")] and camera == "frontal"
    assert held == {} and root is None
    paths, *_ = dataset_inputs.expand([str(tmp_path)], "frontal", limit=1)  # --limit: the first N, listed order
    assert paths == [str(tmp_path / "a.jpg")]
    with pytest.raises(ValueError, match="--limit: must be a positive number"):
        dataset_inputs.expand([str(tmp_path)], "frontal", limit=0)


def test_dataset_limit_keeps_the_first_scenes_with_their_views(synth):
    full = dataset_inputs.expand([str(synth)], None, "test")
    part = dataset_inputs.expand([str(synth)], None, "test", limit=1)
    assert part[0] == full[0][:1] and part[2] == {full[0][0]: full[2][full[0][0]]} and part[3] == full[3]


@pytest.mark.parametrize("argv, message", [
    (["{photo}", "--split", "test", "--camera", "frontal"], "--split: only used with a dataset folder"),
    (["{synth}", "--split", "val"], "split: no val.txt in"),
    (["{synth}"], "--split: {synth} has split lists (test); pick one with --split"),
    (["{synth}", "{photo}", "--split", "test"], "must be the only input, got 2 inputs"),
    (["{synth}", "--split", "test", "--camera", "frontal"], "is a dataset with its own cameras"),
    (["{empty}", "--camera", "frontal"], "holds no images"),
    (["{photo}"], "--camera: required"),
])
def test_invert_dataset_errors(synth, tmp_path, capsys, argv, message):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "photo.png")
    (tmp_path / "empty").mkdir()
    fill = {"synth": str(synth), "photo": str(tmp_path / "photo.png"), "empty": str(tmp_path / "empty")}
    argv = [a.format(**fill) for a in argv]
    assert cli.main(["invert", *argv, "--method", "wplus", "--generator", "default", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message.format(**fill) in err and err.count("\n") == 1


def test_eval_benchmark_errors(full_run, tmp_path, capsys):
    plain = tmp_path / "plain"
    plain.mkdir()
    entries = [{k: v for k, v in e.items() if k != "role"} for e in _pairs(full_run)]
    for e in entries:
        e["result"] = str(full_run / e["result"])
    (plain / "pairs.json").write_text(json.dumps(entries))
    cases = [([], "RUN: --benchmark needs at least one"),
             ([str(tmp_path / "nothing")], "RUN: no such folder or pairs.json"),
             ([str(plain)], "entry 0 has no role 'input' / 'heldout'"),
             ([str(full_run), "--config.yaw_bins_deg=(0.0,30.0,20.0)"], "expected increasing edges from 0"),
             ([str(full_run), "--data", str(full_run)], "--data: not used with --benchmark")]
    for extra, message in cases:
        assert cli.main(["eval", "--benchmark", "synthetic-multiview", *extra, "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (extra, err)
    assert cli.main(["eval", str(full_run), "--out", str(tmp_path / "r")]) == 2
    assert "RUN: only used with --benchmark" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.fixture(scope="module")
def tfds_split(synth, tmp_path_factory):
    """The synthetic test split prepared by its tfds builder (data/synthetic/builder.py) -> (data_dir, spec)."""
    from inversion3d.data.synthetic.builder import tfds_config
    from inversion3d.data.tfds_builder import AlignedFolder

    data_dir = tmp_path_factory.mktemp("tfds")
    config = tfds_config(str(synth), "test", 64)
    AlignedFolder(config=config, data_dir=str(data_dir)).download_and_prepare()
    return data_dir, f"tfds:aligned_folder/{config.name}:test"


def test_tfds_split_gives_the_folder_runs_pairs(synth, full_run, tfds_split, tmp_path):
    """The same scenes through the folder and through tfds: the same pairs (names, views, cameras, angles),
    equal ground-truth images / depth / masks, and the same renders."""
    data_dir, spec = tfds_split
    out = tmp_path / "tfds_run"
    assert cli.main(["invert", spec, "--data-dir", str(data_dir), "--out", str(out), *WPLUS]) == 0
    a, b = _pairs(full_run), _pairs(out)
    assert len(a) == len(b) == 14
    paths = ("target", "result", "depth_result", "depth_target", "mask_target", "source")
    strip = lambda e: {k: v for k, v in e.items() if k not in paths + ("time_s", "includes_compile")}  # noqa: E731
    assert [strip(e) for e in b] == [strip(e) for e in a]
    for x, y in zip(a, b):
        assert y["target"].startswith(str(out / "dataset"))  # ground truth exported beside the run
        for key in ("target", "mask_target"):
            np.testing.assert_array_equal(np.asarray(Image.open(y[key])), np.asarray(Image.open(x[key])))
        np.testing.assert_array_equal(np.load(y["depth_target"]), np.load(x["depth_target"]))
        r, s = (np.asarray(Image.open(d / e["result"]), np.int16) for d, e in ((full_run, x), (out, y)))
        assert np.abs(r - s).max() <= 1, x["result"]  # the same inversion (uint8 PNGs: one level apart at most)
    # a rerun reuses the export; another split into the same --out is refused in one line
    assert cli.main(["invert", spec, "--data-dir", str(data_dir), "--out", str(out), "--resume", *WPLUS]) == 0
    other = spec.rsplit(":", 1)[0] + ":test_input"
    assert cli.main(["invert", other, "--data-dir", str(data_dir), "--out", str(out), "--resume", *WPLUS]) == 2


@pytest.mark.parametrize("spec, extra, message", [
    ("tfds:aligned_folder", ["--split", "test"], "tfds:aligned_folder has configs; name one"),
    ("tfds:nothing/x:test", [], "no prepared tfds dataset nothing/x in"),
    ("tfds:{config}:val", [], "has no split 'val' (it has test, test_input)"),
    ("tfds:{config}:test", ["--split", "train"], "names split 'test', --split says 'train'"),
    ("tfds:{config}", [], "names no split"),
    ("tfds:{config}:test", ["--camera", "frontal"], "brings its own cameras; drop --camera"),
])
def test_invert_tfds_errors(tfds_split, tmp_path, capsys, spec, extra, message):
    data_dir, full = tfds_split
    spec = spec.format(config=full[len("tfds:"):].rsplit(":", 1)[0])
    argv = ["invert", spec, "--data-dir", str(data_dir), *extra, "--method", "wplus", "--generator", "default",
            "--out", str(tmp_path / "o")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_dual_on_a_frontal_split_says_it_needs_a_360_split(synth, tmp_path, capsys):
    """The Dual Encoder (360 degrees, PanoHead) has no row on the frontal test split: one line naming the
    full-turn split to write (tests/app/test_benchmark_methods.py runs it on a tiny test360)."""
    argv = ["invert", str(synth), "--split", "test", "--method", "dual", "--generator", "default-panohead",
            "--encoder", str(tmp_path / "e1.pt"), "--encoder2", str(tmp_path / "e2.pt"), "--out", str(tmp_path / "o")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "--method dual: a 360-degree (PanoHead) method" in err and "--config.split=test360" in err
    assert err.count("\n") == 1 and not (tmp_path / "o").exists()
