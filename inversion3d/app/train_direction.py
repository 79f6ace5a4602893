"""`inversion3d train-direction`: an InterFaceGAN-style direction in W (editing-and-eval.md §1) from
latents scored by the user, or from generator samples scored by an attribute classifier.

  inversion3d train-direction --latents DIR --labels scores.csv --out age.npy [--layers 4-13]
  inversion3d train-direction --classifier CKPT --attribute NAME|INDEX [--generator default] --out a.npy
  inversion3d train-direction --classifier CKPT --attribute A,B,C --out DIR     (DIR/A.npy ...; one sampling)

DIR holds `invert` npz files (their ws) and / or .npy latents ((w_dim,), (num_ws, w_dim) or
(1, num_ws, w_dim)); scores.csv has one `file,score` line per latent (a header line is allowed;
files named relative to DIR, with or without extension). The top / bottom 2 % (configs/editing.py
boundary.*) become positives / negatives, a logistic-regression boundary is fitted (optax), and its
unit normal is saved as (1, num_ws, w_dim) float32, the released files' layout (§1.1).
With --classifier (a converted classifier directory, inversion3d/metrics/attributes.py) the latents
are configs/editing.py classifier.num_samples generator samples at the frontal camera and the
scores the classifier's logit for --attribute (InterFaceGAN's protocol, §1).
"""
import csv
import os

import numpy as np

from inversion3d import files
from inversion3d.app import loading


def read_latent(path):
    """One latent file -> (num_ws, w_dim) or (1, w_dim) float32."""
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as data:
            if "ws" not in data.files:
                raise ValueError(f"--latents: {path} has no ws (expected an `invert` npz)")
            ws = data["ws"]
    else:
        ws = np.load(path, allow_pickle=False)
    ws = np.asarray(ws, np.float32)
    ws = ws[0] if ws.ndim == 3 and ws.shape[0] == 1 else ws
    ws = ws[None] if ws.ndim == 1 else ws
    if ws.ndim != 2 or not np.all(np.isfinite(ws)):
        raise ValueError(f"--latents: {path}: expected finite (w_dim,), (num_ws, w_dim) or (1, num_ws, w_dim), "
                         f"got shape {ws.shape}")
    return ws


def read_scores(path):
    """scores.csv -> [(file, score)]; a first line whose score is not a number is a header."""
    if not os.path.isfile(path):
        raise ValueError(f"--labels: no such file: {path}")
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.reader(f)):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise ValueError(f"--labels: {path} line {i + 1}: expected 'file,score'")
            try:
                rows.append((row[0].strip(), float(row[1])))
            except ValueError:
                if i == 0:
                    continue  # header
                raise ValueError(f"--labels: {path} line {i + 1}: score {row[1]!r} is not a number") from None
    if not rows:
        raise ValueError(f"--labels: {path} has no scores")
    return rows


def find_latent(directory, name):
    for candidate in (name, name + ".npz", name + ".npy"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    raise ValueError(f"--labels: no latent file {name!r} in {directory}")


def load_labelled(directory, labels_path):
    """-> (ws (N, rows, w_dim), scores (N,)) for every scored latent."""
    if not os.path.isdir(directory):
        raise ValueError(f"--latents: not a directory: {directory}")
    rows = read_scores(labels_path)
    latents = [read_latent(find_latent(directory, name)) for name, _ in rows]
    shapes = {w.shape for w in latents}
    if len(shapes) != 1:
        raise ValueError(f"--latents: latents of different shapes {sorted(shapes)}")
    return np.stack(latents), np.asarray([s for _, s in rows], np.float64)


def labelled_latents(args, config, overrides=()):
    """(ws (N, rows, w_dim), scores (N, K), K names) from --latents / --labels (K = 1, name None), or
    from generator samples scored by --classifier for each of the comma-separated --attribute names."""
    classifier = getattr(args, "classifier", None)
    if classifier is None:
        if not args.latents or not args.labels:
            raise ValueError("--latents and --labels: required (or --classifier CKPT --attribute NAME)")
        ws, scores = load_labelled(args.latents, args.labels)
        return ws, scores[:, None], [None]
    if any(loading.is_override(a, "generator") for a in overrides) and not getattr(args, "generator", None):
        raise ValueError("--generator.KEY overrides: need --generator (a config .py or 'default')")
    if args.latents or args.labels:
        raise ValueError("--classifier: scores generator samples; do not also pass --latents / --labels")
    if getattr(args, "attribute", None) is None:
        raise ValueError("--attribute: required with --classifier (a name or a 0-based logit index)")
    from inversion3d.editing import directions
    from inversion3d.metrics.attributes import load_classifier

    clf = load_classifier(classifier)
    index = [clf.index(a) for a in str(args.attribute).split(",")]
    c = config.classifier
    gen_overrides = [a for a in overrides if loading.is_override(a, "generator")]
    gen = loading.open_generator(getattr(args, "generator", None) or "default", "auto", gen_overrides, name="generator")
    print(f"[train-direction] scoring {c.num_samples} samples of the generator by "
          f"{[clf.attributes[i] for i in index]}...", flush=True)
    ws, scores = directions.sample_scored(gen, lambda images: clf.logits(images)[:, index], c.num_samples, c.seed,
                                          c.truncation_psi, c.batch)
    return ws, scores, [clf.attributes[i] for i in index]


def run(args, overrides=()):
    """Trains, saves and reports the direction (accuracies, the loss first / last)."""
    from inversion3d.editing import directions

    config = loading.load_config(args.config or os.path.join(loading.CONFIG_DIR, "editing.py"),
                                 [a for a in overrides if loading.is_override(a, "config")])
    b = config.boundary
    several = "," in str(getattr(args, "attribute", None) or "")
    if several and not os.path.isdir(args.out):
        raise ValueError(f"--out: several attributes write DIR/NAME.npy; {args.out} is not a directory")
    if not several and not args.out.endswith(".npy"):
        raise ValueError(f"--out: expected a .npy path, got {args.out}")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        raise ValueError(f"--out: no such directory: {os.path.dirname(os.path.abspath(args.out))}")
    ws, scores, names = labelled_latents(args, config, overrides)
    outs = [os.path.join(args.out, f"{n}.npy") for n in names] if several else [args.out]
    num_ws = ws.shape[1] if ws.shape[1] > 1 else b.num_ws
    layers = directions.parse_layers(args.layers, num_ws)
    paths = []
    for k, (name, out) in enumerate(zip(names, outs)):
        x, y = directions.select_labelled(directions.latent_rows(ws), scores[:, k], b.chosen_ratio, b.min_per_class)
        fit = directions.train_boundary(x, y, b.steps, b.lr, b.l2, b.val_ratio, b.seed)
        array = directions.layered(fit["normal"], num_ws, layers)
        path = files.atomic_write(out, lambda tmp: np.save(tmp, array))
        val = "n/a" if fit["val_accuracy"] is None else f"{fit['val_accuracy']:.3f}"
        what = f" {name}:" if name else ""
        print(f"[train-direction]{what} {len(y)} of {len(scores)} latents used ({int(y.sum())} positive); loss "
              f"{fit['losses'][0]:.4f} -> {fit['losses'][-1]:.4f}; accuracy train {fit['train_accuracy']:.3f}, "
              f"val {val}", flush=True)
        print(f"[train-direction] {path}: {array.shape} unit normal in rows {layers[0]}-{layers[-1]}", flush=True)
        paths.append(path)
    return paths if several else paths[0]
