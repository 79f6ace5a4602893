"""`inversion3d eval`: pairs.json (target / result PNGs per method and yaw) -> the report of
inversion3d.metrics.report. MSE / PSNR / SSIM always; LPIPS and ID when their weights are given;
FID (per method: all its results vs all its targets, Inception-v3 pool3) needs --inception.
Images in [0, 255] -> [-1, 1] at 256². Entries with an "edit" (written by `inversion3d edit`: target =
the inversion, result = the edit, both at the input camera) go into the editability table instead
(In-N-Out Table 2: ArcFace ID per edit with --arcface, else a random-CNN feature similarity named as
such; the attribute change per unit strength from --classifier, or when entries carry "score_before" /
"score_after")."""
import json
import os

import numpy as np

from inversion3d import images
from inversion3d.images import DEFAULT_MAX_PIXELS

REQUIRED = {"name": str, "method": str, "yaw_deg": (int, float), "target": str, "result": str}
FID_REASON = "--inception not given (FID Inception-v3 weights, torchvision layout)"
GEO_REASON = "no pseudo-ground-truth depth model (3D face reconstruction) ported"
CHUNK = 16


def read_pairs(data_dir, methods=None):
    """Validated entries of DATA/pairs.json with absolute image paths; ValueError (one line) naming
    the file and the entry otherwise. methods: keep only these (ValueError if one has no entry)."""
    path = os.path.join(data_dir, "pairs.json")
    if not os.path.isfile(path):
        raise ValueError(f"--data: no pairs.json in {data_dir}")
    try:
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: expected a non-empty list of pair entries")
    out = []
    for i, e in enumerate(entries):
        where = f"{path}: entry {i}"
        if not isinstance(e, dict):
            raise ValueError(f"{where}: expected an object, got {type(e).__name__}")
        for key, kind in REQUIRED.items():
            if key not in e:
                raise ValueError(f"{where}: missing {key!r}")
            if not isinstance(e[key], kind) or isinstance(e[key], bool):
                raise ValueError(f"{where}: {key!r} has the wrong type ({type(e[key]).__name__})")
        t = e.get("time_s")
        if t is not None and (not isinstance(t, (int, float)) or isinstance(t, bool) or t < 0):
            raise ValueError(f"{where}: 'time_s' must be a non-negative number or null, got {t!r}")
        if "edit" in e and not isinstance(e["edit"], str):
            raise ValueError(f"{where}: 'edit' must be a direction / edit name (string), got {e['edit']!r}")
        item = dict(e, yaw_deg=float(e["yaw_deg"]), time_s=None if t is None else float(t))
        for key in ("target", "result"):
            full = e[key] if os.path.isabs(e[key]) else os.path.join(data_dir, e[key])
            if not os.path.isfile(full):
                raise ValueError(f"{where} ({e['name']!r}): {key} image not found: {full}")
            item[key] = full
        out.append(item)
    if methods:
        unknown = [m for m in methods if m not in {e["method"] for e in out}]
        if unknown:
            raise ValueError(f"--method: {path} has no entries for {unknown}")
        out = [e for e in out if e["method"] in methods]
    return out


def load_image(path, max_pixels=DEFAULT_MAX_PIXELS):
    """PNG in [0, 255] -> (H, W, 3) float32 in [-1, 1] (inversion3d/images.py: pixel limit, EXIF
    orientation, conversion by range); ValueError naming the file when unreadable."""
    try:
        return images.read_rgb(path, max_pixels).astype(np.float32) / 127.5 - 1.0
    except images.ImageError as err:
        raise ValueError(str(err).replace("cannot read the image", "not a readable image")) from None


def compute_metrics(entries, lpips=None, arcface=None, max_pixels=DEFAULT_MAX_PIXELS):
    """Per-entry metric dicts. lpips / arcface: (module, variables) or None."""
    from inversion3d.losses.identity import id_similarity
    from inversion3d.metrics.image import at_metric_resolution, mse, psnr, ssim

    results = [dict() for _ in entries]
    for start in range(0, len(entries), CHUNK):
        part = entries[start:start + CHUNK]
        x = np.concatenate([np.asarray(at_metric_resolution(load_image(e["result"], max_pixels)[None])) for e in part])
        y = np.concatenate([np.asarray(at_metric_resolution(load_image(e["target"], max_pixels)[None])) for e in part])
        values = {"mse": mse(x, y), "psnr": psnr(x, y), "ssim": ssim(x, y)}
        if lpips is not None:
            values["lpips"] = lpips[0].apply(lpips[1], x, y)
        if arcface is not None:
            values["id"] = id_similarity(arcface[0], arcface[1], x, y)
        for k, v in values.items():
            for j, val in enumerate(np.asarray(v, np.float64)):
                results[start + j][k] = float(val)
    return results


