"""Writing a synthetic split in the aligned-folder layout (data/folder.py), resumably and atomically.

  <root>/<split>/<chunk:05d>/img<scene:08d>[_v<view:02d>].png   images (view 00 is the input view)
  <root>/masks/<same path>            foreground masks (test, train360, test360, ood)
  <root>/depth/<same path minus .png>.npy   float32 distance along the ray, +inf off the head (same)
  <root>/occluders/<same path>        accessory masks (ood)
  <root>/<split>/<chunk>/labels.json  the chunk's labels and views (written last: the chunk is done)
  <root>/<split>.txt, <split>_input.txt (input views only, multi-view splits), <split>_views.json
  <root>/dataset.json                 every split's labels (EG3D dataset_tool layout), rebuilt each run
  <root>/synth_<split>.json           the config a split was made with (a rerun must match it)
A chunk is rendered into <root>/.tmp-<split>-<chunk>/ and renamed into place (its image folder
last), so an interrupted run leaves no half-written chunk and a rerun skips finished chunks.
"""
import functools
import json
import math
import os
import shutil
from typing import NamedTuple, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image

from inversion3d import camera
from inversion3d.data.synthetic import parts, poses, render, scene
from inversion3d.files import atomic_write


class Split(NamedTuple):
    """id: folded into the seed (splits never share scenes); full_turn: input yaw over 360 degrees
    (PanoHead pivot); multiview: held-out views with depth and masks; accessories: the ood occluders."""
    id: int
    full_turn: bool
    multiview: bool
    accessories: bool


SPLITS = {"train": Split(0, False, False, False), "test": Split(1, False, True, False),
          "train360": Split(2, True, False, False), "test360": Split(3, True, True, False),
          "ood": Split(4, False, True, True)}
_EXTRA_DIRS = ("masks", "depth", "occluders")


class Plan(NamedTuple):
    """Everything a split's rendering needs, from the config (see configs/synthetic_heads.py)."""
    split: str
    seed: int
    resolution: int
    chunk: int
    batch: int
    pivot: Tuple[float, float, float]
    radius: float
    focal: float
    poses: dict
    views: Tuple[Tuple[float, float], ...]  # (yaw, pitch) offsets; the input view is prepended
    scene: scene.SceneSpec
    trace: render.TraceSpec


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def plan_from_config(cfg) -> Plan:
    """A Plan from a configs/synthetic_heads.py config; one-line ValueErrors for bad values."""
    if cfg.split not in SPLITS:
        raise ValueError(f"--config.split: expected one of {tuple(SPLITS)}, got {cfg.split!r}")
    for key, low in (("num_scenes", 1), ("resolution", 8), ("chunk", 1), ("batch", 1)):
        if int(cfg[key]) < low:
            raise ValueError(f"--config.{key}: expected >= {low}, got {cfg[key]}")
    kind = SPLITS[cfg.split]
    fields = {k: _tuples(v) for k, v in cfg.scene.items()}
    if kind.full_turn:
        fields["light_azimuth"] = _tuples(cfg.light_azimuth_360)
    if kind.accessories:
        fields["accessory_probs"] = _tuples(cfg.ood_accessory_probs)
    elif any(fields["accessory_probs"]):
        raise ValueError("--config.scene.accessory_probs: accessories belong to the ood split, expected zeros")
    views = () if not kind.multiview else _tuples(cfg.test_views_360 if kind.full_turn else cfg.test_views)
    trace = {k: _tuples(v) for k, v in cfg.trace.items()}
    return Plan(cfg.split, int(cfg.seed), int(cfg.resolution), int(cfg.chunk), int(cfg.batch),
                _tuples(cfg.camera.pivot360 if kind.full_turn else cfg.camera.pivot), float(cfg.camera.radius),
                float(cfg.camera.focal), dict(cfg.poses), views, scene.SceneSpec(**fields), render.TraceSpec(**trace))


def scene_keys(plan: Plan, indices):
    """(N,) scene indices -> (N, 2) keys: scene i of a split is fold_in(fold_in(PRNGKey(seed), split id), i)."""
    split_key = jax.random.fold_in(jax.random.PRNGKey(plan.seed), SPLITS[plan.split].id)
    return jax.vmap(lambda i: jax.random.fold_in(split_key, i))(jnp.asarray(indices, jnp.uint32))


class _Poses(NamedTuple):
    yaw_std: float
    yaw_clip: float
    pitch_std: float
    pitch_clip: float


@functools.lru_cache(maxsize=8)
def _sampler(spec, pose_spec, full_turn):
    """jit(vmap) of one scene's shape (fold_in(key, 0)) and input angles (fold_in(key, 1))."""

    def one(key):
        yaw, pitch = poses.input_angles(jax.random.fold_in(key, 1), pose_spec, full_turn)
        return scene.sample_scene(jax.random.fold_in(key, 0), spec), yaw, pitch

    return jax.jit(jax.vmap(one))


