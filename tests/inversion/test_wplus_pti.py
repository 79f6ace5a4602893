"""Optimisation-based inversion (inversion/optimization.py, wplus.py, pti.py) and `invert --method
wplus|pti`: the projector schedules and w statistics against the formulas, W+ / PTI / camera
refinement against a target rendered from a known latent, on the embedded tiny generator at neural
rendering resolution 16 with 8 + 8 depth samples (the CLI tests pass the same overrides, so every
jitted step compiles once for the module)."""
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from inversion3d import camera
from inversion3d.app import cli, loading
from inversion3d.inversion import optimization as opt
from inversion3d.inversion import pti, wplus
from inversion3d.losses_api import load_lpips
from inversion3d.losses.lpips import LPIPS
from inversion3d.preprocess import pose

OVERRIDES = ["--config.neural_rendering_resolution=16", "--config.init_kwargs.rendering_kwargs.depth_resolution=8",
             "--config.init_kwargs.rendering_kwargs.depth_resolution_importance=8"]
GEN_OVERRIDES = [a.replace("--config.", "--generator.", 1) for a in OVERRIDES]  # `invert`: the generator's config
FAST_LR = 0.05  # the tests' latent lr: 5x the projector's, to converge in a few steps on the tiny generator


def config(name, steps=None, lr=FAST_LR):
    cfg = loading.load_config(os.path.join(loading.CONFIG_DIR, f"{name}.py"))
    stage = cfg if name == "wplus" else cfg.pivot
    stage.w_avg_samples, stage.optim.lr = 2000, lr
    if steps is not None:
        stage.num_steps = stage.log_every = steps
    return cfg


@pytest.fixture(scope="module")
def gen():
    return loading.open_generator("default", overrides=OVERRIDES)


@pytest.fixture(scope="module")
def scene(gen):
    """(ws (1, num_ws, 512), frontal camera (1, 25), target image (1, S, S, 3)) of a known latent."""
    return _scene(gen)


def _scene(gen):
    c = camera.generator_frontal_label(gen)[None]
    z = np.random.RandomState(5).randn(1, gen.config.z_dim).astype(np.float32)
    ws = np.asarray(gen.mapping(z, c, truncation_psi=0.7))
    return ws, c, np.asarray(gen.synthesis(ws, c)["image"])


def _ref_lr(step, n, lr=0.01):
    t = step / n
    ramp = min(1.0, (1.0 - t) / 0.25)
    ramp = 0.5 - 0.5 * math.cos(math.pi * ramp)
    return lr * ramp * min(1.0, t / 0.05)


def test_schedules_match_the_projector_formulas():
    steps = [0, 10, 25, 50, 300, 750, 800, 875, 999]
    got = [float(opt.learning_rate(s, 1000, 0.01, 0.25, 0.05)) for s in steps]
    np.testing.assert_allclose(got, [_ref_lr(s, 1000) for s in steps], rtol=1e-5, atol=1e-9)
    assert got[0] == 0 and got[2] == pytest.approx(0.005) and got[3] == pytest.approx(0.01)  # ramp-up
    assert got[5] == pytest.approx(0.01) and got[7] == pytest.approx(0.005, rel=1e-4)  # ramp-down
    noise = [float(opt.w_noise_scale(s, 1000, 2.0, 0.05, 0.75)) for s in (0, 375, 750, 900)]
    np.testing.assert_allclose(noise, [0.1, 0.025, 0.0, 0.0], atol=1e-7)


def test_w_statistics_match_numpy(gen):
    c = camera.generator_frontal_label(gen)
    np.testing.assert_array_equal(camera.generator_frontal_label(gen), c)
    z = opt.sample_z(123, 300, gen.config.z_dim)
    np.testing.assert_array_equal(z, np.random.RandomState(123).randn(300, gen.config.z_dim).astype(np.float32))
    w = np.asarray(gen.mapping(z, np.repeat(c[None], 300, 0)))[:, 0].astype(np.float64)
    avg = w.mean(axis=0)
    std = math.sqrt(np.sum((w - avg) ** 2) / 300)
    got_avg, got_std = opt.compute_w_statistics(gen, c, 300, 123)
    np.testing.assert_allclose(got_avg, avg, rtol=1e-5, atol=1e-5)
    assert float(got_std) == pytest.approx(std, rel=1e-5)


