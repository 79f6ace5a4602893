"""Cameras from five landmarks: PnP on synthetic projections, label conventions, yaw signs on real photos."""
import numpy as np
import pytest

from inversion3d import camera
from inversion3d.preprocess import align, pose


def _camera(yaw, pitch, pivot=(0, 0, 0.2)):
    c2w = camera.lookat_pose(np.pi / 2 + yaw, np.pi / 2 + pitch, pivot)[0].astype(np.float64)
    rotation = c2w[:3, :3].T
    return c2w, rotation, -rotation @ c2w[:3, 3]


@pytest.mark.parametrize("yaw,pitch", [(0.0, 0.0), (-0.6, 0.15), (0.4, -0.2)])
def test_pnp_recovers_a_known_camera(yaw, pitch):
    c2w, rotation, translation = _camera(yaw, pitch)
    uv = pose.project(rotation, translation, pose.TEMPLATE_WORLD)
    got_r, got_t, rms = pose.solve_pnp(uv, pitch_prior_deg=None)
    np.testing.assert_allclose(got_r, rotation, atol=1e-6)
    np.testing.assert_allclose(got_t, translation, atol=1e-5)
    assert rms < 1e-8
    label = pose.label_from_pnp(got_r, got_t, "eg3d")
    np.testing.assert_allclose(label[:16].reshape(4, 4), c2w, atol=1e-5)  # radius 2.7 already
    np.testing.assert_allclose(label[16:], camera.intrinsics_matrix(4.2647).reshape(-1))
    angles = pose.angles_from_label(label)
    assert angles["yaw"] == pytest.approx(np.degrees(yaw), abs=1e-3) and abs(angles["roll"]) < 1e-3


def test_panohead_label_looks_at_the_origin():
    _, rotation, translation = _camera(0.5, 0.1)
    label = pose.label_from_pnp(rotation, translation, "panohead")
    c2w = label[:16].reshape(4, 4)
    position, forward = c2w[:3, 3], c2w[:3, 2]
    assert np.linalg.norm(position) == pytest.approx(2.7, abs=1e-5)
    np.testing.assert_allclose(forward, -position / 2.7, atol=1e-6)
    np.testing.assert_allclose(c2w[:3, :3], rotation.T, atol=1e-6)


def test_pitch_prior_only_shrinks_pitch():
    _, rotation, translation = _camera(0.3, 0.25)
    uv = pose.project(rotation, translation, pose.TEMPLATE_WORLD)
    free = pose.angles_from_label(pose.label_from_pnp(*pose.solve_pnp(uv, pitch_prior_deg=None)[:2], "panohead"))
    shrunk = pose.angles_from_label(pose.label_from_pnp(*pose.solve_pnp(uv)[:2], "panohead"))
    assert abs(shrunk["elevation"]) < abs(free["elevation"])
    assert shrunk["yaw"] == pytest.approx(free["yaw"], abs=1.5)


@pytest.mark.parametrize("style", ["eg3d", "panohead"])
def test_yaw_sign_flips_on_a_mirrored_photo(detections, style):
    crop_fn = align.crop_eg3d if style == "eg3d" else align.crop_panohead
    yaw = {}
    for name, (image, faces) in detections.items():
        marks = faces.landmarks[0].astype(np.float64)
        crop = crop_fn(image, marks, 512)
        _, info = pose.estimate_label(crop.apply(marks), 512, style)
        yaw[name] = info["yaw"]
        assert abs(info["roll"]) < 25 and -5 < info["elevation"] < 20
    # The astronaut faces the camera; the cameraman looks to the image right (we see his right cheek:
    # camera on the world -x side, yaw < 0).
    assert abs(yaw["astronaut"]) < 5 and np.sign(yaw["astronaut"]) == -np.sign(yaw["astronaut_flip"])
    assert yaw["cameraman"] < -30 and yaw["cameraman_flip"] > 30
    assert yaw["cameraman"] == pytest.approx(-yaw["cameraman_flip"], abs=5)


def test_refine_camera_points_to_the_inversion_refinement():
    """The pose-refinement behaviour itself is tested in tests/inversion/test_wplus_pti.py."""
    label = np.arange(25, dtype=np.float32)
    np.testing.assert_array_equal(pose.refine_camera(label, render_loss=None), label)  # 0 steps: unchanged
    with pytest.raises(ValueError, match="render_loss: expected a function"):
        pose.refine_camera(label, render_loss=None, steps=10)
