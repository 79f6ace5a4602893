"""Dual Encoder inference on PanoHead (encoders.md §6): two TriPlaneNet-style encoders, stitched.

E1 (the "occluded" encoder, trained with the occlusion-aware tri-plane discriminator) and E2 (the
"visible" encoder, input-view fidelity) each give w+ and a refined tri-grid (triplanenet.refine).
E2's render at the input camera gives the depth; the cells of every plane (and depth slice) that
the input view sees get a soft mask M (visibility.py, GOAE's blur / threshold / blur), and
T = M * T_E2 + (1 - M) * T_E1. The paper's exact mask post-processing is not available (§6), so the
GOAE recipe is used on all three planes; E2's ws feed the super-resolution and background.
"""
import functools

from inversion3d.inversion import visibility
from inversion3d.inversion.common import render, result
from inversion3d.methods.triplanenet import pipeline as triplanenet

FILE_KINDS = {"dual": ("triplanenet", "triplanenet")}  # method -> the kinds of its encoder files, in order
ROLES = ("E1 (occluded)", "E2 (visible)")


def invert(cfg, e1, e2, params, image, c, sigma=visibility.DEFAULT_SIGMA):
    """e1, e2: (pSp module, pSp input size, tri-plane encoder module) for E1 / E2; params
    {'generator', 'e1': {'psp', 'triplanenet', 'latent_avg'}, 'e2': {...}}; image (N, S, S, 3) in
    [-1, 1]; c (N, 25) -> result dict plus `mask` (N, 3, D, H, W), `image_e1`, `image_e2`."""
    gen = params["generator"]
    _, _, t1, out1 = triplanenet.refine(cfg, *e1, dict(params["e1"], generator=gen), image, c)
    ws2, _, t2, out2 = triplanenet.refine(cfg, *e2, dict(params["e2"], generator=gen), image, c)
    r = cfg.render
    mask = visibility.visibility(out2["image_depth"], c, t2.shape[2], r.triplane_depth, r.box_warp,
                                 "eg3d" if r.plane_kind == "eg3d" else "panohead", sigma)
    planes = visibility.blend_planes(t2, t1, mask)
    return result(ws2, render(cfg, gen, planes, ws2, c), planes, mask=mask, image_e1=out1["image"],
                  image_e2=out2["image"])


def build(method, cfg, encoders, sigma=visibility.DEFAULT_SIGMA):
    """-> (fn(params, image, c), the method's params, input size) for registry.make_inverter;
    encoders: (E1 file, E2 file), both TriPlaneNet v2 style."""
    del method
    (m1, p1), (m2, p2) = (triplanenet.parts(cfg, e, r) for e, r in zip(encoders, ROLES))
    return functools.partial(invert, cfg, m1, m2, sigma=sigma), {"e1": p1, "e2": p2}, cfg.img_resolution
