"""Turning generator outputs into pictures: uint8 images, colour-mapped depth, image grids (for the
commands, the metric reports and TensorBoard), PNG files.

Writes are atomic (temp file in the same folder, then rename) so no half-written PNG is left.
"""
import numpy as np
from PIL import Image

from inversion3d.files import atomic_write

# Anchor colours of a perceptually ordered map (dark purple -> orange -> light yellow); near = bright.
_DEPTH_ANCHORS = np.array([
    [0.00, 0.00, 0.02], [0.26, 0.04, 0.41], [0.58, 0.15, 0.40],
    [0.87, 0.32, 0.23], [0.99, 0.65, 0.04], [0.99, 1.00, 0.64]], np.float64)


def to_uint8(image):
    """[-1, 1] float image (..., H, W, C) -> uint8 [0, 255] (the EG3D convention)."""
    image = np.asarray(image, np.float32)
    return np.clip(np.rint((image + 1.0) * 127.5), 0, 255).astype(np.uint8)


def colorize_depth(depth, lo=None, hi=None):
    """Depth (H, W) or (H, W, 1) -> uint8 RGB (H, W, 3); near is bright. Range defaults to min/max."""
    depth = np.asarray(depth, np.float64).reshape(np.shape(depth)[:2])
    lo = float(np.min(depth)) if lo is None else lo
    hi = float(np.max(depth)) if hi is None else hi
    t = 1.0 - np.clip((depth - lo) / max(hi - lo, 1e-8), 0.0, 1.0)
    pos = t * (len(_DEPTH_ANCHORS) - 1)
    idx = np.minimum(pos.astype(int), len(_DEPTH_ANCHORS) - 2)
    frac = (pos - idx)[..., None]
    rgb = _DEPTH_ANCHORS[idx] * (1 - frac) + _DEPTH_ANCHORS[idx + 1] * frac
    return np.rint(rgb * 255).astype(np.uint8)


def make_grid(tiles, size=None):
    """tiles: rows x cols nested list of uint8 (H, W, 3) -> one uint8 image; tiles resized to `size`."""
    rows = []
    for row in tiles:
        cells = []
        for tile in row:
            img = Image.fromarray(np.asarray(tile))
            if size is not None and img.size != (size, size):
                img = img.resize((size, size), Image.NEAREST)
            cells.append(np.asarray(img.convert("RGB")))
        rows.append(np.concatenate(cells, axis=1))
    return np.concatenate(rows, axis=0)


def batch_grid(columns, max_rows=8):
    """columns: list of (N, H_i, W_i, 3) arrays in [-1, 1] (square sizes dividing the largest)
    -> (rows*S, cols*S, 3) uint8, one row per example (at most max_rows), S the largest size, smaller
    columns nearest-upsampled (TensorBoard grids: input, reconstruction, novel views ...)."""
    if not columns:
        raise ValueError("columns: expected at least one (N, H, W, 3) array")
    cols = [np.asarray(c, np.float32)[:max_rows] for c in columns]
    size = max(c.shape[1] for c in cols)
    bad = [c.shape[1] for c in cols if size % c.shape[1]]
    if bad:
        raise ValueError(f"images: column sizes must divide the largest ({size}), got {bad[0]}")
    rows = min(len(c) for c in cols)
    return make_grid([[to_uint8(c[i]) for c in cols] for i in range(rows)], size)


def save_png(path, array):
    """Atomically writes uint8 (H, W, 3) `array` to `path`; returns the path."""
    return atomic_write(path, lambda tmp: Image.fromarray(np.asarray(array, np.uint8)).save(tmp, format="PNG"))
