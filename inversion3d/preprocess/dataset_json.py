"""dataset.json: writing it as EG3D / PanoHead do, and checking one a user brings (eg3d.md §8).

Layout: {"labels": [[relative image path, [25 numbers]], ...]}; a label is cam2world (4x4,
row-major, OpenCV axes) then normalised intrinsics (3x3). EG3D writes floats
(preprocess_cameras.py, indent 4); PanoHead writes strings with 6 decimals (recrop_images.py,
tab indent; editing-and-eval.md §6.2) - both are read.
"""
import json
import math
import os

import numpy as np

from inversion3d import camera, files

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
# Tolerances of the checks (ours): PanoHead's 6-decimal strings are exact to 5e-7.
ROTATION_TOL = 1e-3  # |R^T R - I| and |det R - 1|
RADIUS_TOL = 0.05  # relative deviation from the expected camera radius
FOCAL_TOL = 1e-3  # relative deviation from the expected focal length
LOOKAT_MAX_DEG = 15.0  # optical axis vs direction to the origin (FFHQ cameras: within ~5 deg)


def write_dataset_json(path, entries, style="eg3d"):
    """Writes {"labels": [[name, label], ...]} atomically; labels as floats (eg3d) or '%.6f' strings (panohead)."""
    labels = []
    for name, label in entries:
        values = [float(v) for v in np.asarray(label, np.float64).reshape(-1)]
        labels.append([name, [format(v, ".6f") for v in values] if style == "panohead" else values])

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"labels": labels}, f, indent="\t" if style == "panohead" else 4)
            f.write("\n")

    return files.atomic_write(path, write)


def _number(value):
    if isinstance(value, bool):
        raise ValueError("a boolean")
    if isinstance(value, int) and abs(value) >= 2 ** 1024:  # float() would raise OverflowError
        raise ValueError("an integer too large for a float")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return float(value.strip())
    raise ValueError(f"a {type(value).__name__}")


def label_problems(label, radius=camera.FFHQ_RADIUS, focal=camera.FFHQ_FOCAL):
    """Problems of one (25,) label as short strings; [] when it follows the EG3D convention.

    radius / focal: the expected camera distance from the world origin and normalised focal length
    (None skips that check).
    """
    pose, k = label[:16].reshape(4, 4), label[16:].reshape(3, 3)
    problems = []
    if np.abs(pose[3] - [0, 0, 0, 1]).max() > 1e-6:
        problems.append(f"cam2world last row is {_fmt(pose[3])}, expected [0 0 0 1]")
    rot = pose[:3, :3]
    rotation_ok = np.abs(rot.T @ rot - np.eye(3)).max() <= ROTATION_TOL and abs(np.linalg.det(rot) - 1) <= ROTATION_TOL
    if not rotation_ok:
        problems.append(f"cam2world rotation is not a rotation (det {np.linalg.det(rot):.4f}, "
                        f"|R^T R - I| = {np.abs(rot.T @ rot - np.eye(3)).max():.2g})")
    if k[0, 1] != 0 or k[1, 0] != 0 or np.abs(k[2] - [0, 0, 1]).max() > 1e-6:
        problems.append(f"intrinsics rows must be [f 0 cx] [0 f cy] [0 0 1], got {_fmt(k.reshape(-1))}")
    if k[0, 0] > 50 or k[0, 2] > 2:
        problems.append(f"intrinsics look like pixels (fx {k[0, 0]:g}, cx {k[0, 2]:g}); divide fx, fy, cx, cy by "
                        f"the image size (EG3D uses fx = fy = {camera.FFHQ_FOCAL}, cx = cy = 0.5)")
    elif focal is not None and (abs(k[0, 0] - focal) > FOCAL_TOL * focal or abs(k[1, 1] - focal) > FOCAL_TOL * focal):
        problems.append(f"focal length fx {k[0, 0]:g}, fy {k[1, 1]:g}, expected {focal:g}")
    elif abs(k[0, 2] - 0.5) > 1e-3 or abs(k[1, 2] - 0.5) > 1e-3:
        problems.append(f"principal point ({k[0, 2]:g}, {k[1, 2]:g}), expected (0.5, 0.5)")
    position = pose[:3, 3]
    dist = float(np.linalg.norm(position))
    if radius is not None and abs(dist - radius) > RADIUS_TOL * radius:
        problems.append(f"camera is {dist:.4g} from the origin, expected {radius:g}")
    if dist > 1e-6 and rotation_ok:
        toward = -position / dist
        angle = math.degrees(math.acos(float(np.clip(rot[:, 2] @ toward, -1, 1))))
        if angle > LOOKAT_MAX_DEG:
            problems.append(f"camera z axis points {angle:.0f} deg away from the head at the origin (a world2cam "
                            f"matrix, or OpenGL axes? EG3D stores cam2world with OpenCV axes: z forward, y down)")
        elif rot[:, 1] @ [0, 1, 0] > 0:
            problems.append("camera y axis points up (upside-down camera); EG3D's y axis is image-down")
    return problems