def method_fid(entries, inception_path, max_pixels=DEFAULT_MAX_PIXELS):
    """{method: FID between the Inception features of its results and of its targets}."""
    from converters.inception import load_inception_variables
    from inversion3d.metrics import fid

    variables = load_inception_variables(inception_path)
    out = {}
    for method in sorted({e["method"] for e in entries}):
        mine = [e for e in entries if e["method"] == method]
        if len(mine) < 2:
            continue  # a covariance needs two images
        feats = {k: fid.inception_features(variables, np.stack([load_image(e[k], max_pixels) for e in mine]))
                 for k in ("result", "target")}
        out[method] = fid.frechet_distance(*fid.feature_statistics(feats["result"]),
                                           *fid.feature_statistics(feats["target"]))
    return out


def evaluate(data_dir, out_dir, methods=None, lpips_backbone=None, lpips_heads=None, lpips_net="alex",
             arcface=None, grids=True, inception=None, max_pixels=DEFAULT_MAX_PIXELS, classifier=None,
             attribute=None):
    """Reads DATA/pairs.json, computes the metrics, writes the report; returns the paths written.
    Everything a user gives is checked before any network loads. classifier: a classifier directory
    (metrics/attributes.py) scoring the edit entries; attribute: its logit to use (default: the
    attribute each edit is named after)."""
    import jax

    from inversion3d.files import check_writable_dir
    from inversion3d.metrics.report import view_label, write_report

    images.check_max_pixels(max_pixels)
    entries = read_pairs(data_dir, methods)
    check_writable_dir(out_dir)
    check_weight_paths(lpips_backbone, lpips_heads, arcface, inception)
    clf = None
    if classifier:
        from inversion3d.metrics.attributes import load_classifier

        clf = load_classifier(classifier)
        if attribute is not None:
            clf.index(attribute)
    elif attribute is not None:
        raise ValueError("--attribute: only with --classifier")
    missing = {"Geo. Err.": GEO_REASON}
    if not inception:
        missing["FID"] = FID_REASON
    lp, arc, absent = metric_networks(lpips_backbone, lpips_heads, lpips_net, arcface)
    missing.update(absent)
    edit_entries = [e for e in entries if "edit" in e]
    entries = [e for e in entries if "edit" not in e]
    metrics = compute_metrics(entries, lp, arc, max_pixels)
    records = [{"name": e["name"], "method": e["method"], "yaw_deg": e["yaw_deg"], "view": _view(e, view_label),
                "time_s": e["time_s"], "target": e["target"], "result": e["result"], "metrics": m}
               for e, m in zip(entries, metrics)]
    meta = {"data": os.path.abspath(data_dir), "device": str(jax.devices()[0]), "lpips_net": lpips_net if lp else None,
            "notes": ["Images compared at 256x256 in [-1, 1]; MSE = L2; PSNR with data range 2; SSIM from "
                      "scikit-image (Gaussian window).",
                      "Input-view columns use yaw 0 entries; novel views are pooled into |yaw| bins.",
                      "time s: mean time_s of the input-view entries as given in pairs.json.",
                      f"Metrics computed on {jax.devices()[0]}."]}
    fids = method_fid(entries, inception, max_pixels) if inception else None
    if clf is not None:
        meta["classifier"] = {"path": os.path.abspath(classifier), "attributes": list(clf.attributes)}
    if edit_entries and arc is None:
        from inversion3d.metrics.editability import FEATURE_SIM

        meta["notes"].append(f"Editability: without ArcFace weights the identity column is '{FEATURE_SIM}': cosine "
                             f"of a fixed random CNN's feature maps (seed 0), a stand-in, not an identity metric.")
    return write_report(out_dir, records, missing, meta, fid=fids, grids=grids,
                        editability=editability(edit_entries, arc, max_pixels, clf, attribute))


def _view(entry, view_label):
    """report.view_label of the entry's yaw; entries of `invert DATASET` say their role, so a held-out
    view at the input's yaw (a pitch view) is not counted as the input view."""
    role = entry.get("role")
    if role == "heldout":
        return f"±{round(abs(entry['yaw_deg'])):d}°"
    return "input" if role == "input" else view_label(entry["yaw_deg"])


