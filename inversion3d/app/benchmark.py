"""`inversion3d eval --benchmark synthetic-multiview RUN...`: the ground-truth novel-view benchmark
(issue 17 item 4) over the folders `inversion3d invert DATASET --split test` wrote (one per method).

One table, per method: the input view, all held-out views, and the held-out views by bin of |yaw
offset from the input view| (configs/benchmark.py), with MSE / SSIM (and LPIPS, ArcFace ID when their
weights are given; otherwise the column reads '–' and the report says why) from app/eval.py's
compute_metrics (inversion3d.metrics.image at 256², the losses' LPIPS / ID), the depth error from
inversion3d.metrics.depth (masked L1, foreground of the ground-truth mask, distance along the ray in
world units) and the time per image of dataset_run.summarise_times. Written as
OUT/benchmark.{md,html,json} (+ OUT/grids/*.png: ground truth over the method, input view first).
"""
import json
import os

import numpy as np

from inversion3d import viz
from inversion3d.app import dataset_run, eval as eval_app, loading
from inversion3d.files import atomic_write, check_writable_dir
from inversion3d.images import DEFAULT_MAX_PIXELS, check_max_pixels
from inversion3d.metrics import report

COLUMNS = ("mse", "lpips", "ssim", "depth_l1", "id")
HEADER = ["method", "views", "n", "MSE", "LPIPS", "SSIM", "depth L1", "ID sim.", "time s / image"]
FORMATS = {"mse": "{:.4f}", "lpips": "{:.4f}", "ssim": "{:.4f}", "depth_l1": "{:.4f}", "id": "{:.4f}",
           "time_s": "{:.3g}"}
DEPTH_REASON = "no entry has ground-truth depth and mask (photos, or a dataset without depth/ and masks/)"


def read_runs(runs, max_pixels=DEFAULT_MAX_PIXELS):
    """Entries of every RUN (a folder with pairs.json, or the pairs.json itself), each with 'label':
    its method, or 'method (folder)' when several runs share a method. One-line errors otherwise."""
    if not runs:
        raise ValueError("RUN: --benchmark needs at least one `invert DATASET` output folder or pairs.json")
    folders = []
    for run in runs:
        folder = os.path.dirname(run) or "." if os.path.basename(run) == dataset_run.PAIRS else run
        if not os.path.isdir(folder):
            raise ValueError(f"RUN: no such folder or pairs.json: {run}")
        folders.append(folder)
    per_run = [eval_app.read_pairs(f) for f in folders]
    methods = [sorted({e["method"] for e in entries}) for entries in per_run]
    counts = {}
    for ms in methods:
        for m in ms:
            counts[m] = counts.get(m, 0) + 1
    out = []
    for folder, entries in zip(folders, per_run):
        pairs = os.path.join(folder, dataset_run.PAIRS)
        for i, e in enumerate(entries):
            if e.get("role") not in ("input", "heldout"):
                raise ValueError(f"{pairs}: entry {i} has no role 'input' / 'heldout' (not written by "
                                 f"`inversion3d invert DATASET`)")
            for key in ("depth_result", "depth_target", "mask_target"):
                if e.get(key):
                    full = e[key] if os.path.isabs(e[key]) else os.path.join(folder, e[key])
                    if not os.path.isfile(full):
                        raise ValueError(f"{pairs}: entry {i} ({e['name']!r}): {key} not found: {full}")
                    e[key] = full
            label = e["method"] if counts[e["method"]] == 1 else f"{e['method']} ({os.path.basename(os.path.abspath(folder))})"
            out.append(dict(e, label=label))
    return out


def depth_errors(entries, threshold=0.5):
    """metrics.depth.masked_l1 per entry (None where the entry lacks a depth, ground truth or mask)."""
    from PIL import Image

    from inversion3d.metrics.depth import masked_l1

    out = []
    for e in entries:
        if not (e.get("depth_result") and e.get("depth_target") and e.get("mask_target")):
            out.append(None)
            continue
        with Image.open(e["mask_target"]) as im:
            mask = np.asarray(im.convert("L"), np.float32) / 255.0
        pred = np.load(e["depth_result"], allow_pickle=False)
        target = np.load(e["depth_target"], allow_pickle=False)
        value = float(masked_l1(pred[None], target[None], mask[None], threshold)[0])
        out.append(None if np.isnan(value) else value)
    return out