def _np_rodrigues(r):
    theta = np.linalg.norm(r)
    k = r / theta
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(theta) * kx + (1 - math.cos(theta)) * kx @ kx


def test_rodrigues_and_camera_delta():
    assert np.array_equal(np.asarray(camera.rodrigues(jnp.zeros(3))), np.eye(3))
    label = camera.make_label(camera.lookat_pose(np.pi / 2 + 0.3, np.pi / 2 - 0.1), camera.intrinsics_matrix())
    np.testing.assert_array_equal(np.asarray(camera.apply_camera_delta(jnp.asarray(label), jnp.zeros((1, 6)))), label)
    rs = np.random.RandomState(0)
    for r in (rs.randn(3) * 0.3, rs.randn(3) * 2.0, np.array([2e-5, -1e-5, 3e-5])):
        np.testing.assert_allclose(camera.rodrigues(jnp.asarray(r, jnp.float32)), _np_rodrigues(r), atol=2e-6)
    grad = jax.grad(lambda r: camera.rodrigues(r)[0, 1])(jnp.zeros(3))
    np.testing.assert_allclose(grad, [0, 0, -1], atol=1e-6)  # R01 = -r_z to first order, finite at 0
    # A rotation about world y by a moves the yaw (camera.lookat_pose convention) by a; t moves the camera.
    turn = jnp.asarray([[0, math.radians(7), 0, 0, 0, 0]])
    turned = np.asarray(camera.apply_camera_delta(jnp.asarray(label), turn))
    yaw = lambda label: pose.angles_from_label(label)["yaw"]  # noqa: E731
    assert yaw(turned[0]) - yaw(label[0]) == pytest.approx(7, abs=1e-4)
    delta = jnp.asarray([[0, math.radians(7), 0, 0.1, 0, 0]], jnp.float32)
    moved = np.asarray(camera.apply_camera_delta(jnp.asarray(label), delta))[0]
    rot = _np_rodrigues(np.array([0, math.radians(7), 0]))
    want = rot @ label[0, :16].reshape(4, 4)[:3, 3] + [0.1, 0, 0]
    np.testing.assert_allclose(moved[:16].reshape(4, 4)[:3, 3], want, atol=1e-5)
    np.testing.assert_array_equal(moved[16:], label[0, 16:])


def test_image_loss_terms():
    rs = np.random.RandomState(1)
    x = jnp.asarray(rs.uniform(-1, 1, (2, 64, 64, 3)), jnp.float32)
    y = jnp.asarray(rs.uniform(-1, 1, (2, 64, 64, 3)), jnp.float32)
    net = LPIPS("alex")
    variables = jax.jit(net.init)(jax.random.PRNGKey(0), x[:, :32, :32], y[:, :32, :32])
    variables = jax.tree.map(jnp.abs, variables)  # the official heads are non-negative
    weights = {"mse": 0.3, "lpips": 2.0, "fallback_mse": 1.0}
    loss, m = jax.jit(opt.image_loss, static_argnums=(3, 5))(x, y, weights, "alex", variables, 32)
    xs = np.asarray(x).reshape(2, 32, 2, 32, 2, 3).mean(axis=(2, 4))  # area average to 32
    ys = np.asarray(y).reshape(2, 32, 2, 32, 2, 3).mean(axis=(2, 4))
    assert float(m["mse"]) == pytest.approx(np.mean((xs - ys) ** 2), rel=1e-5)
    assert float(m["lpips"]) == pytest.approx(float(jnp.mean(jax.jit(net.apply)(variables, xs, ys))), rel=1e-5)
    assert float(loss) == pytest.approx(0.3 * float(m["mse"]) + 2.0 * float(m["lpips"]), rel=1e-6)
    loss, m = opt.image_loss(x, y, weights, None, {}, 0)  # no LPIPS weights: MSE alone, full size
    assert "lpips" not in m and float(loss) == pytest.approx(np.mean((np.asarray(x) - np.asarray(y)) ** 2), rel=1e-5)


