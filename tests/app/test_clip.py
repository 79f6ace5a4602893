"""Frames of `invert --method innout` (app/clip.py): reading a clip back, the sliding-window smoothing of
landmarks and cameras, and per-frame detect + align on a real photo (scikit-image's astronaut) where a
frame without a face takes its neighbour's landmarks."""
import numpy as np
import pytest
from skimage import data

from inversion3d import camera
from inversion3d.app import clip
from inversion3d.app.video import write_video


def test_window_mean_and_label_smoothing():
    x = np.array([0.0, 3.0, 6.0, 30.0])
    np.testing.assert_allclose(clip.window_mean(x, 3), [1.5, 3.0, 13.0, 18.0])
    yaws = np.pi / 2 + np.array([-0.1, 0.0, 0.1, 0.2])
    labels = camera.lookat_labels(yaws, np.full(4, np.pi / 2))
    smooth = clip.smooth_labels(labels, 3)
    for label in smooth:
        rot = label[:16].reshape(4, 4)[:3, :3]
        np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-5)  # back on SO(3)
    # three evenly spaced yaws average to the middle rotation; the position is the plain mean
    mid, ref = smooth[1][:16].reshape(4, 4), labels[1][:16].reshape(4, 4)
    np.testing.assert_allclose(mid[:3, :3], ref[:3, :3], atol=1e-5)
    np.testing.assert_allclose(mid[:3, 3], labels[:3, [3, 7, 11]].mean(axis=0), atol=1e-6)


def test_read_frames_of_a_clip_and_an_image(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (3, 32, 32, 3), dtype=np.uint8)
    path = write_video(str(tmp_path / "c.mp4"), list(frames), fps=5)
    got, fps = clip.read_frames(path)
    assert got.shape == (3, 32, 32, 3) and fps == pytest.approx(5.0)
    got, _ = clip.read_frames(path, max_frames=2)
    assert got.shape[0] == 2
    with pytest.raises(ValueError, match="no such file"):
        clip.read_frames(str(tmp_path / "missing.mp4"))


def test_align_frames_fills_a_frame_without_a_face():
    photo = data.astronaut()
    frames = [photo, np.roll(photo, 3, axis=1), np.zeros_like(photo)]
    crops, labels = clip.align_frames(frames, 64, window=3, log=lambda *a: None)
    assert crops.shape == (3, 64, 64, 3) and labels.shape == (3, 25)
    for label in labels:
        rot = label[:16].reshape(4, 4)[:3, :3]
        np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-5)
    # the faceless frame took frame 1's landmarks: its camera is frame 1's up to the window mean
    assert np.abs(labels[2] - labels[1]).max() < 0.05
    with pytest.raises(ValueError, match="no face"):
        clip.align_frames([np.zeros_like(photo)], 64, window=3, log=lambda *a: None)