def bin_label(offset_deg, edges):
    """The bin '[lo, hi)°' of |offset| (degrees) among `edges`; past the last edge: '≥ last°'."""
    offset = abs(float(offset_deg))
    for lo, hi in zip(edges[:-1], edges[1:]):
        if lo <= offset < hi:
            return f"held-out Δyaw {lo:g}-{hi:g}°"
    return f"held-out Δyaw ≥{edges[-1]:g}°"


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def rows(records, edges):
    """[{'method', 'views', 'n', metric: mean or None, 'time_s'}] per method: input, all held-out,
    then each non-empty yaw bin in edge order."""
    out = []
    for label in dict.fromkeys(r["label"] for r in records):
        mine = [r for r in records if r["label"] == label]
        held = [r for r in mine if r["role"] == "heldout"]
        timed = [(r["time_s"], bool(r.get("includes_compile"))) for r in mine
                 if r["role"] == "input" and r.get("time_s") is not None]
        groups = [("input view", [r for r in mine if r["role"] == "input"]), ("held-out (all)", held)]
        labels = [bin_label(lo, edges) for lo in edges[:-1]] + [bin_label(edges[-1], edges)]
        groups += [(b, [r for r in held if bin_label(r["yaw_deg"], edges) == b]) for b in labels]
        for name, group in groups:
            if not group:
                continue
            row = {"method": label, "views": name, "n": len(group),
                   **{m: _mean([r["metrics"].get(m) for r in group]) for m in COLUMNS}, "time_s": None}
            if name == "input view" and timed:
                times = dataset_run.summarise_times(timed)
                row.update(time_s=times["mean_s"], time_includes_compile=times["includes_compile"])
            out.append(row)
    return out


def _fmt(key, value):
    return "–" if value is None else FORMATS[key].format(value)


def formatted(table_rows):
    return [[r["method"], r["views"], str(r["n"])] + [_fmt(m, r[m]) for m in COLUMNS]
            + ["" if r["views"] != "input view" else _fmt("time_s", r["time_s"])
               + (" (incl. compile)" if r.get("time_includes_compile") else "")] for r in table_rows]


def write_grids(out_dir, records, tile, scenes):
    """Per method its first `scenes` scenes: ground truth over the method's renders, input view first,
    then the held-out views by view index -> [{'method', 'name', 'path', 'columns'}]."""
    from PIL import Image

    def load(path):
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))

    grids = []
    for label in dict.fromkeys(r["label"] for r in records):
        names = list(dict.fromkeys(r["name"] for r in records if r["label"] == label))[:scenes]
        for name in names:
            views = sorted((r for r in records if r["label"] == label and r["name"] == name),
                           key=lambda r: (r["role"] != "input", r["view"]))
            rel = os.path.join("grids", f"{_safe(label)}__{_safe(name)}.png")
            viz.save_png(os.path.join(out_dir, rel), viz.make_grid(
                [[load(r["target"]) for r in views], [load(r["result"]) for r in views]], tile))
            grids.append({"method": label, "name": name, "path": rel,
                          "columns": ["input" if r["role"] == "input" else f"view {r['view']} (Δyaw {r['yaw_deg']:+.0f}°, "
                                      f"pitch {r['pitch_deg']:+.0f}°)" for r in views]})
    return grids


def _safe(name):
    return "".join(c if c.isalnum() or c in "_.+-" else "_" for c in str(name))


def _write_text(path, text):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    return atomic_write(path, write)


def notes(config):
    return ["Images compared at 256x256 in [-1, 1] (MSE; SSIM: scikit-image, Gaussian window; LPIPS: the given "
            "weights) as `inversion3d eval`.",
            "depth L1: mean |rendered - ground-truth depth| over the ground-truth foreground (mask > "
            f"{config.mask_threshold:g}), both the distance along the ray from the camera centre in world units "
            "(the EG3D renderer's image_depth, upsampled bilinearly from its neural rendering resolution).",
            "ID sim.: cosine similarity of ArcFace IR-SE50 features of the render and the ground truth.",
            "Held-out views are binned by |their yaw - the input view's yaw|, bins of configs/benchmark.py "
            f"{tuple(config.yaw_bins_deg)} degrees.",
            "time s / image: the inversion's wall time per image (input-view entries of pairs.json); batches "
            "that compiled are left out when others exist ('incl. compile': every batch of the run compiled)."]


