"""Cameras from five landmarks, without a 3-D face model: PnP against a mean 5-point face.

World frame (eg3d.md §8): y up, the frontal camera sits on +z looking toward -z; cam2world is
OpenCV style (camera x right, y image-down, z forward). The template is Deep3DFaceRecon's standard
5-point face (align.LM3D_STD, BFM units) placed in the world as EG3D's 3dface2idr_mat.py places BFM:
world = 0.27 * bfm + (0, 0.006, 0.161) (editing-and-eval.md §6.1 step 3).

`solve_pnp` fits rotation R and translation t (world -> OpenCV camera) so that the template projects
onto the landmarks of the aligned crop under the crop's intrinsics (normalised focal 4.2647,
principal point 0.5: EG3D and PanoHead fix these, eg3d.md §8, editing-and-eval.md §6.1 step 4):
scaled-orthographic initialisation, then Levenberg-Marquardt on the perspective reprojection error.
Labels:
  EG3D ('orig' mode of preprocess_cameras.py): cam2world = [R^T | -R^T t], position rescaled to
    radius 2.7 around the world origin (direction kept).
  PanoHead (recrop_images.py eg3dcamparams): rotation only, the camera 2.7 from the origin on its
    optical axis, looking at the origin: cam2world = [R^T | -R^T (0, 0, 2.7)].
"""
import math

import numpy as np

from inversion3d import camera
from inversion3d.preprocess.align import LM3D_STD

BFM_TO_WORLD_SCALE = 0.27  # 3dface2idr_mat.py: c *= 0.27
BFM_TO_WORLD_OFFSET = np.array([0.0, 0.006, 0.161])  # 3dface2idr_mat.py: c[1] += 0.006, c[2] += 0.161
TEMPLATE_WORLD = LM3D_STD * BFM_TO_WORLD_SCALE + BFM_TO_WORLD_OFFSET  # (5, 3)
RADIUS = camera.FFHQ_RADIUS  # 2.7 for both EG3D and PanoHead
FOCAL = camera.FFHQ_FOCAL  # 4.2647 = 2985.29 / 700
STYLES = ("eg3d", "panohead")
# Ours: five points cannot tell head pitch from expression or face shape (a smile lifts the mouth
# corners, which reads as a camera above the head), so the fit shrinks pitch toward level: a
# Gaussian prior of std PITCH_PRIOR_DEG against landmark noise LANDMARK_NOISE (crop fraction).
PITCH_PRIOR_DEG = 10.0
LANDMARK_NOISE = 0.02  # ~ the template's rms misfit on real faces: 8-10 px of a 512 crop


def project(rotation, translation, points, focal=FOCAL):
    """(N, 3) world points -> (N, 2) normalised image coordinates (0..1, y down, principal point 0.5)."""
    cam = points @ rotation.T + translation
    return focal * cam[:, :2] / cam[:, 2:3] + 0.5


def _init_weak_perspective(points, uv, focal):
    centred = points - points.mean(axis=0)
    affine = np.linalg.lstsq(centred, uv - uv.mean(axis=0), rcond=None)[0].T  # (2, 3)
    scale = np.linalg.norm(affine, axis=1).mean()
    u, _, vt = np.linalg.svd(affine)
    rows = u @ np.eye(2, 3) @ vt  # nearest pair of orthonormal rows
    rotation = np.vstack([rows, np.cross(rows[0], rows[1])])
    depth = focal / scale
    xy = (uv.mean(axis=0) - 0.5) * depth / focal - (rotation @ points.mean(axis=0))[:2]
    return rotation, np.array([xy[0], xy[1], depth - (rotation @ points.mean(axis=0))[2]])


