"""The demo's edit: an InterFaceGAN-style direction trained on the fly from labels that cost nothing,
applied to a PTI result with `inversion3d edit`'s machinery (strip over strength x yaw, depth, orbit
video and mesh of the strongest edit).

The label is the face lightness of generator samples: the mean luminance of the centre of each
sample's frontal render (the skin and hair tones of the procedural heads). The top and bottom
`chosen_ratio` of the scored samples train a linear boundary in W (editing/directions.py).
"""
import os
import types

import numpy as np

from inversion3d import camera
from inversion3d.app import loading

NAME = "lightness"
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601 luma weights


def centre_lightness(images, fraction=0.5):
    """images (N, S, S, 3) in [-1, 1] -> (N,) mean luma of the central `fraction` of the side."""
    images = np.asarray(images, np.float32)
    s = images.shape[1]
    lo, hi = int(round(s * (1 - fraction) / 2)), int(round(s * (1 + fraction) / 2))
    return (images[:, lo:hi, lo:hi] @ LUMA).mean(axis=(1, 2))


def train_direction(gen, config, boundary):
    """config: configs/demo.py's edit section; boundary: configs/editing.py's. -> (direction
    (1, num_ws, w_dim), the fit of directions.train_boundary)."""
    from inversion3d.editing import directions
    from inversion3d.inversion.optimization import result_renderer

    cfg = gen.config
    n = int(config.samples)
    z = np.random.RandomState(int(config.seed)).randn(n, cfg.z_dim).astype(np.float32)
    front = camera.generator_frontal_label(gen)[None].astype(np.float32)
    ws = np.asarray(gen.mapping(z, np.repeat(front, n, axis=0), float(config.truncation_psi)))
    # one sample per call through the (1, ...) program the W+ / PTI results render with: no new compile
    render = result_renderer(cfg)
    scores = np.concatenate([centre_lightness(render(gen.params, ws[i:i + 1], front)["image"]) for i in range(n)])
    latents, labels = directions.select_labelled(directions.latent_rows(ws), scores,
                                                 float(config.chosen_ratio), int(boundary.min_per_class))
    fit = directions.train_boundary(latents, labels, int(boundary.steps), float(boundary.lr), float(boundary.l2),
                                    float(boundary.val_ratio), int(boundary.seed))
    return directions.layered(fit["normal"], cfg.num_ws), fit


def run(gen, result, cam, config, out_dir, stem, log=print):
    """Trains the direction, edits `result` (a PTI result of demo_pipeline.invert_item) at
    config.edit.strengths and writes `inversion3d edit`'s files under OUT/edit; returns what the page shows."""
    from inversion3d.app.edit import direction_edit
    from inversion3d.app.edit_outputs import write_edit

    editing = loading.load_config(os.path.join(loading.CONFIG_DIR, "editing.py"))
    with editing.unlocked():
        editing.outputs.shape_level = float(config.shape_level)
        editing.outputs.shape_resolution = int(config.shape_resolution)
    log(f"[demo] edit: scoring the lightness of {int(config.edit.samples)} generator samples")
    direction, fit = train_direction(gen, config.edit, editing.boundary)
    log(f"[demo] edit: '{NAME}' direction from {int(config.edit.samples)} generator samples, val accuracy "
        f"{fit['val_accuracy']:.2f}")
    strengths = np.asarray(config.edit.strengths, np.float32)
    spec = {"kind": "direction", "array": direction, "name": NAME, "strengths": strengths, "layers": ""}
    npz = {"ws": np.asarray(result["ws"])[0], "planes": np.asarray(result["planes"])[0],
           "camera": np.asarray(cam, np.float32), "method": np.asarray("pti")}
    ws, planes = direction_edit(result["cfg"], result["variables"], npz, spec)
    folder = os.path.join(out_dir, "edit")
    args = types.SimpleNamespace(out=folder, frames=int(config.edit.frames))
    os.makedirs(folder, exist_ok=True)
    paths = write_edit(gen, result["variables"], editing, args, stem, spec, npz, ws, planes, strengths,
                       [f"{s:+g}" for s in strengths], int(np.argmax(np.abs(strengths))))
    rel = [os.path.relpath(p, out_dir) for p in paths]
    return {"name": NAME, "strengths": [float(s) for s in strengths], "val_accuracy": fit["val_accuracy"],
            "samples": int(config.edit.samples), "strip": next(p for p in rel if p.endswith("_strip.png")),
            "depth": next(p for p in rel if p.endswith("_depth.png")),
            "video": next(p for p in rel if p.endswith(".mp4")),
            "mesh": [p for p in rel if p.endswith((".ply", ".obj"))]}
