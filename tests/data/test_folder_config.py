"""`tfds_builder.folder_config`: one prepared copy per dataset and parameters, one-line errors for
folders that are no aligned dataset (issue 20 A2)."""
import json

import numpy as np
import pytest
from PIL import Image

from inversion3d.data import folder
from inversion3d.data.tfds_builder import AlignedFolder, folder_config


def _aligned(root, size=16, n=2):
    root.mkdir()
    for i in range(n):
        Image.fromarray(np.full((size, size, 3), 40 * i, np.uint8)).save(root / f"a{i}.png")
    (root / "dataset.json").write_text(json.dumps({"labels": [[f"a{i}.png", [0.0] * 25] for i in range(n)]}))
    return root


def test_names_by_dataset_and_parameters(tmp_path):
    one, two = _aligned(tmp_path / "faces"), _aligned(tmp_path / "heads")
    names = {folder_config(one, 16).name, folder_config(one, 8).name, folder_config(one, 16, with_mask=True).name,
             folder_config(two, 16).name, folder_config(one, 16, name="ffhq").name}
    assert len(names) == 5
    assert folder_config(one, 16).name.startswith("faces_r16_") and folder_config(one, 16, name="ffhq").name.startswith(
        "ffhq_r16_")
    assert folder_config(one, 16).name == folder_config(str(one) + "/", 16).name  # the same dataset, the same copy


@pytest.mark.parametrize("case,needle", [("empty", "is empty"), ("missing", "no aligned folder"),
                                         ("no_json", "no dataset.json"), ("blank", "got ''")])
def test_not_an_aligned_folder_is_one_line(case, needle, tmp_path):
    root = tmp_path / case
    if case in ("empty", "no_json"):
        root.mkdir()
    if case == "no_json":
        (root / "a.png").write_bytes(b"")
    with pytest.raises(ValueError) as err:
        folder_config("" if case == "blank" else root, 32)
    assert "\n" not in str(err.value) and needle in str(err.value) and (case == "blank" or str(root) in str(err.value))


def test_any_resolution_prepares_and_downscales(tmp_path):
    root = _aligned(tmp_path / "faces", size=16)
    for resolution, downscale in ((16, False), (8, True)):
        builder = AlignedFolder(config=folder_config(root, resolution, downscale=downscale), data_dir=str(tmp_path))
        builder.download_and_prepare()
        source = builder.as_data_source("train")
        ex = next(source[i] for i in range(len(source)) if int(source[i]["index"]) == 1)  # a1.png, all 40
        assert ex["image"].shape == (resolution, resolution, 3) and int(ex["image"].mean()) == 40
    with pytest.raises(ValueError, match="expected resolution 8"):
        AlignedFolder(config=folder_config(root, 8), data_dir=str(tmp_path)).download_and_prepare()


def test_area_resize_averages_blocks():
    image = np.arange(16, dtype=np.uint8).reshape(4, 4, 1).repeat(3, axis=2) * 10
    depth = np.arange(16, dtype=np.float32).reshape(4, 4)
    out = folder.area_resize({"image": image, "depth": depth, "c": np.zeros(25)}, 2)
    want = depth.reshape(2, 2, 2, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(out["depth"], want)
    np.testing.assert_array_equal(out["image"][..., 0], np.round(want * 10).astype(np.uint8))
