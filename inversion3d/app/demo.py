"""`inversion3d demo`: renders the embedded default generator (configs/demo.py: the packaged tiny EG3D
trained by this project) for a few latent seeds at several yaws: a PNG grid, colour-mapped depth and
one PNG per view."""
import os
import time

import numpy as np

from inversion3d import camera, files, viz
from inversion3d.app import loading


def run(args, overrides=()):
    """`inversion3d demo`: --config (default configs/demo.py) with `--config.KEY=VALUE` overrides."""
    path = args.config or os.path.join(loading.CONFIG_DIR, "demo.py")
    return run_demo(loading.load_config(path, overrides), args.out)


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


def run_demo(config, out_dir):
    """Renders the config's generator (its weights, or seeded random weights) for latent seeds
    0..num_samples-1 at several yaws; writes grid.png, depth.png and per-view PNGs."""
    check_config(config)
    files.check_writable_dir(out_dir)
    start = time.time()
    gen = loading.generator_from_config(config)
    rig = camera.Rig(tuple(config.pivot), float(config.radius), camera.intrinsics_matrix(config.focal))
    cond = rig.labels(camera.FRONT, camera.FRONT)
    yaws = np.deg2rad(np.asarray(config.yaws_deg, np.float64))
    pitch = np.pi / 2 + np.deg2rad(config.pitch_deg)
    cams = rig.labels(np.pi / 2 + yaws, np.full_like(yaws, pitch))
    image_rows, depth_rows = [], []
    print(loading.COMPILING.format(command="demo"), flush=True)
    for sample in range(config.num_samples):
        z = np.random.RandomState(sample).randn(1, gen.config.z_dim).astype(np.float32)
        ws = gen.mapping(z, cond, config.truncation_psi, config.truncation_cutoff)
        out = gen.synthesis(np.repeat(np.asarray(ws), len(yaws), axis=0), cams)
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
