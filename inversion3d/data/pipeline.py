"""grain input pipeline over random-access records (a tfds data source or a list of dicts).

Multi-host: process p loads only its rows of each global batch (rows p*b .. (p+1)*b - 1,
b = batch / process_count), and every random choice (shuffle order, mirror coin) depends on the
global example index only, so the global batch is the same for any number of processes. The
iterator's state (grain's `get_state()`, a small dict) restores the exact next batch.
"""
import grain
import numpy as np

from inversion3d.data import folder, mirror


def grain_dataset(records, local_batch: int, seed: int, shuffle: bool = True, mirror_prob: float = 0.0,
                  process_index: int = 0, process_count: int = 1, drop_keys=("index",)):
    """Random-access `records` (a tfds data source, a list of dicts, any Sequence) -> grain
    MapDataset of this process's local batches (dicts of stacked numpy arrays), endless.

    Shuffling is a fresh permutation per epoch (grain shuffle-then-repeat); with mirror_prob > 0
    each example is mirrored (image, mask, depth and camera, data/mirror.py) with that probability.
    local_batch >= 1 rows (a process may hold a single row).
    """
    if int(local_batch) < 1:
        raise ValueError(f"local_batch: expected >= 1 rows per process, got {local_batch}")
    if len(records) == 0:
        raise ValueError("records: expected a non-empty data source")
    ds = grain.MapDataset.source(records)
    if shuffle:
        ds = ds.shuffle(seed=seed)
    ds = ds.repeat()
    ds = ds.map(lambda ex: folder.to_float({k: np.asarray(v) for k, v in ex.items() if k not in drop_keys}))
    if mirror_prob > 0:
        ds = ds.random_map(lambda ex, rng: mirror.mirror_example(ex) if rng.random() < mirror_prob else ex,
                           seed=seed + 1)
    # The repeated stream is endless (grain length sys.maxsize): drop_remainder keeps the batched
    # length an exact integer division; without it grain's float ceil(maxsize / 1) overflows len()
    # for one-row batches. An endless stream has no remainder, so the batches are the same.
    return ds.batch(local_batch, drop_remainder=True)[process_index::process_count]
