"""E3DGE-style training (methods/e3dge/train.py) at test size (its workdir through `inversion3d export` /
`invert --encoder WORKDIR`: tests/methods/test_workdir_e3dge.py).

One module fixture steps the loop's compiled step by hand (configs/e3dge.py, batch 8, phases encoder
only -> both -> local only at steps 0 / 1 / 2), recording params after every step, then runs FIT more
steps on one fixed batch (the loss on it must fall). Compiling the two-network step takes minutes
on the 2-core CPU, so these tests are slow-marked (make test-slow); the fast tests of the local
branch's maths are tests/rendering/test_pixel_features.py.
"""
import json

import jax
import numpy as np
import pytest

from inversion3d.methods.e3dge.train import Method
from inversion3d.training import loop, sharding
from tests.methods.e3dge_train_helpers import N_STEPS, config
from tests.training.helpers import REPO, flat_params, rel_diff, run_fed_worker

FIT = 5  # extra steps on one fixed batch
TOL, UPDATE_TOL = 1e-5, 1e-2  # as test_triplanenet_train.py (BatchNorm gradients summed in another order)


@pytest.fixture(scope="module")
def stepped(tmp_path_factory):
    """(params after each step [0..N], metrics per step [N + FIT], the built loop pieces, final state)."""
    b = loop.build(config(), str(tmp_path_factory.mktemp("manual")), Method)
    state = b["state"]
    params, metrics, batches = [flat_params(state)], [], []
    for i in range(N_STEPS + FIT):
        batch = next(b["data"]) if i <= N_STEPS else batch
        state, m = b["train_step"](state, batch, b["frozen"], i)
        if i < N_STEPS:
            params.append(flat_params(state))
            batches.append(sharding.fetch(batch))
        metrics.append({k: float(v) for k, v in sharding.fetch(m).items()})
    return params, metrics, b, state, batches


def _net(flat, net):
    return {k: v for k, v in flat.items() if k.startswith(net + "/")}


