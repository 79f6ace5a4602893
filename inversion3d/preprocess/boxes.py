"""Box arithmetic and resampling for the MTCNN cascade (numpy; data-dependent sizes stay out of jit).

Coordinates are continuous pixel-edge coordinates: pixel (row i, column j) covers [j, j + 1) x
[i, i + 1); a box is (x1, y1, x2, y2) with width x2 - x1.
"""
import numpy as np


def area_matrix(n_in, n_out):
    """(n_out, n_in) float64 area-averaging weights: output cell i averages input [i s, (i + 1) s),
    s = n_in / n_out, with fractional coverage at the cell ends (PIL's BOX filter, cv2 INTER_AREA
    when shrinking). When enlarging, each output cell copies the input pixel under it."""
    scale = n_in / n_out
    lo = np.arange(n_out)[:, None] * scale
    hi = lo + scale
    left = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, left + 1) - np.maximum(lo, left), 0.0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def resize_area(image, height, width):
    """(H, W, C) float -> (height, width, C) float32 by area averaging (see area_matrix)."""
    rows = area_matrix(image.shape[0], height)
    cols = area_matrix(image.shape[1], width)
    out = np.einsum("ih,hwc,jw->ijc", rows, image.astype(np.float64), cols, optimize=True)
    return out.astype(np.float32)


def overlap(box, boxes, mode="union"):
    """(K,) overlap of one box (4,) with boxes (K, 4): intersection over union, or over the smaller
    of the two areas (mode 'min')."""
    iw = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    ih = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = iw * ih
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    denom = np.minimum(area, areas) if mode == "min" else area + areas - inter
    return inter / np.maximum(denom, 1e-12)


def nms(boxes, scores, threshold, mode="union"):
    """Greedy non-maximum suppression -> int64 indices kept, best score first.

    A box is dropped when its overlap (see `overlap`) with an already kept box exceeds `threshold`.
    """
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best = order[0]
        keep.append(best)
        rest = order[1:]
        order = rest[overlap(boxes[best], boxes[rest], mode) <= threshold]
    return np.asarray(keep, np.int64)


def apply_regression(boxes, reg):
    """Bounding-box regression: each edge moves by reg (K, 4) times the box width / height."""
    w = (boxes[:, 2] - boxes[:, 0])[:, None]
    h = (boxes[:, 3] - boxes[:, 1])[:, None]
    return boxes + reg * np.concatenate([w, h, w, h], axis=1)


def square(boxes):
    """Boxes grown to squares of side max(w, h) around the same centre."""
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    cx = boxes[:, 0] + 0.5 * w
    cy = boxes[:, 1] + 0.5 * h
    return np.stack([cx - 0.5 * side, cy - 0.5 * side, cx + 0.5 * side, cy + 0.5 * side], axis=1)


def snap(boxes):
    """Boxes rounded to whole pixels, at least 1 pixel wide and high (the crops cut exactly these)."""
    out = np.round(boxes)
    out[:, 2] = np.maximum(out[:, 2], out[:, 0] + 1)
    out[:, 3] = np.maximum(out[:, 3], out[:, 1] + 1)
    return out


def crop_patches(image, boxes, size):
    """(K, size, size, C) float32 patches of integer boxes (K, 4), zero outside the image (as the
    original MTCNN pads), each resized by area averaging."""
    height, width = image.shape[:2]
    out = np.zeros((len(boxes), size, size, image.shape[2]), np.float32)
    for k, (x1, y1, x2, y2) in enumerate(boxes.astype(np.int64)):
        patch = np.zeros((y2 - y1, x2 - x1, image.shape[2]), np.float32)
        sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
        if sx2 > sx1 and sy2 > sy1:
            patch[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = image[sy1:sy2, sx1:sx2]
        out[k] = resize_area(patch, size, size)
    return out
