"""`inversion3d edit --latent OUT/latents.npz --direction d.npy`: edits of an In-N-Out result (editing-and-eval.md
§3): per frame, only the in-distribution part moves (w+ + s n and its tri-planes by the generator's delta,
editing/triplane.in_n_out_edit); the OOD field, the frame codes and the stage-C SR are kept, and the
OOD part is composited on top of the edited render (rendering/composite.py).

Per edit NAME, with STEM the result's folder name, it writes (besides the files of app/edit.py's list):
  STEM_NAME_strip.png / _depth.png  frame 0: rows strengths, columns yaws (composite image / depth)
  STEM_NAME.mp4                     orbit of frame 0's strongest edit
  STEM_NAME_clip.mp4                every frame at its own camera, the strengths side by side
  STEM_NAME.mrc (+ .ply / .obj)     the shape of frame 0's strongest edit, in-distribution part only
  STEM_NAME.npz                     ws (S, T, num_ws, w_dim), planes (S, 3, H, W, C) of frame 0 (the
                                    in-distribution part), strengths (S,), cameras (T, 25)
  STEM_NAME_input.png, _s{s}.png    frame 0 reconstructed and edited at its camera (pairs.json, for `eval`)
"""
import os

import numpy as np

from inversion3d import camera, files, viz
from inversion3d.app.edit_outputs import _label, strip_cameras, update_pairs
from inversion3d.app.render import write_shape
from inversion3d.app.video import write_video


def check_generator(gen, result):
    """The result's per-frame ws must fit the generator."""
    cfg = gen.config
    if result["ws"].shape[1:] != (cfg.num_ws, cfg.w_dim):
        raise ValueError(f"--latent: ws {result['ws'].shape} do not fit the generator's (T, {cfg.num_ws}, {cfg.w_dim})")


def run(gen, args, config, result, spec):
    """Edits every frame of the In-N-Out `result` (app/edit.read_result) along spec's direction and
    writes the files above; returns their paths."""
    from inversion3d.editing import directions
    from inversion3d.methods.innout import pipeline, stage_c
    from inversion3d.methods.innout.result import read_field

    check_generator(gen, result)
    field, sr_delta = read_field(result["path"], result)
    cfg, out = gen.config, config.outputs
    d = directions.as_layers(spec["array"], cfg.num_ws, cfg.w_dim, "--direction")
    d = directions.restrict(d, directions.parse_layers(spec["layers"], cfg.num_ws))
    strengths = np.asarray(spec["strengths"], np.float32)
    seq = {"field": field, "codes": np.asarray(result["codes"], np.float32), "ws": np.asarray(result["ws"], np.float32)}
    sr = stage_c.apply_delta(gen.params, sr_delta)
    cams = np.asarray(result["cameras"], np.float32)
    stem = os.path.basename(os.path.dirname(result["path"])) or "innout"
    base = os.path.join(args.out, f"{stem}_{spec['name']}")
    strongest = int(np.argmax(np.abs(strengths)))
    rows = [f"{s:+g}" for s in strengths]
    size = cfg.img_resolution

    # frame 0: strips over strengths x yaws, the orbit of the strongest edit, its shape
    ws0, planes0 = (np.asarray(x) for x in pipeline.edit_frame(cfg, gen.params, seq, 0, d, strengths))
    grid = pipeline.render_views(cfg, gen.params, seq, sr, 0, ws0, planes0,
                                 strip_cameras(gen, out.yaws_deg, gen.kind == "panohead"))
    images, depths = viz.to_uint8(grid["image"]), grid["image_depth"]
    lo, hi = float(depths.min()), float(depths.max())
    paths = [viz.save_png(f"{base}_strip.png", viz.make_grid([list(images[:, s]) for s in range(len(rows))], size)),
             viz.save_png(f"{base}_depth.png", viz.make_grid(
                 [[viz.colorize_depth(x, lo, hi) for x in depths[:, s]] for s in range(len(rows))], size))]
    yaw, pitch = camera.orbit_angles("360" if gen.kind == "panohead" else "yaw", args.frames or out.frames)
    orbit = pipeline.render_views(cfg, gen.params, seq, sr, 0, ws0[strongest][None], planes0[strongest][None],
                                  camera.generator_rig(gen).labels(yaw, pitch))
    paths.append(write_video(f"{base}.mp4", list(viz.to_uint8(orbit["image"][:, 0])), fps=out.fps))
    from inversion3d.generators import eg3d
    from inversion3d.rendering.shapes import density_grid

    shape = density_grid(planes0[strongest][None], gen.params, eg3d.decode_apply(cfg), cfg.render,
                         resolution=out.shape_resolution)
    paths += write_shape(shape, cfg.render.box_warp, base)

    # every frame at its own camera, edited and reconstructed
    ws_all, edited = pipeline.edit_frames(cfg, gen.params, seq, sr, cams, d, strengths)
    clip = [np.concatenate(list(viz.to_uint8(edited["image"][:, t])), axis=1) for t in range(cams.shape[0])]
    paths.append(write_video(f"{base}_clip.mp4", clip, fps=out.fps))
    arrays = {"ws": ws_all, "planes": planes0, "strengths": strengths, "rows": np.asarray(rows),
              "method": np.asarray("innout"), "cameras": cams, "camera": cams[0]}
    paths.append(files.atomic_write(f"{base}.npz", lambda tmp: np.savez(tmp, **arrays)))
    recon = pipeline.render_frames(cfg, gen.params, {k: (v[:1] if k != "field" else v) for k, v in seq.items()},
                                   sr, cams[:1])
    paths.append(viz.save_png(f"{base}_input.png", viz.to_uint8(recon["image"][0])))
    entries = []
    for s, strength in enumerate(strengths):
        if float(strength) == 0.0:
            continue
        name = f"{base}_s{_label(float(strength))}.png"
        paths.append(viz.save_png(name, viz.to_uint8(edited["image"][s, 0])))
        entries.append({"name": stem, "method": "innout", "yaw_deg": 0.0, "result": os.path.basename(name),
                        "target": os.path.basename(f"{base}_input.png"), "edit": spec["name"],
                        "strength": float(strength)})
    if entries:
        paths.append(update_pairs(args.out, entries))
    return paths
