"""tfds builder for aligned image folders (folder.py layout), stored as array_record.

Features are plain arrays (`tfds.features.Tensor`), so writing and reading need no TensorFlow
(`features.Image` would; see ../shared/jax-notes.md §1). Read with `builder.as_data_source(split)`
(random access, numpy values) and feed grain (pipeline.py).

  builder = AlignedFolder(config=folder_config("aligned/", resolution=512), data_dir="~/tensorflow_datasets")
  builder.download_and_prepare()
  source = builder.as_data_source("train")

Every prepared copy is a builder config of its own, named by the dataset and its parameters
(`folder_config`): tfds keeps one copy per config name in `data_dir`, so two folders, or one
folder at two resolutions, never share (or clash over) a prepared copy.
"""
import dataclasses
import hashlib
import os
import re

import numpy as np
import tensorflow_datasets as tfds

from inversion3d.data import folder


@dataclasses.dataclass
class AlignedFolderConfig(tfds.core.BuilderConfig):
    """resolution: image side (the folder's images must have it); with_mask / with_depth: read the
    masks/ and depth/ folders; splits: None = the folder's <split>.txt lists (or just 'train');
    root: the aligned folder or dataset_tool .zip to read ('' = the download config's manual_dir;
    tfds wants that to be a folder, so a .zip must be given here); downscale: area-average larger
    images (and masks / depth) down to resolution, as the toy method does with its renders;
    with_views: also store each image's name (its relative path) and, from the folder's
    <split>_views.json tables (the synthetic multi-view splits), its scene and view (view 0 = the
    input view; -1 for images no table lists), so a split read back from tfds alone keeps the
    held-out views of every input (`inversion3d invert tfds:...`, app/tfds_inputs.py)."""
    resolution: int = 512
    with_mask: bool = False
    with_depth: bool = False
    with_views: bool = False
    splits: tuple = None
    root: str = ""
    downscale: bool = False


def folder_config(root, resolution: int, with_mask: bool = False, with_depth: bool = False,
                  downscale: bool = False, name: str = "", with_views: bool = False) -> AlignedFolderConfig:
    """The builder config of the aligned folder or dataset_tool .zip `root`.

    Named '<name>_r<resolution>[_mask][_depth][_down][_views]_<digest>' (name: default the folder's base
    name; digest: of the absolute path and dataset.json, so an edited dataset is prepared afresh).
    Raises a one-line ValueError naming `root` when it is no aligned dataset (missing, empty, no
    or an empty dataset.json).
    """
    if not str(root):
        raise ValueError("data.folder: expected the path of an aligned folder or dataset_tool .zip, got ''")
    root = os.path.abspath(os.path.expanduser(str(root)))
    if not (os.path.isdir(root) or os.path.isfile(root)):
        raise ValueError(f"data.folder: no aligned folder or dataset_tool .zip at {root}")
    if os.path.isdir(root) and not os.listdir(root):
        raise ValueError(f"data.folder: {root} is empty (expected aligned images and their dataset.json, as "
                         f"`inversion3d preprocess PHOTOS --out {root}` writes)")
    labels = folder.read_labels(root)  # one-line ValueErrors naming root / dataset.json
    digest = hashlib.sha256(root.encode() + b"\0" + repr(sorted(labels)).encode() +
                            np.stack(list(labels.values())).tobytes()).hexdigest()[:12]
    slug = re.sub(r"[^a-z0-9]+", "_", (name or os.path.splitext(os.path.basename(root))[0]).lower()).strip("_")
    flags = ["mask"] * bool(with_mask) + ["depth"] * bool(with_depth) + ["down"] * bool(downscale)
    flags += ["views"] * bool(with_views)
    return AlignedFolderConfig(name="_".join([slug or "folder", f"r{int(resolution)}", *flags, digest]),
                               resolution=int(resolution), with_mask=bool(with_mask), with_depth=bool(with_depth),
                               downscale=bool(downscale), root=root, with_views=bool(with_views))


class AlignedFolder(tfds.core.GeneratorBasedBuilder):
    """Aligned faces / heads with EG3D 25-D cameras from a local folder (config.root or the manual_dir).

    There is no predefined config: every dataset has its own (`folder_config`, or any
    AlignedFolderConfig with a name of its own).
    """

    VERSION = tfds.core.Version("1.0.0")
    MANUAL_DOWNLOAD_INSTRUCTIONS = "Point manual_dir at a folder with dataset.json (inversion3d/data/folder.py)."

    def __init__(self, **kwargs):
        if not isinstance(kwargs.get("config"), AlignedFolderConfig):
            raise ValueError("config: expected an AlignedFolderConfig (see tfds_builder.folder_config), got "
                             f"{type(kwargs.get('config')).__name__}")
        kwargs.setdefault("file_format", "array_record")
        super().__init__(**kwargs)

    def _info(self):
        r = self.builder_config.resolution
        features = {"image": tfds.features.Tensor(shape=(r, r, 3), dtype=np.uint8),
                    "c": tfds.features.Tensor(shape=(25,), dtype=np.float32),
                    "index": tfds.features.Tensor(shape=(), dtype=np.int64)}
        if self.builder_config.with_mask:
            features["mask"] = tfds.features.Tensor(shape=(r, r), dtype=np.uint8)
        if self.builder_config.with_depth:
            features["depth"] = tfds.features.Tensor(shape=(r, r), dtype=np.float32)
        if self.builder_config.with_views:
            features["name"] = tfds.features.Text()  # plain UTF-8 bytes: read back without TensorFlow
            features["scene"] = tfds.features.Tensor(shape=(), dtype=np.int64)
            features["view"] = tfds.features.Tensor(shape=(), dtype=np.int64)
        return self.dataset_info_from_configs(features=tfds.features.FeaturesDict(features))

    def _split_generators(self, dl_manager):
        root = self.builder_config.root or str(dl_manager.manual_dir)
        labels = folder.read_labels(root)
        splits = self.builder_config.splits or folder.available_splits(root)
        return {s: self._generate_examples(root, folder.split_names(root, s, labels), labels) for s in splits}

    def _generate_examples(self, root, names, labels):
        cfg = self.builder_config
        order = {name: i for i, name in enumerate(labels)}
        views = folder.read_views(root) if cfg.with_views else {}
        for name in names:
            ex = folder.load_example(root, name, labels[name], cfg.with_mask, cfg.with_depth)
            if cfg.downscale and ex["image"].shape[0] > cfg.resolution:
                ex = folder.area_resize(ex, cfg.resolution)
            if ex["image"].shape[0] != cfg.resolution:
                raise ValueError(f"{name}: expected resolution {cfg.resolution} (data.resolution"
                                 f"{'' if cfg.downscale else ', or downscale'}), got {ex['image'].shape[0]} in {root}")
            ex["index"] = np.int64(order[name])
            if cfg.with_views:
                scene, view = views.get(name, (-1, -1))
                ex.update(name=name, scene=np.int64(scene), view=np.int64(view))
            yield name, ex