def markdown(text_rows, missing, note_lines):
    lines = ["# Synthetic multi-view benchmark", ""] + [f"- {n}" for n in note_lines] + [""]
    lines += report.markdown_table(HEADER, text_rows) + report.markdown_missing(missing)
    return "\n".join(lines) + "\n"


def html_page(text_rows, missing, note_lines, grids):
    parts = report.html_head("synthetic multi-view benchmark", "Synthetic multi-view benchmark", note_lines)
    parts += [report.html_table(HEADER, text_rows), report.html_missing(missing)]
    parts += report.html_grids(grids, "Top row: ground truth; bottom row: the method. Columns: the input view "
                                      "(reconstruction), then the held-out views.")
    return "\n".join(parts + ["</body></html>"])


def evaluate(runs, out_dir, config, lpips_backbone=None, lpips_heads=None, lpips_net="alex", arcface=None,
             max_pixels=DEFAULT_MAX_PIXELS):
    """Reads the runs, computes every metric, writes the report; returns {kind: path}. Inputs are checked
    before any network loads."""
    check_max_pixels(max_pixels)
    edges = [float(e) for e in config.yaw_bins_deg]
    if len(edges) < 2 or any(b <= a for a, b in zip(edges[:-1], edges[1:])) or edges[0] != 0:
        raise ValueError(f"--config.yaw_bins_deg: expected increasing edges from 0, got {tuple(config.yaw_bins_deg)}")
    entries = read_runs(runs, max_pixels)
    check_writable_dir(out_dir)
    eval_app.check_weight_paths(lpips_backbone, lpips_heads, arcface)
    lp, arc, missing = eval_app.metric_networks(lpips_backbone, lpips_heads, lpips_net, arcface)
    if arc is None:
        missing["ID"] = "--arcface not given (ArcFace IR-SE50 weights): no identity-feature similarity"
    metrics = eval_app.compute_metrics(entries, lp, arc, max_pixels)
    for m, d in zip(metrics, depth_errors(entries, config.mask_threshold)):
        m["depth_l1"] = d
    if all(m["depth_l1"] is None for m in metrics):
        missing["depth L1"] = DEPTH_REASON
    records = [dict(e, metrics=m) for e, m in zip(entries, metrics)]
    table_rows = rows(records, edges)
    text_rows = formatted(table_rows)
    note_lines = notes(config)
    grids = write_grids(out_dir, records, int(config.grid_tile), int(config.grid_scenes))
    payload = {"rows": table_rows, "missing": missing, "notes": note_lines, "config": config.to_dict(),
               "runs": [os.path.abspath(r) for r in runs], "grids": grids,
               "entries": [{k: r.get(k) for k in ("label", "method", "name", "role", "view", "yaw_deg", "pitch_deg",
                                                  "time_s", "includes_compile", "target", "result")}
                           | {"metrics": r["metrics"]} for r in records]}
    return {"md": _write_text(os.path.join(out_dir, "benchmark.md"), markdown(text_rows, missing, note_lines)),
            "html": _write_text(os.path.join(out_dir, "benchmark.html"),
                                html_page(text_rows, missing, note_lines, grids)),
            "json": _write_text(os.path.join(out_dir, "benchmark.json"), json.dumps(payload, indent=1))}


def run(args, overrides=()):
    """`inversion3d eval`: --benchmark synthetic-multiview RUN... --out DIR here, else app/eval.py's report."""
    if not args.benchmark:
        return eval_app.run(args, overrides)
    if args.data:
        raise ValueError("--data: not used with --benchmark (pass the `invert DATASET` folders as RUN...)")
    if args.method or args.inception:
        raise ValueError("--method / --inception: not used with --benchmark (one RUN per method; no FID)")
    config = loading.load_config(args.config or os.path.join(loading.CONFIG_DIR, "benchmark.py"), overrides)
    paths = evaluate(args.runs, args.out, config, args.lpips_backbone, args.lpips_heads, args.lpips_net,
                     args.arcface, args.max_pixels)
    for kind, path in paths.items():
        print(f"[eval] benchmark {kind}: {path}")
    return paths
