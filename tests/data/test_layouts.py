"""Dataset layouts as users have them: EG3D dataset_tool zip archives, PanoHead string labels,
GOAE's label.json mapping; read in place (folder.py) and through the tfds builder."""
import json
import math
import zipfile

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from inversion3d import camera
from inversion3d.data import folder
from inversion3d.data.tfds_builder import AlignedFolder, AlignedFolderConfig

RES = 8


def _labels(n):
    return camera.make_label(camera.lookat_pose(math.pi / 2 + np.linspace(-0.4, 0.4, n), np.full(n, 1.5)),
                             camera.intrinsics_matrix(camera.FFHQ_FOCAL))


def _png_bytes(arr):
    import io
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def eg3d_zip(tmp_path_factory):
    path = tmp_path_factory.mktemp("zip") / "FFHQ_8.zip"
    rs = np.random.RandomState(0)
    labels = _labels(3)
    images = {f"00000/img{i:08d}.png": rs.randint(0, 256, (RES, RES, 3)).astype(np.uint8) for i in range(3)}
    with zipfile.ZipFile(path, "w") as z:
        for name, img in images.items():
            z.writestr(name, _png_bytes(img))
        z.writestr("dataset.json", json.dumps({"labels": [[n, labels[i].tolist()] for i, n in enumerate(images)]}))
    return path, images, labels


def test_zip_archive_read_in_place(eg3d_zip):
    path, images, labels = eg3d_zip
    got = folder.read_labels(str(path))
    assert list(got) == list(images)
    for i, name in enumerate(images):
        ex = folder.load_example(str(path), name, got[name])
        np.testing.assert_array_equal(ex["image"], images[name])
        np.testing.assert_allclose(ex["c"], labels[i])
    assert folder.available_splits(str(path)) == ["train"]


def test_zip_archive_through_tfds(eg3d_zip, tmp_path):
    path, images, _ = eg3d_zip
    cfg = AlignedFolderConfig(name="zip", resolution=RES, root=str(path))
    AlignedFolder(config=cfg, data_dir=str(tmp_path)).download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(tmp_path)))
    source = AlignedFolder(config=cfg, data_dir=str(tmp_path)).as_data_source("train")
    assert len(source) == len(images)


def test_panohead_string_labels_and_goae_mapping(tmp_path):
    labels = _labels(2)
    Image.fromarray(np.zeros((RES, RES, 3), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((RES, RES, 3), np.uint8)).save(tmp_path / "b.png")
    strings = [[n, [f"{v:.6f}" for v in labels[i]]] for i, n in enumerate(["a.png", "b.png"])]
    (tmp_path / "dataset.json").write_text(json.dumps({"labels": strings}))
    got = folder.read_labels(str(tmp_path))
    np.testing.assert_allclose(got["b.png"], labels[1], atol=1e-6)
    (tmp_path / "dataset.json").unlink()
    (tmp_path / "label.json").write_text(json.dumps({"a.png": labels[0].tolist(), "b.png": labels[1].tolist()}))
    assert list(folder.read_labels(str(tmp_path))) == ["a.png", "b.png"]


@pytest.mark.parametrize("content,needle", [
    ({"labels": [["a.png", ["x"] * 25]]}, "label of 'a.png' is not 25 numbers"),
    ({"labels": [["a.png", [0.0] * 24]]}, "expected 25 values, got 24"),
    ({"labels": 3}, "expected {'labels'"),
])
def test_bad_labels_named(tmp_path, content, needle):
    (tmp_path / "dataset.json").write_text(json.dumps(content))
    with pytest.raises(ValueError, match=needle.replace("(", r"\(").replace("[", r"\[").replace("{", r"\{")):
        folder.read_labels(str(tmp_path))


def test_missing_member_named(eg3d_zip):
    with pytest.raises(ValueError, match="no 00000/nope.png in"):
        folder.load_example(str(eg3d_zip[0]), "00000/nope.png", np.zeros(25))
