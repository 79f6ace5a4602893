"""The procedural head dataset (data/synthetic): determinism, cameras, analytic depth, masks, the
written folder read back by data/folder.py and the tfds builder, accessory masks.

One renderer compile per part list: every render here is 7 views of 32 px (a test scene's input view
+ 6 held-out views, or 7 train scenes with batch 7)."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

from configs import synthetic_heads
from inversion3d import camera
from inversion3d.app import cli
from inversion3d.data import folder
from inversion3d.data.synthetic import builder, parts, render, scene, writer
from inversion3d.data.tfds_builder import AlignedFolder
from inversion3d.rendering.rays import sample_rays
from tests.tolerances import assert_close_f32

RES = 32
VIEWS = 7  # the input view + the 6 held-out views of configs/synthetic_heads.py


def _plan(split, **overrides):
    cfg = synthetic_heads.get_config()
    cfg.split, cfg.resolution, cfg.batch, cfg.chunk = split, RES, VIEWS, 4
    cfg.update(overrides)
    return writer.plan_from_config(cfg)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A root with 6 train scenes (chunks of 4) and 2 test scenes, written by the command."""
    root = str(tmp_path_factory.mktemp("synth"))
    common = ["--config", "configs/synthetic_heads.py", f"--config.resolution={RES}", f"--config.batch={VIEWS}",
              "--config.chunk=4", "--out", root]
    assert cli.main(["synth-data", "--config.split=train", "--config.num_scenes=6", *common]) == 0
    assert cli.main(["synth-data", "--config.split=test", "--config.num_scenes=2", *common]) == 0
    return root


def test_scenes_are_deterministic_per_index():
    plan = _plan("train")
    scenes_a, yaw_a, pitch_a, labels_a = writer.scene_views(plan, [3, 5, 9])
    scenes_b, yaw_b, pitch_b, labels_b = writer.scene_views(plan, [9, 5])  # other batch, other order
    for key in ("centre", "radii", "albedo", "on", "light"):
        np.testing.assert_allclose(np.asarray(scenes_a[key])[[2, 1]], np.asarray(scenes_b[key]), rtol=1e-6)
    np.testing.assert_allclose(labels_a[[2, 1]], labels_b, rtol=1e-6, atol=1e-7)
    other_seed = writer.scene_views(_plan("train", seed=1), [3])[0]
    assert not np.allclose(np.asarray(other_seed["centre"]), np.asarray(scenes_a["centre"])[:1])
    other_split = writer.scene_views(_plan("test"), [3])[0]
    assert not np.allclose(np.asarray(other_split["centre"]), np.asarray(scenes_a["centre"])[:1])


@pytest.mark.parametrize("split", ["train", "test", pytest.param("train360", marks=pytest.mark.slow)])
def test_labels_are_lookat_cameras(split):
    plan = _plan(split)
    _, yaw, pitch, labels = writer.scene_views(plan, np.arange(8))
    pose, k = camera.split_label(labels.reshape(-1, 25).astype(np.float64))
    rot, pos = pose[:, :3, :3], pose[:, :3, 3]
    np.testing.assert_allclose(rot @ rot.transpose(0, 2, 1), np.broadcast_to(np.eye(3), rot.shape), atol=1e-5)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(pos, axis=-1), plan.radius, rtol=1e-5)
    to_pivot = np.asarray(plan.pivot) - pos
    np.testing.assert_allclose(rot[:, :, 2], to_pivot / np.linalg.norm(to_pivot, axis=-1, keepdims=True), atol=1e-5)
    np.testing.assert_allclose(rot[:, 1, 0], 0.0, atol=1e-6)  # no roll: camera x stays level
    np.testing.assert_allclose(k, np.broadcast_to(camera.intrinsics_matrix(plan.focal), k.shape), atol=1e-6)
    input_yaw = yaw[:, 0]
    limit = np.pi if split == "train360" else plan.poses["yaw_clip"]
    assert np.all(np.abs(input_yaw) <= limit + 1e-6) and np.all(np.abs(pitch[:, 0]) <= plan.poses["pitch_clip"] + 1e-6)
    if split == "test":
        np.testing.assert_allclose(yaw[:, 1:], np.broadcast_to(np.asarray(plan.views)[:, 0], yaw[:, 1:].shape))


