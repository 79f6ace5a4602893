"""Photos -> aligned crops + dataset.json (`inversion3d preprocess`), never dropping one silently.

Per photo (editing-and-eval.md §6): read by inversion3d/images.py (pixel limit from the header, EXIF
orientation applied, 16-bit converted by range) -> MTCNN faces with confidence > 0.9
-> the biggest (largest box width + height, as EG3D's batch_mtcnn.py picks) -> EG3D or PanoHead crop
-> camera from the crop's landmarks (pose.py). A photo that cannot be used raises PhotoRejected with
the reason; `preprocess_photos` lists every such photo with its reason. An output folder that holds
files already is refused unless `overwrite` (what an earlier run wrote there, named by its report and
dataset.json, is removed first) or `resume` (photos the earlier report lists are kept as they were).
"""
import dataclasses
import json
import os
from typing import Optional

import numpy as np
from PIL import Image

from inversion3d import camera, files, images
from inversion3d.images import DEFAULT_MAX_PIXELS
from inversion3d.preprocess import align, dataset_json, pose
from inversion3d.preprocess.mtcnn import MTCNNConfig, as_rgb, detect_faces

STYLES = pose.STYLES
CAMERAS = ("pnp", "frontal")
MIN_CONFIDENCE = 0.9  # batch_mtcnn.py keeps a face only if its confidence > 0.9 (§6.1 step 1)
# Ours: the face region (what becomes the 512 crop) must span >= 128 photo pixels, i.e. at most 4x
# upscaling. PanoHead's crop_final rejects quads under 256 px (--min-size 256 reproduces it);
# EG3D's pipeline has no limit (--min-size 0).
DEFAULT_MIN_SIZE = 128
OUTPUT_SIZE = 512  # generator resolution; PanoHead's 563 crop is Lanczos-resized to it (--size 563 keeps it)
NO_FACE = "no face found"
REPORT_FILE = "preprocess_report.json"


class PhotoRejected(ValueError):
    """A photo that cannot be used; the message is the reason."""


@dataclasses.dataclass
class PreparedPhoto:
    image: np.ndarray  # (size, size, 3) uint8 aligned crop
    label: np.ndarray  # (25,) float32 camera label
    box: np.ndarray  # (4,) face box in the photo (x1, y1, x2, y2)
    score: float
    landmarks: np.ndarray  # (5, 2) in the photo
    crop_landmarks: np.ndarray  # (5, 2) in the crop
    camera_info: dict  # yaw / elevation / roll (deg), reprojection_px
    num_faces: int
    note: str = ""


def choose_face(faces, require_single=False, min_confidence=MIN_CONFIDENCE):
    """-> (index of the face to use, note). PhotoRejected when none qualifies."""
    confident = np.nonzero(faces.scores > min_confidence)[0]
    if not len(confident):
        low = f" ({len(faces)} candidate(s) with confidence <= {min_confidence})" if len(faces) else ""
        raise PhotoRejected(NO_FACE + low)
    if len(confident) > 1 and require_single:
        raise PhotoRejected(f"{len(confident)} faces found and a single face is required (--require-single)")
    sizes = [(faces.boxes[i, 2] - faces.boxes[i, 0]) + (faces.boxes[i, 3] - faces.boxes[i, 1]) for i in confident]
    best = int(confident[int(np.argmax(sizes))])
    note = f"{len(confident)} faces found; used the largest" if len(confident) > 1 else ""
    return best, note


