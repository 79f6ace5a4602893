"""Dual Encoder inference on PanoHead (Dual Encoder paper Sec. 3.4, Fig. 4; encoders.md §6).

Two TriPlaneNet-style encoders (pSp w+, then a tri-grid encoder, triplanenet.refine):
  E1, the "visible" encoder, trained with the reconstruction losses only (Eq. 5): input-view fidelity;
  E2, the "occluded" encoder, trained with the same losses plus the occlusion-aware tri-plane
      discriminator (Eq. 6): realistic unseen regions.
Stitching (Sec. 3.4): T = V * T_E1 + O * T_E2 with O = 1 - V the occlusion mask of Eq. 3.
The depth D of Eq. 3 is E1's: E1's tri-grid rendered at the input camera gives D, its surface
points o + D d are projected onto every plane of the tri-grid, and the cells (plane, depth slice,
row, column) they land in are the visible set V (visibility.visibility, same cell rule as GOAE's
mix fusion). E1's depth because the visible part comes from E1: the surface the input view sees
is E1's surface. Training uses the same O (`visible_part`, E1 with its running statistics) for the
discriminator's masks: Sec. 3.4 stitches with "the occlusion masks derived in Section 3.3", and the
paper names no encoder for the depth D of Eq. 3 anywhere.
Mask post-processing (not in the paper; this port's choice, `sigma`): GOAE's recipe per plane and
per depth slice: Gaussian blur (kernel 9, sigma) -> > 0.35 -> blur again, which closes the holes
between the 128 x 128 surface samples and softens the seam; sigma 1.5 (the middle of GOAE's random
[1, 2], fixed so inversion is deterministic). sigma <= 0 gives the hard mask of Eq. 3 as written.
E1's ws feed the super-resolution and the background (the input view is E1's).
"""
import functools

from inversion3d.inversion import visibility
from inversion3d.inversion.common import render, result
from inversion3d.methods.triplanenet import pipeline as triplanenet

FILE_KINDS = {"dual": ("triplanenet", "triplanenet")}  # method -> the kinds of its encoder files, in order
ROLES = ("E1 (visible)", "E2 (occluded)")


def occlusion_mask(cfg, depth, c, sigma=visibility.DEFAULT_SIGMA):
    """O of Eq. 3 (N, 3, D, R, R) in [0, 1] (1 = not seen from cameras c) from the depth (N, r, r, 1)
    rendered at c, on the tri-grid of generator config `cfg` (R = its plane resolution)."""
    r = cfg.render
    plane_axes = "eg3d" if r.plane_kind == "eg3d" else "panohead"
    seen = visibility.visibility(depth, c, cfg.triplane_resolution, r.triplane_depth, r.box_warp, plane_axes, sigma)
    return 1.0 - seen


def stitch(t_e1, t_e2, occluded):
    """T = V * T_E1 + O * T_E2 (V = 1 - O) for tri-grids (N, 3, H, W, C*D) and O (N, 3, D, H, W)."""
    return visibility.blend_planes(t_e1, t_e2, 1.0 - occluded)


def visible_part(cfg, e1, params, image, c, sigma=visibility.DEFAULT_SIGMA):
    """E1's inversion and the occlusion mask O from its depth: (ws, T_E1, render at c, O (N, 3, D, R, R)).
    e1 = (pSp module, pSp input size, tri-grid encoder module); params {'generator', 'psp', 'triplanenet',
    'latent_avg'}. The one definition of O: inference stitches with it, training masks D's inputs with it."""
    ws, _, planes, out = triplanenet.refine(cfg, *e1, params, image, c)
    return ws, planes, out, occlusion_mask(cfg, out["image_depth"], c, sigma)


def invert(cfg, e1, e2, params, image, c, sigma=visibility.DEFAULT_SIGMA):
    """e1, e2: (pSp module, pSp input size, tri-grid encoder module) of E1 / E2; params
    {'generator', 'e1': {'psp', 'triplanenet', 'latent_avg'}, 'e2': {...}}; image (N, S, S, 3) in
    [-1, 1]; c (N, 25) -> result dict plus `mask` (N, 3, D, R, R) = V (1 = visible, from E1),
    `image_e1`, `image_e2` (each encoder alone at the input camera)."""
    gen = params["generator"]
    ws1, t1, out1, occluded = visible_part(cfg, e1, dict(params["e1"], generator=gen), image, c, sigma)
    _, _, t2, out2 = triplanenet.refine(cfg, *e2, dict(params["e2"], generator=gen), image, c)
    planes = stitch(t1, t2, occluded)
    return result(ws1, render(cfg, gen, planes, ws1, c), planes, mask=1.0 - occluded, image_e1=out1["image"],
                  image_e2=out2["image"])


def check_roles(encoders):
    """A file converted with `--role` must sit in its place: E1 first (--encoder), E2 second (--encoder2)."""
    for i, (enc, want) in enumerate(zip(encoders, ("e1", "e2"))):
        role = getattr(enc, "role", None)
        if role is not None and role != want:
            flag = ("--encoder", "--encoder2")[i]
            raise ValueError(f"{flag}: {enc.source} was converted as {ROLES[('e1', 'e2').index(role)]}, "
                             f"{flag} takes {ROLES[i]}; swap the two files")


def build(method, cfg, encoders, sigma=visibility.DEFAULT_SIGMA):
    """-> (fn(params, image, c), the method's params, input size) for registry.make_inverter;
    encoders: (E1 file, E2 file), both TriPlaneNet v2 style."""
    del method
    check_roles(encoders)
    (m1, p1), (m2, p2) = (triplanenet.parts(cfg, e, r) for e, r in zip(encoders, ROLES))
    return functools.partial(invert, cfg, m1, m2, sigma=sigma), {"e1": p1, "e2": p2}, cfg.img_resolution
