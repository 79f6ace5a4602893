"""Every command answers bad input with one stderr line and exit code 2, no traceback, before any
model loads (issue 20 B3, A11, A12); runtime failures exit 1; --debug shows the traceback; a failed
run leaves no output folder behind."""
import json
import os
import time

import numpy as np
import pytest
from PIL import Image

import inversion3d.api
from inversion3d.app import cli, loading
from inversion3d.preprocess import weights
from tests.app.test_images import bomb_png


def _forbid(*args, **kwargs):
    raise AssertionError("a model load was attempted")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A folder with inputs; loaders that fail the test (exit 1, 'AssertionError') if called."""
    for module, name in ((loading, "open_generator"), (loading, "open_encoders"), (inversion3d.api, "load_generator"),
                         (weights, "load_mtcnn_params")):
        monkeypatch.setattr(module, name, _forbid)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((32, 48, 3), np.uint8)).save(tmp_path / "wide.png")
    bomb_png(tmp_path / "bomb.png")
    (tmp_path / "zero.json").write_text(json.dumps({"labels": [["a.png", [0.0] * 25]]}))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.png").write_bytes(b"x")
    (tmp_path / "ckpt.pkl").write_bytes(b"\x80\x02}.")
    return tmp_path


INV = ["invert", "{d}/a.png", "--generator", "default", "--out", "{d}/out"]
WPLUS = INV + ["--method", "wplus"]
CASES = [  # (id, argv with {d} for the folder, needle in the one error line)
    ("render_frames_0", ["render", "default", "--frames", "0", "--out", "{d}/out"], "--frames: expected >= 1, got 0"),
    ("render_batch_0", ["render", "default", "--batch", "0", "--out", "{d}/out"], "--batch: expected >= 1, got 0"),
    ("render_seeds_reversed", ["render", "default", "--seeds", "5-2", "--out", "{d}/out"], "range '5-2' is empty"),
    ("render_seeds_text", ["render", "default", "--seeds", "a", "--out", "{d}/out"], "of seeds >= 0, got 'a'"),
    ("render_training_config", ["render", os.path.join(loading.CONFIG_DIR, "toy_psp.py"), "--out", "{d}/out"],
     "toy_psp.py: not a generator config (no kind, init_kwargs"),
    ("render_missing_ckpt", ["render", "{d}/nope.pkl", "--out", "{d}/out"], "CKPT: no such file or directory"),
    ("render_unknown_key", ["render", "default", "--out", "{d}/out", "--config.nope=1"], "config has no key 'nope'"),
    ("render_wrong_type", ["render", "default", "--out", "{d}/out", "--config.seed=abc"], "--config.seed=abc"),
    ("render_ckpt_override", ["render", "{d}/ckpt.pkl", "--out", "{d}/out", "--config.seed=1"],
     "overrides need a config .py generator"),
    ("render_bad_int", ["render", "default", "--frames", "x", "--out", "{d}/out"], "invalid int value: 'x'"),
    ("render_resume_and_overwrite", ["render", "default", "--resume", "--overwrite", "--out", "{d}/out"],
     "not allowed with argument --resume"),
    ("demo_num_samples_0", ["demo", "--out", "{d}/out", "--config.num_samples=0"], "--config.num_samples: expected >= 1"),
    ("demo_missing_config", ["demo", "--config", "{d}/nope.py", "--out", "{d}/out"], "--config: no such file"),
    ("demo_not_a_demo_config", ["demo", "--config", os.path.join(loading.CONFIG_DIR, "wplus.py"), "--out", "{d}/out"],
     "not a demo config"),
    ("invert_camera_front", WPLUS + ["--camera", "front"], "expected a dataset.json, 'frontal'"),
    ("invert_views_0", WPLUS + ["--camera", "frontal", "--views", "0"], "--views: expected >= 1, got 0"),
    ("invert_edit_direction_not_innout", WPLUS + ["--camera", "frontal", "--edit-direction", "{d}/a.png"],
     "--edit-direction / --edit-strength: only used by --method innout"),
    ("innout_edit_strength_alone", INV + ["--method", "innout", "--camera", "frontal", "--edit-strength", "2"],
     "--edit-strength: needs --edit-direction"),
    ("innout_edit_direction_missing", INV + ["--method", "innout", "--camera", "frontal", "--edit-direction",
                                             "{d}/nope.npy"], "--edit-direction: no such file"),
    ("invert_batch_0", WPLUS + ["--camera", "frontal", "--batch", "0"], "--batch: expected >= 1, got 0"),
    ("invert_missing_image", ["invert", "{d}/nope.png", "--method", "wplus", "--generator", "default", "--camera",
                              "frontal", "--out", "{d}/out"], "nope.png: cannot read the image"),
    ("invert_not_square", ["invert", "{d}/wide.png", "--method", "wplus", "--generator", "default", "--camera",
                           "frontal", "--out", "{d}/out"], "image is 48x32, expected a square"),
    ("invert_bomb", ["invert", "{d}/bomb.png", "--method", "wplus", "--generator", "default", "--camera", "frontal",
                     "--out", "{d}/out"], "image is 10000x10000 = 100.0 MP, over the limit of 64 MP"),
    ("invert_zero_camera", WPLUS + ["--camera", "{d}/zero.json"], "entry 'a.png' is not a camera"),
    ("invert_max_pixels_0", WPLUS + ["--camera", "frontal", "--max-pixels", "0"], "--max-pixels: expected a positive"),
    ("invert_no_encoder", INV + ["--method", "e4e", "--camera", "frontal"], "--encoder: --method e4e needs it"),  # none packaged
    ("invert_steps_0", WPLUS + ["--camera", "frontal", "--steps", "0"], "--steps: expected >= 1, got 0"),
    ("preprocess_size", ["preprocess", "{d}/a.png", "--size", "8", "--out", "{d}/out"], "--size: expected >= 16"),
    ("preprocess_min_size", ["preprocess", "{d}/a.png", "--min-size", "-1", "--out", "{d}/out"],
     "--min-size: expected >= 0"),
    ("preprocess_missing", ["preprocess", "{d}/nope.png", "--out", "{d}/out"], "no such file or directory"),
    ("preprocess_override", ["preprocess", "{d}/a.png", "--out", "{d}/out", "--config.x=1"],
     "`preprocess` takes no --config.KEY overrides"),
    ("preprocess_not_empty", ["preprocess", "{d}/a.png", "--out", "{d}/full"], "full is not empty (1 entries"),
    ("convert_missing", ["convert", "{d}/nope.pkl", "{d}/out"], "no such file"),
    ("convert_override", ["convert", "{d}/ckpt.pkl", "{d}/out", "--config.x=1"], "`convert` takes no --config.KEY"),
    ("info_missing", ["info", "{d}/nope.pkl"], "no such file"),
    ("info_override", ["info", "{d}/ckpt.pkl", "--generator.x=1"], "`info` takes no --generator.KEY"),
    ("eval_no_pairs", ["eval", "--data", "{d}", "--out", "{d}/out"], "--data: no pairs.json"),
    ("unknown_command", ["train", "--out", "{d}/out"], "invalid choice: 'train'"),
    ("render_nested_out", ["render", "default", "--frames", "0", "--out", "{d}/out/a/b"], "--frames"),
]


@pytest.mark.parametrize("argv,needle", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_one_line_exit_2_before_loading(env, capsys, argv, needle):
    start = time.time()
    code = cli.main([a.format(d=env) for a in argv])
    elapsed = time.time() - start
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE, err
    assert err.count("\n") == 1 and "error: " in err and "Traceback" not in err, err
    assert needle in err, err
    assert elapsed < 10, f"{elapsed:.1f}s: checked too late"
    assert not (env / "out").exists(), "a failed run left its output folder"


def test_debug_shows_the_traceback(env):
    with pytest.raises(ValueError, match="--frames"):
        cli.main(["render", "default", "--frames", "0", "--out", str(env / "out"), "--debug"])


def test_runtime_failure_exit_1_and_no_empty_output(env, monkeypatch, capsys):
    from inversion3d.app import render

    def explode(*args, **kwargs):
        os.makedirs(kwargs.get("out_dir") or args[2], exist_ok=True)  # created, then failed
        raise RuntimeError("out of memory (simulated)")

    monkeypatch.setattr(loading, "open_generator", lambda *a, **k: object())
    monkeypatch.setattr(render, "render_orbit", explode)
    code = cli.main(["render", "default", "--out", str(env / "out")])
    err = capsys.readouterr().err
    assert code == cli.EXIT_FAILURE and err.count("\n") == 1
    assert "RuntimeError: out of memory (simulated)" in err and "--debug" in err
    assert not (env / "out").exists()


def test_help_documents_exit_codes(capsys):
    assert cli.main(["render", "--help"]) == 0
    out = capsys.readouterr().out
    assert "exit codes: 0 done; 2 bad input" in out and "--resume" in out and "--debug" in out


def test_invert_photo_hint_names_a_command_it_has(tmp_path, monkeypatch, capsys):
    from inversion3d.app import inputs
    from inversion3d.preprocess import pipeline

    reason = "face too small: its crop spans 90 px of the photo, at least 128 px needed (--min-size)"
    monkeypatch.setattr(pipeline, "preprocess_photos", lambda *a, **k: {
        "used": [], "skipped": [{"source": "p.jpg", "reason": reason}], "dataset_json": None})
    with pytest.raises(ValueError, match="no usable photo"):
        inputs.align_photos(["p.jpg"], str(tmp_path), "eg3d")
    out = capsys.readouterr().out
    assert "`inversion3d preprocess --min-size N`" in out and "(--min-size)" not in out
