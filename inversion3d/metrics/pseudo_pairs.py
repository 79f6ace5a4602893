"""Generator pseudo-pairs for `inversion3d eval` (editing-and-eval.md §4, multi-view protocol):
seeded latents rendered at several yaws give ground-truth views; a method's output for the same
seed and cameras is the "result". Writes PNGs ([0, 255]) and the `pairs.json` that eval reads.
"""
import json
import os
import time

import numpy as np

from inversion3d import camera, viz
from inversion3d.files import atomic_write

def cameras(yaws_deg, pitch_deg=0.0):
    """(conditioning label (1, 25) frontal, rendering labels (V, 25) at yaw offsets in degrees), on
    the EG3D FFHQ rig (camera.rig('eg3d'): pivot (0, 0, 0.2), radius 2.7, focal 4.2647)."""
    rig = camera.rig("eg3d")
    yaws = np.deg2rad(np.asarray(yaws_deg, np.float64))
    pitch = np.full_like(yaws, np.pi / 2 + np.deg2rad(pitch_deg))
    return rig.labels(camera.FRONT, camera.FRONT), rig.labels(np.pi / 2 + yaws, pitch)


def render_latent(gen, z, cond, cams, truncation_psi=0.7, truncation_cutoff=14):
    """Images (V, H, W, 3) in [-1, 1] of latent z (1, z_dim) at each rendering camera."""
    ws = np.asarray(gen.mapping(z, cond, truncation_psi, truncation_cutoff))
    return np.asarray(gen.synthesis(np.repeat(ws, len(cams), axis=0), cams)["image"])


def truncation_method(psi, cutoff=14):
    """method_fn rendering the same latent at truncation `psi` (a deliberately imperfect 'inversion')."""
    def method_fn(gen, z, cond, cams):
        return render_latent(gen, z, cond, cams, psi, cutoff)
    return method_fn


def write_generator_pairs(gen, out_dir, yaws_deg, num, method_fn, method="method", truncation_psi=0.7,
                          truncation_cutoff=14, append=True):
    """Renders seeds 0..num-1 at `yaws_deg` (0 = the input view) as targets (truncation_psi) and
    method_fn(gen, z, cond, cams) -> (V, H, W, 3) in [-1, 1] as results; writes
    out_dir/target/*.png, out_dir/<method>/*.png and out_dir/pairs.json (entries appended to an
    existing file when append). time_s is the method's wall-clock per view (the first, compiling,
    call is run twice so timing excludes compilation). Returns the pairs.json path."""
    if not yaws_deg:
        raise ValueError("yaws_deg: expected at least one yaw")
    os.makedirs(out_dir, exist_ok=True)
    pairs_path = os.path.join(out_dir, "pairs.json")
    pairs = []
    if append and os.path.exists(pairs_path):
        with open(pairs_path) as f:
            pairs = json.load(f)
    cond, cams = cameras(yaws_deg)
    for seed in range(num):
        z = np.random.RandomState(seed).randn(1, gen.config.z_dim).astype(np.float32)
        target = render_latent(gen, z, cond, cams, truncation_psi, truncation_cutoff)
        if seed == 0:
            method_fn(gen, z, cond, cams)  # warm-up (compilation)
        start = time.perf_counter()
        result = np.asarray(method_fn(gen, z, cond, cams))
        seconds = (time.perf_counter() - start) / len(cams)
        if result.shape != target.shape:
            raise ValueError(f"method_fn: expected images of shape {target.shape}, got {result.shape}")
        for v, yaw in enumerate(yaws_deg):
            stem = f"seed{seed:03d}_yaw{float(yaw):+.1f}.png"
            tpath = os.path.join("target", stem)
            rpath = os.path.join(method, stem)
            if not os.path.exists(os.path.join(out_dir, tpath)):
                viz.save_png(os.path.join(out_dir, tpath), viz.to_uint8(target[v]))
            viz.save_png(os.path.join(out_dir, rpath), viz.to_uint8(result[v]))
            pairs.append({"name": f"seed{seed:03d}", "method": method, "yaw_deg": float(yaw),
                          "target": tpath, "result": rpath, "time_s": seconds})

    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(pairs, f, indent=1)
    return atomic_write(pairs_path, write)