def _changed(a, b, net):
    a, b = _net(a, net), _net(b, net)
    return any(not np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_phases_every_term_finite_and_loss_goes_down(stepped):
    params, metrics = stepped[:2]
    assert [_changed(params[i], params[i + 1], "encoder") for i in range(N_STEPS)] == [True, True, False]
    assert [_changed(params[i], params[i + 1], "local") for i in range(N_STEPS)] == [False, True, True]
    for m in metrics:
        assert all(np.isfinite(v) for v in m.values()), m
    want = {"encoder/l2", "encoder/lpips", "encoder/novel_l2", "encoder/latent", "encoder/depth", "encoder/density",
            "local/l2", "local/lpips", "local/novel_l2", "local/novel_lpips", "local/residual"}
    assert want <= set(metrics[0]), sorted(metrics[0])
    print("loss per step:", [round(m["loss"], 4) for m in metrics])
    fit = [m["loss"] for m in metrics[N_STEPS:]]
    assert fit[-1] < fit[0], fit


@pytest.mark.slow
def test_stop_and_resume_equals_straight_run(stepped, tmp_path):
    params = stepped[0]
    workdir = str(tmp_path / "resumed")
    loop.train_and_evaluate(config(total_steps=2, **{"checkpoint.every": 2}), workdir, Method)
    state = loop.train_and_evaluate(config(**{"checkpoint.every": 2}), workdir, Method)
    resumed = flat_params(state)
    assert sorted(resumed) == sorted(params[-1])
    for k in resumed:
        np.testing.assert_array_equal(resumed[k], params[-1][k], err_msg=k)


@pytest.mark.slow
def test_eight_devices_equal_one(stepped, tmp_path):
    """The 8-device input pipeline draws the same pairs to float32 error, and the 8-device step on the
    one-device run's batches gives its params (the worker's docstring says why the two are split)."""
    params, batches = stepped[0], stepped[4]
    pairs, eight = run_fed_worker("methods/e3dge_multidevice_worker.py", tmp_path, batches, timeout=1500)
    res = {"pairs": pairs, "rel": rel_diff(eight, params[N_STEPS])}
    for net in ("encoder", "local"):
        one, eig, init = _net(params[N_STEPS], net), _net(eight, net), _net(params[0], net)
        res[net + "_update"] = rel_diff({k: eig[k] - init[k] for k in one}, {k: one[k] - init[k] for k in one})
    print("8 vs 1 device after 3 steps:", json.dumps(res))
    assert res["pairs"] <= TOL, res  # measured 8.0e-7
    assert res["rel"] <= TOL and max(res["encoder_update"], res["local_update"]) <= UPDATE_TOL, res


@pytest.mark.slow
def test_panohead_generator_trains(tmp_path):
    """E3DGE on a tiny PanoHead (tri-grids, background, the 360-degree rig of configs/e3dge_panohead.py): both
    networks update on one fixed batch, every term finite, the loss falls (measured: 23.9 -> 11.4 over 4 steps)."""
    import ml_collections

    from configs import generators

    kwargs = generators.panohead_init_kwargs(depth_resolution=8, depth_resolution_importance=8)
    over = {"generator.kind": "panohead", "generator.init_kwargs": ml_collections.ConfigDict(kwargs),
            "data.poses.pivot": (0.0, 0.0, 0.0), "data.poses.yaw_std": 1.5708, "batch_size": 4,
            "phases.add_local": 0, "phases.stop_global": 10}
    b = loop.build(config(**over), str(tmp_path), Method)
    assert b["method"].gen_cfg.kind == "panohead" and b["method"].gen_cfg.triplane_depth == 3
    state, batch, losses = b["state"], next(b["data"]), []
    for i in range(4):
        state, m = b["train_step"](state, batch, b["frozen"], i)
        m = {k: float(v) for k, v in sharding.fetch(m).items()}
        assert all(np.isfinite(v) for v in m.values()), m
        assert m["encoder/update_norm"] > 0 and m["local/update_norm"] > 0
        losses.append(m["loss"])
    print("PanoHead E3DGE loss per step:", [round(v, 3) for v in losses])
    assert losses[-1] < losses[0], losses


def test_config_errors_are_one_line():
    for key, value, match in (("data.source", "folder", "data.source"), ("data.real_fraction", 0.0, "real_fraction"),
                              ("model.local.resolution", 18, "resolution")):
        over = {key: value}
        if key == "data.real_fraction":
            over["data.source"] = "mixed"
        with pytest.raises(ValueError, match=match) as err:
            Method(config(**over))
        assert "\n" not in str(err.value)


def test_full_and_panohead_configs_have_the_real_sizes():
    import importlib.util

    def load(name):
        spec = importlib.util.spec_from_file_location(name, REPO / "configs" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.get_config()

    full = Method(load("e3dge_full"))
    assert full.gen_cfg.num_ws == 14 and full.gen_cfg.triplane_resolution == 256
    assert full.gen_cfg.render.remat and not Method(config()).gen_cfg.render.remat  # generator.remat read
    assert full.local.features == 256 and full.local.fuse_inputs == 2 * 257 + 45
    pano = Method(load("e3dge_panohead"))
    assert pano.gen_cfg.kind == "panohead" and pano.gen_cfg.triplane_depth == 3
    shapes = jax.eval_shape(pano.init_variables, jax.random.PRNGKey(0))
    assert shapes["local"]["params"]["delta"]["kernel"].shape == (256, 32)


@pytest.mark.slow
def test_mixed_real_rows_train_and_resume_exactly(tmp_path):
    """data.source 'mixed': 2 real photo rows beside 2 pairs per batch (a grain batch of 1 overflows its
    length); every term finite, and a run stopped after step 1 and resumed (both input positions
    restored) ends where a straight 2-step run does."""
    import math

    from PIL import Image

    from inversion3d import camera
    from inversion3d.preprocess.dataset_json import write_dataset_json

    root = tmp_path / "aligned"
    root.mkdir()
    rs = np.random.RandomState(0)
    labels = camera.make_label(camera.lookat_pose(math.pi / 2 + np.linspace(-0.3, 0.3, 3), np.full(3, math.pi / 2)),
                               camera.intrinsics_matrix(camera.FFHQ_FOCAL))
    for i in range(3):
        Image.fromarray(rs.randint(0, 256, (64, 64, 3)).astype(np.uint8)).save(root / f"p{i}.png")
    write_dataset_json(root / "dataset.json", [(f"p{i}.png", labels[i]) for i in range(3)])
    mixed = {"data.source": "mixed", "data.folder": str(root), "data.tfds_dir": str(tmp_path / "tfds"),
             "data.real_fraction": 0.5, "batch_size": 4, "total_steps": 2, "phases.add_local": 0}
    straight = flat_params(loop.train_and_evaluate(config(**mixed), str(tmp_path / "straight"), Method))
    work = str(tmp_path / "stopped")
    loop.train_and_evaluate(config(**dict(mixed, total_steps=1, **{"checkpoint.every": 1})), work, Method)
    resumed = flat_params(loop.train_and_evaluate(config(**dict(mixed, **{"checkpoint.every": 1})), work, Method))
    for k in straight:
        assert np.all(np.isfinite(straight[k])), k
        np.testing.assert_array_equal(resumed[k], straight[k], err_msg=k)
    lines = [json.loads(x) for x in open(tmp_path / "straight" / "metrics.jsonl") if '"local/l2"' in x]
    assert lines and all(np.isfinite(v) for v in lines[-1].values() if isinstance(v, float))
