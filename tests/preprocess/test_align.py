"""EG3D and PanoHead crops: the official geometry (editing-and-eval.md §6.1-§6.2) on real photos."""
import numpy as np
import pytest
from PIL import Image

from inversion3d.preprocess import align
from inversion3d.preprocess.mtcnn import detect_faces


@pytest.fixture(scope="module")
def astronaut_marks(detections):
    return detections["astronaut"][1].landmarks[0].astype(np.float64)


def _official_eg3d_crop(image, landmarks):
    """crop_images_in_the_wild.py written out: full bicubic resize by 300 / s, 1024 crop (black
    outside), centre 700, Lanczos 512."""
    photo = Image.fromarray(image)
    w0, h0 = photo.size
    lm = landmarks.copy()
    lm[:, 1] = h0 - 1 - lm[:, 1]
    t, s = align.pos_fit(lm)
    s = 300.0 / s
    w, h = int(w0 * s), int(h0 * s)
    left = int(w / 2 - 512 + (t[0] - w0 / 2) * s)
    up = int(h / 2 - 512 + (h0 / 2 - t[1]) * s)
    big = photo.resize((w, h), Image.BICUBIC).crop((left, up, left + 1024, up + 1024))
    return np.asarray(big.crop((162, 162, 862, 862)).resize((512, 512), Image.LANCZOS))


def test_eg3d_crop_equals_the_official_resize_then_crop(astronaut, astronaut_marks):
    crop = align.crop_eg3d(astronaut, astronaut_marks)
    want = _official_eg3d_crop(astronaut, astronaut_marks)
    assert crop.image.shape == (512, 512, 3)
    assert np.abs(crop.image.astype(int) - want).max() <= 1


def test_eg3d_crop_near_the_border_pads_black(astronaut, astronaut_marks):
    shifted = astronaut_marks - [170, 50]  # face moved to the top-left corner of the photo
    crop = align.crop_eg3d(astronaut, shifted)
    want = _official_eg3d_crop(astronaut, shifted)
    assert np.abs(crop.image.astype(int) - want).max() <= 1
    assert crop.image[:20, :20].max() == 0


def test_eg3d_crop_is_centred_on_the_face(astronaut, astronaut_marks):
    crop = align.crop_eg3d(astronaut, astronaut_marks)
    marks = crop.apply(astronaut_marks)
    eyes, mouth = marks[:2].mean(axis=0), marks[3:].mean(axis=0)
    assert abs((eyes[0] + mouth[0]) / 2 - 255.5) < 12  # face axis in the middle
    assert 180 < eyes[1] < 240 and 300 < mouth[1] < 360  # eyes above the centre, mouth below
    assert 120 < np.linalg.norm(marks[1] - marks[0]) < 160  # FFHQ-like scale: eye distance ~ 27 % of 512


def test_panohead_crop_is_upright_centred_and_563(astronaut, astronaut_marks):
    crop = align.crop_panohead(astronaut, astronaut_marks)
    assert crop.image.shape == (563, 563, 3)
    marks = crop.apply(astronaut_marks)
    assert abs(marks[0, 1] - marks[1, 1]) < 0.5  # roll removed: eyes level
    quad_centre = np.array([25 + 255.5, 51 + 255.5])  # the 512 quad inside the 563 crop
    centre = marks[:2].mean(axis=0) + 0.1 * (marks[3:].mean(axis=0) - marks[:2].mean(axis=0))
    np.testing.assert_allclose(centre, quad_centre - 0.25, atol=1e-3)  # -0.25: 2x supersampling offset
    small = align.crop_panohead(astronaut, astronaut_marks, size=512)
    assert small.image.shape == (512, 512, 3)


def test_crop_transform_matches_landmarks_found_in_the_crop(mtcnn_params, astronaut, astronaut_marks):
    for crop in (align.crop_eg3d(astronaut, astronaut_marks), align.crop_panohead(astronaut, astronaut_marks, 512)):
        again = detect_faces(mtcnn_params, crop.image).landmarks[0]
        assert np.abs(again - crop.apply(astronaut_marks)).max() < 5  # MTCNN jitter, not misplacement


def test_ffhq_quad_of_an_upright_face():
    marks = np.array([[40, 50], [60, 50], [50, 60], [42, 70], [58, 70]], float)
    quad = align.ffhq_quad(marks)
    # x = eye_to_eye + (eye_to_mouth turned) = (20, 0) + (20, 0) -> unit (1, 0) * max(2 * 20, 1.8 * 20) = 40
    np.testing.assert_allclose(quad, [[10, 12], [10, 92], [90, 92], [90, 12]])


def test_panohead_crop_outside_the_photo_blends_a_blurred_border(astronaut, astronaut_marks):
    crop = align.crop_panohead(astronaut, astronaut_marks - [150, 40], size=None)
    assert crop.image.shape == (563, 563, 3) and crop.image[:40, :40].std() > 0  # reflected, not black


def test_bad_inputs_are_one_line_errors(astronaut):
    with pytest.raises(ValueError, match=r"landmarks: expected 5 finite .* got \(4, 2\)"):
        align.crop_eg3d(astronaut, np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"image: expected uint8"):
        align.crop_panohead(astronaut.astype(np.float32), np.zeros((5, 2)) + [[0, 0], [10, 0], [5, 5], [2, 9], [8, 9]])