def test_depth_of_a_sphere_is_the_ray_sphere_distance():
    plan = _plan("test")
    scenes, _, _, labels = writer.scene_views(plan, [0])
    ids = scene.part_ids(False)
    sphere = int(np.flatnonzero(np.array(parts.NAMES)[ids] == "cranium")[0])  # an axis-aligned skin part
    centre, radius = np.array([0.03, -0.02, 0.1], np.float32), 0.25
    one = {k: v[0] for k, v in scenes.items()}
    one["on"] = jnp.zeros_like(one["on"]).at[sphere].set(1.0)
    one["centre"] = one["centre"].at[sphere].set(centre)
    one["radii"] = one["radii"].at[sphere].set(radius)
    tiled = jax.tree.map(lambda x: jnp.broadcast_to(x, (VIEWS,) + x.shape), one)
    pose, k = camera.split_label(labels[0])
    out = render.make_renderer(RES, ids, plan.trace)(tiled, jnp.asarray(pose), jnp.asarray(k))
    origins, dirs = (np.asarray(a, np.float64) for a in sample_rays(pose, k, RES))
    oc = origins - centre
    b = np.sum(oc * dirs, -1)
    disc = b * b - (np.sum(oc * oc, -1) - radius ** 2)
    t_ref = (-b - np.sqrt(np.maximum(disc, 0))).reshape(VIEWS, RES, RES)
    incidence = (np.sqrt(np.maximum(disc, 0)) / radius).reshape(VIEWS, RES, RES)  # cos of the incidence angle
    depth, mask = np.asarray(out["depth"]), np.asarray(out["mask"])
    clear = incidence > 0.2  # away from the silhouette, where the tracer converges in its steps
    assert clear.mean() > 0.2 and np.all(mask[clear] == 1)
    gap = np.sqrt(np.maximum(np.sum(oc * oc, -1) - b * b, 0)) - radius  # closest approach of a ray
    footprint = plan.radius / (plan.focal * RES)
    assert np.all(mask[gap.reshape(mask.shape) > plan.trace.crease_px * footprint] == 0)  # render.py's hit rule
    # the distance at the found point carries ~10 float32 roundings of quantities of size |o| = 2.7;
    # along the ray that error grows by 1 / cos(incidence)
    assert_close_f32(depth[clear] * incidence[clear], t_ref[clear] * incidence[clear], n_reduce=10, scale=plan.radius)
    np.testing.assert_array_equal(np.isfinite(depth), mask > 0)


def test_folder_reader_loads_train_and_test_views(written):
    labels = folder.read_labels(written)
    assert folder.available_splits(written) == ["test", "test_input", "train"]
    train = folder.split_names(written, "train", labels)
    test = folder.split_names(written, "test", labels)
    assert len(train) == 6 and len(test) == 2 * VIEWS and len(labels) == 6 + 2 * VIEWS
    assert folder.split_names(written, "test_input", labels) == [n for n in test if n.endswith("_v00.png")]
    _, _, _, ref = writer.scene_views(_plan("test"), [0, 1])
    for i, name in enumerate(test):
        ex = folder.load_example(written, name, labels[name], with_mask=True, with_depth=True)
        assert ex["image"].shape == (RES, RES, 3) and ex["image"].std() > 10
        np.testing.assert_array_equal(ex["c"], ref.reshape(-1, 25)[i])
        np.testing.assert_array_equal(np.isfinite(ex["depth"]), ex["mask"] == 255)
        assert 0.1 < (ex["mask"] > 0).mean() < 0.9
        assert np.all((ex["depth"][ex["mask"] > 0] > 2.0) & (ex["depth"][ex["mask"] > 0] < 3.3))
    ex = folder.load_example(written, train[5], labels[train[5]])
    assert train[5] == "train/00001/img00000005.png" and ex["image"].shape == (RES, RES, 3)
    with open(os.path.join(written, "test_views.json")) as f:
        rows = json.load(f)["rows"]
    assert [r[0] for r in rows] == test and [r[2] for r in rows[:VIEWS]] == list(range(VIEWS))


