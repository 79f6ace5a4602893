"""The files `inversion3d edit` writes for one edit (list in app/edit.py's docstring): strips over
edit rows x yaws, depth, an orbit video and the shape of the strongest edit, the edited codes and
planes, and the input-view pairs `inversion3d eval` scores for editability."""
import json
import os

import numpy as np

from inversion3d import camera, files, viz
from inversion3d.app.render import write_shape
from inversion3d.app.video import write_video


def strip_cameras(gen, yaws_deg, full_turn):
    """(V, 25) strip columns: yaw offsets from the frontal view (EG3D) or a full turn (PanoHead /
    reference edits, 360 degrees)."""
    rig = camera.generator_rig(gen)
    n = len(yaws_deg)
    yaws = camera.novel_view_yaws("panohead", n, 0.0) if full_turn else camera.FRONT + np.radians(yaws_deg)
    return rig.labels(np.asarray(yaws, np.float32), np.full(n, camera.FRONT, np.float32))


def render_grid(cfg, variables, planes, ws, cams):
    """planes (S, ...), ws (S, ...), cams (V, 25) or (V, S, 25) -> (images (V, S, H, W, 3) uint8,
    depths (V, S, R, R, 1)). One result at a time in fixed blocks of views (common.render_in_blocks):
    strips, orbits and single views all reuse one compiled program."""
    from inversion3d.inversion.common import render_in_blocks

    cams = np.asarray(cams, np.float32)
    if cams.ndim == 2:
        cams = np.repeat(cams[:, None], planes.shape[0], axis=1)
    outs = [render_in_blocks(cfg, variables, planes[s:s + 1], ws[s:s + 1], cams[:, s]) for s in range(planes.shape[0])]
    return (viz.to_uint8(np.stack([o["image"] for o in outs], axis=1)),
            np.stack([o["image_depth"] for o in outs], axis=1))


def _label(strength):
    return f"{strength:+.3g}".replace(".", "p").replace("+", "p").replace("-", "m")


def update_pairs(out_dir, entries):
    """Merges entries into OUT/pairs.json (replacing those with the same name, method, edit, strength)."""
    path = os.path.join(out_dir, "pairs.json")
    old = []
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            old = json.load(f)
    key = lambda e: (e["name"], e["method"], e.get("edit"), e.get("strength"))  # noqa: E731
    new = {key(e) for e in entries}
    merged = [e for e in old if key(e) not in new] + entries

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(merged, f, indent=1)
    return files.atomic_write(path, write)


def write_edit(gen, variables, config, args, stem, spec, result, ws, planes, strengths, rows, strongest):
    """Renders and writes everything of one edit; returns the paths written."""
    from inversion3d.generators import eg3d
    from inversion3d.rendering.shapes import density_grid

    cfg, out = gen.config, config.outputs
    base = os.path.join(args.out, f"{stem}_{spec['name']}")
    size = cfg.img_resolution
    full_turn = gen.kind == "panohead" or spec["kind"] == "reference"
    images, depths = render_grid(cfg, variables, planes, ws, strip_cameras(gen, out.yaws_deg, full_turn))
    lo, hi = float(depths.min()), float(depths.max())
    paths = [viz.save_png(f"{base}_strip.png", viz.make_grid([list(images[:, s]) for s in range(len(rows))], size)),
             viz.save_png(f"{base}_depth.png", viz.make_grid(
                 [[viz.colorize_depth(d, lo, hi) for d in depths[:, s]] for s in range(len(rows))], size))]
    frames = args.frames or out.frames
    yaw, pitch = camera.orbit_angles("360" if full_turn else "yaw", frames)
    orbit = camera.generator_rig(gen).labels(yaw, pitch)
    video, _ = render_grid(cfg, variables, planes[strongest][None], ws[strongest][None], orbit)
    paths.append(write_video(f"{base}.mp4", list(video[:, 0]), fps=out.fps))
    grid = density_grid(planes[strongest][None], variables, eg3d.decode_apply(cfg), cfg.render,
                        resolution=out.shape_resolution)
    paths += write_shape(grid, cfg.render.box_warp, base, out.get("shape_level"))
    arrays = {"ws": ws, "planes": planes, "strengths": np.asarray(strengths, np.float32),
              "rows": np.asarray(rows), "method": result["method"], "camera": result["camera"]}
    paths.append(files.atomic_write(f"{base}.npz", lambda tmp: np.savez(tmp, **arrays)))
    # editability pairs: the inversion and each edit at the input camera (In-N-Out Table 2)
    cam = result["camera"][None]
    inv, _ = render_grid(cfg, variables, result["planes"][None], result["ws"][None], cam)
    edited, _ = render_grid(cfg, variables, planes, ws, cam)
    paths.append(viz.save_png(f"{base}_input.png", inv[0, 0]))
    entries = []
    for s, label in enumerate(rows):
        if spec["kind"] == "direction" and float(strengths[s]) == 0.0 or spec["kind"] == "reference" and s != 2:
            continue
        name = f"{base}_s{_label(float(strengths[s]))}.png" if spec["kind"] == "direction" else f"{base}_result.png"
        paths.append(viz.save_png(name, edited[0, s]))
        entries.append({"name": stem, "method": str(result["method"]), "yaw_deg": 0.0,
                        "target": os.path.basename(f"{base}_input.png"), "result": os.path.basename(name),
                        "edit": spec["name"], "strength": float(strengths[s]) if spec["kind"] == "direction" else None})
    if entries:
        paths.append(update_pairs(args.out, entries))
    return paths
