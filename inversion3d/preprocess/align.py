"""Face crops exactly as the official EG3D and PanoHead preprocessing cuts them (editing-and-eval.md §6).

Landmarks are five (x, y) points in pixel-index coordinates (pixel centres at integers): left eye,
right eye, nose, left and right mouth corner (left = smaller x), as MTCNN gives them. Every crop
also returns `transform` (2, 3): photo pixel-index coordinates -> crop pixel-index coordinates, so
landmarks can be carried into the crop, and `source_side`: how many photo pixels the face region
(the part that becomes `size` pixels) spans, for the too-small check.
"""
import dataclasses

import numpy as np
from PIL import Image
from scipy import ndimage

# Deep3DFaceRecon's standard 5-point face (util/load_mats.py load_lm3d: BFM/similarity_Lm3D_all.mat
# reduced to eye centres, nose tip, mouth corners), BFM units (~dm), x right, y up, z to the viewer.
LM3D_STD = np.array([[-0.31148657, 0.29036078, 0.13377953],
                     [0.30979887, 0.28972036, 0.13179526],
                     [0.0032535, -0.04617932, 0.55244243],
                     [-0.25216928, -0.38133916, 0.22405732],
                     [0.2484662, -0.38128236, 0.22235769]])

# EG3D crop_images_in_the_wild.py (editing-and-eval.md §6.1 step 5): align_img(target_size=1024,
# rescale_factor=300), centre crop 700, Lanczos resize to 512.
EG3D_TARGET_SIZE = 1024
EG3D_RESCALE_FACTOR = 300.0
EG3D_CENTER_CROP = 700
EG3D_OUTPUT_SIZE = 512

# PanoHead 3DDFA_V2_cropping/recrop_images.py crop_final (§6.2 step 3): a 512 quad with 10 % more on
# top and 5 % left / right -> int(512 * 1.1) = 563 square; reflect border, 2x supersampled warp,
# blurred blend where the quad leaves the photo. The FFHQ quad comes from get_crop_bound('ffhq').
PANOHEAD_SIZE = 512
PANOHEAD_EXPAND = {"top": 0.1, "left": 0.05, "right": 0.05, "bottom": 0.0}
PANOHEAD_SUPERSAMPLE = 2


@dataclasses.dataclass
class Crop:
    image: np.ndarray  # (S, S, 3) uint8
    transform: np.ndarray  # (2, 3) photo pixel index -> crop pixel index
    source_side: float  # photo pixels spanned by the face region

    def apply(self, points):
        """(..., 2) photo points -> crop points."""
        return points @ self.transform[:, :2].T + self.transform[:, 2]


def pos_fit(points_yup, template=LM3D_STD):
    """Deep3DFaceRecon's POS: least-squares affine camera from 3-D template to 2-D points.

    Args:
      points_yup: (5, 2) landmarks with y pointing up (y' = H - 1 - y).
      template: (5, 3) 3-D points.
    Returns:
      t (2,): where the template origin projects (y up); s: mean norm of the two projection rows
      (photo pixels per template unit).
    """
    n = len(template)
    design = np.zeros((2 * n, 8))
    design[0::2, 0:3], design[0::2, 3] = template, 1.0
    design[1::2, 4:7], design[1::2, 7] = template, 1.0
    k = np.linalg.lstsq(design, np.asarray(points_yup, np.float64).reshape(-1), rcond=None)[0]
    return np.array([k[3], k[7]]), (np.linalg.norm(k[0:3]) + np.linalg.norm(k[4:7])) / 2


def _as_pil(image):
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"image: expected uint8 RGB pixels, got dtype {image.dtype}")
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image: expected shape (H, W, 3), got {image.shape}")
    return Image.fromarray(image)


def _check_landmarks(landmarks):
    landmarks = np.asarray(landmarks, np.float64)
    if landmarks.shape != (5, 2) or not np.all(np.isfinite(landmarks)):
        raise ValueError(f"landmarks: expected 5 finite (x, y) points, shape (5, 2), got {landmarks.shape}")
    return landmarks


