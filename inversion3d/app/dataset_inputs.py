"""DATASET arguments of `inversion3d invert`: a folder of photos, or an aligned dataset in the EG3D /
synthetic folder layout (data/folder.py: dataset.json with a camera per image, optional <split>.txt
lists, masks/ and depth/), expanded into the image list the photo path already handles.

A dataset's inputs are `<split>_input.txt` when it exists (the synthetic multi-view splits: one input
view per scene), else `<split>.txt`, else every labelled image (no --split); their cameras come from
its dataset.json. `<split>_views.json` (synthetic writer: rows name, scene, view, yaw, pitch; view 0
is the input) gives each input its held-out views: the other views of its scene, with their ground
truth image, camera, depth (depth/<name>.npy, distance along the ray) and mask (masks/<name>).
"""
import json
import os

from inversion3d.data import folder

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def is_dataset(path):
    """A folder holding a dataset.json (or GOAE's label.json)."""
    return os.path.isdir(path) and any(os.path.isfile(os.path.join(path, n)) for n in ("dataset.json", "label.json"))


def photo_folder(path):
    """The image files directly in `path`, sorted by name; ValueError when there are none."""
    names = sorted(n for n in os.listdir(path) if n.lower().endswith(IMAGE_EXTENSIONS)
                   and os.path.isfile(os.path.join(path, n)))
    if not names:
        raise ValueError(f"IMAGES: folder {path} holds no images ({', '.join(IMAGE_EXTENSIONS)}) and no dataset.json")
    return [os.path.join(path, n) for n in names]


def _input_names(root, split, labels):
    if split is None:
        lists = [s for s in folder.available_splits(root) if os.path.isfile(os.path.join(root, f"{s}.txt"))
                 and not s.endswith("_input")]  # SPLIT_input.txt: the input views of SPLIT, not a split
        if lists:
            raise ValueError(f"--split: {root} has split lists ({', '.join(lists)}); pick one with --split")
        return list(labels)
    if os.path.isfile(os.path.join(root, f"{split}_input.txt")):
        with open(os.path.join(root, f"{split}_input.txt"), encoding="utf-8") as f:
            names = [line.strip() for line in f if line.strip()]
        missing = [n for n in names if n not in labels]
        if missing:
            raise ValueError(f"--split: {split}_input.txt names {missing[0]!r}, which dataset.json has no camera for")
        return names
    return folder.split_names(root, split, labels)


def _views_table(root, split):
    """{input name: [held-out row, ...]} from <split>_views.json ({} without one)."""
    path = os.path.join(root, f"{split}_views.json")
    if split is None or not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        rows = [dict(zip(data["columns"], row)) for row in data["rows"]]
        scenes = {}
        for row in rows:
            scenes.setdefault(int(row["scene"]), []).append(row)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"--split: cannot read {path} ({err})") from None
    out = {}
    for rows in scenes.values():
        inputs = [r for r in rows if int(r["view"]) == 0]
        if len(inputs) != 1:
            raise ValueError(f"--split: {path}: scene {rows[0]['scene']} has {len(inputs)} input views (view 0), "
                             f"expected 1")
        out[inputs[0]["name"]] = sorted((r for r in rows if int(r["view"]) != 0), key=lambda r: int(r["view"]))
    return out


def held_out_view(root, row, labels):
    """One held-out view: {'view', 'name', 'target' (abs path), 'camera' (25,) list, 'depth_target' and
    'mask_target' (abs paths or None)}."""
    name = row["name"]
    if name not in labels:
        raise ValueError(f"--split: held-out view {name!r} has no camera in dataset.json")
    depth = os.path.join(root, "depth", os.path.splitext(name)[0] + ".npy")
    mask = os.path.join(root, "masks", name)
    return {"view": int(row["view"]), "name": name, "target": os.path.abspath(os.path.join(root, name)),
            "camera": [float(v) for v in labels[name]],
            "depth_target": os.path.abspath(depth) if os.path.isfile(depth) else None,
            "mask_target": os.path.abspath(mask) if os.path.isfile(mask) else None}


FULL_TURN_METHODS = ("dual",)  # 360-degree (PanoHead) methods: benchmarked on the full-turn synthetic splits


def check_split_for(method, root, split):
    """One-line error when a 360-degree method (Dual Encoder) is run on a frontal synthetic split: the
    synthetic writer's record <root>/synth_<split>.json names the split kind (data/synthetic/writer.py
    SPLITS); datasets without that record are the user's to judge."""
    if method not in FULL_TURN_METHODS or root is None or split is None:
        return
    record = os.path.join(root, f"synth_{split}.json")
    if not os.path.isfile(record):
        return
    from inversion3d.data.synthetic.writer import SPLITS

    with open(record, encoding="utf-8") as f:
        kind = json.load(f).get("split")
    if kind in SPLITS and not SPLITS[kind].full_turn:
        full = sorted(k for k, v in SPLITS.items() if v.full_turn and v.multiview)
        raise ValueError(f"--method {method}: a 360-degree (PanoHead) method, benchmarked on a full-turn split; {root} "
                         f"split {split!r} is the frontal synthetic {kind!r} (no Dual row there): write one with "
                         f"`inversion3d synth-data --config.split={full[0]} --out DIR` and pass --split {full[0]}")


def expand(images, camera, split=None, limit=None):
    """IMAGES as given -> (image paths, camera spec, {image path: [held-out views]}, dataset root or None).
    A dataset (one argument, a folder with dataset.json) brings its cameras: --camera must then be
    unset or its dataset.json. Folders of photos are expanded to their images; --split needs a dataset.
    limit: keep only the first `limit` inputs of a dataset or photo folder (in their listed order)."""
    if limit is not None and limit < 1:
        raise ValueError(f"--limit: must be a positive number of images, got {limit}")
    datasets = [p for p in images if is_dataset(p)]
    if datasets:
        if len(images) != 1:
            raise ValueError(f"IMAGES: a dataset ({datasets[0]}) must be the only input, got {len(images)} inputs")
        root = datasets[0]
        own = next(os.path.join(root, n) for n in ("dataset.json", "label.json") if os.path.isfile(os.path.join(root, n)))
        if camera not in (None, own) and os.path.abspath(camera or "") != os.path.abspath(own):
            raise ValueError(f"--camera: {root} is a dataset with its own cameras ({own}); drop --camera")
        labels = folder.read_labels(root)
        names = _input_names(root, split, labels)[:limit]
        if not names:
            raise ValueError(f"IMAGES: no input images in {root} (split {split})")
        table = _views_table(root, split)
        paths = [os.path.join(root, n) for n in names]
        held = {p: [held_out_view(root, r, labels) for r in table.get(n, [])] for p, n in zip(paths, names)}
        return paths, own, held, root
    if split is not None:
        raise ValueError("--split: only used with a dataset folder (one with a dataset.json)")
    if camera is None:
        raise ValueError("--camera: required for photos (a dataset.json with a label per image, 'frontal' or 'photo')")
    paths = []
    for p in images:
        paths += photo_folder(p) if os.path.isdir(p) else [p]
    return paths[:limit], camera, {}, None
