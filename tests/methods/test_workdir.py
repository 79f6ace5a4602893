"""A training workdir used for inference (methods/workdir.py): `invert --encoder WORKDIR` (the latest
checkpoint and the run's own generator) and `inversion3d export WORKDIR --out DIR` (the `convert`
layout, read back by `load_encoder`) give the codes and tri-planes of the training method's own
forward (Method.encode + the generator, BatchNorm running statistics) on the same image.

Two workdirs of the tiny pSp config (tests/methods/psp_train_helpers.py, batch 2): the initial state
saved at step 0 (in `make test`: no train-step compile) and a run trained 2 steps through the loop
(slow: its step compiles for about a minute on 2 cores).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from inversion3d.app import cli, loading
from inversion3d.camera import generator_frontal_label
from inversion3d.inversion.common import generator_planes
from inversion3d.methods import registry, workdir
from inversion3d.training import loop
from tests.methods.psp_train_helpers import tiny_config
from tests.tolerances import assert_close_f32

N_REDUCE = 16 * 9 * 4  # the encoder's longest contraction (3x3 convs over 16 channels, x4 slack)


def _config(steps):
    return tiny_config("psp", total_steps=steps, batch_size=2, **{"checkpoint.every": max(steps, 1),
                                                                 "mesh.num_devices": 1})


@pytest.fixture(scope="module", params=["init", pytest.param("trained", marks=pytest.mark.slow)])
def run(request, tmp_path_factory):
    """(workdir, the loop's build of it: state, method, frozen)."""
    root = tmp_path_factory.mktemp(f"psp_{request.param}")
    path = str(root / "run")
    if request.param == "trained":
        config = _config(2)
        loop.train_and_evaluate(config, path, registry.trainer("psp"))
    else:
        config = _config(0)
        b = loop.build(config, path, registry.trainer("psp"))
        b["ckpt"].save(0, b["state"], {}, config)
        b["ckpt"].wait()
        b["ckpt"].close()
        return path, b
    b = loop.build(_config(2), path, registry.trainer("psp"))  # restores the workdir's latest checkpoint
    b["ckpt"].close()
    return path, b


@pytest.fixture(scope="module")
def reference(run):
    """The training method's own forward on one image: ws, tri-planes, the image, camera."""
    _, b = run
    method, frozen, state = b["method"], b["frozen"], b["state"]
    image = jax.random.uniform(jax.random.PRNGKey(3), (1, 32, 32, 3), minval=-1.0, maxval=1.0)
    ws, planes = _forward(method, frozen, state, image)
    return {"image": image, "ws": np.asarray(ws), "planes": np.asarray(planes)}


def _forward(method, frozen, state, image):
    """(ws, tri-planes) of the training method's forward in inference mode (one compile per image shape)."""
    def fn(variables, x):
        ws = method.encode(variables, x, frozen)
        return ws, generator_planes(method.gen_cfg, frozen["generator"], ws)
    return jax.jit(fn)(state.variables("encoder"), image)


def test_workdir_generator_is_the_runs(run):
    path, b = run
    r = workdir.read_run(path)
    gen = workdir.generator(r)
    jax.tree.map(lambda a, e: np.testing.assert_array_equal(np.asarray(a), np.asarray(e)), gen.params,
                 jax.device_get(b["frozen"]["generator"]))
    assert r.step == int(b["state"].step)


def test_invert_cli_from_workdir_matches_training_forward(run, reference, tmp_path):
    path, _ = run
    png = tmp_path / "face.png"
    pixels = np.round((np.asarray(reference["image"][0]) + 1) * 127.5).astype(np.uint8)
    Image.fromarray(pixels).save(png)
    image = jnp.asarray(pixels, jnp.float32)[None] / 127.5 - 1  # what invert reads back
    out = tmp_path / "out"
    code = cli.main(["invert", str(png), "--method", "psp", "--encoder", path, "--camera", "frontal",
                     "--out", str(out), "--views", "1"])
    assert code == 0
    saved = np.load(out / "face.npz")
    _, b = run
    method, frozen = b["method"], b["frozen"]
    ws, planes = _forward(method, frozen, b["state"], image)
    assert_close_f32(saved["ws"], ws[0], N_REDUCE)
    assert_close_f32(saved["planes"], planes[0], N_REDUCE * 4, scale=np.max(np.abs(reference["planes"])))


def test_export_equals_workdir_equals_training_forward(run, reference, tmp_path):
    path, b = run
    r = workdir.read_run(path)
    trainer = workdir.method(r)
    gen = workdir.generator(r, trainer)
    dst = str(tmp_path / "exported")
    assert cli.main(["export", path, "--out", dst]) == 0
    from_dir = workdir.encoders(r, "psp", trainer)[0]
    from_file = loading.open_encoders("psp", [dst])[0]
    assert from_file.configs == from_dir.configs and from_file.latent_avg is None
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(from_file.variables),  # the same arrays
                 jax.device_get(from_dir.variables))
    inverter = registry.make_inverter("psp", gen, [from_file])  # (the CLI test runs the workdir's)
    out = inverter(reference["image"], jnp.asarray(generator_frontal_label(gen))[None])
    assert_close_f32(out["ws"], reference["ws"], N_REDUCE)
    assert_close_f32(out["planes"], reference["planes"], N_REDUCE * 4)


def test_workdir_errors_are_one_line(run, tmp_path):
    path, _ = run
    with pytest.raises(ValueError, match="psp run, which `invert` runs as --method psp, got e4e"):
        workdir.check_serves(workdir.read_run(path), "e4e")
    with pytest.raises(ValueError, match="not a training workdir"):
        from inversion3d.app import export

        export.run(type("A", (), {"workdir": str(tmp_path), "out": str(tmp_path / "x")})())
    assert cli.main(["invert", "x.png", "--method", "psp", "--encoder", str(tmp_path), "--camera", "frontal",
                     "--out", str(tmp_path / "o")]) == 2  # neither a workdir nor --generator


@pytest.mark.slow  # one more compile of the EG3D forward + LPIPS (~50 s on 2 cores); the loop wiring: test_evaluation.py
def test_held_out_evaluation_scores_the_inference_forward(run):
    """methods/evaluation.py on pSp: the loop's compiled `evaluate` gives finite input / novel-view
    MSE and LPIPS (random-init LPIPS heads: any sign; no ArcFace configured: no ID) and a 4-column grid; the generator's own codes (an
    oracle encoder) score zero against the ground truth at every view."""
    from inversion3d.methods import evaluation as method_eval
    from inversion3d.methods.psp import pipeline
    from inversion3d.training import evaluation

    _, b = run
    scalars, grid = evaluation.run(b["evaluate"], b["state"], b["frozen"], b["held_out"], rows=2)
    assert sorted(scalars) == ["eval/input/lpips", "eval/input/mse", "eval/novel/lpips", "eval/novel/mse"]
    assert all(np.isfinite(v) for v in scalars.values()) and scalars["eval/input/mse"] > 0, scalars
    assert grid.shape == (2 * 32, 4 * 32, 3)
    method, frozen, batch = b["method"], b["frozen"], b["held_out"][0]
    oracle = pipeline.decode(method.gen_cfg, frozen["generator"], batch["ws"], batch["c"])
    nets = method_eval.loss_nets(method._loss_modules, frozen)
    zero, _ = jax.jit(lambda o, x: method_eval.score_views(method.config, method.gen_cfg, frozen, o, x, nets))(
        oracle, batch)
    assert float(zero["input/mse"]) < 1e-8 and float(zero["novel/mse"]) < 1e-8, zero