def prepare_photo(image, params, style="eg3d", size=OUTPUT_SIZE, min_size=DEFAULT_MIN_SIZE, require_single=False,
                  camera_mode="pnp", config=MTCNNConfig()):
    """One photo (H, W, 3) uint8 -> PreparedPhoto; PhotoRejected (reason) if it cannot be used.

    style: 'eg3d' (POS crop, 512) or 'panohead' (FFHQ quad, 563 -> size). camera_mode: 'pnp'
    (estimated from the landmarks) or 'frontal' (the default camera, editing-and-eval.md §6.3).
    """
    if style not in STYLES:
        raise ValueError(f"style: expected one of {STYLES}, got {style!r}")
    if camera_mode not in CAMERAS:
        raise ValueError(f"camera: expected one of {CAMERAS}, got {camera_mode!r}")
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        image = np.clip(np.round(as_rgb(image)), 0, 255).astype(np.uint8)
    faces = detect_faces(params, image, config)
    index, note = choose_face(faces, require_single)
    landmarks = faces.landmarks[index].astype(np.float64)
    if style == "eg3d":
        crop = align.crop_eg3d(image, landmarks, size)
    else:
        crop = align.crop_panohead(image, landmarks, size)
    if crop.source_side < min_size:
        raise PhotoRejected(f"face too small: its crop spans {crop.source_side:.0f} px of the photo, "
                            f"at least {min_size} px needed (--min-size)")
    crop_landmarks = crop.apply(landmarks)
    if camera_mode == "frontal":
        label = camera.frontal_label(style)  # the kind's default rig (eg3d.md §8, panohead.md §7)
        info = dict(pose.angles_from_label(label), reprojection_px=None)
    else:
        label, info = pose.estimate_label(crop_landmarks, crop.image.shape[0], style)
    return PreparedPhoto(crop.image, label.astype(np.float32), faces.boxes[index], float(faces.scores[index]),
                         landmarks.astype(np.float32), crop_landmarks.astype(np.float32), info, int(np.sum(
                             faces.scores > MIN_CONFIDENCE)), note)


def read_photo(path, max_pixels=DEFAULT_MAX_PIXELS):
    """(H, W, 3) uint8 RGB (images.read_rgb: pixel limit, EXIF orientation, conversion by range);
    PhotoRejected if unreadable or over `max_pixels`."""
    try:
        return images.read_rgb(path, max_pixels)
    except images.ImageError as err:
        reason = str(err).removeprefix(f"{path}: ")
        raise PhotoRejected(reason if "--max-pixels" in reason else reason.replace("cannot read the image",
                                                                                   "cannot read image")) from None


def list_photos(inputs):
    """Files and folders (searched recursively, sorted) -> (photo paths, [(path, reason) ignored])."""
    photos, ignored = [], []
    for item in inputs:
        if os.path.isdir(item):
            for folder, dirs, names in os.walk(item):
                dirs.sort()
                for n in sorted(names):
                    path = os.path.join(folder, n)
                    if n.lower().endswith(dataset_json.IMAGE_EXTENSIONS):
                        photos.append(path)
                    elif not n.startswith("."):
                        ignored.append((path, "not an image file (by its extension)"))
        elif os.path.isfile(item):
            photos.append(item)
        else:
            raise ValueError(f"IMAGES_OR_DIR: no such file or directory: {item}")
    return photos, ignored


def _previous_run(out_dir):
    """The report of an earlier run in out_dir ({} when none or unreadable) and the files it owns
    (its crops, the crops dataset.json names, dataset.json, the report)."""
    report, owned = {}, {REPORT_FILE, "dataset.json"}
    try:
        with open(os.path.join(out_dir, REPORT_FILE), encoding="utf-8") as f:
            report = json.load(f)
        owned.update(item["image"] for item in report.get("used", []))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        report = {}
    try:
        with open(os.path.join(out_dir, "dataset.json"), encoding="utf-8") as f:
            owned.update(str(entry[0]) for entry in json.load(f).get("labels", []))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, IndexError):
        pass
    return report, {name for name in owned if os.path.basename(name) == name}  # never outside out_dir