@pytest.fixture(scope="module")
def tiny_scene():
    """The random-weight tiny EG3D (configs/tiny_eg3d.py: 14 ws, 128 px, the same cheap rendering) and its
    scene: the loss-halving fact needs a generator whose samples differ from its average, whichever
    checkpoint ships as `default` (an interim mode-collapsed one renders every latent alike, so its target
    already equals the start: measured 0.029 -> 0.042 over the 8 steps)."""
    tiny = loading.open_generator(os.path.join(loading.CONFIG_DIR, "tiny_eg3d.py"), overrides=OVERRIDES)
    return tiny, _scene(tiny)


def test_wplus_loss_drops(tiny_scene):
    tiny, (ws, c, target) = tiny_scene
    projected = wplus.run(tiny, target, c, config("wplus", steps=8), log=lambda *a: None)
    losses = projected["losses"]
    assert losses.shape == (8,) and losses[-1] < 0.5 * losses[0], losses
    assert projected["ws"].shape == ws.shape
    np.testing.assert_array_equal(np.asarray(projected["camera"]), c)  # no pose refinement: unchanged


def _wplus_state(gen, cfg, ws):
    w_avg, w_std = opt.compute_w_statistics(gen, camera.generator_frontal_label(gen), 2000, 123)
    return wplus.init(w_avg, w_std, gen.num_ws, 1, cfg).replace(ws=jnp.asarray(ws, jnp.float32))


def test_wplus_step_gradient_matches_finite_differences(gen, scene):
    """With a huge Adam eps (a traced scalar, so the compiled step is the one `run` used) the first
    update is lr / eps * gradient: the step's own gradient, checked against central differences of
    the step's own loss."""
    ws_true, c, target = scene
    cfg = config("wplus", lr=1e3)
    cfg.optim.eps, cfg.noise.initial_noise_factor = 1e3, 0.0
    step = wplus.make_step(gen.config, wplus.static_settings(cfg, None))
    params, key = {"generator": gen.params, "lpips": {}}, jax.random.PRNGKey(0)
    w_avg, _ = opt.compute_w_statistics(gen, camera.generator_frontal_label(gen), 2000, 123)
    ws0 = 0.5 * ws_true + 0.5 * np.asarray(w_avg)  # half-way from w_avg to the truth
    state = _wplus_state(gen, cfg, ws0).replace(step=jnp.asarray(100, jnp.int32))  # past the ramp-up: lr = 1e3
    new, metrics = step(state, params, target, c, key)
    grad = np.asarray(ws0 - new.ws)  # = g / (1 + |g| / eps)
    assert float(metrics["grad_norm"]) == pytest.approx(np.linalg.norm(grad), rel=1e-3)
    loss = lambda ws: float(step(state.replace(ws=jnp.asarray(ws)), params, target, c, key)[1]["loss"])  # noqa: E731
    assert loss(ws0) == pytest.approx(float(metrics["loss"]), rel=1e-6)
    for idx in np.argsort(-np.abs(grad).ravel())[[0, 7]]:  # two coordinates with large gradients
        e = np.zeros(grad.size, np.float32)
        e[idx] = 0.05
        e = e.reshape(grad.shape)
        fd = (loss(ws0 + e) - loss(ws0 - e)) / 0.1
        assert grad.ravel()[idx] == pytest.approx(fd, rel=0.05), (idx, grad.ravel()[idx], fd)


def test_pose_refinement_reduces_yaw_error(gen, scene):
    """ws fixed to the truth (latent lr 0), the camera 4 degrees off in yaw: the jointly compiled W+
    step with --pose-opt moves it back."""
    ws_true, c_true, target = scene
    rk = gen.init_kwargs["rendering_kwargs"]
    start = camera.make_label(camera.lookat_pose(np.pi / 2 + math.radians(4), np.pi / 2, rk["avg_camera_pivot"]),
                              camera.intrinsics_matrix())
    cfg = config("wplus", lr=0.0)
    cfg.noise.initial_noise_factor, cfg.pose_opt.enabled, cfg.pose_opt.lr = 0.0, True, 0.01
    step = wplus.make_step(gen.config, wplus.static_settings(cfg, None))
    state = _wplus_state(gen, cfg, ws_true)
    params, key = {"generator": gen.params, "lpips": {}}, jax.random.PRNGKey(0)
    for _ in range(15):
        state, _ = step(state, params, target, start, key)
    np.testing.assert_array_equal(state.ws, ws_true)
    refined = np.asarray(camera.apply_camera_delta(start, state.pose))
    yaw = lambda label: pose.angles_from_label(label[0])["yaw"]  # noqa: E731
    before, after = abs(yaw(start) - yaw(c_true)), abs(yaw(refined) - yaw(c_true))
    assert before == pytest.approx(4, abs=0.5)
    assert after < 0.5 * before, (before, after)


