"""Image grids for TensorBoard: one row per example, one column per kind (input, reconstruction,
novel views ...)."""
import numpy as np


def to_uint8(images):
    """[-1, 1] float images -> uint8 (same shape)."""
    x = (np.asarray(images, np.float32) + 1.0) * 127.5
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _upsample(x, size):
    f = size // x.shape[1]
    if f * x.shape[1] != size:
        raise ValueError(f"images: column sizes must divide the largest ({size}), got {x.shape[1]}")
    return np.repeat(np.repeat(x, f, axis=1), f, axis=2)


def grid(columns, max_rows: int = 8):
    """columns: list of (N, H_i, W_i, 3) arrays in [-1, 1] (square sizes dividing the largest)
    -> (rows*S, cols*S, 3) uint8, S the largest size, smaller ones nearest-upsampled."""
    if not columns:
        raise ValueError("columns: expected at least one (N, H, W, 3) array")
    cols = [np.asarray(c, np.float32)[:max_rows] for c in columns]
    size = max(c.shape[1] for c in cols)
    cols = [to_uint8(_upsample(c, size)) for c in cols]
    rows = np.concatenate(cols, axis=2)  # (N, S, cols*S, 3)
    return rows.reshape(-1, rows.shape[2], rows.shape[3])