def solve_pnp(uv, points=TEMPLATE_WORLD, focal=FOCAL, pitch_prior_deg=PITCH_PRIOR_DEG, iterations=50):
    """Perspective-n-point for a normalised-intrinsics camera.

    Args:
      uv: (N, 2) landmarks in normalised crop coordinates ((pixel index + 0.5) / crop size).
      points: (N, 3) world points (default: the 5-point template).
      focal: normalised focal length.
      pitch_prior_deg: std of the prior on the viewing direction's pitch (None: plain least squares).
    Returns:
      rotation (3, 3), translation (3,) world -> OpenCV camera, rms reprojection error (normalised).
    """
    uv = np.asarray(uv, np.float64)
    rotation, translation = _init_weak_perspective(points, uv, focal)
    params, damping = np.zeros(6), 1e-3
    prior = 0.0 if pitch_prior_deg is None else LANDMARK_NOISE / math.radians(pitch_prior_deg)

    def residual(p):
        r = camera.rodrigues(p[:3]) @ rotation
        reprojection = (project(r, translation + p[3:], points, focal) - uv).reshape(-1)
        pitch = math.asin(float(np.clip(-r[2, 1], -1, 1)))  # camera forward axis below level -> > 0
        return np.append(reprojection, prior * pitch)

    res = residual(params)
    for _ in range(iterations):
        jac = np.stack([(residual(params + d) - res) / 1e-7 for d in np.eye(6) * 1e-7], axis=1)
        hess = jac.T @ jac
        step = np.linalg.solve(hess + damping * np.diag(np.diag(hess) + 1e-12), -jac.T @ res)
        trial = residual(params + step)
        if trial @ trial < res @ res:
            params, res, damping = params + step, trial, damping * 0.3
            if np.linalg.norm(step) < 1e-10:
                break
        else:
            damping *= 10
    return camera.rodrigues(params[:3]) @ rotation, translation + params[3:], float(np.sqrt(np.mean(res[:-1] ** 2)))


def label_from_pnp(rotation, translation, style):
    """(25,) float32 label [cam2world (16), intrinsics (9)] in the `style` convention (module doc)."""
    if style not in STYLES:
        raise ValueError(f"style: expected one of {STYLES}, got {style!r}")
    rt = rotation.T
    if style == "eg3d":
        position = -rt @ translation
        position = position / np.linalg.norm(position) * RADIUS
    else:
        position = -rt @ np.array([0.0, 0.0, RADIUS])
    pose = np.eye(4)
    pose[:3, :3], pose[:3, 3] = rt, position
    return camera.make_label(pose, camera.intrinsics_matrix(FOCAL))[0]


def angles_from_label(label):
    """Camera angles of a (25,) label in degrees: yaw (position left/right of frontal: + = world +x),
    elevation (+ = above the head), roll (rotation of the image about the optical axis)."""
    pose = np.asarray(label, np.float64)[:16].reshape(4, 4)
    x, y, z = pose[:3, 3]
    yaw = math.degrees(math.atan2(x, z))
    elevation = math.degrees(math.atan2(y, math.hypot(x, z)))
    right, forward = pose[:3, 0], pose[:3, 2]
    level = np.cross(forward, [0.0, 1.0, 0.0])  # the horizontal right vector of an unrolled camera
    level = level / max(np.linalg.norm(level), 1e-12)
    roll = math.degrees(math.atan2(np.dot(np.cross(level, right), forward), np.dot(level, right)))
    return {"yaw": yaw, "elevation": elevation, "roll": roll}


def estimate_label(crop_landmarks, crop_size, style):
    """Landmarks of an aligned crop (5, 2) pixel-index coordinates -> ((25,) label, info dict with
    yaw / elevation / roll in degrees and the PnP reprojection error in crop pixels)."""
    uv = (np.asarray(crop_landmarks, np.float64) + 0.5) / crop_size
    rotation, translation, rms = solve_pnp(uv)
    label = label_from_pnp(rotation, translation, style)
    info = angles_from_label(label)
    info["reprojection_px"] = rms * crop_size
    return label, info


def refine_camera(label, render_loss, steps=0, lr=5e-3, args=()):
    """Camera refinement against a render loss (the "Pose Opt." baseline of GOAE Table 1): a thin
    pointer to `inversion3d.inversion.optimization.refine_camera`, which optimises an axis-angle +
    translation delta of `label` (25,) by Adam on `render_loss(label (N, 25), *args) -> scalar`.
    Returns the refined label (float32); steps == 0 returns `label` unchanged. Joint refinement with
    the latent is `invert --method wplus|pti --pose-opt` (inversion/wplus.py, pti.py)."""
    from inversion3d.inversion.optimization import refine_camera as refine  # lazy: preprocess needs no jax

    return refine(label, render_loss, steps, lr, args)[0]
