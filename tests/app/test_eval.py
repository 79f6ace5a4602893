"""`inversion3d eval` on pseudo-pairs from the embedded default generator (truncation 0.7 targets vs a
truncation 0.5 "method"), plus exact checks of the reported numbers and of the error paths."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from inversion3d.app import cli, loading
from inversion3d.metrics import image
from inversion3d.metrics.pseudo_pairs import truncation_method, write_generator_pairs

YAWS = (0.0, 30.0, -30.0)


@pytest.fixture(scope="module")
def pairs_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("pairs")
    gen = loading.open_generator("default")
    write_generator_pairs(gen, str(out), YAWS, 2, truncation_method(0.5), method="trunc05")
    write_generator_pairs(gen, str(out), YAWS, 1, truncation_method(0.7), method="same")
    return out


def _img(path):
    return np.asarray(Image.open(path).convert("RGB"), np.float32)[None] / 127.5 - 1.0


def test_eval_report(pairs_dir, tmp_path, capsys):
    out = tmp_path / "report"
    assert cli.main(["eval", "--data", str(pairs_dir), "--out", str(out)]) == 0
    for ext in ("csv", "md", "html", "json"):
        assert (out / f"report.{ext}").stat().st_size > 0
    rep = json.loads((out / "report.json").read_text())
    assert set(rep["missing"]) >= {"LPIPS", "ID", "FID"}
    assert "--lpips-backbone/--lpips-heads not given" in rep["missing"]["LPIPS"]
    assert "--inception not given" in rep["missing"]["FID"]
    md = (out / "report.md").read_text()
    assert "| method | MSE | LPIPS | FID | ID | time s | ±30° LPIPS | ±30° ID |" in md
    assert "| method | L2 | LPIPS | ID | FID | time s |" in md
    assert "LPIPS: --lpips-backbone/--lpips-heads not given" in md
    html = (out / "report.html").read_text()
    assert "<img src='grids/trunc05__seed000.png'" in html and (out / "grids" / "trunc05__seed000.png").exists()
    # numbers equal a direct computation for one pair
    entry = next(e for e in rep["images"] if e["method"] == "trunc05" and e["yaw_deg"] == 30.0)
    x, y = _img(entry["result"]), _img(entry["target"])
    assert entry["metrics"]["mse"] == pytest.approx(float(image.mse(x, y)[0]), rel=1e-6)
    assert entry["metrics"]["psnr"] == pytest.approx(float(image.psnr(x, y)[0]), rel=1e-6)
    assert entry["metrics"]["mse"] > 0 and "lpips" not in entry["metrics"]
    # identical target / result (truncation 0.7 both) -> MSE 0, SSIM 1
    same = rep["summary"]["same"]["views"]
    assert same["input"]["mse"] == 0.0 and same["±30°"]["mse"] == 0.0
    assert same["input"]["ssim"] == pytest.approx(1.0)
    assert rep["summary"]["trunc05"]["views"]["input"]["n"] == 2
    assert rep["summary"]["trunc05"]["views"]["±30°"]["n"] == 4
    csv_text = (out / "report.csv").read_text()
    assert csv_text.splitlines()[0].startswith("method,view,n,mse,psnr,ssim,lpips,id")


def test_eval_method_filter(pairs_dir, tmp_path):
    out = tmp_path / "r"
    assert cli.main(["eval", "--data", str(pairs_dir), "--out", str(out), "--method", "same"]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert list(rep["summary"]) == ["same"]


@pytest.mark.parametrize("mutate, needle", [
    (lambda p: p[1].pop("target"), "entry 1: missing 'target'"),
    (lambda p: p[0].update(yaw_deg="left"), "entry 0: 'yaw_deg' has the wrong type"),
    (lambda p: p[2].update(result="nope.png"), "entry 2 ('seed000'): result image not found"),
])
def test_bad_pairs_json(pairs_dir, tmp_path, capsys, mutate, needle):
    data = tmp_path / "data"
    shutil.copytree(pairs_dir, data)
    pairs = json.loads((data / "pairs.json").read_text())
    mutate(pairs)
    (data / "pairs.json").write_text(json.dumps(pairs))
    assert cli.main(["eval", "--data", str(data), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err and "pairs.json" in err


def test_not_json(tmp_path, capsys):
    (tmp_path / "pairs.json").write_text("[{")
    assert cli.main(["eval", "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "pairs.json: not valid JSON" in err and len(err.strip().splitlines()) == 1


def test_eval_fid_with_inception_weights(pairs_dir, tmp_path, capsys):
    """--inception: per-method FID from a torch-saved (random) FID network equals a direct computation."""
    torch = pytest.importorskip("torch")
    from converters.inception import load_inception_variables
    from inversion3d.metrics import fid
    from tests.metrics.test_inception import Net

    torch.manual_seed(0)
    net = Net().eval()
    torch.save(net.state_dict(), tmp_path / "inception.pth")
    out = tmp_path / "report"
    assert cli.main(["eval", "--data", str(pairs_dir), "--out", str(out), "--method", "trunc05",
                     "--inception", str(tmp_path / "inception.pth")]) == 0, capsys.readouterr().err
    rep = json.loads((out / "report.json").read_text())
    assert "FID" not in rep["missing"]
    entries = [e for e in json.loads((pairs_dir / "pairs.json").read_text()) if e["method"] == "trunc05"]
    variables = load_inception_variables(tmp_path / "inception.pth")
    feats = {k: fid.inception_features(variables, np.concatenate([_img(pairs_dir / e[k]) for e in entries]))
             for k in ("result", "target")}
    want = fid.frechet_distance(*fid.feature_statistics(feats["result"]), *fid.feature_statistics(feats["target"]))
    np.testing.assert_allclose(rep["fid"]["trunc05"], want, rtol=1e-6)
