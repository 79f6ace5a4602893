"""dataset.json writing (EG3D floats, PanoHead strings) and the validator's messages."""
import json

import numpy as np
import pytest
from PIL import Image

from inversion3d import camera
from inversion3d.preprocess import dataset_json as dj

FRONTAL = camera.make_label(camera.lookat_pose(np.pi / 2, np.pi / 2), camera.intrinsics_matrix())[0]


def _folder(tmp_path, labels, images=("a.png",)):
    for name in images:
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"labels": labels}))
    return path


@pytest.mark.parametrize("style", ["eg3d", "panohead"])
def test_written_files_read_back(tmp_path, style):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    path = dj.write_dataset_json(tmp_path / "dataset.json", [("a.png", FRONTAL)], style)
    raw = json.loads(open(path).read())["labels"][0][1]
    assert isinstance(raw[0], str if style == "panohead" else float)
    if style == "panohead":
        assert raw[16] == "4.264700"
    labels = dj.load_dataset_json(path)
    np.testing.assert_allclose(labels["a.png"], FRONTAL, atol=5e-7)


def _problems(tmp_path, label, **kwargs):
    return dj.check_dataset_json(_folder(tmp_path, [["a.png", list(map(float, label))]]), **kwargs)[1]


def test_pixel_intrinsics_are_explained(tmp_path):
    label = FRONTAL.copy()
    label[[16, 20]], label[[18, 21]] = 2985.29, 512
    assert _problems(tmp_path, label) == [
        "labels[0] (a.png): intrinsics look like pixels (fx 2985.29, cx 512); divide fx, fy, cx, cy by the image "
        "size (EG3D uses fx = fy = 4.2647, cx = cy = 0.5)"]


def test_radius_world2cam_opengl_and_upside_down_are_reported(tmp_path):
    label = FRONTAL.copy()
    label[11] = 4.0
    assert _problems(tmp_path, label) == ["labels[0] (a.png): camera is 4 from the origin, expected 2.7"]
    yawed = camera.lookat_pose(np.pi / 2 + 0.5, np.pi / 2 + 0.2)[0].astype(np.float64)
    away = ["labels[0] (a.png): camera z axis points %d deg away from the head at the origin (a world2cam matrix, "
            "or OpenGL axes? EG3D stores cam2world with OpenCV axes: z forward, y down)"]
    world2cam = np.linalg.inv(yawed)
    assert _problems(tmp_path, np.concatenate([world2cam.reshape(-1), FRONTAL[16:]])) == [away[0] % 29]
    opengl = yawed @ np.diag([1, -1, -1, 1])
    assert _problems(tmp_path, np.concatenate([opengl.reshape(-1), FRONTAL[16:]])) == [away[0] % 178]
    upside_down = yawed @ np.diag([-1, -1, 1, 1])
    assert _problems(tmp_path, np.concatenate([upside_down.reshape(-1), FRONTAL[16:]])) == [
        "labels[0] (a.png): camera y axis points up (upside-down camera); EG3D's y axis is image-down"]


def test_layout_problems_name_the_entry(tmp_path):
    path = _folder(tmp_path, [["a.png", [0.0] * 24], ["b.png", ["x"] * 25], ["a.png", list(map(float, FRONTAL))],
                              "c.png"], images=("a.png", "d.png"))
    _, problems = dj.check_dataset_json(path)
    assert problems == [
        "labels[0] (a.png): expected 25 numbers (16 cam2world + 9 intrinsics), got 24 values",
        "labels[1] (b.png): entries must be numbers or numeric strings (could not convert string to float: 'x')",
        "labels[3]: expected [\"relative/path.png\", [25 numbers]], got c.png",
        "1 image(s) in %s have no label, e.g. 'd.png'" % tmp_path,
    ]


def test_missing_images_and_bad_files(tmp_path):
    path = _folder(tmp_path, [["gone.png", list(map(float, FRONTAL))]], images=())
    message = r"^dataset.json: 1 problem\(s\): 1 labelled image\(s\) missing from .*'gone.png'$"
    with pytest.raises(ValueError, match=message):
        dj.load_dataset_json(path)
    (tmp_path / "bad.json").write_text("{")
    assert "not valid JSON" in dj.check_dataset_json(tmp_path / "bad.json")[1][0]
    (tmp_path / "list.json").write_text("[]")
    assert dj.check_dataset_json(tmp_path / "list.json")[1] == [f"{tmp_path / 'list.json'}: expected an object with a "
                                                               "'labels' list, got list"]