def _start_output(out_dir, style, resume, overwrite):
    """Checks out_dir against resume / overwrite; returns the earlier run's (used, skipped) to keep."""
    if resume and overwrite:
        raise ValueError("--resume / --overwrite: pick one")
    files.check_writable_dir(out_dir)
    present = sorted(os.listdir(out_dir)) if os.path.isdir(out_dir) else []
    if not present:
        return [], []
    if not (resume or overwrite):
        raise ValueError(f"out: {out_dir} is not empty ({len(present)} entries, e.g. {present[0]}); pass --overwrite "
                         f"to replace an earlier preprocess there, or --resume to keep its results and add the rest")
    report, owned = _previous_run(out_dir)
    if overwrite:
        for name in owned:
            if os.path.isfile(os.path.join(out_dir, name)):
                os.remove(os.path.join(out_dir, name))
        return [], []
    if report.get("style", style) != style:
        raise ValueError(f"--resume: {out_dir} holds {report.get('style')} crops, got --style {style}")
    used = [u for u in report.get("used", []) if os.path.isfile(os.path.join(out_dir, u["image"]))]
    return used, list(report.get("skipped", []))


def _unique_name(path, taken):
    stem = os.path.splitext(os.path.basename(path))[0]
    name, k = f"{stem}.png", 1
    while name in taken:
        name, k = f"{stem}_{k}.png", k + 1
    taken.add(name)
    return name


def preprocess_photos(inputs, out_dir, style="eg3d", params=None, size=OUTPUT_SIZE, min_size=DEFAULT_MIN_SIZE,
                      require_single=False, camera_mode="pnp", config=MTCNNConfig(), progress=True,
                      weights_dir: Optional[str] = None, max_pixels=DEFAULT_MAX_PIXELS, resume=False,
                      overwrite=False):
    """Photos -> out_dir/<name>.png crops, out_dir/dataset.json and out_dir/preprocess_report.json.

    Returns {'used': [{source, image, box, score, camera...}], 'skipped': [{source, reason}],
    'dataset_json': path or None}. Every input appears in exactly one of the two lists (files in the
    folders that are not images go to 'skipped' too). max_pixels: images.open_image's limit; resume /
    overwrite: what to do with an earlier run in out_dir (the module docstring).
    """
    from tqdm import tqdm

    from inversion3d.preprocess.weights import load_mtcnn_params

    if style not in STYLES:
        raise ValueError(f"style: expected one of {STYLES}, got {style!r}")
    photos, ignored = list_photos(inputs)
    images.check_max_pixels(max_pixels)
    kept_used, kept_skipped = _start_output(out_dir, style, resume, overwrite)  # before the weights load
    done = {u["source"] for u in kept_used} | {s["source"] for s in kept_skipped}
    if done:
        print(f"[resume] {len(done)} photo(s) kept from the earlier run in {out_dir}", flush=True)
    if params is None and set(photos) - done:
        params = load_mtcnn_params(weights_dir)
    used = list(kept_used)
    skipped = list(kept_skipped) + [{"source": p, "reason": r} for p, r in ignored if p not in done]
    entries = [(u["image"], np.asarray(u["label"], np.float32)) for u in used]
    taken = {u["image"] for u in used}
    files.ensure_writable_dir(out_dir)
    bar = tqdm([p for p in photos if p not in done], desc=f"preprocess ({style})", unit="photo", disable=not progress)
    for path in bar:
        try:
            result = prepare_photo(read_photo(path, max_pixels), params, style, size, min_size, require_single, camera_mode,
                                   config)
        except PhotoRejected as err:
            skipped.append({"source": path, "reason": str(err)})
            continue
        name = _unique_name(path, taken)
        files.atomic_write(os.path.join(out_dir, name), lambda tmp, r=result: Image.fromarray(r.image).save(tmp, "PNG"))
        entries.append((name, result.label))
        used.append({"source": path, "image": name, "box": result.box.astype(float).round(2).tolist(),
                     "score": round(result.score, 5), "landmarks": result.landmarks.astype(float).round(2).tolist(),
                     "faces": result.num_faces, "note": result.note,
                     "camera": {k: (None if v is None else round(float(v), 3)) for k, v in result.camera_info.items()},
                     "label": [float(v) for v in result.label]})
    bar.close()
    json_path = dataset_json.write_dataset_json(os.path.join(out_dir, "dataset.json"), entries, style) \
        if entries else None
    summary = {"style": style, "used": used, "skipped": skipped, "dataset_json": json_path}

    def write_report(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)

    files.atomic_write(os.path.join(out_dir, REPORT_FILE), write_report)
    return summary
