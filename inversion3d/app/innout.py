"""`inversion3d invert --method innout IMAGE_OR_CLIP --out DIR`: In-N-Out on an image or a video.

Frames (app/clip.py) -> stage A pre-inversion -> stage B composite inversion -> stage C SR
fine-tuning (methods/innout/) -> writes, in DIR:
  reconstructed.mp4  input | composite reconstruction per frame (w+ and codes smoothed over frames, and
                     the SR's block 0 with them: in-n-out.md §4, methods/innout/temporal.py)
  ood_removed.mp4    the in-distribution part alone (OOD removal, in-n-out.md §5; smoothed likewise)
  novel_view.mp4     the composite seen from a yaw sweep across the clip
  edited.mp4         with --edit-direction FILE [--edit-strength S]: every frame's in-distribution part
                     edited (w+ + S n and its tri-planes, inversion3d/editing), the OOD part composited on top
  latents.npz        method 'innout', per-frame ws, codes, cameras, stage A's w_cano / residuals, loss
                     curves, without --masks stage B's re-initialised b_w_cano / b_residual (the no-mask
                     variant, §2.4) and the generator reference (methods/innout/result.py)
  field.npz          the OOD field (planes, decoder) and the SR delta (stage C)
A still image is a 1-frame clip (the mp4s have one frame; recon.png is written too).
`inversion3d edit --latent OUT/latents.npz --direction d.npy` edits the result afterwards (strips,
orbit, depth, the edited clip).
"""
import os
import time

import numpy as np

from inversion3d import camera, files, viz
from inversion3d.app import clip, loading
from inversion3d.app.video import write_video

YAW_RANGE = 0.35  # the `invert` novel-view sweep (+-20 degrees)


def run(args, overrides=(), reference=None):
    """Checks the flags, reads the clip, loads the models and runs every stage. reference: (source,
    gen, overrides) -> the generator entries of the npz (app/invert.generator_reference)."""
    if len(args.images) != 1:
        raise ValueError(f"IMAGES: --method innout takes one image or clip, got {len(args.images)}")
    if args.camera not in ("frontal", "photo"):
        raise ValueError(f"--camera: --method innout takes 'frontal' (aligned crops) or 'photo', got {args.camera!r}")
    for flag in ("encoder", "afa", "encoder2"):
        if getattr(args, flag, None):
            raise ValueError(f"--{flag}: not used by --method innout")
    if args.lpips and not os.path.exists(args.lpips):
        raise ValueError(f"--lpips: no such file or directory: {args.lpips}")
    direction = read_edit_direction(args)
    config = loading.load_config(args.config or os.path.join(loading.CONFIG_DIR, "innout.py"),
                                 [a for a in overrides if loading.is_override(a, "config")])
    if args.steps is not None:
        config.stage_b.steps = args.steps
    files.ensure_writable_dir(args.out)
    gen_overrides = [a for a in overrides if loading.is_override(a, "generator")]
    gen = loading.open_generator(args.generator, args.kind, gen_overrides, name="generator")
    edit = None
    if direction is not None:
        from inversion3d.editing.directions import as_layers

        strength = config.inference.edit_strength if args.edit_strength is None else args.edit_strength
        edit = (as_layers(direction, gen.config.num_ws, gen.config.w_dim, "--edit-direction"), float(strength))
    size = gen.config.img_resolution
    frames, fps = clip.read_frames(args.images[0], int(config.video.max_frames))
    if args.camera == "photo":
        frames, labels = clip.align_frames(frames, size, int(config.video.smooth_window))
    else:
        if frames.shape[1] != frames.shape[2]:
            raise ValueError(f"{args.images[0]}: frames are {frames.shape[2]}x{frames.shape[1]}, expected square "
                             "aligned crops with --camera frontal (or use --camera photo)")
        labels = np.repeat(camera.generator_frontal_label(gen)[None], frames.shape[0], 0)
    masks = read_masks(getattr(args, "masks", None), frames.shape[0])
    depth = np.load(args.depth).astype(np.float32)[..., None] if getattr(args, "depth", None) else None
    lpips = None
    if args.lpips:
        from inversion3d.losses_api import load_lpips

        lpips = load_lpips(args.lpips)
    return invert_clip(gen, frames, labels, config, args.out, masks=masks, depth=depth, lpips=lpips,
                       fps=float(config.video.fps) or fps, views=args.views, edit=edit,
                       source=None if reference is None else reference(args.generator, gen, gen_overrides))


