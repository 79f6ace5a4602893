"""`inversion3d invert tfds:NAME[/CONFIG]:SPLIT [--data-dir DIR]`: a prepared tfds split as the dataset
runner's input.

NAME[/CONFIG] is a dataset prepared in DIR (default $TFDS_DATA_DIR, else ~/tensorflow_datasets), read
from its own dataset_info.json (`tfds.builder_from_directory`, array_record, no TensorFlow), so any
prepared copy of the project's builders serves: data/tfds_builder.py (NAME 'aligned_folder', CONFIG
the folder_config name) and data/synthetic/builder.py (e.g. 'aligned_folder/synth_test_r64_mask_depth_
views_<digest>', whose records carry name / scene / view). The newest prepared version is used.

Records need 'image' (S, S, 3) uint8 and 'c' (25,) float32; 'mask', 'depth', 'name', 'scene',
'view' and 'index' are used when present. The split is written once into OUT/dataset in the folder
layout (data/folder.py: images under their names, or SPLIT/<index>.png without names; dataset.json;
masks/, depth/; SPLIT.txt; and, with scene / view, SPLIT_input.txt (view 0) and SPLIT_views.json),
which the folder path (app/dataset_inputs.py) then reads: the same records give the same pairs.json
as the folder they were prepared from, and eval finds every ground truth on disk.
OUT/dataset/tfds_source.json (written last) marks a finished export; a rerun (--resume) reuses it.
"""
import json
import os
import re

import numpy as np

from inversion3d import files, viz

PREFIX = "tfds:"
EXPORT_DIR = "dataset"
STAMP = "tfds_source.json"
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def is_spec(arg):
    return str(arg).startswith(PREFIX)


def parse(spec, split=None):
    """'tfds:NAME[/CONFIG][:SPLIT]' (+ --split) -> (NAME, CONFIG or None, SPLIT); one-line errors."""
    body = spec[len(PREFIX):]
    name, _, own_split = body.partition(":")
    parts = name.split("/")
    if not name or len(parts) > 2 or not all(parts) or ":" in own_split:
        raise ValueError(f"IMAGES: expected tfds:NAME[/CONFIG]:SPLIT, got {spec!r}")
    if own_split and split not in (None, own_split):
        raise ValueError(f"--split: {spec} names split {own_split!r}, --split says {split!r}; give one")
    split = own_split or split
    if not split:
        raise ValueError(f"IMAGES: {spec} names no split (tfds:NAME[/CONFIG]:SPLIT, or --split)")
    return parts[0], (parts[1] if len(parts) == 2 else None), split


def default_data_dir():
    return os.environ.get("TFDS_DATA_DIR") or os.path.join(os.path.expanduser("~"), "tensorflow_datasets")


def _versions(path):
    if not os.path.isdir(path):
        return []
    found = [v for v in os.listdir(path) if _VERSION.match(v) and os.path.isfile(os.path.join(path, v, "dataset_info.json"))]
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))


def builder_dir(data_dir, name, config):
    """data_dir/NAME[/CONFIG]/<newest version>; a one-line error listing what is prepared otherwise."""
    base = os.path.join(data_dir, name, *([config] if config else []))
    versions = _versions(base)
    if versions:
        return os.path.join(base, versions[-1])
    top = os.path.join(data_dir, name)
    configs = sorted(c for c in os.listdir(top) if _versions(os.path.join(top, c))) if os.path.isdir(top) else []
    if configs and not config:
        raise ValueError(f"IMAGES: tfds:{name} has configs; name one (tfds:{name}/CONFIG:SPLIT): "
                         f"{', '.join(configs[:5])}{' ...' if len(configs) > 5 else ''}")
    hint = f"prepared configs: {', '.join(configs[:5])}{' ...' if len(configs) > 5 else ''}" if configs else \
        "prepare it first (data/tfds_builder.py, data/synthetic/builder.py: builder.download_and_prepare())"
    raise ValueError(f"IMAGES: no prepared tfds dataset {name}{'/' + config if config else ''} in {data_dir} "
                     f"(--data-dir); {hint}")


