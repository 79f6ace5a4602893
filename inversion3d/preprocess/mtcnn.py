"""MTCNN face detection with five landmarks (Zhang et al. 2016), in JAX + numpy.

Cascade: an image pyramid goes through P-Net (12x12 windows, stride 2) -> candidate boxes, NMS per
scale and over all scales, box regression, squaring -> R-Net on 24x24 crops -> threshold, NMS,
regression -> O-Net on 48x48 crops -> threshold, landmarks, regression, NMS by the smaller area.
The networks run jit-compiled; the box bookkeeping (data-dependent sizes) is numpy.

Fixed shapes so that compiles are few: all pyramid levels are packed into one mosaic (shelf packing,
even origins so every 12x12 window of a level lands on P-Net's stride-2 grid) padded to multiples of
`canvas_multiple`, and P-Net runs once on it; only windows lying wholly inside a level are read, so
each level's scores equal those of running P-Net on that level alone. R-/O-Net batches are padded
to powers of two. Photos larger than `max_side` are detected on an area-downscaled copy.

Differences from facenet-pytorch's pipeline (same weights, same thresholds), chosen for clarity:
continuous pixel-edge box coordinates (no 1-based +1 terms), level sizes ceil(h * scale), crops
zero-padded outside the image as in the original MTCNN (facenet-pytorch clips them instead), area
resampling with fractional coverage, and no partial 12x12 window at a level's odd-sized edge.
"""
import dataclasses
import math
from typing import Tuple

import jax
import numpy as np

from inversion3d.preprocess import boxes as bx
from inversion3d.preprocess.mtcnn_nets import MTCNNNet


@dataclasses.dataclass(frozen=True)
class MTCNNConfig:
    """Detection settings. Defaults are MTCNN's published ones (also facenet-pytorch's and the TF
    `mtcnn` package's that EG3D's batch_mtcnn.py uses, editing-and-eval.md §6.1)."""

    min_face: float = 20.0  # smallest face side searched, in pixels of the detection image
    factor: float = 0.709  # pyramid step between scales
    thresholds: Tuple[float, float, float] = (0.6, 0.7, 0.7)  # P-, R-, O-Net face probability
    nms_pnet_scale: float = 0.5  # IoU, within one pyramid level
    nms_pnet: float = 0.7  # IoU, over all levels
    nms_rnet: float = 0.7  # IoU
    nms_onet: float = 0.7  # intersection over the smaller area
    max_side: int = 1024  # ours: longer photo side above this -> detect on a downscaled copy
    canvas_multiple: int = 64  # ours: mosaic padding (bounds the number of compiled P-Net shapes)


@dataclasses.dataclass
class Faces:
    """Detections, best score first. boxes (K, 4) x1, y1, x2, y2 in pixel-edge coordinates of the
    input image; scores (K,) O-Net face probability; landmarks (K, 5, 2) x, y in pixel-index
    coordinates (pixel centres at integers): left eye, right eye, nose, left and right mouth corner
    (left = smaller x in the image)."""

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray

    def __len__(self):
        return len(self.scores)


@jax.jit
def _pnet(params, x):
    return MTCNNNet("pnet").apply(params, x)


@jax.jit
def _rnet(params, x):
    return MTCNNNet("rnet").apply(params, x)


@jax.jit
def _onet(params, x):
    return MTCNNNet("onet").apply(params, x)


_NETS = {"pnet": _pnet, "rnet": _rnet, "onet": _onet}


def run_net(kind, params, x, chunk=1024):
    """R-/O-Net outputs for a (K, s, s, 3) batch, padded to a power of two (>= 16) per chunk."""
    outs = []
    for start in range(0, len(x), chunk):
        part = x[start:start + chunk]
        size = max(16, 1 << (len(part) - 1).bit_length())
        padded = np.zeros((size,) + part.shape[1:], np.float32)
        padded[:len(part)] = part
        outs.append(jax.tree.map(lambda a, n=len(part): np.asarray(a[:n]), _NETS[kind](params, padded)))
    return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}


def normalize(pixels):
    """uint8-range pixels -> MTCNN's input range: (p - 127.5) / 128."""
    return (np.asarray(pixels, np.float32) - 127.5) * 0.0078125


def pyramid_scales(height, width, config):
    """Scales 12 / min_face * factor^k while the shorter side stays >= 12 pixels."""
    scale = 12.0 / config.min_face
    scales = []
    while min(height, width) * scale >= 12:
        scales.append(scale)
        scale *= config.factor
    return scales


