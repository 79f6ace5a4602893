"""Attribute labels of the synthetic heads, read from their procedural scene parameters: the labels
the project's own attribute classifier learns (configs/attribute_classifier.py).

A written split records the plan it was made with (<root>/synth_<split>.json); scene i of the split
is `sample_scene(fold_in(key_i, 0))` (writer.scene_keys), so its parameters are recomputed exactly,
without rendering, from that record. Labels (1 / 0), each visible in a 64 px input view:

| name | 1 when | source |
|---|---|---|
| long_hair | the hair style shows hair below the ears (side / back strands: bob, long, fringe) | parts.HAIR_STYLES |
| light_skin | the skin albedo's luma exceeds `light_skin` (the palette's middle entry's) | scene albedo |
| dark_hair | the hair albedo's luma is below `dark_hair` (black / dark-brown palette entries); bald: 0 | scene albedo |
"""
import json
import os

import numpy as np

from inversion3d.data.synthetic import parts, render, scene, writer

ATTRIBUTES = ("long_hair", "light_skin", "dark_hair")
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601 luma weights
STYLES = tuple(parts.HAIR_STYLES)
LONG_STYLES = tuple(s for s, shown in parts.HAIR_STYLES.items() if {"hair_side_l", "hair_back"} & set(shown))


def plan_from_record(root, split):
    """The writer.Plan a split of `root` was written with (<root>/synth_<split>.json); ValueError when
    missing, or written by another version of the scene code (then the parameters would differ)."""
    path = os.path.join(root, f"synth_{split}.json")
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f"--config.data.folder: cannot read {path} ({err}); is it a `synth-data` folder?") from None
    if record.get("data_version") != writer.DATA_VERSION or record.get("parts") != parts.digest():
        raise ValueError(f"{path}: written by another version of the synthetic scenes (data_version "
                         f"{record.get('data_version')}, parts {record.get('parts')}); its labels cannot be recomputed")
    fields = {k: writer._tuples(v) for k, v in record.items() if k not in ("data_version", "parts")}
    fields["scene"] = scene.SceneSpec(**{k: writer._tuples(v) for k, v in record["scene"].items()})
    fields["trace"] = render.TraceSpec(**{k: writer._tuples(v) for k, v in record["trace"].items()})
    return writer.Plan(**fields)


def scene_attributes(plan, indices, light_skin, dark_hair, batch=1000):
    """(N, len(ATTRIBUTES)) float32 labels of scene indices (N,) of plan.split (module docstring)."""
    indices = np.asarray(indices).reshape(-1)
    ids = scene.part_ids(plan.scene.with_accessories)
    groups = np.asarray(parts.GROUPS)[ids]
    skin, hair = int(np.flatnonzero(groups == "skin")[0]), int(np.flatnonzero(groups == "hair")[0])
    bald = STYLES.index("bald")
    long_ids = [STYLES.index(s) for s in LONG_STYLES]
    out = []
    for start in range(0, len(indices), batch):
        scenes, _, _, _ = writer.scene_views(plan, indices[start:start + batch])
        style = np.asarray(scenes["style"])
        albedo = np.asarray(scenes["albedo"])
        labels = np.stack([np.isin(style, long_ids), albedo[:, skin] @ LUMA > light_skin,
                           (albedo[:, hair] @ LUMA < dark_hair) & (style != bald)], axis=1)
        out.append(labels.astype(np.float32))
    return np.concatenate(out)


def split_images(root, split):
    """(relative paths of the input views, their scene indices) of a split (<split>_input.txt for
    multi-view splits, else <split>.txt)."""
    listing = os.path.join(root, f"{split}_input.txt")
    if not os.path.isfile(listing):
        listing = os.path.join(root, f"{split}.txt")
    with open(listing, encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip()]
    indices = [int(os.path.basename(n)[3:11]) for n in names]  # img<scene:08d>[_v..].png
    return names, np.asarray(indices)
