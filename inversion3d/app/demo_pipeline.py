"""`inversion3d demo` (`make demo`): the main job end to end on the embedded generator.

Inverts the synthetic test scenes shipped in the package (inversion3d/assets/demo_scenes: input view,
held-out views, ground-truth depth and masks) and one real photo (scikit-image's astronaut, aligned by
`preprocess`; out of the generator's domain, so it has no ground truth), with every packaged encoder
(loading.packaged_encoder) and by optimisation: W+ (the PTI pivot) and PTI (the pivot, then the generator
tuned on the image). Each result is rendered at the input and the held-out cameras (next to the ground
truth), with depth, an orbit video and a mesh; one edit is applied along a direction trained on the fly
(demo_edit.py); the metrics table compares every view with its ground truth. demo_page.py writes
OUT/index.html, metrics.json and metrics.md. Settings: configs/demo.py.
"""
import json
import os
import time

import numpy as np
from PIL import Image

from inversion3d import camera, files, viz
from inversion3d.app import loading

SCENES_DIR = os.path.join(loading.ASSETS_DIR, "demo_scenes")
PHOTO_NAME = "astronaut"  # skimage.data.astronaut(): the photo `preprocess` is tested on (README)


def read_scenes(root, count):
    """The first `count` scenes of a `synth-data` test split -> [{'name', 'views': [{'image' uint8
    (S, S, 3), 'c' (25,), 'mask' uint8 (S, S), 'depth' (S, S) (+inf off the head), 'yaw', 'pitch'}]}];
    view 0 is the input view, the others the held-out views (test_views.json)."""
    from inversion3d.data import folder

    labels = folder.read_labels(root)
    with open(os.path.join(root, "test_views.json"), encoding="utf-8") as f:
        table = json.load(f)
    cols = table["columns"]
    rows = [dict(zip(cols, r)) for r in table["rows"]]
    ids = sorted({r["scene"] for r in rows})
    if count > len(ids):
        raise ValueError(f"--config.scenes: {root} holds {len(ids)} scenes, got {count}")
    scenes = []
    for sid in ids[:count]:
        views = []
        for r in sorted((r for r in rows if r["scene"] == sid), key=lambda r: r["view"]):
            ex = folder.load_example(root, r["name"], labels[r["name"]], with_mask=True, with_depth=True)
            views.append(dict(ex, yaw=float(r["yaw"]), pitch=float(r["pitch"])))
        scenes.append({"name": f"scene{sid:03d}", "title": f"synthetic test scene {sid}", "views": views,
                       "in_domain": True})
    return scenes


def align_photo(out_dir, size):
    """scikit-image's astronaut -> `preprocess` (offline MTCNN, EG3D crop and camera) at size^2 ->
    {'name', 'views': [{'image', 'c'}]} (no ground truth beyond the input view)."""
    from skimage import data

    from inversion3d.preprocess.pipeline import preprocess_photos

    source = os.path.join(out_dir, "photo_source", f"{PHOTO_NAME}.png")
    files.ensure_writable_dir(os.path.dirname(source))
    Image.fromarray(data.astronaut()).save(source)
    aligned = os.path.join(out_dir, "photo_aligned")
    summary = preprocess_photos([source], aligned, style="eg3d", size=size, overwrite=True)
    if not summary["used"]:
        raise RuntimeError(f"demo: preprocess found no usable face in {source}: {summary['skipped']}")
    used = summary["used"][0]
    image = np.asarray(Image.open(os.path.join(aligned, used["image"])).convert("RGB"), np.uint8)
    view = {"image": image, "c": np.asarray(used["label"], np.float32), "yaw": np.radians(used["camera"]["yaw"]),
            "pitch": np.radians(used["camera"]["elevation"])}
    return {"name": PHOTO_NAME, "title": "real photo (scikit-image astronaut) - out of domain", "views": [view],
            "in_domain": False}


def resize_view(view, size):
    """A view at the generator's resolution: image Lanczos, mask and depth nearest (keeps +inf off the
    head); unchanged when it already is."""
    if view["image"].shape[0] == size:
        return view
    out = dict(view, image=np.asarray(Image.fromarray(view["image"]).resize((size, size), Image.LANCZOS)))
    if "mask" in view:
        out["mask"] = np.asarray(Image.fromarray(view["mask"]).resize((size, size), Image.NEAREST))
    if "depth" in view:
        out["depth"] = np.asarray(Image.fromarray(view["depth"], "F").resize((size, size), Image.NEAREST), np.float32)
    return out


def to_float(image):
    return np.asarray(image, np.float32) / 127.5 - 1.0


