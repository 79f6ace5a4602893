"""--resume / --overwrite of render, invert and preprocess (issue 20 B3, A12): finished items are an
error without either flag, skipped with --resume (no model load when nothing is left), replaced with
--overwrite; preprocess removes what an earlier run owned. Also: the generator kind is resolved before
--camera photo aligns (A6) and the default config is found from any working directory (A12)."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from inversion3d.app import cli, inputs, loading, render
from inversion3d.preprocess import pipeline


def _forbid(*args, **kwargs):
    raise AssertionError("a model load was attempted")


def _touch(paths):
    for p in paths:
        os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, "w").close()


def test_render_resume_and_overwrite(tmp_path, monkeypatch, capsys):
    out = str(tmp_path / "out")
    _touch(render.output_files(out, 0))
    monkeypatch.setattr(loading, "open_generator", _forbid)
    assert cli.main(["render", "default", "--seeds", "0", "--out", out]) == 2
    assert "already holds the outputs of 1 seed(s) (seed 0); pass --resume" in capsys.readouterr().err
    assert cli.main(["render", "default", "--seeds", "0", "--out", out, "--resume"]) == 0  # nothing left: no load
    calls = []
    monkeypatch.setattr(loading, "open_generator", lambda *a, **k: "gen")
    monkeypatch.setattr(render, "render_orbit", lambda gen, seeds, *a, **k: calls.append(seeds))
    assert cli.main(["render", "default", "--seeds", "0-2", "--out", out, "--resume"]) == 0
    assert cli.main(["render", "default", "--seeds", "0-2", "--out", out, "--overwrite"]) == 0
    assert calls == [[1, 2], [0, 1, 2]]


def test_invert_resume(tmp_path, monkeypatch, capsys):
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "a.png")
    out = str(tmp_path / "out")
    _touch(inputs.output_files(out, "a", "wplus"))
    monkeypatch.setattr(loading, "open_generator", _forbid)
    argv = ["invert", str(tmp_path / "a.png"), "--method", "wplus", "--generator", "default", "--camera", "frontal",
            "--out", out]
    assert cli.main(argv) == 2
    assert "pass --resume to skip them or --overwrite" in capsys.readouterr().err
    assert cli.main(argv + ["--resume"]) == 0
    assert "1 of 1 image(s) already done" in capsys.readouterr().out


def test_preprocess_overwrite_removes_its_own_files(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.png").write_bytes(b"old crop")
    (out / "mine.txt").write_text("kept")  # not preprocess's
    (out / "dataset.json").write_text(json.dumps({"labels": [["stale.png", [0.0] * 25]]}))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="is not empty"):
        pipeline.preprocess_photos([str(tmp_path / "broken.png")], str(out), params={}, progress=False)
    summary = pipeline.preprocess_photos([str(tmp_path / "broken.png")], str(out), params={}, progress=False,
                                         overwrite=True)
    assert summary["used"] == [] and "cannot read image" in summary["skipped"][0]["reason"]
    assert sorted(os.listdir(out)) == ["mine.txt", pipeline.REPORT_FILE]


def test_preprocess_resume_keeps_earlier_results(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    label = [1.0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2.7, 0, 0, 0, 1, 4.26, 0, 0.5, 0, 4.26, 0.5, 0, 0, 1]
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(out / "face.png")
    report = {"style": "eg3d", "used": [{"source": "face_src.jpg", "image": "face.png", "label": label}], "skipped": []}
    (out / pipeline.REPORT_FILE).write_text(json.dumps(report))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    summary = pipeline.preprocess_photos([str(tmp_path / "broken.png")], str(out), params={}, progress=False,
                                         resume=True)
    assert [u["image"] for u in summary["used"]] == ["face.png"]
    assert [s["source"] for s in summary["skipped"]] == [str(tmp_path / "broken.png")]
    labels = json.loads((out / "dataset.json").read_text())["labels"]
    assert labels[0][0] == "face.png" and np.allclose(labels[0][1], label)


def test_photo_alignment_uses_the_generator_kind(tmp_path, monkeypatch, capsys):
    seen = []

    def align(photos, out_dir, kind, max_pixels):
        seen.append(kind)
        raise ValueError("stop here")

    monkeypatch.setattr(inputs, "align_photos", align)
    monkeypatch.setattr(loading, "open_generator", _forbid)
    for generator in ("default-panohead", "default"):
        assert cli.main(["invert", str(tmp_path / "p.jpg"), "--method", "wplus", "--generator", generator,
                         "--camera", "photo", "--out", str(tmp_path / "out")]) == 2
    assert seen == ["panohead", "eg3d"]
    assert loading.resolve_kind("default", "panohead") == "panohead"


def test_demo_default_config_from_another_directory(tmp_path, monkeypatch, capsys):
    import inversion3d.api

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(inversion3d.api, "load_generator", _forbid)  # stop once the config is read
    assert cli.main(["demo", "--out", "demo"]) == 1
    assert "a model load was attempted" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()
