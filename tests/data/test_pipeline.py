"""tfds builder for aligned folders (no TensorFlow) + grain pipeline: splits, values, shuffling,
per-host sharding, mirroring, and exact iterator-state restore through the device prefetcher."""
import json
import math
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from inversion3d import camera
from inversion3d.camera import mirror_label
from inversion3d.data import pipeline
from inversion3d.data.tfds_builder import AlignedFolder, AlignedFolderConfig
from inversion3d.training.inputs import DeviceIterator
from inversion3d.training.sharding import make_mesh

RES, NUM = 8, 6


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("aligned")
    rs = np.random.RandomState(0)
    labels = camera.make_label(camera.lookat_pose(math.pi / 2 + rs.uniform(-0.5, 0.5, NUM), np.full(NUM, 1.5)),
                               camera.intrinsics_matrix(camera.FFHQ_FOCAL))
    (root / "00000").mkdir()
    (root / "masks" / "00000").mkdir(parents=True)
    (root / "depth" / "00000").mkdir(parents=True)
    names, arrays = [], {}
    for i in range(NUM):
        name = f"00000/img{i:08d}.png"
        img = rs.randint(0, 256, (RES, RES, 3)).astype(np.uint8)
        mask = rs.randint(0, 256, (RES, RES)).astype(np.uint8)
        depth = rs.rand(RES, RES).astype(np.float32)
        Image.fromarray(img).save(root / name)
        Image.fromarray(mask).save(root / "masks" / name)
        np.save(root / "depth" / f"00000/img{i:08d}.npy", depth)
        names.append(name)
        arrays[name] = (img, mask, depth, labels[i])
    (root / "dataset.json").write_text(json.dumps({"labels": [[n, labels[i].tolist()] for i, n in enumerate(names)]}))
    (root / "train.txt").write_text("\n".join(names[:4]) + "\n")
    (root / "test.txt").write_text("\n".join(names[4:]) + "\n")
    data_dir = tmp_path_factory.mktemp("tfds")
    cfg = AlignedFolderConfig(name="tiny", resolution=RES, with_mask=True, with_depth=True)
    AlignedFolder(config=cfg, data_dir=str(data_dir)).download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(root)))
    builder = AlignedFolder(config=cfg, data_dir=str(data_dir))
    return builder, names, arrays


def test_builder_splits_and_values_without_tensorflow(folder):
    builder, names, arrays = folder
    train, test = builder.as_data_source("train"), builder.as_data_source("test")
    assert (len(train), len(test)) == (4, 2)
    got = {names[int(ex["index"])]: ex for ex in (train[i] for i in range(4))}
    assert sorted(got) == sorted(names[:4])
    for name, ex in got.items():
        img, mask, depth, label = arrays[name]
        np.testing.assert_array_equal(ex["image"], img)
        np.testing.assert_array_equal(ex["mask"], mask)
        np.testing.assert_array_equal(ex["depth"], depth)
        np.testing.assert_array_equal(ex["c"], label)
    assert "tensorflow" not in sys.modules


def _epoch_indices(ds, n):
    return [int(i) for b in (ds[k] for k in range(n)) for i in b["index"]]


def test_deterministic_per_epoch_shuffle(folder):
    train = folder[0].as_data_source("train")
    a = pipeline.grain_dataset(train, 2, seed=3, drop_keys=())
    b = pipeline.grain_dataset(train, 2, seed=3, drop_keys=())
    ia, ib = _epoch_indices(a, 4), _epoch_indices(b, 4)
    assert ia == ib
    assert sorted(ia[:4]) == sorted(ia[4:]) and len(set(ia[:4])) == 4  # each epoch a permutation
    assert ia != _epoch_indices(pipeline.grain_dataset(train, 2, seed=4, drop_keys=()), 4)