def read_edit_direction(args):
    """--edit-direction FILE (released layouts; app/edit.read_direction) or None; --edit-strength needs it."""
    path, strength = getattr(args, "edit_direction", None), getattr(args, "edit_strength", None)
    if strength is not None and not path:
        raise ValueError("--edit-strength: needs --edit-direction")
    if strength is not None and not np.isfinite(strength):
        raise ValueError(f"--edit-strength: expected a finite number, got {strength}")
    if not path:
        return None
    from inversion3d.app.edit import read_direction

    return read_direction(path, "--edit-direction")


def read_masks(path, num):
    """--masks: a folder of PNGs (sorted, one per frame) or one PNG; 1 (white) = face. -> (T, H, W, 1)."""
    if not path:
        return None
    from PIL import Image

    paths = sorted(os.path.join(path, p) for p in os.listdir(path) if p.lower().endswith(".png")) \
        if os.path.isdir(path) else [path]
    if len(paths) != num:
        raise ValueError(f"--masks: {len(paths)} mask(s) for {num} frame(s)")
    return np.stack([np.asarray(Image.open(p).convert("L"), np.float32)[..., None] / 255.0 for p in paths])


def w_average(gen, config, out_dir):
    """w-bar (w_dim,) of config.w_avg_samples z (frontal conditioning), cached in OUT/w_avg.npz."""
    from inversion3d.inversion.optimization import compute_w_statistics

    path = os.path.join(out_dir, "w_avg.npz")
    if os.path.exists(path):
        cached = np.load(path)
        if int(cached["samples"]) == int(config.w_avg_samples) and cached["w_avg"].shape == (gen.config.w_dim,):
            return cached["w_avg"]
    w_avg, _ = compute_w_statistics(gen, camera.generator_frontal_label(gen), int(config.w_avg_samples),
                                    int(config.w_avg_seed))
    w_avg = np.asarray(w_avg)
    files.atomic_write(path, lambda tmp: np.savez(tmp, w_avg=w_avg, samples=np.asarray(config.w_avg_samples)))
    return w_avg


