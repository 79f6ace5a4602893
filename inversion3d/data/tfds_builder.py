"""tfds builder for aligned image folders (folder.py layout), stored as array_record.

Features are plain arrays (`tfds.features.Tensor`), so writing and reading need no TensorFlow
(`features.Image` would; see ../shared/jax-notes.md §1). Read with `builder.as_data_source(split)`
(random access, numpy values) and feed grain (pipeline.py).

  builder = AlignedFolder(config=AlignedFolderConfig(name="ffhq512", resolution=512),
                          data_dir="~/tensorflow_datasets")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=root))
  source = builder.as_data_source("train")
"""
import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from inversion3d.data import folder


@dataclasses.dataclass
class AlignedFolderConfig(tfds.core.BuilderConfig):
    """resolution: image side (the folder's images must have it); with_mask / with_depth: read the
    masks/ and depth/ folders; splits: None = the folder's <split>.txt lists (or just 'train');
    archive: a dataset_tool .zip to read instead of the manual_dir (tfds wants that to be a folder)."""
    resolution: int = 512
    with_mask: bool = False
    with_depth: bool = False
    splits: tuple = None
    archive: str = ""


class AlignedFolder(tfds.core.GeneratorBasedBuilder):
    """Aligned faces / heads with EG3D 25-D cameras from a local folder (the manual_dir)."""

    VERSION = tfds.core.Version("1.0.0")
    BUILDER_CONFIGS = [AlignedFolderConfig(name="default")]
    MANUAL_DOWNLOAD_INSTRUCTIONS = "Point manual_dir at a folder with dataset.json (inversion3d/data/folder.py)."

    def __init__(self, **kwargs):
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
        return self.dataset_info_from_configs(features=tfds.features.FeaturesDict(features))

    def _split_generators(self, dl_manager):
        root = self.builder_config.archive or str(dl_manager.manual_dir)
        labels = folder.read_labels(root)
        splits = self.builder_config.splits or folder.available_splits(root)
        return {s: self._generate_examples(root, folder.split_names(root, s, labels), labels) for s in splits}

    def _generate_examples(self, root, names, labels):
        cfg = self.builder_config
        order = {name: i for i, name in enumerate(labels)}
        for name in names:
            ex = folder.load_example(root, name, labels[name], cfg.with_mask, cfg.with_depth)
            if ex["image"].shape[0] != cfg.resolution:
                raise ValueError(f"{name}: expected resolution {cfg.resolution}, got {ex['image'].shape[0]}")
            ex["index"] = np.int64(order[name])
            yield name, ex
