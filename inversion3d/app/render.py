"""`inversion3d render`: orbit videos, PNG grids, depth maps and meshes for latent seeds.

Frames are rendered in jit-compiled batches of `batch` views with a progress bar; every output is
written atomically. Works for EG3D and PanoHead generators alike. Arguments are checked before the
generator loads; seeds whose files are all in --out already are an error unless --resume (skipped)
or --overwrite (rendered again).
"""
import os
import time

import numpy as np

from inversion3d import camera, files, viz
from inversion3d.app import loading
from inversion3d.app.video import VIDEO_FORMATS, write_video



def check_args(args):
    """One-line errors for values out of range (before anything is loaded)."""
    for flag, value, low in (("--frames", args.frames, 1), ("--batch", args.batch, 1), ("--fps", args.fps, 1),
                             ("--shape-res", args.shape_res, 8), ("--trunc-cutoff", args.trunc_cutoff, 0)):
        if value < low:
            raise ValueError(f"{flag}: expected >= {low}, got {value}")
    if not np.isfinite(args.trunc):
        raise ValueError(f"--trunc: expected a finite number, got {args.trunc}")
    if args.level is not None and not np.isfinite(args.level):
        raise ValueError(f"--level: expected a finite number, got {args.level}")


def output_files(out_dir, seed, video_format="mp4", mesh=False):
    """The files one seed needs (the mesh .ply / .obj are optional: skipped when no surface is found)."""
    stem = os.path.join(out_dir, f"seed{seed:04d}")
    return [f"{stem}.{video_format}", f"{stem}_grid.png", f"{stem}_depth.png"] + ([f"{stem}.mrc"] if mesh else [])


def run(args, overrides=()):
    """`inversion3d render`: `--config.KEY=VALUE` overrides apply to a config .py / default generator."""
    seeds = parse_seeds(args.seeds)
    check_args(args)
    files.check_writable_dir(args.out)  # fail before any loading or rendering
    done = [i for i, s in enumerate(seeds) if files.outputs_exist(output_files(args.out, s, args.format, args.mesh))]
    keep = files.resume_plan(done, len(seeds), args.out, [f"seed {seeds[i]}" for i in done], args.resume,
                             args.overwrite, "seed")
    seeds = [seeds[i] for i in keep]
    if not seeds:
        return {}
    if str(loading.check_source(args.ckpt, overrides)).endswith(".py"):
        loading.resolve_kind(args.ckpt, "auto", overrides)  # config errors before the generator is built
    gen = loading.open_generator(args.ckpt, args.kind, overrides, compute_dtype=args.dtype)
    return render_orbit(gen, seeds, args.out, truncation_psi=args.trunc, truncation_cutoff=args.trunc_cutoff,
                        orbit=args.orbit, frames=args.frames, batch=args.batch, video_format=args.format,
                        mesh=args.mesh, shape_resolution=args.shape_res, fps=args.fps, level=args.level)


def parse_seeds(text):
    """'0-3,7' -> [0, 1, 2, 3, 7]."""
    seeds = []
    try:
        for part in str(text).split(","):
            lo, sep, hi = part.partition("-")
            seeds.extend(range(int(lo), int(hi) + 1) if sep else [int(lo)])
            if sep and int(hi) < int(lo):
                raise ValueError(f"--seeds: range {part!r} is empty (expected LOW-HIGH with LOW <= HIGH)")
    except ValueError as err:
        if str(err).startswith("--seeds"):
            raise
        raise ValueError(f"--seeds: expected a list like '0-3,7' of seeds >= 0, got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise ValueError(f"--seeds: expected seeds >= 0, got {text!r}")
    return seeds


def _progress(total, desc):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="frame", leave=False)


def render_orbit(gen, seeds, out_dir, truncation_psi=0.7, truncation_cutoff=14, orbit="yaw", frames=60,
                 batch=4, video_format="mp4", grid_frames=8, mesh=False, shape_resolution=128, fps=30,
                 level=None):
    """Renders each seed along `orbit`; returns {seed: [written paths]}."""
    if video_format not in VIDEO_FORMATS:
        raise ValueError(f"--format: expected one of {VIDEO_FORMATS}, got {video_format!r}")
    if batch < 1:
        raise ValueError(f"--batch: expected >= 1, got {batch}")
    files.ensure_writable_dir(out_dir)
    rig = camera.generator_rig(gen)
    yaw, pitch = camera.orbit_angles(orbit, frames)
    cams = rig.labels(yaw, pitch)
    cond = rig.labels(camera.FRONT, camera.FRONT)
    written = {}
    print(loading.COMPILING.format(command="render"), flush=True)
    for seed in seeds:
        start = time.time()
        z = np.random.RandomState(seed).randn(1, gen.config.z_dim).astype(np.float32)
        ws = np.asarray(gen.mapping(z, cond, truncation_psi, truncation_cutoff))
        images, depths = [], []
        bar = _progress(frames, f"seed {seed}")
        for lo in range(0, frames, batch):
            c = cams[lo:lo + batch]
            pad = batch - len(c)  # keep one compiled batch shape
            c_full = np.concatenate([c, np.repeat(c[-1:], pad, axis=0)]) if pad else c
            out = gen.synthesis(np.repeat(ws, batch, axis=0), c_full)
            images.extend(viz.to_uint8(out["image"])[:len(c)])
            depths.extend(np.asarray(out["image_depth"])[:len(c)])
            bar.update(len(c))
        bar.close()
        stem = os.path.join(out_dir, f"seed{seed:04d}")
        lo_d, hi_d = float(np.min(depths)), float(np.max(depths))
        depth_rgb = [viz.colorize_depth(d, lo_d, hi_d) for d in depths]
        pick = np.linspace(0, frames - 1, min(grid_frames, frames)).round().astype(int)
        size = gen.config.img_resolution
        paths = [
            write_video(f"{stem}.{video_format}", images, fps=fps),
            viz.save_png(f"{stem}_grid.png", viz.make_grid([[images[i] for i in pick]], size)),
            viz.save_png(f"{stem}_depth.png", viz.make_grid([[depth_rgb[i] for i in pick]], size)),
        ]
        if mesh:
            paths += export_shape(gen, ws, stem, shape_resolution, level)
        written[seed] = paths
        print(f"[render] seed {seed}: {frames} frames in {time.time() - start:.1f}s -> {', '.join(paths)}",
              flush=True)
    return written


def export_shape(gen, ws, stem, resolution, level=None):
    """Density grid + marching cubes -> stem.mrc, stem.ply, stem.obj (level: official 10 by default).

    When the density never crosses the level (e.g. untrained weights), the volume is still written
    and the mesh is skipped with a message naming a level that would work.
    """
    return write_shape(gen.density_grid(ws, resolution=resolution), gen.config.render.box_warp, stem, level)


def write_shape(grid, box, stem, level=None):
    """A density grid (R, R, R) over the feature cube of side `box` -> stem.mrc (+ .ply / .obj when
    the level is crossed; `export_shape`)."""
    from inversion3d.rendering import shapes

    level = shapes.DEFAULT_LEVEL if level is None else float(level)
    paths = [shapes.write_mrc(f"{stem}.mrc", grid, box_warp=box)]
    try:
        verts, faces = shapes.extract_mesh(grid, box_warp=box, level=level)
    except ValueError as err:
        print(f"[render] mesh skipped: {err}; try --level {float(np.median(grid)):.3g}", flush=True)
        return paths
    return paths + [shapes.write_ply(f"{stem}.ply", verts, faces), shapes.write_obj(f"{stem}.obj", verts, faces)]