def scene_views(plan: Plan, indices):
    """Scenes and cameras of scene indices (N,): (scenes (pytree with leading N), yaw (N, V), pitch
    (N, V), labels (N, V, 25)); V = 1 + len(plan.views), view 0 the input view."""
    indices = np.asarray(indices).reshape(-1)
    n = len(indices)
    bucket = max(8, 1 << (n - 1).bit_length())  # few batch shapes, so few compilations
    keys = scene_keys(plan, np.concatenate([indices, np.full(bucket - n, indices[-1])]))
    pose_spec = _Poses(**{k: float(plan.poses[k]) for k in _Poses._fields})
    scenes, yaw, pitch = _sampler(plan.scene, pose_spec, SPLITS[plan.split].full_turn)(keys)
    scenes, yaw, pitch = jax.tree.map(lambda x: x[:n], (scenes, yaw, pitch))
    yaw, pitch = np.asarray(yaw, np.float64)[:, None], np.asarray(pitch, np.float64)[:, None]
    if plan.views:
        held = np.asarray(plan.views, np.float64)
        yaw = np.concatenate([yaw, np.broadcast_to(held[:, 0], (len(yaw), len(held)))], 1)
        pitch = np.concatenate([pitch, np.broadcast_to(held[:, 1], (len(pitch), len(held)))], 1)
    labels = poses.labels(yaw.reshape(-1), pitch.reshape(-1), plan.pivot, plan.radius, plan.focal)
    return scenes, yaw, pitch, labels.reshape(yaw.shape + (25,))


def image_name(plan: Plan, index: int, view: int):
    """Relative path of a scene's view (the dataset.json key)."""
    stem = f"{plan.split}/{index // plan.chunk:05d}/img{index:08d}"
    return f"{stem}.png" if not plan.views else f"{stem}_v{view:02d}.png"


def render_scenes(plan: Plan, indices, renderer=None):
    """Renders scene indices (N,) at all their views -> dict of numpy arrays with a leading (N, V):
    image uint8 (R, R, 3), depth float32, mask uint8 0 / 255, occluder uint8, c (25,); yaw, pitch (N, V)."""
    return _fetch(_dispatch(plan, indices, renderer or make_batch_renderer(plan)))


def _dispatch(plan, indices, renderer):
    """Starts the render (jax runs it asynchronously); _fetch waits for it."""
    scenes, yaw, pitch, labels = scene_views(plan, indices)
    n, v = yaw.shape
    tiled = jax.tree.map(lambda x: jnp.repeat(x, v, axis=0), scenes)
    pose, k = camera.split_label(labels.reshape(n * v, 25))
    return renderer(tiled, jnp.asarray(pose), jnp.asarray(k)), yaw, pitch, labels


def _fetch(dispatched):
    out, yaw, pitch, labels = dispatched
    out = {key: np.asarray(val).reshape(yaw.shape + val.shape[1:]) for key, val in out.items()}
    return {"image": np.round(np.clip(out["image"], 0, 1) * 255).astype(np.uint8), "depth": out["depth"],
            "mask": (out["mask"] * 255).astype(np.uint8), "occluder": (out["occluder"] * 255).astype(np.uint8),
            "c": labels.astype(np.float32), "yaw": yaw, "pitch": pitch}


def make_batch_renderer(plan: Plan):
    return render.make_renderer(plan.resolution, scene.part_ids(plan.scene.with_accessories), plan.trace)


# the version of the look (render.py's shading, scene.py's sampling): bump it when either changes, so a
# resumed split never mixes images of two versions (the part table has its own digest)
DATA_VERSION = 2  # 2: rays that run out of steps within a footprint of a crease are hits


def _config_record(plan: Plan):
    record = {k: (v._asdict() if hasattr(v, "_asdict") else v) for k, v in plan._asdict().items()}
    record.update(data_version=DATA_VERSION, parts=parts.digest())
    return json.loads(json.dumps(record))


def _chunk_done(root, plan, c, count):
    path = os.path.join(root, plan.split, f"{c:05d}", "labels.json")
    if not os.path.exists(path):
        return False
    with open(path) as f:
        return len(json.load(f)["views"]) == count * (1 + len(plan.views))