def crop_eg3d(image, landmarks, size=EG3D_OUTPUT_SIZE):
    """EG3D in-the-wild crop: POS fit -> photo scaled by 300 / s (bicubic) -> 1024 window around the
    projected template origin (black outside the photo) -> its centre 700 -> Lanczos `size`.

    Computes only the 700 window of the scaled photo (PIL resize with a source box samples exactly
    the pixels a full resize would), so large photos cost no more than small ones.
    """
    photo = _as_pil(image)
    landmarks = _check_landmarks(landmarks)
    w0, h0 = photo.size
    flipped = landmarks.copy()
    flipped[:, 1] = h0 - 1 - flipped[:, 1]
    t, s = pos_fit(flipped)
    scale = EG3D_RESCALE_FACTOR / s
    w, h = int(w0 * scale), int(h0 * scale)  # C int cast, as .astype(np.int32)
    if w < 1 or h < 1:
        raise ValueError(f"landmarks: face spans {s:.3g} px per template unit, too small to crop")
    half = EG3D_TARGET_SIZE / 2
    left = int(w / 2 - half + (t[0] - w0 / 2) * scale)
    up = int(h / 2 - half + (h0 / 2 - t[1]) * scale)
    inset = int(EG3D_TARGET_SIZE / 2 - EG3D_CENTER_CROP / 2)
    left, up = left + inset, up + inset  # the 700 window in scaled-photo pixels
    x0, y0 = max(left, 0), max(up, 0)
    x1, y1 = min(left + EG3D_CENTER_CROP, w), min(up + EG3D_CENTER_CROP, h)
    window = Image.new("RGB", (EG3D_CENTER_CROP, EG3D_CENTER_CROP))
    if x1 > x0 and y1 > y0:
        box = (x0 * w0 / w, y0 * h0 / h, x1 * w0 / w, y1 * h0 / h)
        window.paste(photo.resize((x1 - x0, y1 - y0), Image.BICUBIC, box=box), (x0 - left, y0 - up))
    out = window.resize((size, size), Image.LANCZOS)
    r = size / EG3D_CENTER_CROP
    sx, sy = w / w0, h / h0
    transform = np.array([[sx * r, 0, (0.5 * sx - left) * r - 0.5], [0, sy * r, (0.5 * sy - up) * r - 0.5]])
    return Crop(np.asarray(out), transform, EG3D_CENTER_CROP / sx)


def ffhq_quad(landmarks):
    """PanoHead's get_crop_bound(method='ffhq') on five points -> (4, 2) float32 quad corners
    (c - x - y, c - x + y, c + x + y, c + x - y): x along the eyes, y towards the mouth, half-side
    max(2 * eye distance, 1.8 * eye-to-mouth), centre 10 % of the way from the eyes to the mouth."""
    eye_l, eye_r, _, mouth_l, mouth_r = _check_landmarks(landmarks)
    eye_avg, eye_to_eye = (eye_l + eye_r) / 2, eye_r - eye_l
    eye_to_mouth = (mouth_l + mouth_r) / 2 - eye_avg
    x = eye_to_eye + np.array([eye_to_mouth[1], -eye_to_mouth[0]])  # eye line + mouth axis turned -90 deg
    x = x / np.hypot(*x) * max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.array([-x[1], x[0]])
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y]).astype(np.float32)


def _affine_from_points(src, dst):
    """(2, 3) affine mapping three src points (3, 2) onto dst (3, 2) (cv2.getAffineTransform)."""
    a = np.concatenate([np.asarray(src, np.float64), np.ones((3, 1))], axis=1)
    return np.linalg.solve(a, np.asarray(dst, np.float64)).T


def _reflect(index, n):
    """cv2 BORDER_REFLECT (numpy 'symmetric'): ...cba|abc...xyz|zyx..."""
    m = np.mod(index, 2 * n)
    return np.where(m >= n, 2 * n - 1 - m, m)


