"""`inversion3d invert`: photos -> reconstruction, novel views, depth and latent / tri-planes per image.

Inputs are checked before any model is loaded: unreadable files and non-square images are one-line
errors naming the file, a camera file without an entry for an image is an error naming the image;
non-RGB images (grayscale, palette, with alpha) are converted with a warning (alpha composited on
white) and other sizes are resized (Lanczos) with a note. Images go through the jit-compiled
pipeline in batches of `batch` (the last batch padded, so one compilation serves all), with a
progress bar. Per image STEM (the file name without extension) the output folder gets
  STEM_recon.png  the input and the reconstruction side by side
  STEM_views.png  novel views: a yaw sweep (EG3D) or a full turn (PanoHead)
  STEM_depth.png  colour-mapped depth of the reconstruction and the views (near = bright)
  STEM.npz        ws (num_ws, w_dim), planes (3, H, W, C), camera (25,), view cameras (V, 25)
                  [+ mask for goae / dual]
Optimisation methods (wplus, pti: invert_optimized.py, inversion/wplus.py, pti.py, configs/wplus.py,
pti.py) need no encoder; their npz adds the loss curves (and for pti the tuning steps, whether it stopped early)
and, with --pose-opt, camera_initial (the input camera; `camera` is the refined one). pti also writes
STEM_generator.npz, the tuned generator variables (pti.load_variables reads it back).
"""
import json
import os
import sys
import time

import numpy as np
from PIL import Image, UnidentifiedImageError

from inversion3d import camera, files, viz

YAW_RANGE = 0.35  # +-20 degrees, the `render --orbit yaw` sweep
FRONTAL = "frontal"


PHOTO = "photo"  # --camera photo: preprocess raw photos first
OPT_METHODS = ("wplus", "pti")  # optimisation-based: no encoder (inversion/wplus.py, pti.py)


def _open(path):
    try:
        img = Image.open(path)
        img.load()
        return img
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as err:
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
    except (OSError, ValueError) as err:
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
        except (TypeError, ValueError):
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


def view_cameras(gen, intrinsics, views):
    """(V, 25) novel-view labels: a yaw sweep (EG3D) or a full turn (PanoHead) around the pivot."""
    from inversion3d.orbit_render import camera_setup

    pivot, radius, _ = camera_setup(gen)
    if gen.kind == "panohead":
        yaw = (np.pi / 2 + 2 * np.pi * np.arange(views) / views).astype(np.float32)
    else:
        yaw = camera.orbit_yaws(views, YAW_RANGE)
    poses = camera.lookat_pose(yaw, np.full_like(yaw, np.pi / 2), pivot, radius)
    return camera.make_label(poses, intrinsics.reshape(3, 3))


def frontal_camera(gen):
    from inversion3d.orbit_render import camera_setup

    pivot, radius, intr = camera_setup(gen)
    return camera.make_label(camera.lookat_pose(np.pi / 2, np.pi / 2, pivot, radius), intr)[0]


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


def _progress(total):
    from tqdm import tqdm

    return tqdm(total=total, desc="invert", unit="image", leave=False)


def invert_images(inverter, gen, paths, out_dir, camera_spec=FRONTAL, views=8, batch=1, labels=None, stems=None):
    """Runs `inverter` (inversion/pipelines.py) on every image; returns {path: [written files]}."""
    from inversion3d.inversion.common import view_renderer

    if views < 1 or batch < 1:
        raise ValueError(f"--views / --batch: expected >= 1, got {views} / {batch}")
    if stems is None:
        stems, labels = check_inputs(paths, camera_spec)
    files.ensure_writable_dir(out_dir)
    front = frontal_camera(gen) if labels is None else None
    render_views = view_renderer(inverter.config)
    size, written, bar = inverter.input_size, {}, _progress(len(paths))
    for lo in range(0, len(paths), batch):
        start = time.time()
        chunk = list(range(lo, min(lo + batch, len(paths))))
        images = np.stack([read_image(paths[i], size, log=bar.write if hasattr(bar, "write") else print)
                           for i in chunk])
        cams = np.stack([front if labels is None else labels[i] for i in chunk])
        pad = batch - len(chunk)  # one compiled batch shape for every chunk
        if pad:
            images = np.concatenate([images, np.repeat(images[-1:], pad, 0)])
            cams = np.concatenate([cams, np.repeat(cams[-1:], pad, 0)])
        out = inverter(images, cams)
        view_cams = np.stack([view_cameras(gen, c[16:], views) for c in cams], axis=1)  # (V, B, 25)
        sweep = render_views(inverter.params["generator"], out["planes"], out["ws"], view_cams)
        for j, i in enumerate(chunk):
            result = {k: np.asarray(v[j]) for k, v in out.items()}
            written[paths[i]] = write_outputs(out_dir, stems[i], images[j], result, cams[j], view_cams[:, j],
                                              np.asarray(sweep["image"][:, j]), np.asarray(sweep["image_depth"][:, j]),
                                              inverter.method)
        bar.update(len(chunk))
        bar.write(f"[invert] {', '.join(stems[i] for i in chunk)}: {time.time() - start:.1f}s -> {out_dir}")
    bar.close()
    return written


