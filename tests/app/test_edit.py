"""`inversion3d edit`, `train-direction` and the editability table of `eval`, end to end on the embedded
default generator (neural resolution 16, 8 + 8 samples) with a tiny W+ inversion (2 steps); a tiny
random-weight attribute classifier (32 px) stands in for a real one."""
import json

import numpy as np
import pytest
from PIL import Image

from inversion3d.app import cli
from inversion3d.editing import directions
from tests.inversion.test_wplus_pti import GEN_OVERRIDES

EDIT_CONFIG = ["--config.outputs.shape_resolution=16", "--config.outputs.yaws_deg=(-20.0,0.0,20.0)"]


@pytest.fixture(scope="module")
def inverted(tmp_path_factory):
    d = tmp_path_factory.mktemp("edit")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(d / "a.png")
    assert cli.main(["invert", str(d / "a.png"), "--method", "wplus", "--generator", "default", "--camera", "frontal",
                     "--out", str(d / "inv"), "--steps", "2", "--views", "1", "--config.w_avg_samples=200",
                     *GEN_OVERRIDES]) == 0
    # the packaged default (64 px) has 10 ws
    np.save(d / "age.npy", directions.layered(np.random.RandomState(0).randn(512) / np.sqrt(512), 10))
    return d


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory):
    import jax

    from inversion3d.metrics.attributes import build, save_classifier

    config = dict(num_outputs=2, layers=[1, 1, 1, 1], widths=[4, 4, 4, 4], block="basic", stem_width=4)
    module, _ = build(config)
    variables = module.init(jax.random.PRNGKey(3), np.zeros((1, 32, 32, 3), np.float32))
    path = tmp_path_factory.mktemp("clf") / "clf"
    save_classifier(path, variables, config, {"input_size": 32, "mean": [0.5] * 3, "std": [0.5] * 3},
                    ["smile", "age"], "test")
    return str(path)


def _npz(path):
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def test_invert_npz_names_its_generator(inverted):
    res = _npz(inverted / "inv" / "a.npz")
    assert str(res["generator"]) == "default" and str(res["generator_kind"]) == "eg3d"
    assert list(res["generator_overrides"]) == GEN_OVERRIDES


