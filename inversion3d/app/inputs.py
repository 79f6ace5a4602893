"""The inputs of `inversion3d invert`, shared by the encoder and the optimisation methods: photos
aligned first (`--camera photo`), images and camera entries checked, images read in padded batches.

Inputs are checked before any model is loaded: unreadable files and non-square images are one-line
errors naming the file, a camera file without an entry for an image is an error naming the image;
non-RGB images (grayscale, palette, with alpha) are converted with a warning (alpha composited on
white) and other sizes are resized (Lanczos) with a note. Batches have `batch` images (the last one
padded, so one compilation serves all).
"""
import json
import os
import sys

import numpy as np
from PIL import Image, UnidentifiedImageError

from inversion3d import files

FRONTAL = "frontal"
PHOTO = "photo"  # --camera photo: preprocess raw photos first


def _open(path):
    try:
        img = Image.open(path)
        img.load()
        return img
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        reason = getattr(err, "strerror", None) or str(err).split("\n")[0] or type(err).__name__
        raise ValueError(f"{path}: cannot read the image ({reason})") from None


def check_image(path):
    """Opens `path` and checks it is square; returns its (side, mode)."""
    img = _open(path)
    w, h = img.size
    if w != h:
        raise ValueError(f"{path}: image is {w}x{h}, expected a square face crop (crop it first)")
    return w, img.mode


def read_image(path, size, log=print):
    """-> float32 (size, size, 3) in [-1, 1]; converts non-RGB and resizes with a message."""
    img = _open(path)
    if img.mode != "RGB":
        has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
        log(f"[invert] warning: {path}: {img.mode} image converted to RGB"
            + (" (transparent pixels composited on white)" if has_alpha else ""), file=sys.stderr)
        if has_alpha:
            rgba = img.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img = Image.alpha_composite(white, rgba)
        img = img.convert("RGB")
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


def camera_for(path, labels, camera_file):
    """The label of an image: looked up by its path relative to the camera file, then its file name."""
    rel = os.path.relpath(os.path.abspath(path), os.path.dirname(os.path.abspath(camera_file))).replace("\\", "/")
    for key in (rel, os.path.basename(path)):
        if key in labels:
            return labels[key]
    raise ValueError(f"--camera: {camera_file} has no entry for image {os.path.basename(path)} ({path})")


def _stems(paths):
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ValueError(f"IMAGES: several inputs are named {dup[0]} (outputs would collide); rename them")
    return stems


def check_inputs(paths, camera_spec):
    """Everything checkable before loading models: images readable and square, camera entries present.
    Returns (stems, labels per image or None for 'frontal')."""
    if not paths:
        raise ValueError("IMAGES: no input images")
    stems = _stems(paths)
    for path in paths:
        check_image(path)
    if camera_spec == FRONTAL:
        return stems, None
    labels = read_camera_file(camera_spec)
    return stems, [camera_for(p, labels, camera_spec) for p in paths]


def align_photos(photos, out_dir, kind):
    """Raw photos -> (aligned crops, their dataset.json) in out_dir/aligned, like `inversion3d
    preprocess` (style = the generator kind; 'auto' means EG3D). Skipped photos are printed with why."""
    from inversion3d.preprocess.pipeline import preprocess_photos

    aligned = os.path.join(out_dir, "aligned")
    summary = preprocess_photos(photos, aligned, style="panohead" if kind == "panohead" else "eg3d")
    for item in summary["skipped"]:
        print(f"[invert] NOT USED {item['source']}: {item['reason']}", flush=True)
    if not summary["used"]:
        raise ValueError("IMAGES: no usable photo for --camera photo (reasons above)")
    return [os.path.join(aligned, item["image"]) for item in summary["used"]], summary["dataset_json"]


def prepare(args):
    """The input path of every method: aligns raw photos (`--camera photo`, which replaces
    args.images / args.camera by the crops and their dataset.json), checks images and camera entries
    and creates the output folder, before any model is loaded. Returns (stems, labels or None)."""
    if args.views < 1 or args.batch < 1:
        raise ValueError(f"--views / --batch: expected >= 1, got {args.views} / {args.batch}")
    if args.camera == PHOTO:
        args.images, args.camera = align_photos(args.images, args.out, args.kind)
    stems, labels = check_inputs(args.images, args.camera)
    files.ensure_writable_dir(args.out)
    return stems, labels


def batches(paths, labels, front, size, batch, log=print):
    """Yields (indices, images (batch, size, size, 3) in [-1, 1], cameras (batch, 25) float32) per
    `batch` paths; labels None means `front` for every image; the last batch repeats its last image."""
    for lo in range(0, len(paths), batch):
        chunk = list(range(lo, min(lo + batch, len(paths))))
        images = np.stack([read_image(paths[i], size, log=log) for i in chunk])
        cams = np.stack([front if labels is None else labels[i] for i in chunk]).astype(np.float32)
        pad = batch - len(chunk)  # one compiled batch shape for every chunk
        if pad:
            images = np.concatenate([images, np.repeat(images[-1:], pad, 0)])
            cams = np.concatenate([cams, np.repeat(cams[-1:], pad, 0)])
        yield chunk, images, cams
