"""The dataset runner's outputs (`inversion3d invert DATASET`): per image, beside invert's own four
files, the reconstruction at the input camera and at every held-out camera of its scene, the pairs
`inversion3d eval` reads, and the time the inversion took.

  OUT/bench/STEM/v00.png, vNN.png     the method's render at the input view (00) and held-out view NN
  OUT/bench/STEM/v00_depth.npy, ...   its depth (float32 (R, R), distance along the ray, the renderer's
                                      image_depth at its neural rendering resolution R)
  OUT/bench/STEM.json                 the image's record: views (camera, paths, ground truth), time_s
  OUT/pairs.json                      every record's views as eval entries (rebuilt after each image)
  OUT/timing.json                     per-image seconds and their summary
Every file is written atomically and the record last, so a record marks a finished image: --resume
skips exactly the images with one, and a killed run leaves whole files only.

time_s is the wall time of the inversion of the image's batch (encoder or optimisation and the
input-view render, until the result is on the host) divided by the images in it; a batch that
compiled is marked `includes_compile` and left out of the summary when other batches exist.
"""
import json
import os

import numpy as np

from inversion3d import files, viz
from inversion3d.preprocess.pose import angles_from_label

BENCH_DIR = "bench"
PAIRS = "pairs.json"
TIMING = "timing.json"


def record_path(out_dir, stem):
    return os.path.join(out_dir, BENCH_DIR, f"{stem}.json")


def _save_npy(path, array):
    return files.atomic_write(path, lambda tmp: np.save(tmp, np.asarray(array, np.float32)))


def _angles(label):
    a = angles_from_label(label)
    return a["yaw"], a["elevation"]


def pair_entries(record):
    """A record's views as eval entries: name, method, yaw_deg (the view's yaw minus the input view's,
    wrapped to [-180, 180) degrees, so 0 = the input view, eval's convention), role ('input' / 'heldout'), view, yaw / pitch of the
    camera (degrees), camera, target / result (+ depth_result, depth_target, mask_target) and time_s
    (on the input entry; None on held-out views, which the inversion does not produce separately)."""
    views = record["views"]
    yaw0 = views[0]["yaw_abs_deg"]
    out = []
    for v in views:
        offset = (v["yaw_abs_deg"] - yaw0 + 180.0) % 360.0 - 180.0  # wrapped to [-180, 180): full-turn splits
        entry = {"name": record["name"], "method": record["method"], "yaw_deg": offset,
                 "role": v["role"], "view": v["view"], "yaw_abs_deg": v["yaw_abs_deg"], "pitch_deg": v["pitch_deg"],
                 "camera": v["camera"], "target": v["target"], "result": v["result"],
                 "depth_result": v["depth_result"], "depth_target": v.get("depth_target"),
                 "mask_target": v.get("mask_target"), "source": record["source"],
                 "time_s": record["time_s"] if v["role"] == "input" else None,
                 "includes_compile": record["includes_compile"]}
        out.append(entry)
    return out


def summarise_times(times):
    """{'n', 'mean_s', 'excluded_compile', 'includes_compile'} over (seconds, includes_compile) pairs:
    batches that compiled are left out when any other exists (else the mean includes compilation)."""
    warm = [t for t, compiled in times if not compiled]
    use = warm or [t for t, _ in times]
    return {"n": len(use), "mean_s": float(np.mean(use)) if use else None,
            "excluded_compile": bool(warm) and len(warm) < len(times),
            "includes_compile": bool(times) and not warm}