def _write_chunk(root, plan, c, indices, renderer, progress):
    """Renders one chunk into a temp folder and renames it into place (image folder last)."""
    tmp = os.path.join(root, f".tmp-{plan.split}-{c:05d}")
    shutil.rmtree(tmp, ignore_errors=True)
    kind = SPLITS[plan.split]
    per_call = max(1, plan.batch // (1 + len(plan.views)))
    labels, views = [], []
    pending = None
    batches = [indices[i:i + per_call] for i in range(0, len(indices), per_call)]
    for b in range(len(batches) + 1):
        current = None
        if b < len(batches):  # dispatch the next batch before writing the last one (jax runs async)
            idx = np.concatenate([batches[b], np.full(per_call - len(batches[b]), batches[b][-1])])
            current = (batches[b], _dispatch(plan, idx, renderer))
        if pending is not None:
            done, out = pending[0], _fetch(pending[1])
            for j, index in enumerate(done):
                for v in range(out["yaw"].shape[1]):
                    name = image_name(plan, int(index), v)
                    Image.fromarray(out["image"][j, v]).save(_path(tmp, "img", name))
                    if kind.multiview or kind.full_turn:  # train360: PanoHead's mask discriminator needs them
                        Image.fromarray(out["mask"][j, v]).save(_path(tmp, "masks", name))
                    if kind.multiview:
                        np.save(_path(tmp, "depth", os.path.splitext(name)[0] + ".npy"), out["depth"][j, v])
                    if kind.accessories:
                        Image.fromarray(out["occluder"][j, v]).save(_path(tmp, "occluders", name))
                    labels.append([name, out["c"][j, v].tolist()])
                    views.append([name, int(index), v, float(out["yaw"][j, v]), float(out["pitch"][j, v])])
            if progress is not None:
                progress(len(done))
        pending = current
    with open(os.path.join(tmp, "img", plan.split, f"{c:05d}", "labels.json"), "w") as f:
        json.dump({"labels": labels, "views": views}, f)
    rel = os.path.join(plan.split, f"{c:05d}")
    for sub in _EXTRA_DIRS:
        if os.path.isdir(os.path.join(tmp, sub, rel)):
            os.makedirs(os.path.dirname(os.path.join(root, sub, rel)), exist_ok=True)
            os.replace(os.path.join(tmp, sub, rel), os.path.join(root, sub, rel))
    os.makedirs(os.path.join(root, plan.split), exist_ok=True)
    os.replace(os.path.join(tmp, "img", rel), os.path.join(root, rel))
    shutil.rmtree(tmp, ignore_errors=True)


def _path(tmp, sub, name):
    path = os.path.join(tmp, sub, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def write_split(root, plan: Plan, num_scenes: int, progress=None):
    """Writes scenes 0 .. num_scenes - 1 of plan.split under root (skipping finished chunks), then the
    split lists and dataset.json. progress(n, rendered) is called after every n scenes written
    (rendered False: a finished chunk skipped). Returns the
    number of images of the split."""
    root = os.path.abspath(root)
    os.makedirs(root, exist_ok=True)
    record_path = os.path.join(root, f"synth_{plan.split}.json")
    record = _config_record(plan)
    if os.path.exists(record_path):
        with open(record_path) as f:
            old = json.load(f)
        if old != record:
            changed = sorted(k for k in record if old.get(k) != record[k])
            raise ValueError(f"out: split {plan.split!r} in {root} was written with another config (differs in "
                             f"{', '.join(changed)}); use another --out or the same config")
    else:
        atomic_write(record_path, lambda p: _dump(p, record))
    for name in os.listdir(root):  # temp folders of interrupted runs
        if name.startswith(f".tmp-{plan.split}-"):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    renderer = make_batch_renderer(plan)
    chunks = math.ceil(num_scenes / plan.chunk)
    for c in range(chunks):
        indices = np.arange(c * plan.chunk, min((c + 1) * plan.chunk, num_scenes))
        if _chunk_done(root, plan, c, len(indices)):
            if progress is not None:
                progress(len(indices), rendered=False)
            continue
        for sub in ("",) + _EXTRA_DIRS:  # leftovers of an interrupted or smaller run of this chunk
            shutil.rmtree(os.path.join(root, sub, plan.split, f"{c:05d}"), ignore_errors=True)
        _write_chunk(root, plan, c, indices, renderer, progress)
    return finish_split(root, plan, chunks)


def _dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def finish_split(root, plan: Plan, chunks: int):
    """<split>.txt (and <split>_input.txt, <split>_views.json) from the split's first `chunks` chunks,
    then dataset.json from every split present. Returns the number of images of the split."""
    labels, views = [], []
    for c in range(chunks):
        with open(os.path.join(root, plan.split, f"{c:05d}", "labels.json")) as f:
            part = json.load(f)
        labels += part["labels"]
        views += part["views"]
    names = [name for name, _ in labels]
    atomic_write(os.path.join(root, f"{plan.split}.txt"), lambda p: _text(p, names))
    if plan.views:
        inputs = [v[0] for v in views if v[2] == 0]
        atomic_write(os.path.join(root, f"{plan.split}_input.txt"), lambda p: _text(p, inputs))
        table = {"columns": ["name", "scene", "view", "yaw", "pitch"], "rows": views}
        atomic_write(os.path.join(root, f"{plan.split}_views.json"), lambda p: _dump(p, table))
    everything = []
    for split in SPLITS:
        listed = os.path.join(root, f"{split}.txt")
        if split != plan.split and os.path.exists(listed):
            wanted = set(_read_lines(listed))
            for c in sorted(os.listdir(os.path.join(root, split))):
                with open(os.path.join(root, split, c, "labels.json")) as f:
                    everything += [x for x in json.load(f)["labels"] if x[0] in wanted]
        elif split == plan.split:
            everything += labels
    atomic_write(os.path.join(root, "dataset.json"), lambda p: _dump(p, {"labels": everything}))
    return len(names)


def _read_lines(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def _text(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
