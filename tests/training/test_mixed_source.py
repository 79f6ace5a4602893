"""data.source='mixed' (training/inputs.MixedSource through loop.make_input): aligned-folder photos and
generator pseudo-pairs in one batch at data.pseudo_fraction (issue 14 item 6). The pairs come from the
cheap synthetic stand-in (data/pseudo_pairs.make_synthetic_pairs, same interface as the generator's)."""
import math
import types

import jax
import ml_collections
import numpy as np
import pytest
from PIL import Image

from inversion3d import camera
from inversion3d.camera import mirror_label
from inversion3d.data import pseudo_pairs
from inversion3d.preprocess.dataset_json import write_dataset_json
from inversion3d.training import inputs, loop, sharding

B, RES, PHOTOS = 8, 16, 4


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed_photos")
    rs = np.random.RandomState(0)
    labels = camera.make_label(camera.lookat_pose(math.pi / 2 + np.linspace(-0.3, 0.3, PHOTOS),
                                                  np.full(PHOTOS, math.pi / 2), radius=camera.FFHQ_RADIUS),
                               camera.intrinsics_matrix(camera.FFHQ_FOCAL)).astype(np.float32)
    for i in range(PHOTOS):
        Image.fromarray(rs.randint(0, 256, (2 * RES, 2 * RES, 3)).astype(np.uint8)).save(root / f"p{i}.png")
    write_dataset_json(root / "dataset.json", [(f"p{i}.png", labels[i]) for i in range(PHOTOS)])
    return root, labels


def _config(folder, tmp, source="mixed", fraction=0.375, mirror=1.0):
    data = ml_collections.ConfigDict(dict(
        source=source, pseudo_fraction=fraction, num_pairs=0, folder=str(folder), name="", tfds_dir=str(tmp / "tfds"),
        resolution=RES, mirror_prob=mirror, prefetch=1, read_threads=0,
        poses=dict(kind="gaussian", yaw_std=0.3, pitch_std=0.15, radius=2.7, pivot=(0.0, 0.0, 0.2), focal=4.2647)))
    return ml_collections.ConfigDict(dict(batch_size=B, seed=0, data=data))


@pytest.fixture(scope="module")
def parts(folder, tmp_path_factory):
    """(make(source, fraction) -> a fresh input of loop.make_input, mesh); pairs from one synthetic target."""
    root, _ = folder
    tmp = tmp_path_factory.mktemp("mixed_tfds")
    mesh = sharding.make_mesh(1)
    cfg = _config(root, tmp)
    method = types.SimpleNamespace(pair_fn=pseudo_pairs.make_synthetic_pairs(cfg.data, num_ws=2, w_dim=4))
    frozen = {"synthetic": pseudo_pairs.init_synthetic(jax.random.PRNGKey(3), 2, 4, RES)}
    key = jax.random.PRNGKey(5)
    make = lambda source="mixed", fraction=0.375: loop.make_input(  # noqa: E731
        _config(root, tmp, source, fraction), method, frozen, key, mesh)
    return make


def _take(source, n):
    return [jax.tree.map(np.asarray, next(source)) for _ in range(n)]


def test_rows_are_pairs_or_photos_at_the_fraction(parts):
    mixed, photos, pairs = parts(), parts("folder"), parts("generator")
    for k, (m, f, p) in enumerate(zip(_take(mixed, 4), _take(photos, 4), _take(pairs, 4))):
        rows = np.asarray(mixed.pseudo_rows(k))
        assert rows.sum() == 3  # 0.375 * 8, every batch
        assert sorted(m) == ["c", "image"]
        for key in ("image", "c"):
            np.testing.assert_array_equal(m[key][rows], p[key][rows])
            np.testing.assert_array_equal(m[key][~rows], f[key][~rows])


def test_fraction_with_rounding_and_extremes():
    key = jax.random.PRNGKey(0)
    counts = [int(inputs.pseudo_rows(key, k, B, 0.3).sum()) for k in range(200)]
    assert set(counts) == {2, 3}  # 2.4 rows: two or three
    assert abs(np.mean(counts) / B - 0.3) < 0.03, np.mean(counts) / B
    assert int(inputs.pseudo_rows(key, 7, B, 0.0).sum()) == 0 and int(inputs.pseudo_rows(key, 7, B, 1.0).sum()) == B


def test_resume_gives_the_same_batches(parts):
    a = parts()
    _take(a, 3)
    state = a.get_state()
    want = _take(a, 3)
    b = parts()
    b.set_state(state)
    got = _take(b, 3)
    for x, y in zip(want, got):
        jax.tree.map(np.testing.assert_array_equal, x, y)


def test_labels_are_valid_cameras_and_photos_mirrored(parts, folder):
    """Both sources give 25-D labels (rotation in SO(3), normalised intrinsics); with mirror_prob 1 every
    photo row carries the mirrored camera of a dataset.json label."""
    _, labels = folder
    mixed = parts()
    mirrored = mirror_label(labels)
    for k, batch in enumerate(_take(mixed, 3)):
        c = batch["c"]
        assert c.shape == (B, 25) and np.all(np.isfinite(c))
        pose, intr = camera.split_label(c)
        rot = pose[:, :3, :3]
        np.testing.assert_allclose(rot @ np.swapaxes(rot, 1, 2), np.broadcast_to(np.eye(3), rot.shape), atol=1e-5)
        np.testing.assert_allclose(np.abs(np.linalg.det(rot)), 1.0, atol=1e-5)
        np.testing.assert_allclose(intr[:, 2], np.broadcast_to([0, 0, 1], (B, 3)))
        np.testing.assert_allclose(intr[:, 0, 0], camera.FFHQ_FOCAL, rtol=1e-6)
        rows = np.asarray(mixed.pseudo_rows(k))
        for row in c[~rows]:
            assert np.min(np.abs(mirrored - row).max(axis=1)) < 1e-6, row


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_fraction_outside_0_1_is_an_error(parts, fraction):
    with pytest.raises(ValueError, match="pseudo_fraction") as err:
        parts(fraction=fraction)
    assert "\n" not in str(err.value)
