"""`inversion3d preprocess` end to end on real photos: crops, dataset.json, every unused photo listed."""
import json

import numpy as np
import pytest
from PIL import Image
from skimage import data

from inversion3d.app import cli
from inversion3d.preprocess import dataset_json, pipeline


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    astronaut = data.astronaut()
    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(astronaut).save(folder / "astronaut.png")
    Image.fromarray(data.coffee()).save(folder / "coffee.jpg")
    Image.fromarray(data.camera()).save(folder / "cameraman.png")  # grey; face ~100 px: too small at 128
    Image.fromarray(np.random.RandomState(1).randint(0, 256, (512, 512, 3)).astype(np.uint8)).save(folder / "noise.png")
    two = np.zeros((512, 768, 3), np.uint8)  # the astronaut and a half-size copy beside her
    two[:, :512] = astronaut
    two[128:384, 512:] = np.asarray(Image.fromarray(astronaut).resize((256, 256), Image.LANCZOS))
    Image.fromarray(two).save(folder / "two_faces.png")
    (folder / "notes.txt").write_text("not a photo")
    return folder


def test_folder_to_eg3d_crops_and_cameras(photos, tmp_path, capsys):
    out = tmp_path / "eg3d"
    assert cli.main(["preprocess", str(photos), "--style", "eg3d", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    report = json.loads((out / pipeline.REPORT_FILE).read_text())
    assert {u["image"] for u in report["used"]} == {"astronaut.png", "two_faces.png"}
    reasons = {s["source"].rsplit("/", 1)[-1]: s["reason"] for s in report["skipped"]}
    assert reasons["coffee.jpg"] == pipeline.NO_FACE and reasons["noise.png"] == pipeline.NO_FACE
    assert reasons["cameraman.png"].startswith("face too small: its crop spans 10")
    assert reasons["notes.txt"] == "not an image file (by its extension)"
    for name in reasons:
        assert f"NOT USED {photos / name}: " in printed
    two = next(u for u in report["used"] if u["image"] == "two_faces.png")
    assert two["note"] == "2 faces found; used the largest" and two["box"][2] < 512
    labels = dataset_json.load_dataset_json(out / "dataset.json")  # passes the validator
    assert sorted(labels) == ["astronaut.png", "two_faces.png"]
    assert Image.open(out / "astronaut.png").size == (512, 512)
    astro = next(u for u in report["used"] if u["image"] == "astronaut.png")
    assert abs(astro["camera"]["yaw"]) < 5


def test_panohead_style_and_require_single(photos, tmp_path, capsys):
    out = tmp_path / "pano"
    args = ["preprocess", str(photos / "two_faces.png"), str(photos / "astronaut.png"), "--style", "panohead",
            "--out", str(out), "--require-single", "--size", "563"]
    assert cli.main(args) == 0
    assert "NOT USED" in capsys.readouterr().out
    report = json.loads((out / pipeline.REPORT_FILE).read_text())
    assert report["skipped"] == [{"source": str(photos / "two_faces.png"),
                                  "reason": "2 faces found and a single face is required (--require-single)"}]
    raw = json.loads((out / "dataset.json").read_text())["labels"]
    assert raw[0][0] == "astronaut.png" and isinstance(raw[0][1][0], str)  # PanoHead writes strings
    assert dataset_json.check_dataset_json(out / "dataset.json")[1] == []
    assert Image.open(out / "astronaut.png").size == (563, 563)


def test_nothing_usable_is_an_error(photos, tmp_path, capsys):
    code = cli.main(["preprocess", str(photos / "coffee.jpg"), "--out", str(tmp_path / "none")])
    captured = capsys.readouterr()
    assert code == 2 and f"NOT USED {photos / 'coffee.jpg'}: no face found" in captured.out
    assert "inversion3d: error: IMAGES_OR_DIR: no usable photo" in captured.err
    assert not (tmp_path / "none" / "dataset.json").exists()
    assert cli.main(["preprocess", str(tmp_path / "missing.png"), "--out", str(tmp_path / "x")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