def _warp(photo, matrix, out_w, out_h):
    """Bicubic affine warp (matrix: photo index -> output index) with a reflected border."""
    inv = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    corners = np.array([[-0.5, -0.5, 1], [out_w - 0.5, -0.5, 1], [-0.5, out_h - 0.5, 1], [out_w - 0.5, out_h - 0.5, 1]])
    src = corners @ inv.T
    x0, y0 = np.floor(src.min(axis=0)).astype(int) - 3
    x1, y1 = np.ceil(src.max(axis=0)).astype(int) + 4
    h, w = photo.shape[:2]
    region = photo[np.ix_(_reflect(np.arange(y0, y1), h), _reflect(np.arange(x0, x1), w))]
    # PIL maps output pixel-edge coordinates to input pixel-edge coordinates.
    lin = inv[:, :2]
    off = inv[:, 2] - [x0, y0] + 0.5 - lin @ [0.5, 0.5]
    data = (lin[0, 0], lin[0, 1], off[0], lin[1, 0], lin[1, 1], off[1])
    return np.asarray(Image.fromarray(region).transform((out_w, out_h), Image.AFFINE, data, Image.BICUBIC))


def _coverage_mask(matrix, out_w, out_h, width, height):
    """cv2.warpAffine of an all-255 photo (bilinear, black border) computed in closed form."""
    inv = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    ys, xs = np.mgrid[0:out_h, 0:out_w].astype(np.float64)
    sx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    sy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    wx = np.clip(np.minimum(sx + 1, width - sx), 0, 1)
    wy = np.clip(np.minimum(sy + 1, height - sy), 0, 1)
    return np.round(255 * wx * wy)


def crop_panohead(image, landmarks, size=None):
    """PanoHead crop_final on the FFHQ quad of the landmarks -> 563 x 563 (or resized to `size` with
    Lanczos, as PanoHead's projector brings 563 to the generator's 512).

    PanoHead's 3DDFA re-centring (recrop_images.py, needs TDDFA + BFM) is not applied: the quad is
    get_crop_bound's, i.e. recrop's state before its 3DDFA correction. Resampling is PIL bicubic
    where PanoHead uses cv2 INTER_LANCZOS4 (OpenCV is not a dependency); geometry, 2x supersampling,
    reflected border and the blurred border blend are the official ones.
    """
    photo = np.asarray(image)
    _as_pil(photo)
    quad = ffhq_quad(landmarks)
    e = PANOHEAD_EXPAND
    crop_w = int(PANOHEAD_SIZE * (1 + e["left"] + e["right"]))
    crop_h = int(PANOHEAD_SIZE * (1 + e["top"] + e["bottom"]))
    top, left, last = int(PANOHEAD_SIZE * e["top"]), int(PANOHEAD_SIZE * e["left"]), PANOHEAD_SIZE - 1
    bound = np.array([[left, top], [left, top + last], [left + last, top + last]], np.float32)
    matrix = _affine_from_points(quad[:3], bound)
    up = PANOHEAD_SUPERSAMPLE
    big = _warp(photo, up * matrix, crop_w * up, crop_h * up).astype(np.uint32)
    out = ((big.reshape(crop_h, up, crop_w, up, 3).sum(axis=(1, 3)) + up * up // 2) // (up * up)).astype(np.uint8)
    mask = _coverage_mask(matrix, crop_w, crop_h, photo.shape[1], photo.shape[0])
    if mask.mean() < 255:
        mask_kernel, blur_kernel = int(last * 0.02) * 2 + 1, int(last * 0.03) * 2 + 1
        soft = ndimage.uniform_filter(mask.astype(np.float32), mask_kernel, mode="mirror")[..., None] / 255.0
        blurred = np.round(ndimage.uniform_filter(out.astype(np.float64), (blur_kernel, blur_kernel, 1), mode="mirror"))
        out = (out * soft + blurred * (1 - soft)).astype(np.uint8)
    # Output pixel j averages supersampled pixels up*j .. up*j + up - 1: centre j + (up - 1) / (2 up).
    transform = matrix - np.array([[0, 0, (up - 1) / (2 * up)], [0, 0, (up - 1) / (2 * up)]])
    source_side = float(np.linalg.norm(quad[1] - quad[0]))
    if size is not None and size != crop_w:
        out = np.asarray(Image.fromarray(out).resize((size, size), Image.LANCZOS))
        r = size / crop_w
        transform = transform * r + np.array([[0, 0, 0.5 * r - 0.5], [0, 0, 0.5 * r - 0.5]])
    return Crop(out, transform, source_side)