def test_refine_camera_alone():
    """preprocess.pose.refine_camera -> optimization.refine_camera on an analytic loss: the camera
    position is pulled to a target point (rotation and translation both free)."""
    label = camera.make_label(camera.lookat_pose(np.pi / 2 + 0.2, np.pi / 2), camera.intrinsics_matrix())[0]
    goal = jnp.asarray([0.3, 0.2, 2.6])
    loss = lambda c, goal: jnp.sum(jnp.square(c[:, jnp.array([3, 7, 11])] - goal))  # noqa: E731
    refined = pose.refine_camera(label, loss, steps=150, lr=0.01, args=(goal,))
    assert refined.shape == (25,) and refined.dtype == np.float32
    assert float(loss(refined[None], goal)) < 0.01 * float(loss(label[None], goal))
    rot = refined[:16].reshape(4, 4)[:3, :3]
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-5)  # still a rotation


def test_pti_tunes_the_generator(gen, scene):
    ws_true, c, target = scene
    cfg = config("pti", steps=2)
    cfg.tune.max_steps = cfg.tune.log_every = 4
    res = pti.run(gen, target, c, cfg, log=lambda *a: None)
    assert res["pivot_losses"].shape == (2,) and res["tune_losses"].shape == (4,) and res["tune_steps"] == 4
    assert not res["stopped_early"]
    render = opt.result_renderer(res["config"])
    pivot_loss = opt.mse(render(gen.params, res["ws"], c)["image"], target)
    tuned_loss = opt.mse(render(res["variables"], res["ws"], c)["image"], target)
    assert float(tuned_loss) < 0.9 * float(pivot_loss), (pivot_loss, tuned_loss)
    changed = jax.tree.map(lambda a, b: bool(np.any(np.asarray(a) != np.asarray(b))), res["variables"]["params"],
                           gen.params["params"])
    assert np.mean(jax.tree.leaves(changed)) > 0.9  # (almost) every parameter array was tuned
    same = jax.tree.map(lambda a, b: bool(np.array_equal(a, b)), res["variables"]["buffers"], gen.params["buffers"])
    assert all(jax.tree.leaves(same))


def test_pti_early_stop_drops_the_last_update():
    lpips = [0.3, 0.2, 0.1, 0.05, 0.01]
    fake = lambda state, *args: (state + 1, {"loss": 1.0 + lpips[state], "lpips": lpips[state]})  # noqa: E731
    state, losses, stopped = pti.tune_loop(fake, 0, (), 10, 0.06, 100, log=lambda *a: None)
    assert stopped and state == 3 and losses.shape == (4,)  # LPIPS 0.05 seen before the 4th update
    state, losses, stopped = pti.tune_loop(fake, 0, (), 3, None, 100, log=lambda *a: None)
    assert not stopped and state == 3