def check_weight_paths(lpips_backbone=None, lpips_heads=None, arcface=None, inception=None):
    """One-line errors for weight files that do not exist or an LPIPS half without the other."""
    for flag, path in (("--lpips-backbone", lpips_backbone), ("--lpips-heads", lpips_heads), ("--arcface", arcface),
                       ("--inception", inception)):
        if path and not os.path.exists(path):
            raise ValueError(f"{flag}: no such file or directory: {path}")
    if bool(lpips_backbone) != bool(lpips_heads):
        raise ValueError("--lpips-backbone and --lpips-heads: give both or neither")


def metric_networks(lpips_backbone=None, lpips_heads=None, lpips_net="alex", arcface=None):
    """(lpips, arcface, missing): (module, variables) of the networks whose weights were given (else
    None) and {metric: why it is missing} for the others."""
    check_weight_paths(lpips_backbone, lpips_heads, arcface)
    lp = arc = None
    missing = {}
    if lpips_backbone and lpips_heads:
        from converters.lpips import load_lpips_variables
        from inversion3d.losses.lpips import LPIPS

        lp = (LPIPS(lpips_net), load_lpips_variables(lpips_net, lpips_backbone, lpips_heads))
    else:
        missing["LPIPS"] = "--lpips-backbone/--lpips-heads not given"
    if arcface:
        from inversion3d.encoders_api import load_encoder

        enc = load_encoder(arcface, "arcface")
        arc = (enc.modules["arcface"], enc.variables["arcface"])
    else:
        missing["ID"] = "--arcface not given (ArcFace IR-SE50 .pth or converted directory)"
    return lp, arc, missing


def editability(entries, arcface, max_pixels=DEFAULT_MAX_PIXELS, classifier=None, attribute=None):
    """metrics/editability.table of the edit entries (None when there are none): ID between target
    (the inversion) and result (the edit) with `arcface`, else the random-CNN feature similarity
    (editability.FEATURE_SIM); the attribute change per unit strength from `classifier` (an
    AttributeClassifier: the logit of `attribute`, or of the attribute the edit is named after), else
    from the entries' score_before / score_after."""
    from inversion3d.metrics import editability as ed

    if not entries:
        return None
    ids, sims, scores = [None] * len(entries), [None] * len(entries), [None] * len(entries)
    for start in range(0, len(entries), CHUNK):
        part = entries[start:start + CHUNK]
        x, y = (np.stack([load_image(e[k], max_pixels) for e in part]) for k in ("target", "result"))
        if arcface is not None:
            ids[start:start + len(part)] = ed.id_preservation(arcface[0], arcface[1], x, y).tolist()
        elif x.shape[1] == x.shape[2]:
            sims[start:start + len(part)] = ed.feature_similarity(x, y).tolist()
        if classifier is not None:
            logits = [classifier.logits(x), classifier.logits(y)]
            for j, e in enumerate(part):
                name = attribute if attribute is not None else e["edit"]
                if attribute is not None or name in classifier.attributes:
                    k = classifier.index(name)
                    scores[start + j] = (float(logits[0][j, k]), float(logits[1][j, k]))
    records = []
    for e, sim, feat, score in zip(entries, ids, sims, scores):
        if score is None and isinstance(e.get("score_before"), (int, float)) \
                and isinstance(e.get("score_after"), (int, float)):
            score = (float(e["score_before"]), float(e["score_after"]))
        change = None
        if score is not None:
            strength = e.get("strength")
            per = strength if isinstance(strength, (int, float)) and strength else None
            change = (score[1] - score[0]) / (per or 1.0)
        records.append({"method": e["method"], "edit": e["edit"],
                        "metrics": {"id": sim, "feature_sim": feat, "attribute_change": change}})
    return ed.table(records)


def run(args, overrides=()):
    """`inversion3d eval` without --benchmark (app/benchmark.py dispatches): writes the report and
    prints the paths written."""
    if getattr(args, "runs", None):
        raise ValueError(f"RUN: only used with --benchmark (got {args.runs[0]}); without it pass --data DIR")
    if not args.data:
        raise ValueError("--data: required (a folder with pairs.json), or --benchmark synthetic-multiview RUN...")
    if overrides:
        raise ValueError(f"{overrides[0].split('=', 1)[0]}: only used with --benchmark")
    paths = evaluate(args.data, args.out, args.method, args.lpips_backbone, args.lpips_heads, args.lpips_net,
                     args.arcface, inception=args.inception, max_pixels=args.max_pixels,
                     classifier=getattr(args, "classifier", None), attribute=getattr(args, "attribute", None))
    for kind, path in paths.items():
        print(f"[eval] {kind}: {path}")
    return paths
