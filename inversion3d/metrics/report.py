"""Evaluation report (editing-and-eval.md §4-§5): per-image records -> report.csv, report.md,
report.html (tables + image grids) and report.json (every number + `missing`), all written atomically.

A record is a dict: name, method, yaw_deg (0 = the input view), view ('input' or a yaw bin such as
'±30°', see `view_label`), time_s (or None), metrics {metric: float} and optionally target / result
(image paths, used for the grids). Metrics absent from every record of a table column are printed
as '–' and must be listed in `missing` ({metric: reason}).
"""
import csv
import html
import io
import json
import math
import os
import re

import numpy as np

from inversion3d.files import atomic_write

METRICS = ("mse", "psnr", "ssim", "lpips", "id")
LABELS = {"mse": "MSE", "psnr": "PSNR", "ssim": "SSIM", "lpips": "LPIPS", "id": "ID", "fid": "FID",
          "time_s": "time s", "l2": "L2"}
FORMATS = {"mse": "{:.4f}", "l2": "{:.4f}", "psnr": "{:.2f}", "ssim": "{:.4f}", "lpips": "{:.4f}",
           "id": "{:.4f}", "fid": "{:.2f}", "time_s": "{:.4g}"}


def view_label(yaw_deg):
    """0 -> 'input'; otherwise the yaw bin '±|yaw|°' (rounded to whole degrees, both sides pooled)."""
    yaw = abs(float(yaw_deg))
    return "input" if round(yaw) == 0 else f"±{round(yaw):d}°"


def _mean(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(values)) if values else None


def summarise(records):
    """{method: {'views': {view: {'n', metric: mean}}, 'time_s': mean per-image time on the input view
    (all views when there is no input view)}}; views ordered input first, then bins by |yaw| descending."""
    out = {}
    for method in dict.fromkeys(r["method"] for r in records):
        mine = [r for r in records if r["method"] == method]
        views = sorted(dict.fromkeys(r["view"] for r in mine),
                       key=lambda v: (v != "input", -max(abs(r["yaw_deg"]) for r in mine if r["view"] == v)))
        summary = {}
        for view in views:
            rows = [r for r in mine if r["view"] == view]
            summary[view] = {"n": len(rows), **{m: _mean([r["metrics"].get(m) for r in rows]) for m in METRICS}}
        timed = [r for r in mine if r["view"] == "input"] or mine
        out[method] = {"views": summary, "time_s": _mean([r.get("time_s") for r in timed])}
    return out


def _fmt(key, value):
    return "–" if value is None else FORMATS.get(key, "{:.4g}").format(value)


def tables(summary, fid=None):
    """The two paper layouts as (header, rows) of formatted strings, plus a full per-view table.

    goae: GOAE Table 1 - input-view MSE, LPIPS, FID, ID, time s, then LPIPS / ID per novel-view bin.
    dual_encoder: Dual Encoder Table 1 - L2 (= MSE), LPIPS, ID, FID, time s (input view).
    all: every metric per method and view.
    fid: {method: value} when FID was computed (None: missing)."""
    fid = fid or {}
    bins = []
    for s in summary.values():
        bins += [v for v in s["views"] if v != "input" and v not in bins]
    bins.sort(key=lambda b: -int(re.sub(r"\D", "", b) or 0))
    goae_h = ["method", "MSE", "LPIPS", "FID", "ID", "time s"] + [f"{b} {m}" for b in bins for m in ("LPIPS", "ID")]
    dual_h = ["method", "L2", "LPIPS", "ID", "FID", "time s"]
    all_h = ["method", "view", "n"] + [LABELS[m] for m in METRICS]
    goae, dual, full = [], [], []
    for method, s in summary.items():
        inp = s["views"].get("input", {})
        goae.append([method, _fmt("mse", inp.get("mse")), _fmt("lpips", inp.get("lpips")),
                     _fmt("fid", fid.get(method)), _fmt("id", inp.get("id")), _fmt("time_s", s["time_s"])]
                    + [_fmt(m, s["views"].get(b, {}).get(m)) for b in bins for m in ("lpips", "id")])
        dual.append([method, _fmt("l2", inp.get("mse")), _fmt("lpips", inp.get("lpips")), _fmt("id", inp.get("id")),
                     _fmt("fid", fid.get(method)), _fmt("time_s", s["time_s"])])
        for view, v in s["views"].items():
            full.append([method, view, str(v["n"])] + [_fmt(m, v.get(m)) for m in METRICS])
    return {"goae": (goae_h, goae), "dual_encoder": (dual_h, dual), "all": (all_h, full)}


TITLES = {"goae": "GOAE Table 1 layout (input view; novel views per yaw bin)",
          "dual_encoder": "Dual Encoder Table 1 layout (input view)",
          "all": "All metrics per method and view",
          "editability": "Editability (In-N-Out Table 2): ArcFace ID (or the named stand-in) between inverted and "
                         "edited, and the attribute change, per edit"}


def editability_table(table):
    """metrics/editability.table output -> (header, rows): per method, for each metric some entry has
    (ArcFace ID; else the random-CNN feature similarity; the attribute change), its mean per edit and
    over all edits. Without any, the ID columns (shown as missing)."""
    from inversion3d.metrics.editability import FEATURE_SIM

    edits = []
    for per in table.values():
        edits += [e for e in per if e != "avg" and e not in edits]
    labels = {"id": "ID", "feature_sim": FEATURE_SIM, "attribute_change": "attr. change / strength"}
    present = [m for m in labels if any(v.get(m) is not None for per in table.values() for v in per.values())]
    shown = [m for m in present if m != "attribute_change"] or ["id"]
    shown += ["attribute_change"] if "attribute_change" in present else []
    header = ["method"] + [f"{e} {labels[m]}" for m in shown for e in edits + ["avg"]]
    rows = [[method] + [_fmt("id", per.get(e, {}).get(m)) for m in shown for e in edits + ["avg"]]
            for method, per in table.items()]
    return header, rows


