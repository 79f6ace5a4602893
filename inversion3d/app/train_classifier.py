"""`inversion3d train-classifier`: the project's small attribute classifier trained on a synthetic-heads
folder (configs/attribute_classifier.py); writes a classifier directory (the converted layout,
inversion3d/metrics/attributes.py) that `train-direction --classifier` and `eval --classifier` read.

  inversion3d train-classifier --config configs/attribute_classifier.py --config.data.folder=DATA --out DIR
"""
import os
import time

import numpy as np

from inversion3d import files, images
from inversion3d.app import loading


def read_split(folder, split, labels_of, limit=None):
    """(uint8 images (M, S, S, 3), labels (M, N)) of a split's input views."""
    from inversion3d.data.synthetic import attributes

    names, indices = attributes.split_images(folder, split)
    names, indices = names[:limit], indices[:limit]
    plan = attributes.plan_from_record(folder, split)
    pixels = np.stack([images.read_rgb(os.path.join(folder, n)) for n in names])
    return pixels, labels_of(plan, indices)


def run(args, overrides=()):
    """Trains, reports the loss first / last and the held-out accuracy per attribute, saves DIR."""
    from inversion3d.data.synthetic import attributes
    from inversion3d.metrics.attributes import AttributeClassifier, save_classifier
    from inversion3d.nn.resnet import ResNetClassifier
    from inversion3d.training import classifier

    config = loading.load_config(args.config or os.path.join(loading.CONFIG_DIR, "attribute_classifier.py"), overrides)
    files.check_writable_dir(os.path.dirname(os.path.abspath(args.out)))
    if os.path.lexists(args.out):
        raise ValueError(f"--out: {args.out} already exists; choose a new directory")
    d = config.data
    labels_of = lambda plan, idx: attributes.scene_attributes(plan, idx, d.light_skin, d.dark_hair)  # noqa: E731
    start = time.time()
    x, y = read_split(d.folder, d.train_split, labels_of, d.max_train)
    vx, vy = read_split(d.folder, d.val_split, labels_of)
    print(f"[train-classifier] {len(x)} train / {len(vx)} held-out images read in {time.time() - start:.0f}s; "
          f"positive rates {np.round(y.mean(0), 3).tolist()} for {list(attributes.ATTRIBUTES)}", flush=True)
    model = dict(num_outputs=len(attributes.ATTRIBUTES), layers=list(config.model.layers),
                 widths=list(config.model.widths), block=config.model.block, stem_width=config.model.stem_width)
    module = ResNetClassifier(**{k: tuple(v) if isinstance(v, list) else v for k, v in model.items()})
    pre = (int(config.input_size), tuple(config.mean), tuple(config.std))
    t = config.train
    start = time.time()
    variables, losses = classifier.fit(module, pre, x, y, t.steps, t.batch, t.lr, t.seed, t.log_every,
                                       log=lambda s: print(f"[train-classifier] {s}", flush=True))
    seconds = time.time() - start
    clf = AttributeClassifier(module, variables, *pre, attributes.ATTRIBUTES)
    acc = classifier.accuracy(clf.logits(vx.astype(np.float32) / 127.5 - 1.0), vy)
    path = save_classifier(args.out, variables, model, dict(zip(("input_size", "mean", "std"), pre)),
                           attributes.ATTRIBUTES, f"train-classifier on {os.path.abspath(d.folder)} "
                           f"({t.steps} steps; held-out accuracy {np.round(acc, 3).tolist()})")
    print(f"[train-classifier] loss {losses[0]:.4f} -> {losses[-1]:.4f} ({losses[-100:].mean():.4f} mean of the "
          f"last 100) in {seconds:.0f}s ({t.steps / seconds:.1f} steps/s); held-out accuracy "
          + ", ".join(f"{a} {v:.3f}" for a, v in zip(attributes.ATTRIBUTES, acc)), flush=True)
    print(f"[train-classifier] {path}", flush=True)
    return path, acc
