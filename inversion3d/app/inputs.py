"""The inputs of `inversion3d invert`, shared by the encoder and the optimisation methods: photos
aligned first (`--camera photo`), images and camera entries checked, images read in padded batches.

Inputs are checked before any model is loaded: unreadable files, images over the pixel limit
(`--max-pixels`, checked from the header) and non-square images are one-line errors naming the file,
a camera file without an entry for an image or whose camera is not a rotation + translation with
positive focal lengths is an error naming the image; images are read by inversion3d/images.py (EXIF
orientation applied; non-RGB modes converted by their range with a warning, alpha composited on
white) and other sizes are resized (Lanczos) with a note. Batches have `batch` images (the last one
padded, so one compilation serves all).
"""
import json
import os
import sys

import numpy as np
from PIL import Image

from inversion3d import files, images
from inversion3d.images import DEFAULT_MAX_PIXELS

FRONTAL = "frontal"
PHOTO = "photo"  # --camera photo: preprocess raw photos first


def check_image(path, max_pixels=DEFAULT_MAX_PIXELS):
    """Opens `path` and checks it is square; returns its (side, mode)."""
    img = images.open_image(path, max_pixels)
    w, h = img.size
    if w != h:
        raise ValueError(f"{path}: image is {w}x{h}, expected a square face crop (crop it first)")
    return w, img.mode


def read_image(path, size, log=print, max_pixels=DEFAULT_MAX_PIXELS):
    """-> float32 (size, size, 3) in [-1, 1]; converts non-RGB and resizes with a message."""
    img = images.open_image(path, max_pixels)
    if img.mode != "RGB":
        log(f"[invert] warning: {path}: {img.mode} image converted to RGB"
            + (" (transparent pixels composited on white)" if images.has_alpha(img) else "")
            + (" (16/32-bit values scaled to 8 bits)" if img.mode.startswith("I") or img.mode == "F" else ""),
            file=sys.stderr)
        img = images.to_rgb(img)
    if img.size != (size, size):
        log(f"[invert] note: {path}: resized {img.size[0]}x{img.size[1]} -> {size}x{size}")
        img = img.resize((size, size), Image.LANCZOS)
    return np.asarray(img, np.float32) / 127.5 - 1.0


