"""`inversion3d invert --method innout DATASET --out DIR`: In-N-Out over a dataset (a folder of photos, a
dataset folder with --split, or a tfds split), each image a 1-frame clip, in the dataset runner's layout.

Per image STEM: app/innout.invert_clip's files in OUT/innout/STEM/ (recon.png, the 1-frame clips,
latents.npz + field.npz, which `inversion3d edit --latent` reads), then the composite (in-distribution
render + OOD field, the stage-C super-resolution) rendered from the saved result at the input camera
and at every held-out camera of its scene, written by dataset_run.Recorder (OUT/bench/STEM/vNN.png,
depth, the record; OUT/pairs.json, OUT/timing.json). The record is written last, so --resume skips
exactly the finished images.

time_s is the whole 1-frame run of the image (stages A-C, its clips and files); the first image of a
run is marked includes_compile. w-bar (config.w_avg_samples) is computed once per run (OUT/w_avg.npz).
The dataset's masks are foreground masks, not In-N-Out's OOD masks, so they are not given to it.
"""
import os
import sys
import time

import numpy as np

from inversion3d import camera, viz
from inversion3d.app import inputs, innout, loading

SUBDIR = "innout"


def is_dataset_input(args):
    """A folder, a dataset split or a tfds split among IMAGES (one image or clip takes app/innout.run)."""
    from inversion3d.app import tfds_inputs

    return getattr(args, "split", None) is not None or any(
        os.path.isdir(p) or tfds_inputs.is_spec(p) for p in args.images)


def check_flags(args):
    """One-line errors for the flags a dataset run of In-N-Out does not use."""
    for flag in ("encoder", "afa", "encoder2", "masks", "depth", "edit_direction"):
        if getattr(args, flag, None):
            raise ValueError(f"--{flag.replace('_', '-')}: not used by --method innout on a dataset (one image at a "
                             f"time; run it on one image or clip for that)")
    if getattr(args, "edit_strength", None) is not None:
        raise ValueError("--edit-strength: not used by --method innout on a dataset")
    if args.batch != 1:
        raise ValueError(f"--batch: --method innout inverts one image at a time, expected 1, got {args.batch}")
    if args.pose_opt:
        raise ValueError("--pose-opt: only used by --method wplus|pti")
    if args.resume and args.overwrite:
        raise ValueError("--resume / --overwrite: pick one")
    if not args.generator:
        raise ValueError("--generator: --method innout needs it (the generator to invert into)")
    if args.lpips and not os.path.exists(args.lpips):
        raise ValueError(f"--lpips: no such file or directory: {args.lpips}")


def held_out_renders(gen, latents_path, cams):
    """The saved 1-frame result rendered at cams (V, 25) -> {'image' (V, S, S, 3), 'image_depth' (V, R, R, 1)}."""
    from inversion3d.methods.innout import pipeline, result, stage_c

    with np.load(latents_path, allow_pickle=False) as data:
        saved = {k: data[k] for k in data.files}
    result.check(saved, "innout result")
    field, sr_delta = result.read_field(latents_path, saved, "innout result")
    idx = np.zeros(cams.shape[0], np.int64)  # frame 0 at every camera
    seq = {"ws": np.asarray(saved["ws"], np.float32)[idx], "codes": np.asarray(saved["codes"], np.float32)[idx],
           "field": field}
    out = pipeline.render_frames(gen.config, gen.params, seq, stage_c.apply_delta(gen.params, sr_delta),
                                 np.asarray(cams, np.float32))
    return {"image": out["image"], "image_depth": out["image_depth"]}


def run(args, overrides, recorder, reference=None):
    """Every image of the (expanded) dataset: checks, then the generator, then one 1-frame In-N-Out
    each. recorder: dataset_run.Recorder; reference: app/invert.generator_reference."""
    check_flags(args)
    config = loading.load_config(args.config or os.path.join(loading.CONFIG_DIR, "innout.py"),
                                 [a for a in overrides if loading.is_override(a, "config")])
    if args.steps is not None:
        config.stage_b.steps = args.steps
    stems, labels = inputs.prepare(args)
    if not stems:
        return {}
    gen_overrides = [a for a in overrides if loading.is_override(a, "generator")]
    gen = loading.open_generator(args.generator, args.kind, gen_overrides, name="generator")
    lpips = None
    if args.lpips:
        from inversion3d.losses_api import load_lpips

        lpips = load_lpips(args.lpips)
    else:
        print("[invert] warning: no --lpips weights given: In-N-Out's LPIPS terms are off", file=sys.stderr,
              flush=True)
    source = None if reference is None else reference(args.generator, gen, gen_overrides)
    size = gen.config.img_resolution
    front = camera.generator_frontal_label(gen)
    w_avg = innout.w_average(gen, config, args.out)  # once for every image
    written = {}
    for i, (path, stem) in enumerate(zip(args.images, stems)):
        cam = np.asarray(front if labels is None else labels[i], np.float32)
        image = inputs.read_image(path, size, max_pixels=args.max_pixels)
        folder = os.path.join(args.out, SUBDIR, stem)
        print(f"[invert] innout: {stem} ({i + 1}/{len(stems)})", flush=True)
        start = time.time()
        files = innout.invert_clip(gen, viz.to_uint8(image)[None], cam[None], config, folder, lpips=lpips,
                                   views=args.views, source=source, w_avg=w_avg)
        seconds = time.time() - start
        held = recorder.held.get(path, [])
        cams = np.stack([cam] + [np.asarray(v["camera"], np.float32) for v in held])
        renders = held_out_renders(gen, os.path.join(folder, "latents.npz"), cams)
        result = {k: v[0] for k, v in renders.items()}
        views = {k: v[1:] for k, v in renders.items()} if held else None
        written[path] = files + recorder.write(path, stem, cam, result, seconds, i == 0, views)
        print(f"[invert] {stem}: {seconds:.1f}s -> {folder}", flush=True)
    return written
