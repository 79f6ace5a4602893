"""TriPlaneNet v2's loss of one branch (training.md §2): reconstruction of the input view plus the
mirror loss against the horizontally flipped input, rendered at the mirrored camera.

Both branches (pSp -> w+, tri-plane encoder -> tri-plane offsets) have the same shape of loss and
differ only in their pixel term (pSp: L2, tri-plane encoder: smooth-L1, beta 1) and weights:
    loss = sum_k w_k term_k(pred, x) + mirror_lambda * sum_k m_k term_k(pred_mirror, flip(x); conf)
The pixel term of the mirror loss is confidence-weighted: the per-pixel loss averaged over RGB is
divided by (conf + 1) before the mean (`losses.reconstruction.pixel_loss`). conf = None weights every
pixel alike, which equals the formula at conf = 0.
"""
from inversion3d.losses.reconstruction import at_resolution, reconstruction_terms, weighted_total


def branch_loss(pred, image, weights, *, pred_mirror=None, mirror_weights=None, mirror_lambda: float = 0.0,
                confidence=None, lpips=None, arcface=None, pixel: str = "l2", resolution: int = 256):
    """-> (loss, terms) of one branch.

    pred: render at the input camera, image: the input x, both (N, S, S, 3) in [-1, 1].
    pred_mirror: render at the mirrored camera `camera.mirror_label(c)` (same shape), compared with
    flip(x) (x flipped left-right, PIL's mirror, training.md §2 data); None = no mirror
    loss (mirror_lambda must then be 0). confidence: (N, h, w, 1) >= 0 aligned with flip(x) (brought
    to `resolution`), or None (uniform). weights / mirror_weights: {term: weight} for the terms
    present ({pixel, 'lpips' if lpips, 'id' if arcface}). lpips / arcface: (module, variables) or None.
    terms: the unweighted scalars, mirror terms prefixed 'mirror_'.
    """
    nets = dict(lpips=lpips, arcface=arcface, resolution=resolution, pixel=pixel)
    terms = dict(reconstruction_terms(pred, image, **nets))
    loss = weighted_total(terms, weights)
    if pred_mirror is None:
        if mirror_lambda:
            raise ValueError("pred_mirror: mirror_lambda > 0 needs the render at the mirrored camera, got None")
        return loss, terms
    conf = None if confidence is None else at_resolution(confidence, resolution)
    mirror = reconstruction_terms(pred_mirror, image[:, :, ::-1], confidence=conf, **nets)
    loss = loss + float(mirror_lambda) * weighted_total(mirror, mirror_weights)
    terms.update({f"mirror_{k}": v for k, v in mirror.items()})
    return loss, terms
