"""The demo's report: OUT/index.html (pictures, videos, meshes, the metrics table), metrics.json (every
per-view row and the summary) and metrics.md (the summary table)."""
import html
import json
import os

from inversion3d import files

METHOD_NAMES = {"goae": "GOAE + AFA (embedded encoder)", "goae-noafa": "GOAE w/o AFA (embedded encoder)",
                "psp": "pSp (embedded encoder)", "e4e": "e4e (embedded encoder)",
                "triplanenet": "TriPlaneNet v2 (embedded encoder)", "wplus": "W+ optimisation (the PTI pivot)",
                "pti": "PTI (pivot + generator tuning)"}
COLUMNS = (("mse", "MSE"), ("ssim", "SSIM"), ("lpips", "LPIPS"), ("depth_err", "depth err."))


def fmt(value):
    """The table's number format (4 decimals); tests parse it back."""
    return f"{value:.4f}"


def _table(summary):
    """Header cells and body rows of the summary: method, then input-view and held-out-view metrics."""
    metrics = [(k, label) for k, label in COLUMNS if any(k in s["input"] for s in summary)]
    head = ["method", "scenes"] + [f"input {label}" for _, label in metrics] + \
        [f"held-out {label}" for _, label in metrics]
    body = [[s["method"], str(s["items"])] + [fmt(s[part][k]) if k in s[part] else "-"
                                              for part in ("input", "held_out") for k, _ in metrics]
            for s in summary]
    return head, body


def markdown(summary, meta):
    head, body = _table(summary)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines) + "\n\n" + notes(meta) + "\n"


def notes(meta):
    """What the numbers are, in words."""
    text = (f"Images compared at 256 px ({meta['resolution']} px renders resized, as `inversion3d eval`), on [-1, 1]; "
            f"depth error: mean |depth - ground truth| in world units over the ground-truth foreground. "
            f"W+: {meta['pivot_steps']} steps, PTI: + {meta['tune_steps']} tuning steps. ")
    if not meta["lpips"]:
        text += "No LPIPS weights given (--config.lpips=DIR): no LPIPS column, losses are MSE only. "
    if meta["missing_encoders"]:
        text += (f"No embedded encoder shipped yet ({', '.join(meta['missing_encoders'])}): encoder rows appear once "
                 f"inversion3d/assets/encoders/<method>/ is in the package.")
    return text


def _img(path, title=""):
    return f'<img src="{html.escape(path)}" title="{html.escape(title)}" width="96" height="96">'


def _row(label, cells):
    return f"<tr><th>{html.escape(label)}</th>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def item_section(page):
    """One item: ground truth and each method at every view, depth maps, orbit videos, mesh, edit."""
    views = page["views"]
    heads = ["input view" if k == 0 else f"held-out: yaw {v['yaw_deg']:+.0f}, pitch {v['pitch_deg']:+.0f}"
             for k, v in enumerate(views)]
    out = [f"<h2>{html.escape(page['title'])}</h2>", "<table class='grid'>", _row("", heads)]
    out.append(_row("ground truth", [_img(p) for p in page["gt"]]))
    for method, entry in page["methods"].items():
        out.append(_row(METHOD_NAMES.get(method, method), [_img(p) for p in entry["views"]]))
    if page["gt_depth"]:
        out.append(_row("ground-truth depth", [_img(p) for p in page["gt_depth"]]))
    for method, entry in page["methods"].items():
        out.append(_row(f"{method} depth", [_img(p) for p in entry["depth"]]))
    out.append("</table><p>Orbit videos: " + " ".join(
        f'<video src="{html.escape(e["orbit"])}" width="128" autoplay loop muted title="{m}"></video>'
        for m, e in page["methods"].items()) + "</p>")
    if page.get("mesh"):
        out.append("<p>Mesh of the PTI result: " + ", ".join(
            f'<a href="{html.escape(p)}">{html.escape(os.path.basename(p))}</a>' for p in page["mesh"]) + "</p>")
    edit = page.get("edit")
    if edit:
        out.append(f"<h3>Edit: {edit['name']} (PTI result)</h3><p>A direction in W trained on the fly "
                   f"(InterFaceGAN-style logistic boundary, validation accuracy {edit['val_accuracy']:.2f}) from "
                   f"{edit['samples']} generator samples labelled by the lightness of their rendered face centre. "
                   f"Rows: strengths {', '.join(f'{s:+g}' for s in edit['strengths'])}; columns: yaw.</p>")
        out.append(f'<p><img src="{html.escape(edit["strip"])}"> <img src="{html.escape(edit["depth"])}"></p>')
        out.append(f'<p><video src="{html.escape(edit["video"])}" width="128" autoplay loop muted></video> ' +
                   ", ".join(f'<a href="{html.escape(p)}">{html.escape(os.path.basename(p))}</a>'
                             for p in edit["mesh"]) + "</p>")
    return "\n".join(out)


def _write_text(path, text):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    return files.atomic_write(path, write)


def write(out_dir, pages, rows, summary, meta):
    """Writes index.html, metrics.json, metrics.md; returns the index path."""
    head, body = _table(summary)
    photo = [r for r in rows if "depth_err" not in r]
    photo_rows = "".join(_row(METHOD_NAMES.get(r["method"], r["method"]), [fmt(r["mse"]), fmt(r["ssim"])])
                         for r in photo)
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>inversion3d demo</title><style>"
             "body{font-family:sans-serif;margin:2em} table{border-collapse:collapse} td,th{padding:3px 6px;"
             "border:1px solid #ccc;font-size:13px} img{image-rendering:pixelated}</style></head><body>",
             "<h1>inversion3d demo: an image in, a 3D head out</h1>",
             f"<p>Generator: {html.escape(meta['generator'])} ({meta['resolution']} px). Wall time "
             f"{meta['seconds']:.0f} s.</p>",
             "<h2>Metrics: synthetic test scenes (mean over scenes)</h2>",
             "<table id='metrics'><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" +
             "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body) + "</table>",
             f"<p>{html.escape(notes(meta))}</p>"]
    if photo:
        parts.append("<h3>Real photo, input view only (out of domain: no ground truth for other views)</h3>"
                     "<table id='photo'><tr><th>method</th><th>MSE</th><th>SSIM</th></tr>" + photo_rows + "</table>")
    parts += [item_section(p) for p in pages]
    if meta["samples"]:
        parts.append("<h2>The generator's own samples (latent seeds; rows: seeds, columns: yaw)</h2><p>" +
                     " ".join(f'<img src="{html.escape(p)}">' for p in meta["samples"]) + "</p>")
    parts.append("</body></html>")
    index = os.path.join(out_dir, "index.html")
    _write_text(index, "\n".join(parts))
    _write_text(os.path.join(out_dir, "metrics.json"), json.dumps({"summary": summary, "rows": rows, "meta": meta},
                                                                  indent=1))
    _write_text(os.path.join(out_dir, "metrics.md"), markdown(summary, meta))
    return index
