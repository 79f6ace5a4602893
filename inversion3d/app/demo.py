"""`inversion3d demo`: the main job end to end (demo_pipeline.py: inversions of packaged test scenes and
a photo, novel views beside the ground truth, depth, videos, a mesh, an edit, a metrics table ->
OUT/index.html); `run_demo` renders the embedded default generator (configs/demo.py: the packaged tiny
EG3D trained by this project) for a few latent seeds at several yaws."""
import os
import time

import numpy as np

from inversion3d import camera, files, viz
from inversion3d.app import loading


def run(args, overrides=()):
    """`inversion3d demo`: --config (default configs/demo.py) with `--config.KEY=VALUE` overrides: the main
    job end to end (app/demo_pipeline.py) -> OUT/index.html."""
    from inversion3d.app import demo_pipeline

    path = args.config or os.path.join(loading.CONFIG_DIR, "demo.py")
    config = loading.load_config(path, overrides)
    check_config(config)
    check_pipeline_config(config)
    files.check_writable_dir(args.out)
    return demo_pipeline.run_pipeline(config, args.out, samples=run_demo)


def check_pipeline_config(config):
    """One-line errors for demo settings out of range (before any model loads)."""
    missing = [k for k in ("generator", "scenes", "photo", "encoders", "pivot_steps", "tune_steps", "edit")
               if k not in config]
    if missing:
        raise ValueError(f"--config: not a demo config (no {', '.join(missing)}); expected a file like configs/demo.py")
    for key, low in (("scenes", 0), ("pivot_steps", 1), ("tune_steps", 1), ("w_avg_samples", 2), ("orbit_frames", 1),
                     ("shape_resolution", 8)):
        if int(config[key]) < low:
            raise ValueError(f"--config.{key}: expected >= {low}, got {config[key]}")
    if not int(config.scenes) and not config.photo:
        raise ValueError("--config.scenes / --config.photo: nothing to invert")
    if config.lpips and not os.path.exists(config.lpips):
        raise ValueError(f"--config.lpips: no such file or directory: {config.lpips}")


def check_config(config):
    """One-line errors for config values the demo cannot render (before the generator is built)."""
    missing = [k for k in loading.GENERATOR_CONFIG_KEYS + ("num_samples", "yaws_deg", "pitch_deg", "pivot", "radius",
                                                            "focal", "truncation_psi", "truncation_cutoff")
               if k not in config]
    if missing:
        raise ValueError(f"--config: not a demo config (no {', '.join(missing)}); expected a file like configs/demo.py")
    if config.num_samples < 1:
        raise ValueError(f"--config.num_samples: expected >= 1, got {config.num_samples}")
    if not len(config.yaws_deg):
        raise ValueError("--config.yaws_deg: expected at least one yaw")


def run_demo(config, out_dir, gen=None):
    """Renders the config's generator (its weights, or seeded random weights; or `gen`) for latent seeds
    0..num_samples-1 at several yaws; writes grid.png, depth.png and per-view PNGs."""
    from inversion3d.inversion.common import render_in_blocks
    from inversion3d.inversion.optimization import result_renderer

    check_config(config)
    files.check_writable_dir(out_dir)
    start = time.time()
    standalone = gen is None  # inside `make demo` every program below is compiled already
    if standalone:
        gen = loading.generator_from_config(config)
    rig = camera.Rig(tuple(config.pivot), float(config.radius), camera.intrinsics_matrix(config.focal))
    cond = rig.labels(camera.FRONT, camera.FRONT)
    yaws = np.deg2rad(np.asarray(config.yaws_deg, np.float64))
    pitch = np.pi / 2 + np.deg2rad(config.pitch_deg)
    cams = rig.labels(np.pi / 2 + yaws, np.full_like(yaws, pitch))
    image_rows, depth_rows = [], []
    if standalone:
        print(loading.COMPILING.format(command="demo"), flush=True)
    for sample in range(config.num_samples):
        z = np.random.RandomState(sample).randn(1, gen.config.z_dim).astype(np.float32)
        ws = gen.mapping(z, cond, config.truncation_psi, config.truncation_cutoff)
        if standalone:  # one program: the synthesis of every yaw at once
            out = gen.synthesis(np.repeat(np.asarray(ws), len(yaws), axis=0), cams)
        else:  # the same renders through the (1, ...) programs `make demo` has compiled already
            planes = result_renderer(gen.config)(gen.params, ws, np.asarray(cond, np.float32))["planes"]
            out = render_in_blocks(gen.config, gen.params, planes, ws, cams)
        images = viz.to_uint8(out["image"])
        depth = np.asarray(out["image_depth"])
        lo, hi = float(depth.min()), float(depth.max())
        image_rows.append(list(images))
        depth_rows.append([viz.colorize_depth(d, lo, hi) for d in depth])
        for v in range(len(yaws)):
            viz.save_png(os.path.join(out_dir, f"seed{sample:02d}_yaw{config.yaws_deg[v]:+.1f}.png"), images[v])
        print(f"[demo] sample {sample + 1}/{config.num_samples} rendered ({time.time() - start:.1f}s)", flush=True)
    size = gen.config.img_resolution
    grid = viz.save_png(os.path.join(out_dir, "grid.png"), viz.make_grid(image_rows, size))
    depth = viz.save_png(os.path.join(out_dir, "depth.png"), viz.make_grid(depth_rows, size))
    print(f"[demo] images: {grid}\n[demo] depth maps: {depth}\n[demo] per-view PNGs in {out_dir}")
    return grid, depth