def optimization_config(config):
    """configs/pti.py with the demo's shorter stages (config.pivot_steps, tune_steps, w_avg_samples)."""
    pti_config = loading.load_config(os.path.join(loading.CONFIG_DIR, "pti.py"))
    with pti_config.unlocked():
        pti_config.pivot.num_steps = int(config.pivot_steps)
        pti_config.pivot.w_avg_samples = int(config.w_avg_samples)
        pti_config.pivot.log_every = max(1, int(config.pivot_steps) // 2)
        pti_config.tune.max_steps = int(config.tune_steps)
        pti_config.tune.log_every = max(1, int(config.tune_steps) // 2)
    return pti_config


def encoder_inverters(gen, names, log):
    """{method: Inverter} for every method in `names` whose encoder the package ships; the rest are
    reported as not shipped."""
    from inversion3d.methods.registry import make_inverter

    inverters, missing = {}, []
    for method in names:
        paths = loading.packaged_encoder(method)
        if paths is None:
            missing.append(method)
            continue
        if method == "goae":
            paths = paths + paths  # a stage-2 file holds the encoder and AFA
        inverters[method] = make_inverter(method, gen, loading.open_encoders(method, paths))
    if missing:
        log(f"[demo] no embedded encoder shipped yet for {', '.join(missing)} "
            f"({os.path.join(loading.ASSETS_DIR, 'encoders')}): W+ and PTI only")
    return inverters, missing


def compile_notices(log):
    """notice(key, what): logs "[demo] compiling <what>..." the first time `key` is seen, before a call
    whose program is not compiled yet (every later item reuses it)."""
    seen = set()

    def notice(key, what):
        if key not in seen:
            seen.add(key)
            log(f"[demo] compiling {what} (first call; reused by every later item)...")
    return notice


def invert_item(gen, item, inverters, pti_config, w_stats, lpips, log, notice=lambda key, what: None):
    """-> {method: {'ws' (1, num_ws, w_dim), 'planes' (1, ...), 'variables', 'cfg', 'seconds'}} for the
    item's input view: each encoder, W+ (the PTI pivot) and PTI."""
    import jax

    from inversion3d.inversion import optimization, pti

    view = item["views"][0]
    target, cam = to_float(view["image"])[None], view["c"][None]
    results = {}
    for method, inv in inverters.items():
        start = time.time()
        size = inv.input_size
        image = np.asarray(Image.fromarray(view["image"]).resize((size, size), Image.LANCZOS))
        notice(method, f"the {method} encoder")
        out = inv(to_float(image)[None], cam)
        jax.block_until_ready(out["planes"])
        results[method] = {"ws": out["ws"], "planes": out["planes"], "variables": inv.params["generator"],
                           "cfg": inv.config, "seconds": time.time() - start}
    start = time.time()
    notice("pti", "the W+ step, then the PTI tuning step (the two longest compilations)")
    res = pti.run(gen, target, cam, pti_config, lpips, w_stats=w_stats, log=log)
    cfg = res["config"]
    notice("result", "the result renderer")
    for method, variables in (("wplus", gen.params), ("pti", res["variables"])):
        planes = optimization.result_renderer(cfg)(variables, res["ws"], cam)["planes"]
        results[method] = {"ws": res["ws"], "planes": planes, "variables": variables, "cfg": cfg}
    total = time.time() - start
    steps = int(pti_config.pivot.num_steps)
    results["wplus"]["seconds"] = total * steps / (steps + int(res["tune_steps"]))  # the pivot's share
    results["pti"]["seconds"] = total
    results["pti"]["losses"] = (float(res["pivot_losses"][0]), float(res["tune_losses"][-1]))
    return results


def orbit_cameras(gen, frames):
    """(F, 25) labels of the EG3D-style yaw sweep (`render --orbit yaw`)."""
    yaw, pitch = camera.orbit_angles("yaw", frames)
    return camera.generator_rig(gen).labels(yaw, pitch)


def render_result(result, cams):
    """All cameras (V, 25) of one result, in the fixed view blocks every demo render shares (one compiled
    program for any V) -> (images uint8 (V, S, S, 3), depth (V, R, R))."""
    from inversion3d.inversion.common import render_in_blocks

    out = render_in_blocks(result["cfg"], result["variables"], result["planes"], result["ws"], cams)
    return viz.to_uint8(out["image"]), out["image_depth"][..., 0]


def depth_error(pred, gt, mask):
    """Mean |depth - ground truth| (world units) over the ground-truth foreground (uint8 mask > 127):
    the benchmark's metrics/depth.masked_l1 for one view; pred (R, R) is resized to gt's (S, S). NaN
    when the mask is empty."""
    from inversion3d.metrics.depth import masked_l1

    return float(masked_l1(np.asarray(pred)[None], np.asarray(gt)[None], np.asarray(mask, np.float64)[None] / 255.0)[0])


def image_metrics(results, targets, lpips=None):
    """results, targets: uint8 (N, S, S, 3) -> {'mse' (N,), 'ssim' (N,)[, 'lpips' (N,)]} at the metric
    resolution of `inversion3d eval` (metrics/image.py)."""
    from inversion3d.metrics.image import at_metric_resolution, mse, ssim

    x, y = to_float(results), to_float(targets)
    out = {"mse": np.asarray(mse(x, y), np.float64), "ssim": np.asarray(ssim(x, y), np.float64)}
    if lpips is not None:
        module, variables = lpips
        out["lpips"] = np.asarray(module.apply(variables, at_metric_resolution(x), at_metric_resolution(y)), np.float64)
    return out


def lpips_models(path):
    """config.lpips -> (the loss weights {net: variables} for PTI, (LPIPS module, variables) for the
    metric: AlexNet when given, as `eval`) or (None, None)."""
    if not path:
        return None, None
    from inversion3d.losses.lpips import LPIPS
    from inversion3d.losses_api import load_lpips

    weights = load_lpips(path)
    net = "alex" if "alex" in weights else "vgg"
    return weights, (LPIPS(net), weights[net])


def write_item(out_dir, item, results, gen, config, lpips_metric, notice=lambda key, what: None):
    """Renders and writes one item's pictures, depth, orbit videos and meshes; returns its metric rows
    and the relative paths the page shows."""
    from inversion3d.app.render import write_shape
    from inversion3d.app.video import write_video
    from inversion3d.generators import eg3d
    from inversion3d.rendering.shapes import density_grid

    name, views = item["name"], item["views"]
    folder = os.path.join(out_dir, name)
    files.ensure_writable_dir(folder)
    orbit = orbit_cameras(gen, int(config.orbit_frames))
    cams = np.concatenate([np.stack([v["c"] for v in views]), orbit])
    gt_depths = [v["depth"] for v in views if "depth" in v]
    rel = lambda path: os.path.relpath(path, out_dir)  # noqa: E731
    page = {"name": name, "title": item["title"], "in_domain": item["in_domain"], "gt": [], "gt_depth": [],
            "views": [{"yaw_deg": float(np.degrees(v["yaw"])), "pitch_deg": float(np.degrees(v["pitch"]))}
                      for v in views], "methods": {}}
    notice("views", "the view renderer (input, held-out, orbit and edit views)")
    rendered = {m: render_result(r, cams) for m, r in results.items()}
    lo = min([float(np.min(r[1][:len(views)])) for r in rendered.values()] + [float(np.min(g)) for g in gt_depths])
    hi = max([float(np.max(r[1][:len(views)])) for r in rendered.values()]
             + [float(np.max(g[np.isfinite(g)])) for g in gt_depths])
    for k, v in enumerate(views):
        page["gt"].append(rel(viz.save_png(os.path.join(folder, f"gt_v{k}.png"), v["image"])))
        if "depth" in v:
            d = np.where(np.isfinite(v["depth"]), v["depth"], hi)
            page["gt_depth"].append(rel(viz.save_png(os.path.join(folder, f"gt_depth_v{k}.png"),
                                                     viz.colorize_depth(d[..., None], lo, hi))))
    rows = []
    for method, (images, depths) in rendered.items():
        entry = {"views": [], "depth": [], "seconds": float(results[method]["seconds"])}
        for k in range(len(views)):
            entry["views"].append(rel(viz.save_png(os.path.join(folder, f"{method}_v{k}.png"), images[k])))
            entry["depth"].append(rel(viz.save_png(os.path.join(folder, f"{method}_depth_v{k}.png"),
                                                   viz.colorize_depth(depths[k][..., None], lo, hi))))
        np.save(os.path.join(folder, f"{method}_depth.npy"), depths[:len(views)].astype(np.float32))
        entry["depth_npy"] = rel(os.path.join(folder, f"{method}_depth.npy"))
        entry["orbit"] = rel(write_video(os.path.join(folder, f"{method}_orbit.mp4"), list(images[len(views):]),
                                         fps=int(config.fps)))
        targets = np.stack([v["image"] for v in views])
        scores = image_metrics(images[:len(views)], targets, lpips_metric)
        for k, v in enumerate(views):
            row = {"item": name, "method": method, "view": k, "held_out": k > 0,
                   "yaw_deg": page["views"][k]["yaw_deg"], "pitch_deg": page["views"][k]["pitch_deg"],
                   "result": entry["views"][k], "target": page["gt"][k], **{m: float(s[k]) for m, s in scores.items()}}
            if "depth" in v:
                row["depth_err"] = depth_error(depths[k], v["depth"], v["mask"])
            rows.append(row)
        page["methods"][method] = entry
    if "pti" in results:  # the mesh of the PTI result (its tuned generator), as `render --mesh` writes it
        r = results["pti"]
        notice("mesh", "the density grid of the mesh")
        grid = density_grid(r["planes"], r["variables"], eg3d.decode_apply(r["cfg"]), r["cfg"].render,
                            resolution=int(config.shape_resolution))
        page["mesh"] = [rel(p) for p in write_shape(grid, r["cfg"].render.box_warp, os.path.join(folder, "pti_shape"),
                                                    float(config.shape_level))]
    return rows, page


def summarise(rows):
    """Metric rows -> [{'method', 'items', 'input': {metric: mean}, 'held_out': {metric: mean}}] over the
    in-domain items (the photo has no ground truth beyond its input view and is listed apart)."""
    metrics = [m for m in ("mse", "ssim", "lpips", "depth_err") if any(m in r for r in rows)]
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method and "depth_err" in r]  # synthetic scenes only
        entry = {"method": method, "items": len({r["item"] for r in mine})}
        for part, held in (("input", False), ("held_out", True)):
            sel = [r for r in mine if r["held_out"] == held]
            entry[part] = {m: float(np.nanmean([r[m] for r in sel])) for m in metrics if sel and m in sel[0]}
        out.append(entry)
    return out


def run_pipeline(config, out_dir, log=None, samples=None):
    """Everything `make demo` shows -> OUT/index.html (returned), metrics.json, metrics.md. samples:
    (config, folder, gen) -> picture paths of the generator's own samples (demo.run_demo), shown last."""
    from inversion3d import camera as camera_lib
    from inversion3d.app import demo_edit, demo_page
    from inversion3d.inversion import optimization

    log = log or (lambda *a, **k: print(*a, **k, flush=True))
    start = time.time()
    files.ensure_writable_dir(out_dir)
    scenes = read_scenes(SCENES_DIR, int(config.scenes))
    gen = loading.open_generator(config.generator, name="generator")
    size = gen.config.img_resolution
    log(f"[demo] generator {config.generator!r}: {gen.kind}, {size}x{size} px ({time.time() - start:.1f}s)")
    if config.photo:
        log(f"[demo] aligning the photo ({PHOTO_NAME}: face detection, crop, camera)")
    items = scenes + ([align_photo(out_dir, size)] if config.photo else [])
    items = [dict(item, views=[resize_view(v, size) for v in item["views"]]) for item in items]
    # the packaged encoders were trained for the packaged `default` generator (configs/default_*.py)
    encoders = tuple(config.encoders) if config.generator == "default" else ()
    if config.encoders and not encoders:
        log(f"[demo] packaged encoders skipped: they belong to the 'default' generator, not {config.generator!r}")
    inverters, missing = encoder_inverters(gen, encoders, log)
    weights, lpips_metric = lpips_models(config.lpips)
    pti_config = optimization_config(config)
    log(f"[demo] w statistics of {int(config.w_avg_samples)} samples ({time.time() - start:.0f}s)")
    w_stats = optimization.compute_w_statistics(gen, camera_lib.generator_frontal_label(gen),
                                                int(config.w_avg_samples), int(pti_config.pivot.w_avg_seed))
    notice = compile_notices(log)
    rows, pages, losses = [], [], {}
    for i, item in enumerate(items):
        log(f"[demo] {i + 1}/{len(items)} {item['title']}: inverting ({time.time() - start:.0f}s)")
        results = invert_item(gen, item, inverters, pti_config, w_stats, weights, log, notice)
        losses[item["name"]] = results["pti"]["losses"]
        item_rows, page = write_item(out_dir, item, results, gen, config, lpips_metric, notice)
        rows += item_rows
        if i == 0 and config.edit.enabled:
            notice("edit", "the edit sweep")
            page["edit"] = demo_edit.run(gen, results["pti"], item["views"][0]["c"], config, out_dir, item["name"], log)
        pages.append(page)
        log(f"[demo] {i + 1}/{len(items)} {item['title']}: " + ", ".join(
            f"{m} {r['seconds']:.1f}s" for m, r in results.items()) + f" (total {time.time() - start:.0f}s)")
    if samples:
        log(f"[demo] the generator's own samples ({time.time() - start:.0f}s)")
    shown = samples(config, os.path.join(out_dir, "samples"), gen) if samples else ()
    meta = {"generator": str(config.generator), "samples": [os.path.relpath(p, out_dir) for p in shown], "resolution": size, "pivot_steps": int(config.pivot_steps),
            "tune_steps": int(config.tune_steps), "missing_encoders": missing, "lpips": bool(config.lpips),
            "pti_losses": losses, "seconds": time.time() - start}
    index = demo_page.write(out_dir, pages, rows, summarise(rows), meta)
    log(f"[demo] done in {time.time() - start:.0f}s: open {os.path.abspath(index)}")
    return index
