"""`inversion3d synth-data`: renders a split of the procedural head dataset into an aligned folder.

  inversion3d synth-data --config configs/synthetic_heads.py --config.split=train --config.num_scenes=N --out ROOT
Resumable: chunks of `config.chunk` scenes are written atomically and a rerun of the same line skips
the finished ones (a rerun with more scenes adds chunks); every split of one ROOT shares dataset.json.
"""
import os
import time

import numpy as np

from inversion3d import files, viz
from inversion3d.app import loading
from inversion3d.data import folder
from inversion3d.data.synthetic import writer


def run(args, overrides=()):
    """`inversion3d synth-data`: --config (default configs/synthetic_heads.py) with --config.KEY=VALUE."""
    path = args.config or os.path.join(loading.CONFIG_DIR, "synthetic_heads.py")
    config = loading.load_config(path, overrides)
    for key in ("split", "num_scenes", "scene", "trace", "camera", "poses"):
        if key not in config:
            raise ValueError(f"--config: not a synthetic-heads config (no {key}); expected a file like "
                             f"configs/synthetic_heads.py")
    plan = writer.plan_from_config(config)
    files.check_writable_dir(args.out)
    return generate(args.out, plan, int(config.num_scenes))


def generate(out, plan, num_scenes):
    """Writes the split with a tqdm bar; prints images/s (compilation excluded from the rate)."""
    from tqdm import tqdm

    print(loading.COMPILING.format(command="synth-data"), flush=True)
    bar = tqdm(total=num_scenes, unit="scene", desc=f"{plan.split} {plan.resolution}px")
    start, first = time.time(), {}

    counts = {"rendered": 0}

    def progress(n, rendered=True):
        if rendered:
            first.setdefault("t", time.time())
            first.setdefault("n", n)
            counts["rendered"] += n
        bar.update(n)

    images = writer.write_split(out, plan, num_scenes, progress)
    bar.close()
    views = 1 + len(plan.views)
    rendered = counts["rendered"] - first.get("n", 0)
    if rendered:
        rate = f"{rendered * views / max(time.time() - first['t'], 1e-9):.1f} images/s after the first batch"
    else:
        rate = "one batch rendered (no rate)" if counts["rendered"] else "nothing new rendered"
    sheet = write_preview(out, plan)
    print(f"[synth-data] {plan.split}: {images} images ({num_scenes} scenes x {views} views) in {out}; "
          f"{time.time() - start:.1f}s, {rate}; contact sheet {sheet}", flush=True)
    return {"images": images, "preview": sheet}


def write_preview(root, plan, count=64, cols=8):
    """A contact sheet of the split's first `count` images (cols per row; multi-view splits: one scene's
    views per row, depth maps in a second sheet) -> its path: <root>/preview.png for train, else
    <root>/preview_<split>.png."""
    labels = folder.read_labels(root)
    names = folder.split_names(root, plan.split, labels)
    cols = 1 + len(plan.views) if plan.views else min(cols, len(names))
    names = names[:max(cols, count // cols * cols)]
    rows = [names[i:i + cols] for i in range(0, len(names), cols) if len(names[i:i + cols]) == cols]
    size = 2 * plan.resolution if plan.resolution < 128 else plan.resolution
    grid = viz.make_grid([[folder.load_example(root, n, labels[n])["image"] for n in row] for row in rows], size)
    path = os.path.join(root, "preview.png" if plan.split == "train" else f"preview_{plan.split}.png")
    viz.save_png(path, grid)
    if plan.views:
        def depth(name):
            d = folder.load_example(root, name, labels[name], with_depth=True)["depth"]
            return viz.colorize_depth(np.where(np.isfinite(d), d, plan.radius + 0.5), plan.radius - 0.5,
                                      plan.radius + 0.5)
        viz.save_png(path[:-4] + "_depth.png", viz.make_grid([[depth(n) for n in row] for row in rows], size))
    return path
