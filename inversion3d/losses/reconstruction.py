"""The encoders' reconstruction loss: pixel + LPIPS + ID terms on one pair of image batches.

Used by every encoder method's training (training.md §1; GOAE Eq. 10: 1.0 L2 + 0.8 LPIPS + 0.25 ID;
pSp / e4e / TriPlaneNet v2 §2, §4; Dual Encoder Eq. 5). Weights live in the method's config; this
module only computes the terms. Both images are brought to `resolution` first (the official
trainers compare 256² images: renders are area-averaged 512 -> 256).

The LPIPS and ArcFace networks are passed as (module, variables) pairs (or None: the term is not
computed), so losses/ imports no network family.
"""
from typing import Any, Mapping, Optional, Tuple

import jax.numpy as jnp

from inversion3d.losses.identity import id_loss
from inversion3d.losses.lpips import lpips_loss
from inversion3d.ops.resize import resize_square

PIXEL_LOSSES = ("l2", "smooth_l1")
Net = Optional[Tuple[Any, Any]]  # (flax module, its variables)


def at_resolution(images, size: int):
    """(N, H, H, C) -> (N, size, size, C): area average for integer downscales (torch's
    adaptive average pooling 512 -> 256), antialiased bilinear otherwise; 0 keeps the size."""
    return resize_square(images, size) if size else images


def smooth_l1(x, y, beta: float = 1.0):
    """Elementwise smooth-L1 (torch's SmoothL1Loss, reduction none): 0.5 d²/beta if |d| < beta, else |d| - beta/2."""
    d = jnp.abs(x - y)
    return jnp.where(d < beta, 0.5 * jnp.square(d) / beta, d - 0.5 * beta)


def pixel_loss(pred, target, kind: str = "l2", confidence=None):
    """Mean pixel loss of NHWC images. kind 'l2' (torch MSELoss) or 'smooth_l1' (beta 1).

    confidence (N, H, W, 1) or None: TriPlaneNet v2's confidence weighting (training.md §2): the
    per-pixel loss averaged over RGB, divided by (conf + 1), then the mean.
    """
    if kind not in PIXEL_LOSSES:
        raise ValueError(f"pixel loss: expected one of {PIXEL_LOSSES}, got {kind!r}")
    per = jnp.square(pred - target) if kind == "l2" else smooth_l1(pred, target)
    if confidence is None:
        return jnp.mean(per)
    return jnp.mean(jnp.mean(per, axis=-1, keepdims=True) / (confidence + 1.0))


def reconstruction_terms(pred, target, *, lpips: Net = None, arcface: Net = None, resolution: int = 256,
                         pixel: str = "l2", confidence=None) -> Mapping[str, jnp.ndarray]:
    """Scalar terms {'l2' or 'smooth_l1', 'lpips', 'id'} of pred vs target (NHWC in [-1, 1]).

    'lpips' / 'id' are present only when their network is given; ID holds the target's embedding
    fixed (training.md §1.3). confidence: see `pixel_loss` (at `resolution`).
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred, target: expected one shape, got {pred.shape} and {target.shape}")
    x, y = at_resolution(pred, resolution), at_resolution(target, resolution)
    terms = {pixel: pixel_loss(x, y, pixel, confidence)}
    if lpips is not None:
        terms["lpips"] = lpips_loss(lpips[0], lpips[1], x, y)
    if arcface is not None:
        terms["id"] = id_loss(arcface[0], arcface[1], x, y)
    return terms


def weighted_total(terms: Mapping[str, jnp.ndarray], weights: Mapping[str, float]):
    """sum_k weights[k] * terms[k] over the terms present; a term without a weight is an error
    (every number of a method is in its config)."""
    missing = sorted(set(terms) - set(weights))
    if missing:
        raise ValueError(f"losses: no weight for the term(s) {missing}")
    return sum(float(weights[k]) * v for k, v in terms.items())