# --- the command line ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def photo(tmp_path_factory, scene):
    d = tmp_path_factory.mktemp("opt_invert")
    rgb = np.clip(np.rint((scene[2][0] + 1) * 127.5), 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(d / "head.png")
    return d / "head.png"


def _invert(photo, out, method, extra):
    return cli.main(["invert", str(photo), "--method", method, "--generator", "default", "--camera", "frontal",
                     "--out", str(out), "--views", "2", *GEN_OVERRIDES, *extra])


def _outputs(out, stem="head"):
    for suffix in ("_recon.png", "_views.png", "_depth.png", ".npz"):
        assert (out / f"{stem}{suffix}").is_file(), stem + suffix
    with np.load(out / f"{stem}.npz") as data:
        return {k: data[k] for k in data.files}


def test_cli_wplus_with_pose_opt(photo, tmp_path, gen, capsys):
    assert _invert(photo, tmp_path, "wplus", ["--steps", "3", "--pose-opt"]) == 0
    captured = capsys.readouterr()
    assert "no --lpips weights given: the loss is MSE only" in captured.err
    assert "--pose-opt camera yaw " in captured.out and "[wplus] step 3/3" in captured.out
    res = _outputs(tmp_path)
    # the packaged default (configs/eg3d_gan.py's generator): 10 ws, 64 x 64 tri-planes
    assert res["ws"].shape == (gen.num_ws, 512) == (10, 512) and res["planes"].shape == (3, 64, 64, 32)
    assert str(res["method"]) == "wplus"
    assert res["losses"].shape == (3,)
    np.testing.assert_allclose(res["camera_initial"], camera.generator_frontal_label(gen), atol=1e-7)
    assert not np.array_equal(res["camera"], res["camera_initial"])  # refined
    np.testing.assert_array_equal(res["camera"][16:], res["camera_initial"][16:])  # intrinsics fixed


def test_cli_pti_saves_the_tuned_generator(photo, tmp_path, gen):
    assert _invert(photo, tmp_path, "pti", ["--steps", "2"]) == 0
    res = _outputs(tmp_path)
    assert str(res["method"]) == "pti" and res["pivot_losses"].shape == (2,) and int(res["tune_steps"]) == 2
    assert "camera_initial" not in res
    tuned = pti.load_variables(tmp_path / "head_generator.npz", gen)
    w = "params/backbone/synthesis/b4/conv1/weight".split("/")
    a, b = tuned, gen.params
    for k in w:
        a, b = a[k], b[k]
    assert a.shape == b.shape and not np.array_equal(a, b)


@pytest.mark.parametrize("argv,message", [
    (["--method", "wplus", "--encoder", "x.pt"], "--encoder: not used by --method wplus"),
    (["--method", "pti", "--afa", "x.pt"], "--afa: not used by --method pti"),
    (["--method", "e4e"], "--encoder: --method e4e needs it"),  # psp: a packaged encoder exists
    (["--method", "psp", "--encoder", "x.pt", "--steps", "3"], "--steps: only used by --method wplus|pti"),
    (["--method", "e4e", "--encoder", "x.pt", "--pose-opt"], "--pose-opt: only used by --method wplus|pti"),
    (["--method", "pti", "--batch", "2"], "--batch: --method pti tunes one generator per image"),
    (["--method", "wplus", "--steps", "0"], "--steps: expected >= 1, got 0"),
    (["--method", "wplus", "--lpips", "MISSING"], "--lpips: no such file or directory"),
    (["--method", "wplus", "--lpips", "EMPTY"], "holds no LPIPS weights"),
])
def test_cli_flag_errors(photo, tmp_path, argv, message, capsys):
    (tmp_path / "empty").mkdir()
    argv = [str(tmp_path / "missing") if a == "MISSING" else str(tmp_path / "empty") if a == "EMPTY" else a
            for a in argv]
    args = ["invert", str(photo), "--generator", "no-such-generator", "--camera", "frontal", "--out",
            str(tmp_path / "out")] + argv
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len([line for line in err if "error" in line]) == 1 and message in err[-1]


def test_lpips_weights_folder_and_single_file(tmp_path):
    torch = pytest.importorskip("torch")
    from inversion3d.losses.lpips import ALEX

    trunk, last = {}, 3
    for layer in ALEX:
        if layer[1] == "conv":
            idx, _, out, k = layer[:4]
            trunk[f"features.{idx}.weight"] = torch.randn(out, last, k, k) * 0.01
            trunk[f"features.{idx}.bias"] = torch.zeros(out)
            last = out
    heads = {f"lin{i}.model.1.weight": torch.rand(1, ch, 1, 1) for i, ch in enumerate((64, 192, 384, 256, 256))}
    torch.save(trunk, tmp_path / "alexnet-owt-7be5be79.pth")
    torch.save(heads, tmp_path / "alex.pth")
    torch.save({**trunk, **heads}, tmp_path / "merged.pth")
    from_dir = load_lpips(str(tmp_path))
    from_file = load_lpips(str(tmp_path / "merged.pth"))
    assert set(from_dir) == set(from_file) == {"alex"}
    for a, b in zip(jax.tree.leaves(from_dir["alex"]), jax.tree.leaves(from_file["alex"])):
        np.testing.assert_array_equal(a, b)
    head = from_dir["alex"]["params"]["lin1"]["model_1"]["weight"]
    np.testing.assert_allclose(np.asarray(head)[0, 0, :, 0], heads["lin1.model.1.weight"].numpy().ravel())