def write_outputs(out_dir, stem, image, result, cam, view_cams, view_images, view_depths, method, extra=None):
    """Writes the four files of one image (`extra`: more arrays for the npz); returns their paths."""
    base = os.path.join(out_dir, stem)
    size = result["image"].shape[0]
    recon = viz.to_uint8(result["image"])
    views = list(viz.to_uint8(view_images))
    depths = [result["image_depth"]] + list(view_depths)
    lo, hi = float(np.min(depths)), float(np.max(depths))
    arrays = {"ws": result["ws"], "planes": result["planes"], "camera": cam, "view_cameras": view_cams,
              "method": np.asarray(method)}
    if "mask" in result:
        arrays["mask"] = result["mask"]
    arrays.update(extra or {})
    return [
        viz.save_png(f"{base}_recon.png", viz.make_grid([[viz.to_uint8(image), recon]], size)),
        viz.save_png(f"{base}_views.png", viz.make_grid([views], size)),
        viz.save_png(f"{base}_depth.png", viz.make_grid([[viz.colorize_depth(d, lo, hi) for d in depths]], size)),
        files.atomic_write(f"{base}.npz", lambda tmp: np.savez(tmp, **arrays)),
    ]


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


def check_method_flags(args):
    """One-line errors for flags the method needs or does not use (before anything is loaded)."""
    if args.method in OPT_METHODS:
        for flag, value in (("--encoder", args.encoder), ("--afa", args.afa), ("--encoder2", args.encoder2)):
            if value:
                raise ValueError(f"{flag}: not used by --method {args.method} (optimisation needs no encoder)")
        if args.steps is not None and args.steps < 1:
            raise ValueError(f"--steps: expected >= 1, got {args.steps}")
        if args.method == "pti" and args.batch != 1:
            raise ValueError(f"--batch: --method pti tunes one generator per image, expected 1, got {args.batch}")
        if args.lpips and not os.path.exists(args.lpips):
            raise ValueError(f"--lpips: no such file or directory: {args.lpips}")
        return
    if not args.encoder:
        raise ValueError(f"--encoder: --method {args.method} needs it (the encoder file)")
    for flag, value in (("--steps", args.steps), ("--pose-opt", args.pose_opt or None), ("--lpips", args.lpips)):
        if value is not None:
            raise ValueError(f"{flag}: only used by --method {'|'.join(OPT_METHODS)}, got --method {args.method}")


def run_invert(args, overrides=()):
    """The `invert` subcommand: checks inputs, loads the generator and encoders, inverts every image."""
    from inversion3d.cli import open_generator
    from inversion3d.encoders_api import load_encoder
    from inversion3d.methods.registry import FILE_KINDS, check_kinds, make_inverter

    check_method_flags(args)
    if args.method in OPT_METHODS:
        from inversion3d.invert_optimized import run_optimization

        return run_optimization(args, overrides)
    extra = {"goae": ("--afa", args.afa), "dual": ("--encoder2", args.encoder2)}
    for method, (flag, value) in extra.items():
        if args.method == method and not value:
            raise ValueError(f"{flag}: --method {method} needs it ({'the AFA file' if method == 'goae' else 'E2'})")
        if args.method != method and value:
            raise ValueError(f"{flag}: only used by --method {method}, got --method {args.method}")
    if args.views < 1 or args.batch < 1:
        raise ValueError(f"--views / --batch: expected >= 1, got {args.views} / {args.batch}")
    if args.camera == PHOTO:
        args.images, args.camera = align_photos(args.images, args.out, args.kind)
    stems, labels = check_inputs(args.images, args.camera)
    files.ensure_writable_dir(args.out)
    start = time.time()
    sources = [args.encoder] + [v for _, v in [extra.get(args.method, (None, None))] if v]
    encoders = [load_encoder(src, kind) for src, kind in zip(sources, FILE_KINDS[args.method])]
    check_kinds(args.method, encoders)  # before the (slower) generator
    gen = open_generator(args.generator, args.kind, overrides)
    inverter = make_inverter(args.method, gen, encoders)
    print(f"[invert] {args.method} on a {gen.kind} generator, {len(args.images)} image(s) at "
          f"{inverter.input_size}x{inverter.input_size}; models loaded in {time.time() - start:.1f}s", flush=True)
    return invert_images(inverter, gen, args.images, args.out, args.camera, views=args.views, batch=args.batch,
                         labels=labels, stems=stems)
