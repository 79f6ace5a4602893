"""`inversion3d invert` on the tiny random-weight generators (configs/tiny_eg3d.py, the 128 px EG3D the
encoders' synthetic files are sized for; 'default-panohead') with converted random-weight encoders
(issue 6, deliverable 5): every method writes its files, the latents are the encoders' own codes,
results are deterministic, and bad inputs fail early with one line naming the file."""
import json

import jax
import numpy as np
import pytest
from PIL import Image

from inversion3d import load_encoder
from inversion3d.app import cli, loading
from inversion3d.app.inputs import read_image
from inversion3d.inversion.common import generator_planes, resize_image, w_avg
from tests.inversion import synthetic as syn
from tests.tolerances import assert_close_f32

AVG = np.linspace(-0.5, 0.5, 512, dtype=np.float32)
SUFFIXES = ("_recon.png", "_views.png", "_depth.png", ".npz")
TINY = f"{loading.CONFIG_DIR}/tiny_eg3d.py"  # 14 ws, 128 px: what the synthetic encoders fit (not the trained 64 px default)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("invert")
    syn.official_encoder_files(d, AVG)
    assert cli.main(["convert", str(d / "psp.pt"), str(d / "psp_dir")]) == 0
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (100, 100, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(d / "a.png")
    Image.fromarray(rgb).save(d / "a_copy.png")
    Image.fromarray(rng.integers(0, 256, (128, 128), dtype=np.uint8)).save(d / "gray.png")
    Image.fromarray(rng.integers(0, 256, (128, 128, 4), dtype=np.uint8)).save(d / "rgba.png")
    return d


def _invert(files, out, method, encoders, images=("a.png",), generator=TINY, extra=()):
    args = ["invert", *[str(files / i) for i in images], "--method", method, "--generator", generator,
            "--camera", "frontal", "--out", str(out), "--views", "2", *extra]
    for flag, name in zip(("--encoder", "--afa" if method == "goae" else "--encoder2"), encoders):
        args += [flag, str(files / name)]
    return cli.main(args)


def _outputs(out, stem):
    for suffix in SUFFIXES:
        assert (out / f"{stem}{suffix}").is_file(), stem + suffix
    with np.load(out / f"{stem}.npz") as data:
        return {k: data[k] for k in data.files}


def _encode(enc, name, image, size, avg):
    module = enc.modules[name]
    out = jax.jit(module.apply)(enc.variables[name], resize_image(image[None], size), latent_avg=avg)
    return np.asarray((out[0] if isinstance(out, tuple) else out)[0])  # GOAE also returns ws_base


@pytest.mark.parametrize("method,encoder", [("psp", "psp_dir"), ("e4e", "e4e.pt")])
def test_psp_e4e(files, tmp_path, method, encoder, capsys):
    assert _invert(files, tmp_path, method, [encoder], ("a.png", "gray.png"), extra=["--batch", "3"]) == 0  # padded
    out, err = capsys.readouterr()
    assert "a.png: resized 100x100 -> 32x32" in out and "gray.png: L image converted to RGB" in err
    res = _outputs(tmp_path, "a")
    assert not np.array_equal(res["ws"], _outputs(tmp_path, "gray")["ws"])
    assert res["ws"].shape == (14, 512) and res["planes"].shape == (3, 256, 256, 32)
    assert res["view_cameras"].shape == (2, 25) and str(res["method"]) == method
    enc = load_encoder(files / encoder)
    want = _encode(enc, method, read_image(files / "a.png", 32), 32, AVG)
    assert_close_f32(res["ws"], want, n_reduce=512)  # batch 3 (padded) vs 1: float32 rounding, w_dim terms


@pytest.fixture(scope="module")
def default_gen():
    return loading.open_generator(TINY)


def test_goae_batched_deterministic(files, tmp_path, default_gen):
    images = ("a.png", "a_copy.png")
    assert _invert(files, tmp_path, "goae", ["goae.pt", "afa.pt"], images, extra=["--batch", "2"]) == 0
    a, copy = (_outputs(tmp_path, s) for s in ("a", "a_copy"))
    # The same image in another batch slot: the same result to float32 rounding (XLA may sum in another
    # order per slot). ws and planes: longest contraction w_dim = 512 (encoder heads, style affines).
    # mask: in [0, 1], the blur (9 + 9 taps) of a thresholded mask; a threshold has no float tolerance,
    # so this assumes no surface point lies within rounding of a cell edge (here no cell is seen at all).
    assert_close_f32(copy["ws"], a["ws"], n_reduce=512, err_msg="ws")
    assert_close_f32(copy["planes"], a["planes"], n_reduce=512, err_msg="planes")
    assert_close_f32(copy["mask"], a["mask"], n_reduce=18, scale=1.0, err_msg="mask")
    enc = load_encoder(files / "goae.pt")
    gen = default_gen
    ws = _encode(enc, "goae", read_image(files / "a.png", 128), 64, w_avg(gen.params))
    assert_close_f32(a["ws"], ws, n_reduce=512)  # batch 2 vs 1
    w_planes = np.asarray(generator_planes(gen.config, gen.params, a["ws"][None]))[0]
    unseen = a["mask"] == 0
    assert_close_f32(a["planes"][0][unseen], w_planes[0][unseen], n_reduce=512, scale=w_planes)


def test_triplanenet(files, tmp_path):
    assert _invert(files, tmp_path, "triplanenet", ["tpn.pt"]) == 0
    res = _outputs(tmp_path, "a")
    enc = load_encoder(files / "tpn.pt")
    assert_close_f32(res["ws"], _encode(enc, "psp", read_image(files / "a.png", 128), 32, AVG), n_reduce=512)
    assert res["planes"].shape == (3, 256, 256, 32) and "mask" not in res


def test_dual_on_panohead(files, tmp_path, capsys):
    """E1 (visible) gives the ws; files converted with --role (either name) must sit in their place."""
    assert cli.main(["convert", str(files / "e1.pt"), str(tmp_path / "e1_dir"), "--role", "visible"]) == 0
    assert cli.main(["convert", str(files / "e2.pt"), str(tmp_path / "e2_dir"), "--role", "e2"]) == 0
    assert "Dual Encoder role e1" in capsys.readouterr().out
    assert load_encoder(tmp_path / "e2_dir").role == "e2" and load_encoder(files / "e2.pt").role is None
    args = ["invert", str(files / "rgba.png"), "--method", "dual", "--generator", "default-panohead", "--camera",
            "frontal", "--views", "2"]
    swapped = args + ["--out", str(tmp_path / "bad"), "--encoder", str(tmp_path / "e2_dir"),
                      "--encoder2", str(tmp_path / "e1_dir")]
    assert cli.main(swapped) != 0
    assert "was converted as E2 (occluded), --encoder takes E1 (visible); swap the two files" in capsys.readouterr().err
    out = tmp_path / "out"
    assert cli.main(args + ["--out", str(out), "--encoder", str(tmp_path / "e1_dir"),
                            "--encoder2", str(files / "e2.pt")]) == 0
    assert "RGBA image converted to RGB (transparent pixels composited on white)" in capsys.readouterr().err
    res = _outputs(out, "rgba")
    assert res["ws"].shape == (10, 512) and res["planes"].shape == (3, 64, 64, 96)
    assert res["mask"].shape == (3, 3, 64, 64) and 0 <= res["mask"].min() and res["mask"].max() <= 1
    yaws = np.arctan2(res["view_cameras"][:, 3], res["view_cameras"][:, 11])  # camera x / z: a full turn
    np.testing.assert_allclose(np.sort(np.abs(yaws)), [0, np.pi], atol=1e-5)
    e1 = load_encoder(files / "e1.pt")  # E1 (the visible encoder) gives the ws
    gen_avg = w_avg(loading.open_generator("default-panohead").params)
    want = _encode(e1, "psp", read_image(files / "rgba.png", 128, log=lambda *a, **k: None), 32, gen_avg)
    assert_close_f32(res["ws"], want, n_reduce=512)


BAD = {  # name -> (file content writer, expected message)
    "broken.png": (lambda p: p.write_bytes(b"not an image"), "broken.png: cannot read the image"),
    "wide.png": (lambda p: Image.new("RGB", (100, 80)).save(p), "wide.png: image is 100x80, expected a square"),
}


@pytest.mark.parametrize("name", list(BAD) + ["missing.png"])
def test_bad_images_fail_before_loading(files, tmp_path, name, capsys):
    if name in BAD:
        BAD[name][0](tmp_path / name)
    args = ["invert", str(tmp_path / name), "--method", "psp", "--encoder", str(files / "psp.pt"), "--generator",
            "no-such-generator", "--camera", "frontal", "--out", str(tmp_path / "out")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("inversion3d: error: ") and name in err and len(err.splitlines()) == 1
    if name in BAD:
        assert BAD[name][1] in err


def test_camera_file_checks(files, tmp_path, capsys):
    label = [float(v) for v in np.eye(4).ravel()] + [4.2647, 0, 0.5, 0, 4.2647, 0.5, 0, 0, 1]
    cams = tmp_path / "dataset.json"
    cams.write_text(json.dumps({"labels": [["a.png", label]]}))
    base = ["--method", "psp", "--encoder", str(files / "psp.pt"), "--generator", "no-such-generator", "--out",
            str(tmp_path / "out")]
    assert cli.main(["invert", str(files / "a.png"), str(files / "gray.png"), "--camera", str(cams)] + base) == 2
    assert "has no entry for image gray.png" in capsys.readouterr().err
    cams.write_text(json.dumps({"labels": [["a.png", ["1.0", "2"]]]}))
    assert cli.main(["invert", str(files / "a.png"), "--camera", str(cams)] + base) == 2
    assert "entry 'a.png' is not 25 finite numbers" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["--method", "goae", "--encoder", "goae.pt"], "--afa: --method goae needs it"),
    (["--method", "psp", "--encoder", "psp.pt", "--afa", "afa.pt"], "--afa: only used by --method goae"),
    (["--method", "dual", "--encoder", "e1.pt"], "--encoder2: --method dual needs it"),
    (["--method", "goae", "--encoder", "psp.pt", "--afa", "afa.pt"], "looks like a 'psp' checkpoint, got kind='goae'"),
    (["--method", "e4e", "--encoder", "psp_dir"], "holds a 'psp' encoder, got kind='e4e'"),
])
def test_wrong_encoder_files(files, tmp_path, argv, message, capsys):
    argv = [str(files / a) if a.endswith((".pt", "_dir")) else a for a in argv]
    args = ["invert", str(files / "a.png"), "--generator", "no-such-generator", "--camera", "frontal", "--out",
            str(tmp_path / "out")] + argv
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err


def test_raw_photos_end_to_end(files, tmp_path, capsys):
    """Issue 10: real photos (scikit-image's astronaut; coffee has no face) straight into `invert`."""
    from skimage import data

    Image.fromarray(data.astronaut()).save(tmp_path / "astronaut.png")
    Image.fromarray(data.coffee()).save(tmp_path / "coffee.png")
    out = tmp_path / "out"
    args = ["invert", str(tmp_path / "astronaut.png"), str(tmp_path / "coffee.png"), "--method", "psp",
            "--encoder", str(files / "psp_dir"), "--generator", TINY, "--camera", "photo", "--out", str(out),
            "--views", "2"]
    assert cli.main(args) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "NOT USED" in printed and "coffee.png" in printed and "no face" in printed
    res = _outputs(out, "astronaut")
    labels = json.loads((out / "aligned" / "dataset.json").read_text())["labels"]
    assert [name for name, _ in labels] == ["astronaut.png"]
    np.testing.assert_allclose(res["camera"], np.asarray(labels[0][1], np.float32), atol=1e-6)