def markdown_table(header, rows):
    """Markdown lines of one table (header + rows of strings)."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def markdown_missing(missing):
    """Markdown lines of the 'Missing metrics' section ({metric: why})."""
    return ["", "## Missing metrics", ""] + ([f"- {k}: {v}" for k, v in missing.items()] or ["- none"])


def html_head(title, heading, notes=()):
    """The page's opening (style for tables and pixel-exact images), its h1 and one paragraph per note."""
    esc = html.escape
    return [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
            "<style>table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px;"
            f"text-align:right}}img{{image-rendering:pixelated}}</style></head><body><h1>{esc(heading)}</h1>"] + \
        [f"<p>{esc(n)}</p>" for n in notes]


def html_table(header, rows):
    esc = html.escape
    return ("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows) + "</table>")


def html_missing(missing):
    esc = html.escape
    return "<h2>Missing metrics</h2><ul>" + "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in missing.items()) + "</ul>"


def html_grids(grids, caption):
    """An 'Images' section: the caption, then per grid its method / name, column titles and the image."""
    esc = html.escape
    parts = [f"<h2>Images</h2><p>{esc(caption)}</p>"]
    for g in grids:
        parts.append(f"<h3>{esc(g['method'])} / {esc(g['name'])}</h3><p>{esc(' | '.join(g['columns']))}</p>"
                     f"<img src='{esc(g['path'])}' alt='{esc(g['method'])} {esc(g['name'])}'>")
    return parts


def _markdown(tabs, missing, meta):
    lines = ["# Evaluation report", ""]
    for line in meta.get("notes", []):
        lines.append(f"- {line}")
    for key, (header, rows) in tabs.items():
        lines += ["", f"## {TITLES[key]}", ""] + markdown_table(header, rows)
    lines += markdown_missing(missing)
    return "\n".join(lines) + "\n"


def _html(tabs, missing, meta, grids):
    parts = html_head("inversion3d eval", "Evaluation report", meta.get("notes", []))
    for key, (header, rows) in tabs.items():
        parts.append(f"<h2>{html.escape(TITLES[key])}</h2>" + html_table(header, rows))
    parts.append(html_missing(missing))
    if grids:
        parts += html_grids(grids, "Top row: ground truth, bottom row: the method; columns: the input view "
                                   "(reconstruction), then the novel views by yaw.")
    parts.append("</body></html>")
    return "\n".join(parts)


def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", str(name))


def write_grids(out_dir, records, tile=128):
    """One PNG per (method, name) under out_dir/grids: ground truth over result, input view first."""
    from PIL import Image

    from inversion3d import viz

    def load(path):
        return np.asarray(Image.open(path).convert("RGB"))

    grids = []
    for key in dict.fromkeys((r["method"], r["name"]) for r in records):
        rows = sorted((r for r in records if (r["method"], r["name"]) == key and r.get("target") and r.get("result")),
                      key=lambda r: (r["view"] != "input", r["yaw_deg"]))
        if not rows:
            continue
        rel = os.path.join("grids", f"{_safe(key[0])}__{_safe(key[1])}.png")
        grid = viz.make_grid([[load(r["target"]) for r in rows], [load(r["result"]) for r in rows]], tile)
        viz.save_png(os.path.join(out_dir, rel), grid)
        grids.append({"method": key[0], "name": key[1], "path": rel,
                      "columns": [f"yaw {r['yaw_deg']:+g}°" + (" (input)" if r["view"] == "input" else "")
                                  for r in rows]})
    return grids


def _write_text(path, text):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    return atomic_write(path, write)


def write_report(out_dir, records, missing, meta=None, fid=None, grids=True, editability=None):
    """Writes OUT/report.{csv,md,html,json} (+ OUT/grids/*.png); returns {kind: path}.
    editability: metrics/editability.table output (None: no edit entries)."""
    meta = dict(meta or {})
    summary = summarise(records)
    tabs = tables(summary, fid)
    if editability:
        tabs["editability"] = editability_table(editability)
    grid_list = write_grids(out_dir, records) if grids else []
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["method", "view", "n"] + list(METRICS) + ["fid", "time_s"])
    for method, s in summary.items():
        for view, v in s["views"].items():
            writer.writerow([method, view, v["n"]] + ["" if v[m] is None else repr(v[m]) for m in METRICS]
                            + ["" if (fid or {}).get(method) is None else repr(fid[method]),
                               "" if s["time_s"] is None else repr(s["time_s"])])
    payload = {"summary": summary, "fid": fid or {}, "missing": dict(missing), "meta": meta,
               "editability": editability or {},
               "tables": {k: {"header": h, "rows": r} for k, (h, r) in tabs.items()},
               "images": [{k: r.get(k) for k in ("name", "method", "yaw_deg", "view", "time_s", "target", "result")}
                          | {"metrics": dict(r["metrics"])} for r in records],
               "grids": grid_list}
    return {"csv": _write_text(os.path.join(out_dir, "report.csv"), buf.getvalue()),
            "md": _write_text(os.path.join(out_dir, "report.md"), _markdown(tabs, missing, meta)),
            "html": _write_text(os.path.join(out_dir, "report.html"), _html(tabs, missing, meta, grid_list)),
            "json": _write_text(os.path.join(out_dir, "report.json"), json.dumps(payload, indent=1))}