class Recorder:
    """Writes the dataset runner's files. held: {image path: [held-out view dicts]} (dataset_inputs);
    root: the dataset folder (None: photos). Finished images of earlier runs of the same method are
    read back from their records, so pairs.json always covers every finished image."""

    def __init__(self, out_dir, method, held, root=None):
        self.out_dir, self.method, self.held, self.root = out_dir, method, held, root
        self.records = {}
        folder = os.path.join(out_dir, BENCH_DIR)
        if os.path.isdir(folder):
            for name in sorted(os.listdir(folder)):
                if name.endswith(".json") and not name.startswith("."):
                    with open(os.path.join(folder, name), encoding="utf-8") as f:
                        rec = json.load(f)
                    if rec.get("method") == method:
                        self.records[rec["name"]] = rec

    def cameras(self, paths, chunk, input_cams):
        """(V, B, 25) held-out cameras of a batch (V: its most held-out views; shorter lists and padded
        batch rows repeat their input camera), or None when no image of the batch has any."""
        lists = [self.held.get(paths[i], []) for i in chunk]
        count = max((len(v) for v in lists), default=0)
        if count == 0:
            return None
        cams = np.repeat(np.asarray(input_cams, np.float32)[None], count, axis=0)  # (V, B, 25)
        for j, views in enumerate(lists):
            for k, v in enumerate(views):
                cams[k, j] = v["camera"]
        return cams

    def write(self, path, stem, input_cam, result, seconds, compiled, views=None):
        """Writes one image's render files and record (last); returns the paths written.
        result: the input-view {'image' (S, S, 3) [-1, 1], 'image_depth' (R, R, 1)}; views: the
        held-out renders {'image' (V, S, S, 3), 'image_depth' (V, R, R, 1)} (padding rows ignored)."""
        base = os.path.join(self.out_dir, BENCH_DIR, stem)
        yaw, pitch = _angles(input_cam)
        entries = [{"view": 0, "role": "input", "camera": [float(c) for c in input_cam], "target": os.path.abspath(path),
                    "depth_target": None, "mask_target": None, **self._input_truth(path)}]
        entries[0].update(yaw_abs_deg=yaw, pitch_deg=pitch)
        images, depths = [result["image"]], [result["image_depth"]]
        for k, v in enumerate(self.held.get(path, [])):
            yaw, pitch = _angles(v["camera"])
            entries.append({"view": v["view"], "role": "heldout", "camera": v["camera"], "target": v["target"],
                            "depth_target": v["depth_target"], "mask_target": v["mask_target"],
                            "yaw_abs_deg": yaw, "pitch_deg": pitch})
            images.append(views["image"][k])
            depths.append(views["image_depth"][k])
        written = []
        for e, image, depth in zip(entries, images, depths):
            name = f"v{e['view']:02d}"
            written.append(viz.save_png(f"{base}/{name}.png", viz.to_uint8(np.asarray(image))))
            written.append(_save_npy(f"{base}/{name}_depth.npy", np.asarray(depth).reshape(np.shape(depth)[:2])))
            e["result"] = os.path.relpath(written[-2], self.out_dir)
            e["depth_result"] = os.path.relpath(written[-1], self.out_dir)
        record = {"name": stem, "method": self.method, "source": os.path.abspath(path), "time_s": float(seconds),
                  "includes_compile": bool(compiled), "views": entries}
        written.append(files.write_json(record_path(self.out_dir, stem), record))
        self.records[stem] = record
        return written + self.flush()

    def _input_truth(self, path):
        """A dataset input's own depth / mask (the synthetic writer stores them for every view); none
        for photos."""
        if self.root is None:
            return {}
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(self.root))
        depth = os.path.join(os.path.abspath(self.root), "depth", os.path.splitext(rel)[0] + ".npy")
        mask = os.path.join(os.path.abspath(self.root), "masks", rel)
        return {"depth_target": depth if os.path.isfile(depth) else None,
                "mask_target": mask if os.path.isfile(mask) else None}

    def flush(self):
        """Rewrites OUT/pairs.json and OUT/timing.json from every finished record; returns their paths."""
        records = [self.records[k] for k in sorted(self.records)]
        pairs = [e for r in records for e in pair_entries(r)]
        times = [(r["time_s"], r["includes_compile"]) for r in records]
        timing = {"method": self.method, "images": [{"name": r["name"], "time_s": r["time_s"],
                                                     "includes_compile": r["includes_compile"]} for r in records],
                  "summary": summarise_times(times)}
        return [files.write_json(os.path.join(self.out_dir, PAIRS), pairs),
                files.write_json(os.path.join(self.out_dir, TIMING), timing)]