def test_edit_direction_writes_strips_video_mesh_and_pairs(inverted, classifier_dir, capsys):
    out = inverted / "ed"
    assert cli.main(["edit", "--latent", str(inverted / "inv" / "a.npz"), "--direction", str(inverted / "age.npy"),
                     "--strength", "-1:1:3", "--frames", "2", "--out", str(out), *EDIT_CONFIG]) == 0, \
        capsys.readouterr().err
    for suffix in ("_strip.png", "_depth.png", ".mp4", ".mrc", ".npz", "_input.png", "_sm1.png", "_sp1.png"):
        assert (out / f"a_age{suffix}").is_file(), suffix
    assert Image.open(out / "a_age_strip.png").size == (3 * 64, 3 * 64)  # yaws x strengths
    edit, inv = _npz(out / "a_age.npz"), _npz(inverted / "inv" / "a.npz")
    np.testing.assert_array_equal(edit["planes"][1], inv["planes"])  # strength 0: the inversion exactly
    np.testing.assert_array_equal(edit["ws"][1], inv["ws"])
    np.testing.assert_allclose(edit["ws"][2] - inv["ws"], np.load(inverted / "age.npy")[0], atol=1e-5)
    pairs = json.loads((out / "pairs.json").read_text())
    assert [(p["edit"], p["strength"]) for p in pairs] == [("age", -1.0), ("age", 1.0)]
    rep = inverted / "rep"
    assert cli.main(["eval", "--data", str(out), "--out", str(rep)]) == 0
    report = json.loads((rep / "report.json").read_text())
    assert report["editability"]["wplus"]["age"]["n"] == 2
    assert report["tables"]["editability"]["header"] == ["method", "age feature sim (random CNN)",
                                                         "avg feature sim (random CNN)"]
    assert "--arcface not given" in report["missing"]["ID"]
    assert -1 <= report["editability"]["wplus"]["age"]["feature_sim"] < 1  # the edit changed the image
    # --classifier: the change of the 'age' logit per unit strength, from the PNGs eval reads
    from inversion3d.app.eval import load_image
    from inversion3d.metrics.attributes import load_classifier

    assert cli.main(["eval", "--data", str(out), "--out", str(inverted / "rep2"), "--classifier", classifier_dir]) == 0
    report = json.loads((inverted / "rep2" / "report.json").read_text())
    clf = load_classifier(classifier_dir)
    want = np.mean([(clf.scores(load_image(out / p["result"])[None], "age")[0]
                     - clf.scores(load_image(out / p["target"])[None], "age")[0]) / p["strength"] for p in pairs])
    np.testing.assert_allclose(report["editability"]["wplus"]["age"]["attribute_change"], want, rtol=1e-5, atol=1e-6)
    assert report["tables"]["editability"]["header"][-2:] == ["age attr. change / strength",
                                                              "avg attr. change / strength"]
    # --arcface (an official-layout IR-SE-50 file, narrow random weights): the ID column is the ArcFace cosine
    from inversion3d.encoders_api import load_encoder
    from inversion3d.metrics.editability import id_preservation
    from tests.inversion import synthetic as syn

    arc_path = inverted / "arcface.pth"
    syn.official_file(arc_path, "arcface", {"arcface": dict(input_size=112, num_layers=50,
                                                            widths=list(syn.SMALL_WIDTHS), embedding=32)}, seed=3)
    assert cli.main(["eval", "--data", str(out), "--out", str(inverted / "rep3"), "--arcface", str(arc_path)]) == 0
    report = json.loads((inverted / "rep3" / "report.json").read_text())
    assert "ID" not in report["missing"] and report["tables"]["editability"]["header"][1:] == ["age ID", "avg ID"]
    enc = load_encoder(str(arc_path), "arcface")
    x, y = (np.stack([load_image(out / p[k]) for p in pairs]) for k in ("target", "result"))
    want = np.mean(id_preservation(enc.modules["arcface"], enc.variables["arcface"], x, y))
    np.testing.assert_allclose(report["editability"]["wplus"]["age"]["id"], want, rtol=1e-5, atol=1e-6)


def test_edit_reference_region(inverted, capsys):
    """--region hair (configs/editing.py's box) copies part of every plane from the reference; the rest
    stays the target's exactly (the mask identities themselves: tests/editing/test_reference.py)."""
    inv = _npz(inverted / "inv" / "a.npz")
    np.savez(inverted / "other.npz", **dict(inv, planes=inv["planes"] + 1.0))
    out = inverted / "ref"
    assert cli.main(["edit", "--latent", str(inverted / "inv" / "a.npz"), "--reference", str(inverted / "other.npz"),
                     "--region", "hair", "--frames", "2", "--out", str(out), "--config.reference.feather_sigma=0",
                     "--density-threshold", "-1e9", "--config.reference.grid=16",  # the density path, every point kept
                     *EDIT_CONFIG]) == 0, capsys.readouterr().err
    res = _npz(out / "a_ref-hair.npz")["planes"]
    np.testing.assert_array_equal(res[0], inv["planes"])  # rows: target, reference, result
    copied = res[2] == inv["planes"] + 1.0
    kept = res[2] == inv["planes"]
    assert np.all(copied | kept)  # a hard mask: every value is the target's or the reference's
    frac = copied.mean(axis=(1, 2, 3))
    assert np.all((0 < frac) & (frac < 1)), frac
    assert (out / "a_ref-hair.mp4").is_file() and (out / "a_ref-hair_strip.png").is_file()


def test_train_direction_cli(tmp_path, capsys):
    rng = np.random.RandomState(5)
    n = rng.randn(512)
    n /= np.linalg.norm(n)
    lines = ["file,score"]
    for i in range(100):
        score = rng.randn()
        w = (0.05 * rng.randn(512) + score * n).astype(np.float32)
        np.save(tmp_path / f"w{i}.npy", np.repeat(w[None, None], 14, axis=1))  # (1, 14, 512)
        lines.append(f"w{i},{score}")
    (tmp_path / "scores.csv").write_text("\n".join(lines) + "\n")
    assert cli.main(["train-direction", "--latents", str(tmp_path), "--labels", str(tmp_path / "scores.csv"),
                     "--out", str(tmp_path / "d.npy"), "--config.boundary.chosen_ratio=0.2"]) == 0, capsys.readouterr().err
    d = np.load(tmp_path / "d.npy")
    assert d.shape == (1, 14, 512)
    assert float(d[0, 0] @ n) > 0.9 and np.array_equal(d[0, 0], d[0, 13])
    assert "40 of 100 latents used (20 positive)" in capsys.readouterr().out