def _printable(text):
    """`text`, or its repr if it holds line breaks or other control characters (problems are one line)."""
    return text if text.isprintable() else repr(text)


def _fmt(values):
    return "[" + " ".join(f"{v:g}" for v in np.asarray(values).reshape(-1)) + "]"


def check_dataset_json(path, image_root=None, radius=camera.FFHQ_RADIUS, focal=camera.FFHQ_FOCAL):
    """Reads and checks a dataset.json.

    Args:
      path: the dataset.json file.
      image_root: folder the names are relative to (default: the file's folder); every name must
        exist there and every image file there must have a label.
      radius, focal: expected camera distance and normalised focal (None skips).
    Returns:
      (labels: dict name -> (25,) float32, problems: list of one-line strings, [] when all is well).
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as err:
        return {}, [f"{path}: cannot read: {err.strerror}"]
    except (ValueError, RecursionError) as err:  # also json's digit limit of ints and its nesting limit
        return {}, [f"{path}: not valid JSON ({err})"]
    if not isinstance(data, dict) or not isinstance(data.get("labels"), list):
        return {}, [f"{path}: expected an object with a 'labels' list, got {type(data).__name__}"
                    + (f" with keys {sorted(data)[:5]}" if isinstance(data, dict) else "")]
    labels, problems = {}, []
    for i, entry in enumerate(data["labels"]):
        where = f"labels[{i}]"
        if not isinstance(entry, (list, tuple)) or len(entry) != 2 or not isinstance(entry[0], str):
            got = _printable(str(entry)[:60])
            problems.append(f"{where}: expected [\"relative/path.png\", [25 numbers]], got {got}")
            continue
        name, values = entry[0].replace("\\", "/"), entry[1]
        where = f"{where} ({_printable(name)})"
        if name in labels:
            problems.append(f"{where}: duplicate entry")
            continue
        if not isinstance(values, (list, tuple)) or len(values) != 25:
            got = f"{len(values)} values" if isinstance(values, (list, tuple)) else type(values).__name__
            problems.append(f"{where}: expected 25 numbers (16 cam2world + 9 intrinsics), got {got}")
            continue
        try:
            label = np.array([_number(v) for v in values], np.float64)
        except ValueError as err:
            problems.append(f"{where}: entries must be numbers or numeric strings ({err})")
            continue
        with np.errstate(over="ignore"):  # the labels are float32: 1e39 is not finite there
            finite = np.isfinite(label.astype(np.float32))
        if not np.all(finite):
            problems.append(f"{where}: entry {int(np.argmin(finite))} is not finite (as float32)")
            continue
        problems += [f"{where}: {p}" for p in label_problems(label, radius, focal)]
        labels[name] = label.astype(np.float32)
    if not data["labels"]:
        problems.append(f"{path}: 'labels' is empty")
    root = os.path.dirname(os.path.abspath(path)) if image_root is None else image_root
    missing = [n for n in labels if not os.path.isfile(os.path.join(root, n))]
    if missing:
        problems.append(f"{len(missing)} labelled image(s) missing from {root}, e.g. {missing[0]!r}")
    unlabelled = sorted(n for n in _images_under(root) if n not in labels)
    if unlabelled:
        problems.append(f"{len(unlabelled)} image(s) in {root} have no label, e.g. {unlabelled[0]!r}")
    return labels, problems


def _images_under(root):
    if not os.path.isdir(root):
        return []
    found = []
    for folder, _, names in os.walk(root):
        for n in names:
            if n.lower().endswith(IMAGE_EXTENSIONS):
                found.append(os.path.relpath(os.path.join(folder, n), root).replace(os.sep, "/"))
    return found


def load_dataset_json(path, image_root=None, radius=camera.FFHQ_RADIUS, focal=camera.FFHQ_FOCAL):
    """check_dataset_json, raising one ValueError line (the first problems and their count) if any."""
    labels, problems = check_dataset_json(path, image_root, radius, focal)
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ValueError(f"dataset.json: {len(problems)} problem(s): " + "; ".join(problems[:3]) + more)
    return labels
