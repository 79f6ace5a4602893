"""Editability numbers of the embedded default generator (issue 19), reproducible in one command:

  PYTHONPATH=. .venv/bin/python -m experiments.editability_default --data data/synth64 --out runs/editability \
      [--classifier inversion3d/assets/classifiers/synthetic-attributes] [--scenes 8] [--samples 2000] [--steps 50]

1. one InterFaceGAN direction per attribute of the classifier (one `train-direction --classifier` call: `--samples`
   generator samples scored once, per attribute the top / bottom 2 % but at least 10 each; configs/editing.py);
2. W+ inversions (`invert --method wplus`, MSE, `--steps` steps at lr 0.05: the tests' setting) of the first
   `--scenes` input views of the synthetic test split, at their true cameras;
3. `edit` of every inversion along every direction at strengths `--strengths` (input view only, tiny videos /
   meshes: only the editability pairs matter here);
4. `eval --data OUT/edit --classifier ...`: per direction the classifier's logit change per unit strength and
   the identity column, which without ArcFace weights is the random-CNN feature similarity (named so).
Every step skips what OUT already holds, so a rerun continues. Prints the editability table.
"""
import argparse
import json
import os

from inversion3d.app import cli
from inversion3d.assets import ROOT as ASSETS

CLASSIFIER = os.path.join(ASSETS, "classifiers", "synthetic-attributes")


def _call(argv):
    print("[editability] inversion3d " + " ".join(argv), flush=True)
    code = cli.main(argv)
    if code != 0:
        raise SystemExit(f"[editability] failed ({code}): inversion3d {' '.join(argv)}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="a `synth-data` root with the test split")
    p.add_argument("--out", required=True)
    p.add_argument("--classifier", default=CLASSIFIER)
    p.add_argument("--generator", default="default")
    p.add_argument("--scenes", type=int, default=8)
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--strengths", default="-3,3")
    args = p.parse_args(argv)
    from inversion3d.metrics.attributes import load_classifier

    attributes = load_classifier(args.classifier).attributes
    os.makedirs(os.path.join(args.out, "directions"), exist_ok=True)
    if not all(os.path.exists(os.path.join(args.out, "directions", f"{n}.npy")) for n in attributes):
        _call(["train-direction", "--classifier", args.classifier, "--attribute", ",".join(attributes), "--generator",
               args.generator, "--out", os.path.join(args.out, "directions"),
               f"--config.classifier.num_samples={args.samples}"])
    with open(os.path.join(args.data, "test_input.txt"), encoding="utf-8") as f:
        images = [os.path.join(args.data, line.strip()) for line in f if line.strip()][:args.scenes]
    inv = os.path.join(args.out, "inv")
    _call(["invert", *images, "--camera", os.path.join(args.data, "dataset.json"), "--method", "wplus",
           "--generator", args.generator, "--steps", str(args.steps), "--config.optim.lr=0.05", "--views", "1",
           "--batch", str(len(images)), "--out", inv, "--resume"])
    edit = os.path.join(args.out, "edit")
    for image in images:
        stem = os.path.splitext(os.path.basename(image))[0]
        for name in attributes:
            if os.path.exists(os.path.join(edit, f"{stem}_{name}.npz")):
                continue
            _call(["edit", "--latent", os.path.join(inv, f"{stem}.npz"), "--direction",
                   os.path.join(args.out, "directions", f"{name}.npy"), "--strength", args.strengths, "--frames", "2",
                   "--config.outputs.yaws_deg=(0.0,)", "--config.outputs.shape_resolution=32", "--out", edit])
    report = os.path.join(args.out, "report")
    _call(["eval", "--data", edit, "--out", report, "--classifier", args.classifier])
    with open(os.path.join(report, "report.json"), encoding="utf-8") as f:
        table = json.load(f)["tables"]["editability"]
    print("| " + " | ".join(table["header"]) + " |")
    for row in table["rows"]:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
