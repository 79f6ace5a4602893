"""Aligned image folders with an EG3D / PanoHead `dataset.json` (25-D cameras).

Layout (what EG3D's dataset_tool and PanoHead's preprocessing write, as users have them locally):
  <root>/dataset.json          {"labels": [["00000/img00000000.png", [25 floats]], ...]}
                               (PanoHead writes the floats as strings; GOAE's `label.json` maps
                               name -> 25 floats; all three are read)
  <root>/<relative image path> RGB images, all the same square resolution
  <root>/masks/<relative path> optional single-channel masks (same names; any image format)
  <root>/depth/<relative path minus extension>.npy   optional float32 (H, W) depth maps
  <root>/<split>.txt           optional file lists (one relative path a line) per split;
                               without any, every labelled image is in 'train'
<root> may also be the .zip archive EG3D's dataset_tool writes (FFHQ_512.zip etc.), read in place.
The 25-D label is [cam2world row-major (16), normalised intrinsics row-major (9)] (eg3d.md §8).

Datasets as users have them: FFHQ / FFHQ-rebalanced (EG3D dataset_tool zip or folder), PanoHead's
FFHQ + LPFF + back views (folder, string labels); CelebA-HQ, MEAD frames or any photo folder become
this layout with `inversion3d preprocess PHOTOS --style eg3d|panohead --out ROOT` (crops + cameras).
"""
import functools
import io
import json
import os
import zipfile

import numpy as np
from PIL import Image


def _is_zip(root):
    return str(root).lower().endswith(".zip") and os.path.isfile(root)


@functools.lru_cache(maxsize=8)
def _zip_names(root):
    with zipfile.ZipFile(root) as archive:
        return frozenset(archive.namelist())


def exists(root, relpath):
    """Whether `relpath` is in the folder or zip archive `root`."""
    return relpath in _zip_names(root) if _is_zip(root) else os.path.exists(os.path.join(root, relpath))


def read_bytes(root, relpath):
    """The bytes of `relpath` inside the folder or zip archive `root`; ValueError naming it if absent."""
    if not exists(root, relpath):
        raise ValueError(f"root: no {relpath} in {root}")
    if _is_zip(root):
        with zipfile.ZipFile(root) as archive:
            return archive.read(relpath)
    with open(os.path.join(root, relpath), "rb") as f:
        return f.read()


def _label_items(data, path):
    """(name, label) pairs from {"labels": [[name, label], ...]}, {"labels": {name: label}} or {name: label}."""
    labels = data.get("labels", data) if isinstance(data, dict) else None
    if isinstance(labels, dict):
        return list(labels.items())
    if isinstance(labels, list) and all(isinstance(x, (list, tuple)) and len(x) == 2 for x in labels):
        return [tuple(x) for x in labels]
    raise ValueError(f"{path}: expected {{'labels': [[name, [25 numbers]], ...]}} or {{name: [25 numbers]}}")


def read_labels(root):
    """-> dict relative path -> (25,) float32 camera label, in file order (dataset.json or label.json)."""
    json_name = next((n for n in ("dataset.json", "label.json") if exists(root, n)), None)
    if json_name is None:
        raise ValueError(f"root: no dataset.json (or label.json) in {root}")
    path = os.path.join(str(root), json_name)
    labels = _label_items(json.loads(read_bytes(root, json_name).decode("utf-8")), path)
    if not labels:
        raise ValueError(f"dataset.json: expected a non-empty 'labels' list in {path}")
    out = {}
    for name, label in labels:
        try:
            label = np.asarray(label, np.float32).reshape(-1)  # numbers or PanoHead's number strings
        except (TypeError, ValueError):
            raise ValueError(f"dataset.json: label of {name!r} is not 25 numbers") from None
        if label.shape != (25,):
            raise ValueError(f"dataset.json: label of {name!r}: expected 25 values, got {label.shape[0]}")
        out[name.replace("\\", "/")] = label
    return out


def split_names(root, split, labels):
    """Relative paths in `split`: <root>/<split>.txt if present, else every label for 'train'."""
    if exists(root, f"{split}.txt"):
        text = read_bytes(root, f"{split}.txt").decode("utf-8")
        names = [line.strip() for line in text.splitlines() if line.strip()]
        missing = [n for n in names if n not in labels]
        if missing:
            raise ValueError(f"{split}.txt: {len(missing)} file(s) without a label in dataset.json, e.g. {missing[0]!r}")
        return names
    if split != "train":
        raise ValueError(f"split: no {split}.txt in {root} (only 'train' exists without file lists)")
    return list(labels)


def available_splits(root):
    names = _zip_names(root) if _is_zip(root) else os.listdir(root)
    lists = sorted(f[:-4] for f in names if f.endswith(".txt") and "/" not in f)
    return lists or ["train"]


def read_views(root):
    """{relative path: (scene, view)} from every <split>_views.json of `root` (the synthetic writer's
    multi-view tables: columns name, scene, view, ...; view 0 is a scene's input view); {} without one."""
    names = _zip_names(root) if _is_zip(root) else os.listdir(root)
    out = {}
    for table in sorted(f for f in names if f.endswith("_views.json") and "/" not in f):
        try:
            data = json.loads(read_bytes(root, table).decode("utf-8"))
            for row in data["rows"]:
                row = dict(zip(data["columns"], row))
                out[str(row["name"]).replace("\\", "/")] = (int(row["scene"]), int(row["view"]))
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{table}: expected columns name, scene, view and their rows in {root} ({err})") from None
    return out


def _image(root, relpath, mode):
    with Image.open(io.BytesIO(read_bytes(root, relpath))) as im:
        return np.asarray(im.convert(mode), np.uint8)


def load_example(root, name, label, with_mask=False, with_depth=False):
    """One record: image (H, W, 3) uint8, c (25,) float32, [mask (H, W) uint8], [depth (H, W) float32]."""
    image = _image(root, name, "RGB")
    if image.shape[0] != image.shape[1]:
        raise ValueError(f"{name}: expected a square aligned image, got {image.shape[:2]}")
    out = {"image": image, "c": np.asarray(label, np.float32)}
    if with_mask:
        out["mask"] = _image(root, f"masks/{name}", "L")
    if with_depth:
        depth_file = io.BytesIO(read_bytes(root, f"depth/{os.path.splitext(name)[0]}.npy"))
        out["depth"] = np.load(depth_file, allow_pickle=False).astype(np.float32)
    for key in ("mask", "depth"):
        if key in out and out[key].shape != image.shape[:2]:
            raise ValueError(f"{key} of {name}: expected shape {image.shape[:2]}, got {out[key].shape}")
    return out


def area_resize(example, resolution: int):
    """A record with image / mask / depth area-averaged (PIL box filter) down to resolution²."""
    size = (resolution, resolution)
    out = dict(example, image=np.asarray(Image.fromarray(example["image"]).resize(size, Image.BOX)))
    if "mask" in example:
        out["mask"] = np.asarray(Image.fromarray(example["mask"]).resize(size, Image.BOX))
    if "depth" in example:
        out["depth"] = np.asarray(Image.fromarray(example["depth"], "F").resize(size, Image.BOX), np.float32)
    return out


def to_float(example):
    """uint8 record -> float32 image in [-1, 1] (mean 0.5, std 0.5), mask in [0, 1], depth as is."""
    out = dict(example)
    out["image"] = example["image"].astype(np.float32) / 127.5 - 1.0
    if "mask" in example:
        out["mask"] = example["mask"].astype(np.float32) / 255.0
    return out
