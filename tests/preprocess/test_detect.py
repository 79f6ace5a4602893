"""MTCNN detection on real photos shipped with scikit-image, and the cascade's building blocks."""
import numpy as np
from skimage import data

from inversion3d.preprocess import boxes as bx
from inversion3d.preprocess.mtcnn import MTCNNConfig, _pnet, detect_faces, normalize, pack_levels, pyramid_scales

# Eileen Collins' face in skimage.data.astronaut() (512 x 512), read off the photo by eye:
# forehead to chin ~ rows 60-175, cheek to cheek ~ columns 175-270.
ASTRONAUT_FACE = (175, 60, 270, 175)


def test_astronaut_face_found_where_it_is(detections):
    _, faces = detections["astronaut"]
    assert len(faces) == 1 and faces.scores[0] > 0.99
    x1, y1, x2, y2 = faces.boxes[0]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    fx1, fy1, fx2, fy2 = ASTRONAUT_FACE
    assert fx1 < cx < fx2 and fy1 < cy < fy2
    assert 70 < x2 - x1 < 120 and 80 < y2 - y1 < 140
    eye_l, eye_r, nose, mouth_l, mouth_r = faces.landmarks[0]
    assert eye_l[0] < nose[0] < eye_r[0] and mouth_l[0] < mouth_r[0]
    assert max(eye_l[1], eye_r[1]) < nose[1] < min(mouth_l[1], mouth_r[1])
    assert np.all((faces.landmarks[0] > [x1, y1]) & (faces.landmarks[0] < [x2, y2]))


def test_flipped_astronaut_mirrors_the_detection(detections, astronaut):
    (_, faces), (_, flipped) = detections["astronaut"], detections["astronaut_flip"]
    width = astronaut.shape[1]
    x1, y1, x2, y2 = flipped.boxes[0]
    mirrored = np.array([width - x2, y1, width - x1, y2])
    assert bx.overlap(faces.boxes[0], mirrored[None])[0] > 0.85
    # The flipped photo's left eye is the original's right eye, mirrored.
    marks = flipped.landmarks[0][[1, 0, 2, 4, 3]] * [-1, 1] + [width - 1, 0]
    assert np.abs(marks - faces.landmarks[0]).max() < 6


def test_cameraman_profile_face_found(detections):
    _, faces = detections["cameraman"]
    assert len(faces) == 1
    x1, y1, x2, y2 = faces.boxes[0]
    assert 190 < (x1 + x2) / 2 < 250 and 120 < (y1 + y2) / 2 < 200  # head left of the camera, rows 120-200


def test_no_face_in_coffee_or_noise(mtcnn_params):
    noise = np.random.RandomState(0).randint(0, 256, (512, 512, 3)).astype(np.uint8)
    for image in (data.coffee(), noise, np.zeros((40, 30, 3), np.uint8), np.zeros((8, 8), np.uint8)):
        faces = detect_faces(mtcnn_params, image)
        assert len(faces) == 0 and faces.landmarks.shape == (0, 5, 2)


def test_large_photo_detected_on_a_downscaled_copy(mtcnn_params, astronaut):
    big = np.repeat(np.repeat(astronaut, 3, axis=0), 3, axis=1)  # 1536 x 1536 > max_side 1024
    faces = detect_faces(mtcnn_params, big, MTCNNConfig())
    small = detect_faces(mtcnn_params, astronaut)
    assert len(faces) == 1
    np.testing.assert_allclose(faces.boxes[0] / 3, small.boxes[0], atol=6)


def test_mosaic_windows_equal_pnet_on_each_level(mtcnn_params, astronaut):
    """Packing the pyramid into one canvas changes no score of a window lying inside a level."""
    config = MTCNNConfig()
    scales = pyramid_scales(512, 512, config)[3:6]
    sizes = [(int(np.ceil(512 * s)),) * 2 for s in scales]
    origins, shape = pack_levels(sizes, 64)
    canvas = np.zeros(shape + (3,), np.float32)
    levels = [normalize(bx.resize_area(astronaut.astype(np.float32), h, w)) for h, w in sizes]
    for (y, x), (h, w), level in zip(origins, sizes, levels):
        assert y % 2 == 0 and x % 2 == 0
        canvas[y:y + h, x:x + w] = level
    mosaic = np.asarray(_pnet(mtcnn_params["pnet"], canvas[None])["prob"][0])
    for (y, x), (h, w), level in zip(origins, sizes, levels):
        alone = np.asarray(_pnet(mtcnn_params["pnet"], level[None])["prob"][0])
        rows, cols = (h - 12) // 2 + 1, (w - 12) // 2 + 1
        np.testing.assert_allclose(mosaic[y // 2:y // 2 + rows, x // 2:x // 2 + cols], alone[:rows, :cols], atol=1e-5)


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [2, 2, 8, 8]], float)
    scores = np.array([0.8, 0.9, 0.7, 0.95])
    np.testing.assert_array_equal(bx.nms(boxes, scores, 0.5), [3, 1, 2])  # [3] is inside [0]: IoU 0.36
    np.testing.assert_array_equal(bx.nms(boxes, scores, 0.5, mode="min"), [3, 2])  # by the smaller area: 1.0


def test_area_resize_averages_blocks():
    image = np.arange(36, dtype=np.float32).reshape(6, 6, 1)
    np.testing.assert_allclose(bx.resize_area(image, 3, 3)[..., 0], image[..., 0].reshape(3, 2, 3, 2).mean(axis=(1, 3)))
    m = bx.area_matrix(7, 3)
    np.testing.assert_allclose(m.sum(axis=1), 1.0)
    np.testing.assert_allclose(m[1, 2:5], np.array([2 / 3, 1, 2 / 3]) * 3 / 7)  # cell 1 covers [7/3, 14/3)