def test_two_hosts_split_the_global_batch(folder):
    train = folder[0].as_data_source("train")
    one = pipeline.grain_dataset(train, 4, seed=1, mirror_prob=0.5)
    hosts = [pipeline.grain_dataset(train, 2, seed=1, mirror_prob=0.5, process_index=p, process_count=2)
             for p in range(2)]
    for step in range(3):
        for key in ("image", "c", "mask", "depth"):
            np.testing.assert_array_equal(np.concatenate([h[step][key] for h in hosts]), one[step][key])


def test_mirror_flips_image_and_camera(folder):
    train = folder[0].as_data_source("train")
    plain = pipeline.grain_dataset(train, 4, seed=1)[0]
    mirrored = pipeline.grain_dataset(train, 4, seed=1, mirror_prob=1.0)[0]
    np.testing.assert_array_equal(mirrored["image"], plain["image"][:, :, ::-1])
    np.testing.assert_array_equal(mirrored["mask"], plain["mask"][:, :, ::-1])
    np.testing.assert_array_equal(mirrored["c"], mirror_label(plain["c"]))
    assert plain["image"].dtype == np.float32 and -1.0 <= plain["image"].min() <= plain["image"].max() <= 1.0


def test_one_row_per_process(folder):
    """Batch 1 per process (a global batch of 2 on 2 processes, or 1 on one): grain's endless dataset
    used to overflow len() here. The two processes' rows are the 2-row batch; resume is exact."""
    train = folder[0].as_data_source("train")
    two = pipeline.grain_dataset(train, 2, seed=7, mirror_prob=0.5, drop_keys=())
    hosts = [pipeline.grain_dataset(train, 1, seed=7, mirror_prob=0.5, process_index=p, process_count=2,
                                    drop_keys=()) for p in range(2)]
    single = pipeline.grain_dataset(train, 1, seed=7, mirror_prob=0.5, drop_keys=())
    for step in range(5):  # past the first epoch (4 rows)
        for key in ("image", "c", "index"):
            np.testing.assert_array_equal(np.concatenate([h[step][key] for h in hosts]), two[step][key])
            np.testing.assert_array_equal(np.concatenate([single[2 * step][key], single[2 * step + 1][key]]),
                                          two[step][key])
    assert single[0]["image"].shape == (1, RES, RES, 3)
    it = DeviceIterator(single, make_mesh(1), prefetch=1)
    next(it)
    state = it.get_state()
    expected = [np.asarray(next(it)["image"]) for _ in range(3)]
    fresh = DeviceIterator(pipeline.grain_dataset(train, 1, seed=7, mirror_prob=0.5, drop_keys=()), make_mesh(1),
                           prefetch=1)
    fresh.set_state(json.loads(json.dumps(state)))
    for e in expected:
        np.testing.assert_array_equal(np.asarray(next(fresh)["image"]), e)
    with pytest.raises(ValueError, match="local_batch"):
        pipeline.grain_dataset(train, 0, seed=7)


@pytest.mark.parametrize("read_threads", [0, 2])
def test_iterator_state_restores_exact_next_batches(folder, read_threads):
    train = folder[0].as_data_source("train")
    mesh = make_mesh(1)
    ds = pipeline.grain_dataset(train, 2, seed=5, mirror_prob=0.5)
    it = DeviceIterator(ds, mesh, prefetch=2, read_threads=read_threads)
    for _ in range(3):
        next(it)
    state = it.get_state()
    expected = [np.asarray(next(it)["image"]) for _ in range(3)]
    fresh = DeviceIterator(pipeline.grain_dataset(train, 2, seed=5, mirror_prob=0.5), mesh, prefetch=2,
                           read_threads=read_threads)
    fresh.set_state(json.loads(json.dumps(state)))  # what the checkpoint stores
    for e in expected:
        np.testing.assert_array_equal(np.asarray(next(fresh)["image"]), e)


def test_bad_folder(tmp_path):
    from inversion3d.data import folder as folder_lib

    with pytest.raises(ValueError, match="dataset.json"):
        folder_lib.read_labels(str(tmp_path))
