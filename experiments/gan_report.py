"""Report of a GAN run of the generator (configs/eg3d_gan.py): sample and depth grids of its exported
G_ema, the fid_random curve over training (a PNG drawn with Pillow) and a Markdown snippet with steps,
training time, steps / s and fid_random first / last.

  .venv/bin/python experiments/gan_report.py WORKDIR --generator DIR --out docs/images [--readme README.md]
  (make ship-default WORKDIR=... runs `inversion3d export` then this)
WORKDIR: the run (its metrics.jsonl); DIR: its `inversion3d export` (default: the packaged default
generator). The grids use configs/demo.py's sampling (latent seeds 0..N-1, yaws, pitch, pivot,
truncation) with DIR's weights. Writes OUT/default_samples.png, default_depth.png, default_fid.png and
default_report.md; with --readme, the README's text between the GAN_REPORT markers is replaced by the
snippet. Training time = the sum of the gaps between consecutive log rows of each launch (from the
launch's start row), counting only rows a later launch did not redo: stops and lost work are excluded.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

from PIL import Image, ImageDraw

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

MARK_START, MARK_END = "<!-- GAN_REPORT:START -->", "<!-- GAN_REPORT:END -->"


def read_metrics(path):
    """(launches, fid) from a metrics.jsonl: launches = [(start_step, start_time, [(step, time), ...])]
    (log rows with steps_per_sec), fid = {step: fid_random} (a redone step keeps its last value)."""
    launches, fid = [], {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if "start_step" in row:
                launches.append((int(row["start_step"]), float(row["time"]), []))
            elif "steps_per_sec" in row and launches:
                launches[-1][2].append((int(row["step"]), float(row["time"])))
            if "fid_random" in row:
                fid[int(row["step"])] = float(row["fid_random"])
    if not launches:
        raise ValueError(f"{path}: no launch rows (start_step); not a training loop's metrics.jsonl")
    return launches, fid


def training_time(launches, upto=float("inf")):
    """(seconds, last step): per launch, the time from its start (compilation included) to its last log
    row at or before `upto` not redone by the next launch (whose start_step says where it resumed)."""
    seconds, last = 0.0, 0
    for i, (start, t0, rows) in enumerate(launches):
        limit = min(launches[i + 1][0] if i + 1 < len(launches) else float("inf"), upto)
        kept = [(s, t) for s, t in rows if s <= limit]
        if kept:
            seconds += kept[-1][1] - t0
            last = kept[-1][0]
    return seconds, last


def plot_curve(points, path, title="fid_random (random-CNN features; lower is better)", size=(480, 260)):
    """A line plot of [(step, value)] as a PNG (Pillow only): axes, ticks at first / last, the points."""
    w, h = size
    left, right, top, bottom = 56, 16, 28, 36
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    d.text((left, 8), title, fill="black")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    y0, y1 = y0 - 0.05 * (y1 - y0), y1 + 0.05 * (y1 - y0)

    def to_px(x, y):
        return (left + (x - x0) / (x1 - x0) * (w - left - right), h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom))

    d.line([(left, top), (left, h - bottom), (w - right, h - bottom)], fill="black")
    for y in (y0, (y0 + y1) / 2, y1):
        d.text((4, to_px(x0, y)[1] - 6), f"{y:.3g}", fill="black")
    for x in (x0, x1):
        d.text((to_px(x, y0)[0] - 10, h - bottom + 4), f"{x:g}", fill="black")
    d.text((w // 2 - 12, h - 16), "step", fill="black")
    px = [to_px(x, y) for x, y in points]
    if len(px) > 1:
        d.line(px, fill=(31, 119, 180), width=2)
    for x, y in px:
        d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(31, 119, 180))
    img.save(path)
    return path


def grids(generator, out, num):
    """configs/demo.py's demo with `generator`'s weights and `num` seeds -> (samples PNG, depth PNG) in out."""
    from inversion3d.app import demo, loading

    config = loading.load_config(os.path.join(loading.CONFIG_DIR, "demo.py"),
                                 [f"--config.weights={os.path.abspath(generator)}", f"--config.num_samples={num}"])
    with tempfile.TemporaryDirectory() as tmp:
        grid, depth = demo.run_demo(config, os.path.join(tmp, "demo"))
        return (shutil.copyfile(grid, os.path.join(out, "default_samples.png")),
                shutil.copyfile(depth, os.path.join(out, "default_depth.png")))


def snippet(meta, seconds, last, fid, num, yaws, image_dir):
    steps_per_s = last / seconds if seconds else float("nan")
    first, final = (fid[min(fid)], fid[max(fid)]) if fid else (float("nan"), float("nan"))
    rel = image_dir.rstrip("/")
    return "\n".join([
        f"G_ema of `{meta.get('trained_by')}` at step {meta.get('step')} (configs/eg3d_gan.py; 64 px output, "
        f"32 px neural rendering). Training: {last} steps in {seconds / 3600:.2f} h on the 2-core CPU "
        f"({steps_per_s:.2f} steps/s with each launch's compilation; stops and redone steps excluded); fid_random "
        f"{first:.3f} (step {min(fid) if fid else '-'}) -> {final:.3f} (step {max(fid) if fid else '-'}).",
        "",
        f"Samples (latent seeds 0-{num - 1}, rows) at yaws {', '.join(f'{y:+g}' for y in yaws)} degrees (columns), "
        f"truncation 0.7, and their depth:",
        "",
        f"![samples]({rel}/default_samples.png) ![depth]({rel}/default_depth.png)",
        "",
        f"![fid_random over training]({rel}/default_fid.png)",
    ])


def replace_between_markers(path, text):
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    if MARK_START not in doc or MARK_END not in doc:
        raise ValueError(f"--readme: {path} has no {MARK_START} ... {MARK_END} section")
    head, rest = doc.split(MARK_START, 1)
    tail = rest.split(MARK_END, 1)[1]
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{head}{MARK_START}\n{text}\n{MARK_END}{tail}")


def main(argv=None):
    from converters.orbax_io import read_meta
    from inversion3d import assets
    from inversion3d.app import loading

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("workdir", help="the GAN run's workdir (metrics.jsonl)")
    p.add_argument("--generator", default=assets.generator_dir("default"), help="its `inversion3d export` directory")
    p.add_argument("--out", required=True, help="folder for the PNGs and default_report.md (created)")
    p.add_argument("--num", type=int, default=4, help="latent seeds (grid rows)")
    p.add_argument("--readme", default=None, help="replace this file's GAN_REPORT section with the snippet")
    p.add_argument("--image-dir", default="docs/images", help="how the snippet links the PNGs")
    args = p.parse_args(argv)
    metrics = os.path.join(args.workdir, "metrics.jsonl")
    if not os.path.isfile(metrics):
        raise SystemExit(f"gan_report: error: WORKDIR: no metrics.jsonl in {args.workdir}")
    meta = read_meta(args.generator)
    launches, fid = read_metrics(metrics)
    seconds, last = training_time(launches, upto=int(meta.get("step", 10 ** 12)))
    fid = {s: v for s, v in fid.items() if s <= int(meta.get("step", 10 ** 12))}
    os.makedirs(args.out, exist_ok=True)
    grids(args.generator, args.out, args.num)
    if fid:
        plot_curve(sorted(fid.items()), os.path.join(args.out, "default_fid.png"))
    yaws = loading.load_config(os.path.join(loading.CONFIG_DIR, "demo.py")).yaws_deg
    text = snippet(meta, seconds, last, fid, args.num, yaws, args.image_dir)
    with open(os.path.join(args.out, "default_report.md"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    if args.readme:
        replace_between_markers(args.readme, text)
    print(text)


if __name__ == "__main__":
    main()