def pack_levels(sizes, multiple):
    """Shelf packing of level sizes [(h, w)] -> ([(y, x) origins, all even], (canvas_h, canvas_w))."""
    even = lambda n: n + (n % 2)  # noqa: E731
    width = even(sizes[0][1])
    origins, x, y, shelf = [], 0, 0, 0
    for h, w in sizes:
        if x + w > width:
            x, y, shelf = 0, y + shelf, 0
        origins.append((y, x))
        x += even(w)
        shelf = max(shelf, even(h))
    round_up = lambda n: -(-n // multiple) * multiple  # noqa: E731
    return origins, (round_up(y + shelf), round_up(width))


def pnet_candidates(params, image, config):
    """Stage 1 -> (K, 4) squared, regressed, whole-pixel boxes in `image` coordinates."""
    height, width = image.shape[:2]
    scales = pyramid_scales(height, width, config)
    if not scales:
        return np.zeros((0, 4))
    sizes = [(math.ceil(height * s), math.ceil(width * s)) for s in scales]
    origins, canvas_shape = pack_levels(sizes, config.canvas_multiple)
    canvas = np.zeros(canvas_shape + (3,), np.float32)
    for (y, x), (h, w) in zip(origins, sizes):
        canvas[y:y + h, x:x + w] = normalize(bx.resize_area(image, h, w))
    out = _pnet(params, canvas[None])
    prob, reg = np.asarray(out["prob"][0]), np.asarray(out["reg"][0])
    found, found_scores = [], []
    for (y, x), (h, w) in zip(origins, sizes):
        rows = slice(y // 2, (y + h - 12) // 2 + 1)  # windows wholly inside the level
        cols = slice(x // 2, (x + w - 12) // 2 + 1)
        p = prob[rows, cols]
        ii, jj = np.nonzero(p >= config.thresholds[0])
        if not len(ii):
            continue
        sy, sx = h / height, w / width
        top, left = 2.0 * ii, 2.0 * jj  # window corner in level pixels
        boxes = np.stack([left / sx, top / sy, (left + 12) / sx, (top + 12) / sy], axis=1)
        boxes = np.concatenate([boxes, reg[rows, cols][ii, jj]], axis=1)
        scores = p[ii, jj]
        keep = bx.nms(boxes[:, :4], scores, config.nms_pnet_scale)
        found.append(boxes[keep])
        found_scores.append(scores[keep])
    if not found:
        return np.zeros((0, 4))
    boxes, scores = np.concatenate(found), np.concatenate(found_scores)
    boxes = boxes[bx.nms(boxes[:, :4], scores, config.nms_pnet)]
    return bx.snap(bx.square(bx.apply_regression(boxes[:, :4], boxes[:, 4:])))


def refine(params, image, boxes, config):
    """Stages 2 and 3 on candidate boxes -> Faces in `image` coordinates."""
    empty = Faces(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, 5, 2), np.float32))
    if not len(boxes):
        return empty
    out = run_net("rnet", params["rnet"], normalize(bx.crop_patches(image, boxes, 24)))
    ok = out["prob"] > config.thresholds[1]
    boxes, scores, reg = boxes[ok], out["prob"][ok], out["reg"][ok]
    keep = bx.nms(boxes, scores, config.nms_rnet)
    boxes = bx.snap(bx.square(bx.apply_regression(boxes[keep], reg[keep])))
    if not len(boxes):
        return empty
    out = run_net("onet", params["onet"], normalize(bx.crop_patches(image, boxes, 48)))
    ok = out["prob"] > config.thresholds[2]
    boxes, scores, reg, marks = boxes[ok], out["prob"][ok], out["reg"][ok], out["landmarks"][ok]
    w = (boxes[:, 2] - boxes[:, 0])[:, None]
    h = (boxes[:, 3] - boxes[:, 1])[:, None]
    points = np.stack([boxes[:, :1] + w * marks[:, :5], boxes[:, 1:2] + h * marks[:, 5:]], axis=-1) - 0.5
    boxes = bx.apply_regression(boxes, reg)
    keep = bx.nms(boxes, scores, config.nms_onet, mode="min")
    return Faces(boxes[keep].astype(np.float32), scores[keep].astype(np.float32), points[keep].astype(np.float32))


def as_rgb(image):
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array in [0, 255] -> (H, W, 3) float32."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise ValueError(f"image: expected shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {image.shape}")
    if image.dtype.kind == "f" and image.size and float(image.max()) <= 1.0:
        image = image * 255.0  # floats in [0, 1]
    image = image[..., :3] if image.shape[-1] >= 3 else np.repeat(image, 3, axis=-1)
    return image.astype(np.float32)


def detect_faces(params, image, config=MTCNNConfig()):
    """All faces in one photo.

    Args:
      params: {'pnet', 'rnet', 'onet'} Flax variables (weights.load_mtcnn_params()).
      image: (H, W[, C]) RGB / grey / RGBA pixels, uint8 or float in [0, 255] (or [0, 1]).
      config: MTCNNConfig.
    Returns:
      Faces (boxes, scores, landmarks in the input's pixel coordinates), best score first.
    """
    image = as_rgb(image)
    height, width = image.shape[:2]
    ratio = min(1.0, config.max_side / max(height, width))
    small = image
    if ratio < 1.0:
        small = bx.resize_area(image, max(1, round(height * ratio)), max(1, round(width * ratio)))
    faces = refine(params, small, pnet_candidates(params["pnet"], small, config), config)
    if small is not image and len(faces):
        sy, sx = height / small.shape[0], width / small.shape[1]
        faces.boxes = faces.boxes * np.asarray([sx, sy, sx, sy], np.float32)
        faces.landmarks = (faces.landmarks + 0.5) * np.asarray([sx, sy], np.float32) - 0.5
    order = np.argsort(-faces.scores, kind="stable")
    return Faces(faces.boxes[order], faces.scores[order], faces.landmarks[order])