def test_tfds_builder_reads_the_test_split(written, tmp_path):
    cfg = builder.tfds_config(written, "test", RES)
    AlignedFolder(config=cfg, data_dir=str(tmp_path)).download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(tmp_path)))
    source = AlignedFolder(config=cfg, data_dir=str(tmp_path)).as_data_source("test")
    assert len(source) == 2 * VIEWS
    assert len(AlignedFolder(config=cfg, data_dir=str(tmp_path)).as_data_source("test_input")) == 2
    labels = folder.read_labels(written)
    ex = source[3]
    name = folder.split_names(written, "test", labels)[int(ex["index"]) - 6]
    np.testing.assert_array_equal(ex["depth"], folder.load_example(written, name, labels[name], True, True)["depth"])
    assert ex["name"].decode("utf-8") == name  # with_views: the name, scene and view of its test_views.json row
    assert (int(ex["scene"]), int(ex["view"])) == folder.read_views(written)[name]
    assert int(ex["view"]) == int(name[-6:-4]) and int(ex["scene"]) == int(name[-16:-8])  # img<scene>_v<view>.png


def test_rerun_resumes_and_refuses_another_config(written):
    before = os.path.getmtime(os.path.join(written, "train", "00000", "labels.json"))
    args = ["synth-data", "--config", "configs/synthetic_heads.py", f"--config.resolution={RES}",
            f"--config.batch={VIEWS}", "--config.chunk=4", "--config.split=train", "--config.num_scenes=6",
            "--out", written]
    assert cli.main(args) == 0
    assert os.path.getmtime(os.path.join(written, "train", "00000", "labels.json")) == before
    assert cli.main(args[:-3] + ["--config.seed=5", "--out", written]) == 2
    assert not any(n.startswith(".tmp-") for n in os.listdir(written))


def test_ood_accessories_have_masks():
    plan = _plan("ood")
    out = writer.render_scenes(plan, [0])  # one scene, 7 views
    occluder, mask = out["occluder"][0] > 0, out["mask"][0] > 0
    assert np.all(occluder <= mask)
    assert occluder[0].sum() > 0  # the input view shows the accessories (at least one is always on)
    scenes = writer.scene_views(plan, np.arange(8))[0]
    on = np.asarray(scenes["on"])
    groups = np.array(parts.GROUPS)[scene.part_ids(True)]
    per_kind = np.stack([on[:, groups == a].max(1) for a in parts.ACCESSORIES], 1)
    assert np.all(per_kind.sum(1) >= 1) and per_kind.sum() < per_kind.size


@pytest.mark.parametrize("override,needle", [("--config.split=val", "--config.split: expected one of"),
                                             ("--config.num_scenes=0", "--config.num_scenes: expected >= 1")])
def test_bad_config_is_one_line_before_rendering(tmp_path, capsys, override, needle):
    code = cli.main(["synth-data", "--config", "configs/synthetic_heads.py", override, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0] and not (tmp_path / "o").exists()


def test_attribute_labels_from_the_recorded_plan(written):
    """The classifier's labels (data/synthetic/attributes.py): the plan read back from synth_<split>.json
    is the one written; long_hair is 1 exactly where a side / back hair part is switched on; a label
    set is the same whichever batch computes it."""
    from inversion3d.data.synthetic import attributes

    plan = attributes.plan_from_record(written, "train")
    assert plan == _plan("train")
    names, idx = attributes.split_images(written, "train")
    assert names[5].endswith("img00000005.png") and list(idx) == list(range(6))
    labels = attributes.scene_attributes(plan, idx, 0.62, 0.2)
    assert labels.shape == (6, 3) and set(np.unique(labels)) <= {0.0, 1.0}
    # exact: thresholded labels; these 6 scenes' lumas lie >= 0.058 from the thresholds (measured), far beyond
    # any float32 difference between batch layouts
    np.testing.assert_array_equal(attributes.scene_attributes(plan, idx[::-1], 0.62, 0.2, batch=4), labels[::-1])
    on = np.asarray(writer.scene_views(plan, idx)[0]["on"])
    ids = scene.part_ids(False)
    long_parts = [j for j, i in enumerate(ids) if parts.NAMES[i] in ("hair_side_l", "hair_back")]
    np.testing.assert_array_equal(labels[:, 0], on[:, long_parts].max(axis=1))
    with pytest.raises(ValueError, match="cannot read .*synth_ood.json"):
        attributes.plan_from_record(written, "ood")