def read_split(path, split):
    """The records of `split` of the prepared dataset at `path`, as numpy dicts in index (or name) order."""
    import tensorflow_datasets as tfds

    builder = tfds.builder_from_directory(path)
    if split not in builder.info.splits:
        raise ValueError(f"IMAGES: {path} has no split {split!r} (it has {', '.join(sorted(builder.info.splits))})")
    keys = set(builder.info.features.keys())
    if not {"image", "c"} <= keys:
        raise ValueError(f"IMAGES: {path}: expected features 'image' and 'c' (25-D camera), got {sorted(keys)}")
    source = builder.as_data_source(split)
    records = [source[i] for i in range(len(source))]
    for r in records:
        if isinstance(r.get("name"), bytes):
            r["name"] = r["name"].decode("utf-8")
    order = "index" if "index" in keys else "name" if "name" in keys else None
    return sorted(records, key=lambda r: r[order]) if order else records


def _names(records, split):
    if records and "name" in records[0]:
        names = [r["name"] for r in records]
    else:  # no names stored: the record's index in its dataset.json (or its position)
        names = [f"{split}/{int(r.get('index', i)):08d}.png" for i, r in enumerate(records)]
    if len(set(names)) != len(names):
        raise ValueError(f"IMAGES: split {split} repeats image names (e.g. {names[0]!r})")
    return names


def _write_lines(path, lines):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("".join(f"{n}\n" for n in lines))
    return files.atomic_write(path, write)


def export(records, split, root):
    """Writes the records into `root` in the folder layout (module docstring); returns root."""
    names = _names(records, split)
    for name, r in zip(names, records):
        image = np.asarray(r["image"], np.uint8)
        if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] != image.shape[1]:
            raise ValueError(f"IMAGES: record {name!r}: expected a square (S, S, 3) image, got {image.shape}")
        viz.save_png(os.path.join(root, name), image)
        if "mask" in r:
            viz.save_png(os.path.join(root, "masks", name), np.asarray(r["mask"], np.uint8))
        if "depth" in r:
            depth = np.asarray(r["depth"], np.float32)
            files.atomic_write(os.path.join(root, "depth", os.path.splitext(name)[0] + ".npy"),
                               lambda tmp, d=depth: np.save(tmp, d))
    files.write_json(os.path.join(root, "dataset.json"),
                {"labels": [[n, [float(v) for v in np.asarray(r["c"], np.float32)]] for n, r in zip(names, records)]})
    _write_lines(os.path.join(root, f"{split}.txt"), names)
    if records and "scene" in records[0] and "view" in records[0]:
        rows = [[n, int(r["scene"]), int(r["view"])] for n, r in zip(names, records) if int(r["scene"]) >= 0]
        _write_lines(os.path.join(root, f"{split}_input.txt"), [n for n, _, v in rows if v == 0])
        files.write_json(os.path.join(root, f"{split}_views.json"), {"columns": ["name", "scene", "view"], "rows": rows})
    return root


def synthetic_kind(config):
    """The synthetic split a builder config was made from ('synth_<split>_r<res>...' of
    data/synthetic/builder.tfds_config), or None."""
    from inversion3d.data.synthetic.writer import SPLITS

    match = re.match(r"^synth_(.+?)_r\d+_", config or "")
    return match.group(1) if match and match.group(1) in SPLITS else None


def materialise(spec, split, data_dir, out_dir):
    """tfds spec -> (the folder OUT/dataset holding its split, the split name). An export finished by an
    earlier run of the same spec is reused (an unfinished one is redone); one of another split is an
    error (another --out)."""
    name, config, split = parse(spec, split)
    data_dir = data_dir or default_data_dir()
    path = builder_dir(data_dir, name, config)
    root = os.path.join(out_dir, EXPORT_DIR)
    stamp = {"spec": f"{PREFIX}{name}{'/' + config if config else ''}:{split}", "path": os.path.abspath(path)}
    stamp_path = os.path.join(root, STAMP)
    if os.path.isfile(stamp_path):
        with open(stamp_path, encoding="utf-8") as f:
            old = json.load(f)
        if {k: old.get(k) for k in stamp} != stamp:
            raise ValueError(f"--out: {root} holds the export of {old.get('spec')} ({old.get('path')}), not "
                             f"{stamp['spec']}; use another --out")
        return root, split
    records = read_split(path, split)
    if not records:
        raise ValueError(f"IMAGES: {stamp['spec']} is empty")
    print(f"[invert] {stamp['spec']}: {len(records)} record(s) from {path} -> {root}", flush=True)
    export(records, split, root)
    kind = synthetic_kind(config)
    if kind:  # the synthetic writer's split record (dataset_inputs.check_split_for reads its kind)
        files.write_json(os.path.join(root, f"synth_{split}.json"), {"split": kind, "from": stamp["spec"]})
    files.write_json(stamp_path, dict(stamp, records=len(records)))  # last: marks a finished export
    return root, split