def invert_clip(gen, frames, labels, config, out_dir, masks=None, depth=None, lpips=None, fps=30.0, views=8,
                edit=None, log=None, source=None, w_avg=None):
    """Runs stages A-C on frames (T, S, S, 3) uint8 with cameras (T, 25) and writes the outputs.
    edit: optional (direction (num_ws, w_dim), strength) for edited.mp4; source: the generator
    reference stored in latents.npz; w_avg: w-bar when the caller has it (else `w_average`, cached
    in out_dir). Returns the written paths."""
    from inversion3d.methods.innout import pipeline, result, stage_a, stage_b, stage_c

    log = log or (lambda *a, **k: print(*a, **k, flush=True))
    start = time.time()
    targets = frames.astype(np.float32) / 127.5 - 1.0
    cams = np.asarray(labels, np.float32)
    log(f"[innout] {frames.shape[0]} frame(s) of {frames.shape[2]}x{frames.shape[1]}; "
        f"{loading.COMPILING.format(command='invert')}")
    w_avg = w_average(gen, config, out_dir) if w_avg is None else w_avg
    a = stage_a.run(gen, targets, cams, masks, config, lpips=lpips, log=log)
    data = stage_b.prepare_data(gen.config, targets, cams, masks, depth)
    b = stage_b.run(gen, data, a["ws"], config, w_avg, masked=masks is not None, lpips=lpips, log=log,
                    latents={"w_cano": a["w_cano"], "residual": a["residual"]})
    c = stage_c.run(gen, data, b["params"], config, lpips=lpips, log=log)
    seq = dict(b["params"])
    taps = tuple(config.inference.smooth_taps)
    seq["ws"] = pipeline.smooth_sequence(np.asarray(seq["ws"]), taps)
    seq["codes"] = pipeline.smooth_sequence(np.asarray(seq["codes"]), taps)
    sr = stage_c.apply_delta(gen.params, c["sr_delta"])
    cfg = gen.config
    log("[innout] rendering the clips")
    sr_smooth = (taps, int(config.inference.smooth_sr_chunk)) if config.inference.smooth_sr_block0 else None
    recon = pipeline.render_frames(cfg, gen.params, seq, sr, cams, sr_smooth=sr_smooth)
    scales = pipeline.removal_scale(masks, cfg.neural_rendering_resolution, int(config.inference.removal_dilation),
                                    float(config.inference.removal_boost))
    if scales is None:
        scales = np.zeros((cams.shape[0], cfg.neural_rendering_resolution ** 2, 1), np.float32)
    removed = pipeline.render_frames(cfg, gen.params, seq, sr, cams, scales, sr_smooth=sr_smooth)
    rig = camera.generator_rig(gen)
    yaws = np.pi / 2 + YAW_RANGE * np.sin(np.linspace(0, 2 * np.pi, max(frames.shape[0], views), endpoint=False))
    view_cams = camera.lookat_labels(yaws, np.full_like(yaws, np.pi / 2), rig.pivot, rig.radius,
                                     cams[0, 16:].reshape(3, 3))
    idx = np.arange(len(yaws)) % frames.shape[0]
    novel = pipeline.render_frames(cfg, gen.params, {k: np.asarray(v)[idx] if k != "field" else v
                                                     for k, v in seq.items()}, sr, view_cams)
    size = cfg.img_resolution
    pair = lambda x, y: np.concatenate([viz.to_uint8(x), viz.to_uint8(y)], axis=1)  # noqa: E731
    written = [
        write_video(os.path.join(out_dir, "reconstructed.mp4"),
                    [pair(t, r) for t, r in zip(data["targets"], recon["image"])], fps),
        write_video(os.path.join(out_dir, "ood_removed.mp4"), [viz.to_uint8(x) for x in removed["image"]], fps),
        write_video(os.path.join(out_dir, "novel_view.mp4"), [viz.to_uint8(x) for x in novel["image"]], fps),
    ]
    if edit is not None:
        _, edited = pipeline.edit_frames(cfg, gen.params, seq, sr, cams, edit[0], [edit[1]])
        written.append(write_video(os.path.join(out_dir, "edited.mp4"), [viz.to_uint8(x) for x in edited["image"][0]],
                                   fps))
    if frames.shape[0] == 1:
        written.append(viz.save_png(os.path.join(out_dir, "recon.png"), viz.make_grid(
            [[viz.to_uint8(np.asarray(data["targets"][0])), viz.to_uint8(recon["image"][0]),
              viz.to_uint8(removed["image"][0])]], size)))
    latents = {"ws": np.asarray(seq["ws"]), "codes": np.asarray(seq["codes"]), "cameras": cams,
               "w_cano": np.asarray(a["w_cano"]), "residual": np.asarray(a["residual"]),
               "losses_a": a["losses"], "losses_b": b["losses"], "losses_c": c["losses"],
               **{f"b_{k}": np.asarray(v) for k, v in b.get("latents", {}).items()},
               "blend": recon["blend_image"], "depth": recon["image_depth"]}
    written += result.save(out_dir, latents, seq["field"], c["sr_delta"], source)
    log(f"[innout] done in {time.time() - start:.0f}s: stage B {b['step_time']:.2f} s/step, stage C "
        f"{c['step_time']:.2f} s/step -> {out_dir}")
    return written