def test_train_direction_from_classifier(tmp_path, inverted, classifier_dir, capsys):
    """InterFaceGAN's protocol on generator samples scored by a classifier checkpoint: 24 samples, the
    top / bottom 10 (configs/editing.py min_per_class) fitted; the released layout written."""
    assert cli.main(["train-direction", "--classifier", classifier_dir, "--attribute", "age,0", "--generator",
                     "default",
                     "--out", str(tmp_path), "--config.classifier.num_samples=24",
                     "--config.classifier.batch=8", *GEN_OVERRIDES]) == 0, capsys.readouterr().err
    num_ws, w_dim = _npz(inverted / "inv" / "a.npz")["ws"].shape[-2:]  # the default's (read, not assumed)
    for name in ("age", "smile"):  # one sample set scored by both logits (index 0 = smile)
        d = np.load(tmp_path / f"{name}.npy")
        assert d.shape == (1, num_ws, w_dim) and np.array_equal(d[0, 0], d[0, -1])
        np.testing.assert_allclose(np.linalg.norm(d[0], axis=1), 1.0, rtol=1e-5)
    assert capsys.readouterr().out.count("20 of 24 latents used (10 positive)") == 2
    assert cli.main(["train-direction", "--classifier", classifier_dir, "--attribute", "bald",
                     "--out", str(tmp_path / "b.npy")]) == 2
    assert "--attribute: 'bald' is none of" in capsys.readouterr().err


def test_edit_flag_errors(inverted, capsys):
    base = ["edit", "--latent", str(inverted / "inv" / "a.npz"), "--out", str(inverted / "x")]
    cases = [(base, "--direction / --reference: give exactly one"),
             (base + ["--direction", str(inverted / "nope.npy")], "--direction: no such file"),
             (base + ["--reference", str(inverted / "inv" / "a.npz")], "--region: --reference needs it"),
             (base + ["--reference", str(inverted / "inv" / "a.npz"), "--region", "ears"], "--region: expected one of"),
             (base + ["--direction", str(inverted / "age.npy"), "--strength", "a:b"], "--strength: expected")]
    for argv, message in cases:
        assert cli.main(argv) == 2
        assert message in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("method", ["goae", "pti"])
def test_edit_goae_and_pti_results(inverted, method, capsys):
    """GOAE (AFA feature carried, §2) and PTI (the tuned generator) results through the CLI: strength 0
    is the inversion exactly, a nonzero strength moves the planes."""
    from tests.inversion import synthetic as syn

    d = inverted
    if method == "goae":
        syn.official_file(d / "goae.pt", "goae", {"goae": syn.goae_config()}, seed=1)
        syn.official_file(d / "afa.pt", "goae", {"afa": syn.afa_config()}, seed=2)
        extra = ["--encoder", str(d / "goae.pt"), "--afa", str(d / "afa.pt")]
    else:
        extra = ["--steps", "2", "--config.pivot.w_avg_samples=200"]
    assert cli.main(["invert", str(d / "a.png"), "--method", method, "--generator", "default", "--camera", "frontal",
                     "--out", str(d / method), "--views", "1", *extra, *GEN_OVERRIDES]) == 0, capsys.readouterr().err
    assert cli.main(["edit", "--latent", str(d / method / "a.npz"), "--direction", str(d / "age.npy"),
                     "--strength", "-2,0,2", "--frames", "2", "--out", str(d / f"{method}_edit"), *EDIT_CONFIG]) == 0
    edit, inv = _npz(d / f"{method}_edit" / "a_age.npz"), _npz(d / method / "a.npz")
    np.testing.assert_array_equal(edit["planes"][1], inv["planes"])
    assert np.abs(edit["planes"][2] - inv["planes"]).mean() > 1e-3
