"""`inversion3d synth-data`: renders a split of the procedural head dataset into an aligned folder.

  inversion3d synth-data --config configs/synthetic_heads.py --config.split=train --config.num_scenes=N --out ROOT
Resumable: chunks of `config.chunk` scenes are written atomically and a rerun of the same line skips
the finished ones (a rerun with more scenes adds chunks); every split of one ROOT shares dataset.json.
"""
import os
import time

from inversion3d import files
from inversion3d.app import loading
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

    def progress(n):
        first.setdefault("t", time.time())
        first.setdefault("n", n)
        bar.update(n)

    images = writer.write_split(out, plan, num_scenes, progress)
    bar.close()
    views = 1 + len(plan.views)
    rendered = bar.n - first.get("n", 0)
    rate = rendered * views / max(time.time() - first.get("t", start), 1e-9)
    print(f"[synth-data] {plan.split}: {images} images ({num_scenes} scenes x {views} views) in {out}; "
          f"{time.time() - start:.1f}s, {rate:.1f} images/s after the first batch", flush=True)
    return {"images": images}
