"""The tfds builder of a synthetic split: the aligned-folder builder (data/tfds_builder.py) over the
folder `inversion3d synth-data` wrote, with masks and depth for the multi-view splits.

  builder = AlignedFolder(config=tfds_config("data/synth64", "test", 64), data_dir="~/tensorflow_datasets")
  builder.download_and_prepare(); source = builder.as_data_source("test")
"""
import dataclasses

from inversion3d.data.synthetic.writer import SPLITS
from inversion3d.data.tfds_builder import AlignedFolderConfig, folder_config


def tfds_config(root, split: str, resolution: int) -> AlignedFolderConfig:
    """AlignedFolderConfig of one written split ('train', 'test', ...; multi-view splits also give
    '<split>_input', their input views, and carry mask + depth and each image's name, scene and view,
    the held-out views of `inversion3d invert tfds:...`). Named 'synth_<split>_r<res>...'."""
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {tuple(SPLITS)}, got {split!r}")
    multiview = SPLITS[split].multiview
    config = folder_config(root, resolution, with_mask=multiview, with_depth=multiview, name=f"synth_{split}",
                           with_views=multiview)
    return dataclasses.replace(config, splits=(split, f"{split}_input") if multiview else (split,))
