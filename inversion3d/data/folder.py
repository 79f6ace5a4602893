"""Aligned image folders with an EG3D / PanoHead `dataset.json` (25-D cameras).

Layout (what EG3D's dataset_tool and PanoHead's preprocessing write, as users have them locally):
  <root>/dataset.json          {"labels": [["00000/img00000000.png", [25 floats]], ...]}
  <root>/<relative image path> RGB images, all the same square resolution
  <root>/masks/<relative path> optional single-channel masks (same names; any image format)
  <root>/depth/<relative path minus extension>.npy   optional float32 (H, W) depth maps
  <root>/<split>.txt           optional file lists (one relative path a line) per split;
                               without any, every labelled image is in 'train'
The 25-D label is [cam2world row-major (16), normalised intrinsics row-major (9)] (eg3d.md §8).
"""
import json
import os

import numpy as np
from PIL import Image


def read_labels(root):
    """-> dict relative path -> (25,) float32 camera label, in dataset.json order."""
    path = os.path.join(root, "dataset.json")
    if not os.path.exists(path):
        raise ValueError(f"root: no dataset.json in {root}")
    with open(path, encoding="utf-8") as f:
        labels = json.load(f).get("labels")
    if not labels:
        raise ValueError(f"dataset.json: expected a non-empty 'labels' list in {path}")
    out = {}
    for name, label in labels:
        label = np.asarray(label, np.float32).reshape(-1)
        if label.shape != (25,):
            raise ValueError(f"dataset.json: label of {name!r}: expected 25 values, got {label.shape[0]}")
        out[name.replace("\\", "/")] = label
    return out


def split_names(root, split, labels):
    """Relative paths in `split`: <root>/<split>.txt if present, else every label for 'train'."""
    list_path = os.path.join(root, f"{split}.txt")
    if os.path.exists(list_path):
        with open(list_path, encoding="utf-8") as f:
            names = [line.strip() for line in f if line.strip()]
        missing = [n for n in names if n not in labels]
        if missing:
            raise ValueError(f"{split}.txt: {len(missing)} file(s) without a label in dataset.json, e.g. {missing[0]!r}")
        return names
    if split != "train":
        raise ValueError(f"split: no {split}.txt in {root} (only 'train' exists without file lists)")
    return list(labels)


def available_splits(root):
    lists = sorted(f[:-4] for f in os.listdir(root) if f.endswith(".txt"))
    return lists or ["train"]


def load_example(root, name, label, with_mask=False, with_depth=False):
    """One record: image (H, W, 3) uint8, c (25,) float32, [mask (H, W) uint8], [depth (H, W) float32]."""
    with Image.open(os.path.join(root, name)) as im:
        image = np.asarray(im.convert("RGB"), np.uint8)
    if image.shape[0] != image.shape[1]:
        raise ValueError(f"{name}: expected a square aligned image, got {image.shape[:2]}")
    out = {"image": image, "c": np.asarray(label, np.float32)}
    if with_mask:
        with Image.open(os.path.join(root, "masks", name)) as im:
            out["mask"] = np.asarray(im.convert("L"), np.uint8)
    if with_depth:
        out["depth"] = np.load(os.path.join(root, "depth", os.path.splitext(name)[0] + ".npy")).astype(np.float32)
    for key in ("mask", "depth"):
        if key in out and out[key].shape != image.shape[:2]:
            raise ValueError(f"{key} of {name}: expected shape {image.shape[:2]}, got {out[key].shape}")
    return out


def to_float(example):
    """uint8 record -> float32 image in [-1, 1] (mean 0.5, std 0.5), mask in [0, 1], depth as is."""
    out = dict(example)
    out["image"] = example["image"].astype(np.float32) / 127.5 - 1.0
    if "mask" in example:
        out["mask"] = example["mask"].astype(np.float32) / 255.0
    return out
