"""`inversion3d invert --method wplus|pti`: optimisation-based inversion of photos (W+ projector, PTI),
optionally with camera refinement (--pose-opt); outputs as for the encoder methods (invert_images.py).
"""
import os
import sys
import time

import numpy as np

from inversion3d import files
from inversion3d.invert_images import (FRONTAL, PHOTO, align_photos, check_inputs, frontal_camera, read_image,
                                       view_cameras, write_outputs)

LPIPS_FILES = {"vgg": ("vgg.pth", "vgg16"), "alex": ("alex.pth", "alexnet")}  # v0.1 heads, torchvision trunk


def run_optimization(args, overrides=()):
    """`invert --method wplus|pti`: the method's config (configs/<method>.py with --steps / --pose-opt
    applied), the user's LPIPS weights (or the MSE fallback, with a warning), then every image."""
    from inversion3d.cli import CONFIG_DIR, load_config_file, open_generator

    if args.views < 1 or args.batch < 1:
        raise ValueError(f"--views / --batch: expected >= 1, got {args.views} / {args.batch}")
    config = load_config_file(os.path.join(CONFIG_DIR, f"{args.method}.py"))
    stage = config if args.method == "wplus" else config.pivot
    if args.steps is not None:
        stage.num_steps = args.steps
        if args.method == "pti":
            config.tune.max_steps = args.steps
    config.pose_opt.enabled = bool(args.pose_opt)
    if args.camera == PHOTO:
        args.images, args.camera = align_photos(args.images, args.out, args.kind)
    stems, labels = check_inputs(args.images, args.camera)
    files.ensure_writable_dir(args.out)
    start = time.time()
    lpips = load_lpips_weights(args.lpips) if args.lpips else None
    if lpips is None:
        print("[invert] warning: no --lpips weights given: the loss is MSE only (no LPIPS term, no PTI early stop)",
              file=sys.stderr, flush=True)
    gen = open_generator(args.generator, args.kind, overrides)
    size = gen.config.img_resolution
    print(f"[invert] {args.method} on a {gen.kind} generator, {len(args.images)} image(s) at {size}x{size}; "
          f"models loaded in {time.time() - start:.1f}s", flush=True)
    return invert_images_optimized(args.method, gen, config, args.images, args.out, labels, stems, views=args.views,
                                   batch=args.batch, lpips=lpips)


def load_lpips_weights(path):
    """--lpips: a folder with PerceptualSimilarity's v0.1 heads (vgg.pth / alex.pth) beside the
    torchvision trunk (vgg16*.pth / alexnet*.pth), or one file holding both the trunk's `features.*`
    and the heads -> {net: variables} (converters/lpips.py; read without running code)."""
    import glob

    from converters.lpips import load_lpips_variables, lpips_state_dict

    if os.path.isdir(path):
        found = {}
        for net, (heads, trunk) in LPIPS_FILES.items():
            trunks = sorted(glob.glob(os.path.join(path, f"{trunk}*.pt*")))
            if os.path.isfile(os.path.join(path, heads)) and trunks:
                found[net] = load_lpips_variables(net, trunks[0], os.path.join(path, heads))
        if not found:
            raise ValueError(f"--lpips: {path} holds no LPIPS weights (expected vgg.pth + vgg16*.pth or alex.pth + "
                             f"alexnet*.pth)")
        return found
    convs = sum(k.startswith("features.") and k.endswith(".weight") for k in lpips_state_dict(path, path))
    nets = {13: "vgg", 5: "alex"}
    if convs not in nets:
        raise ValueError(f"--lpips: {path} has {convs} trunk convolutions; expected VGG16 (13) or AlexNet (5)")
    return {nets[convs]: load_lpips_variables(nets[convs], path, path)}


def _angles(label):
    from inversion3d.preprocess.pose import angles_from_label

    a = angles_from_label(label)
    return a["yaw"], a["elevation"]


def invert_images_optimized(method, gen, config, paths, out_dir, labels=None, stems=None, views=8, batch=1,
                            lpips=None, log=None):
    """Runs W+ optimisation or PTI (with config.pose_opt) on every image; returns {path: [written files]}."""
    import jax
    from inversion3d.inversion import optimization, pti, wplus
    from inversion3d.inversion.common import view_renderer

    log = log or (lambda *a, **k: print(*a, **k, flush=True))
    if stems is None:
        stems, labels = check_inputs(paths, FRONTAL)
    files.ensure_writable_dir(out_dir)
    front = frontal_camera(gen) if labels is None else None
    size, written = gen.config.img_resolution, {}
    stats = config if method == "wplus" else config.pivot
    w_stats = optimization.compute_w_statistics(gen, optimization.frontal_label(gen), stats.w_avg_samples,
                                                stats.w_avg_seed)  # once for all images
    for lo in range(0, len(paths), batch):
        start = time.time()
        chunk = list(range(lo, min(lo + batch, len(paths))))
        images = np.stack([read_image(paths[i], size, log=log) for i in chunk])
        cams = np.stack([front if labels is None else labels[i] for i in chunk]).astype(np.float32)
        pad = batch - len(chunk)
        if pad:
            images = np.concatenate([images, np.repeat(images[-1:], pad, 0)])
            cams = np.concatenate([cams, np.repeat(cams[-1:], pad, 0)])
        log(f"[invert] {method}: {', '.join(stems[i] for i in chunk)}")
        if method == "wplus":
            res = wplus.run(gen, images, cams, config, lpips, w_stats=w_stats, log=log)
            variables = gen.params
            extra = {"losses": res["losses"]}
        else:
            res = pti.run(gen, images, cams, config, lpips, w_stats=w_stats, log=log)
            variables = res["variables"]
            extra = {"pivot_losses": res["pivot_losses"], "tune_losses": res["tune_losses"],
                     "tune_steps": np.asarray(res["tune_steps"]), "stopped_early": np.asarray(res["stopped_early"])}
        cfg, final_cams = res["config"], np.asarray(res["camera"])
        out = optimization.result_renderer(cfg)(variables, res["ws"], final_cams)
        view_cams = np.stack([view_cameras(gen, c[16:], views) for c in final_cams], axis=1)  # (V, B, 25)
        sweep = view_renderer(cfg)(variables, out["planes"], out["ws"], view_cams)
        for j, i in enumerate(chunk):
            result = {k: np.asarray(v[j]) for k, v in out.items()}
            more = dict(extra)
            if config.pose_opt.enabled:
                more["camera_initial"] = cams[j]
                (y0, p0), (y1, p1) = _angles(cams[j]), _angles(final_cams[j])
                log(f"[invert] {stems[i]}: --pose-opt camera yaw {y0:+.2f} -> {y1:+.2f} deg, pitch {p0:+.2f} -> "
                    f"{p1:+.2f} deg")
            written[paths[i]] = write_outputs(out_dir, stems[i], images[j], result, final_cams[j], view_cams[:, j],
                                              np.asarray(sweep["image"][:, j]), np.asarray(sweep["image_depth"][:, j]),
                                              method, extra=more)
            if method == "pti":
                target = os.path.join(out_dir, f"{stems[i]}_generator.npz")
                written[paths[i]].append(files.atomic_write(target, lambda tmp: pti.save_variables(
                    tmp, jax.device_get(variables))))
        log(f"[invert] {', '.join(stems[i] for i in chunk)}: {time.time() - start:.1f}s -> {out_dir}")
    return written