def read_camera_file(path):
    """EG3D dataset.json ({'labels': [[name, [25 floats]], ...]}) or {name: [25 floats]} -> {name: (25,)}."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError, RecursionError) as err:  # RecursionError: json nested too deep
        raise ValueError(f"--camera: cannot read {path} ({getattr(err, 'strerror', None) or err})") from None
    entries = data.get("labels", data) if isinstance(data, dict) else None
    if isinstance(entries, dict):
        entries = list(entries.items())
    if not isinstance(entries, list) or any(not isinstance(e, (list, tuple)) or len(e) != 2 for e in entries):
        raise ValueError(f"--camera: {path} is not a dataset.json ({{'labels': [[name, [25 numbers]], ...]}})")
    labels = {}
    for name, label in entries:
        try:  # numbers, or numeric strings as PanoHead's dataset.json stores them
            value = np.asarray(label, np.float32).reshape(-1) if isinstance(label, (list, tuple)) else np.zeros(0)
        except (TypeError, ValueError, OverflowError):  # OverflowError: an int past float range
            value = np.zeros(0)
        if value.shape != (25,) or not np.all(np.isfinite(value)):
            raise ValueError(f"--camera: {path}: entry {name!r} is not 25 finite numbers")
        labels[str(name).replace("\\", "/")] = value
    return labels


def check_label(label, what):
    """A 25-number camera label (4x4 cam2world + 3x3 intrinsics) whose rotation is a rotation and
    whose focal lengths are positive; ValueError naming `what` otherwise (e.g. an all-zero label)."""
    pose, intrinsics = np.asarray(label[:16], np.float64).reshape(4, 4), np.asarray(label[16:], np.float64)
    rot = pose[:3, :3]
    # 1e-2: dataset.json files store rounded floats; an all-zero or scaled matrix is far off
    if np.abs(rot.T @ rot - np.eye(3)).max() > 1e-2 or np.linalg.det(rot) < 0:
        raise ValueError(f"{what} is not a camera: its 3x3 rotation is not a rotation (all zeros? a scaled or "
                         f"mirrored matrix?)")
    if not (intrinsics[0] > 0 and intrinsics[4] > 0):
        raise ValueError(f"{what} is not a camera: focal lengths fx={intrinsics[0]:g}, fy={intrinsics[4]:g}, "
                         f"expected > 0")
    return label


def camera_for(path, labels, camera_file):
    """The label of an image: looked up by its path relative to the camera file, then its file name."""
    rel = os.path.relpath(os.path.abspath(path), os.path.dirname(os.path.abspath(camera_file))).replace("\\", "/")
    for key in (rel, os.path.basename(path)):
        if key in labels:
            return check_label(labels[key], f"--camera: {camera_file}: entry {key!r}")
    raise ValueError(f"--camera: {camera_file} has no entry for image {os.path.basename(path)} ({path})")


def _stems(paths):
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ValueError(f"IMAGES: several inputs are named {dup[0]} (outputs would collide); rename them")
    return stems


def check_inputs(paths, camera_spec, max_pixels=DEFAULT_MAX_PIXELS):
    """Everything checkable before loading models: images readable and square, camera entries present.
    Returns (stems, labels per image or None for 'frontal')."""
    if not paths:
        raise ValueError("IMAGES: no input images")
    stems = _stems(paths)
    for path in paths:
        check_image(path, max_pixels)
    if camera_spec == FRONTAL:
        return stems, None
    labels = read_camera_file(camera_spec)
    return stems, [camera_for(p, labels, camera_spec) for p in paths]


def output_files(out_dir, stem, method, bench=False):
    """The files `invert` writes for one image (invert.py's module docstring); bench: a dataset run,
    whose image record (app/dataset_run.py, written last) marks the image finished."""
    if method == "innout":  # a dataset run of In-N-Out: its result folder per image (app/innout_dataset.py)
        base = os.path.join(out_dir, "innout", stem)
        return [os.path.join(base, "latents.npz"), os.path.join(base, "field.npz"),
                os.path.join(out_dir, "bench", f"{stem}.json")]
    base = os.path.join(out_dir, stem)
    names = [f"{base}_recon.png", f"{base}_views.png", f"{base}_depth.png", f"{base}.npz"]
    names += [f"{base}_generator.npz"] if method == "pti" else []
    return names + ([os.path.join(out_dir, "bench", f"{stem}.json")] if bench else [])


def align_photos(photos, out_dir, kind, max_pixels=DEFAULT_MAX_PIXELS):
    """Raw photos -> (aligned crops, their dataset.json) in out_dir/aligned, like `inversion3d
    preprocess` (style = the generator kind, resolved before: 'eg3d' or 'panohead'). Skipped photos
    are printed with why. The folder is this command's own: earlier crops in it are replaced."""
    from inversion3d.preprocess.pipeline import preprocess_photos

    aligned = os.path.join(out_dir, "aligned")
    summary = preprocess_photos(photos, aligned, style="panohead" if kind == "panohead" else "eg3d",
                                max_pixels=max_pixels, overwrite=True)
    for item in summary["skipped"]:
        reason = item["reason"].replace("(--min-size)", "(`inversion3d preprocess --min-size N` aligns smaller faces; "
                                                        "invert its crops with --camera OUT/dataset.json)")
        print(f"[invert] NOT USED {item['source']}: {reason}", flush=True)
    if not summary["used"]:
        raise ValueError("IMAGES: no usable photo for --camera photo (reasons above)")
    return [os.path.join(aligned, item["image"]) for item in summary["used"]], summary["dataset_json"]


def check_camera_spec(spec):
    """--camera: 'frontal', 'photo' or an existing dataset.json (one line with a hint otherwise)."""
    if spec in (FRONTAL, PHOTO) or os.path.isfile(spec):
        return spec
    if not spec.lower().endswith(".json") and not os.path.exists(spec):
        raise ValueError(f"--camera: expected a dataset.json, '{FRONTAL}' (the generator's frontal camera) or "
                         f"'{PHOTO}' (raw photos, aligned first), got {spec!r}")
    raise ValueError(f"--camera: no such file: {spec}")


def check_counts(args):
    """--views / --batch >= 1 (before anything is read or loaded)."""
    for flag, value in (("--views", args.views), ("--batch", args.batch)):
        if value < 1:
            raise ValueError(f"{flag}: expected >= 1, got {value}")


def prepare(args, kind="eg3d"):
    """The input path of every method: aligns raw photos (`--camera photo`, in the style of the
    generator `kind`; it replaces args.images / args.camera by the crops and their dataset.json), checks
    images and camera entries and the output folder, before any model is loaded. Images whose outputs
    are all in --out already are an error, skipped with --resume (dropped from args.images) or replaced
    with --overwrite. Returns (stems, labels or None); no stems: nothing left to do."""
    check_counts(args)
    max_pixels = getattr(args, "max_pixels", DEFAULT_MAX_PIXELS)
    if args.camera == PHOTO:
        args.images, args.camera = align_photos(args.images, args.out, kind, max_pixels)
    stems, labels = check_inputs(args.images, args.camera, max_pixels)
    files.check_writable_dir(args.out)
    bench = getattr(args, "bench", False)
    done = [i for i, s in enumerate(stems) if files.outputs_exist(output_files(args.out, s, args.method, bench))]
    keep = files.resume_plan(done, len(stems), args.out, [stems[i] for i in done], getattr(args, "resume", False),
                             getattr(args, "overwrite", False), "image")
    args.images = [args.images[i] for i in keep]
    return [stems[i] for i in keep], None if labels is None else [labels[i] for i in keep]


def batches(paths, labels, front, size, batch, log=print, max_pixels=DEFAULT_MAX_PIXELS):
    """Yields (indices, images (batch, size, size, 3) in [-1, 1], cameras (batch, 25) float32) per
    `batch` paths; labels None means `front` for every image; the last batch repeats its last image."""
    for lo in range(0, len(paths), batch):
        chunk = list(range(lo, min(lo + batch, len(paths))))
        pixels = np.stack([read_image(paths[i], size, log=log, max_pixels=max_pixels) for i in chunk])
        cams = np.stack([front if labels is None else labels[i] for i in chunk]).astype(np.float32)
        pad = batch - len(chunk)  # one compiled batch shape for every chunk
        if pad:
            pixels = np.concatenate([pixels, np.repeat(pixels[-1:], pad, 0)])
            cams = np.concatenate([cams, np.repeat(cams[-1:], pad, 0)])
        yield chunk, pixels, cams
