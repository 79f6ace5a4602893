"""Dual Encoder training (methods/dual/train.py; paper Appendix A.2, Eq. 5-9) at test size.

The fast tests pin the z+ real samples and the config checks; a slow one that training's occlusion
mask is inference's. The slow ones share one module
fixture that steps the loop's compiled step by hand (configs/dual.py, batch 8, R1 every 2 steps,
a quarter of each batch Z+ renders) and records the params after every step; the resumed runs and
the 8-device worker get the same programs from the persistent compilation cache.
"""
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.generators import eg3d
from inversion3d.methods.dual import pipeline as dual
from inversion3d.methods.dual.train import Method, generator_config, split_net, zplus_codes
from inversion3d.training import loop, sharding
from tests.encoders.recipe import random_variables
from tests.methods.dual_train_helpers import N_STEPS, config
from tests.tolerances import f32_tol
from tests.training.helpers import flat_params, load_config, rel_diff, run_fed_worker

TOL, UPDATE_TOL = 1e-5, 1e-2  # as tests/methods/test_triplanenet_train.py (IR-SE BatchNorm, Ranger warm-up)


def test_zplus_rows_come_from_independent_z():
    """Row i of the z+ code is the mapping of its own z_i at the front camera (Appendix A.2)."""
    cfg = generator_config(load_config("dual").generator)
    shapes = jax.eval_shape(lambda: eg3d.init_variables(cfg, jax.random.PRNGKey(0)))
    gen = random_variables(shapes, seed=0, scale=50.0)  # mapping lr_multiplier 0.01: effective weights ~0.5 u
    c = jnp.broadcast_to(jnp.asarray(np.eye(4).reshape(-1).tolist() + [4.2647, 0, 0.5, 0, 4.2647, 0.5, 0, 0, 1],
                                     jnp.float32), (2, 25))
    key = jax.random.PRNGKey(3)
    ws = zplus_codes(cfg, gen, key, c, 0.85)
    assert ws.shape == (2, cfg.num_ws, cfg.w_dim)
    z = jax.random.normal(key, (2 * cfg.num_ws, cfg.z_dim)).reshape(2, cfg.num_ws, cfg.z_dim)
    for i in (0, cfg.num_ws - 1):
        want = eg3d.mapping(cfg, gen, z[:, i], c, 0.85)[:, i]
        np.testing.assert_allclose(ws[:, i], want, atol=f32_tol(np.abs(want).max(), n_reduce=cfg.w_dim))
    assert float(jnp.abs(ws[:, 0] - ws[:, 1]).max()) > 1e-2 * float(jnp.abs(ws).max())  # independent rows


def test_config_checks():
    eg3d_cfg = load_config("dual")
    eg3d_cfg.generator.init_kwargs = load_config("triplanenet").generator.init_kwargs
    with pytest.raises(ValueError, match="rendering_kwargs: no PanoHead keys"):
        Method(eg3d_cfg)
    bad = load_config("dual")
    bad.data.synthetic_ratio = 1.5
    with pytest.raises(ValueError, match=r"data.synthetic_ratio: expected in \[0, 1\], got 1.5"):
        Method(bad)
    with pytest.raises(ValueError, match="mesh.mode: dual trains with 'jit' only"):
        Method(load_config("dual")).make_step("shard_map", None)


def _stats(state):
    return {jax.tree_util.keystr(k): np.asarray(v)
            for k, v in jax.tree_util.tree_leaves_with_path(sharding.fetch(state.batch_stats))}


@pytest.fixture(scope="module")
def stepped(tmp_path_factory):
    """(params after each step [0..N], batch stats after each step, metrics per step, the batches stepped)."""
    b = loop.build(config(), str(tmp_path_factory.mktemp("manual")), Method)
    state = b["state"]
    params, stats, metrics, batches = [flat_params(state)], [_stats(state)], [], []
    for i in range(N_STEPS):
        batch = next(b["data"])
        state, m = b["train_step"](state, batch, b["frozen"], i)
        params.append(flat_params(state))
        stats.append(_stats(state))
        metrics.append({k: float(v) for k, v in sharding.fetch(m).items()})
        batches.append(sharding.fetch(batch))
    return params, stats, metrics, batches


@pytest.mark.slow
def test_every_term_finite_and_every_net_moves(stepped):
    params, stats, metrics, _ = stepped
    for m in metrics:
        assert all(np.isfinite(v) for v in m.values()), m
    want = {"e1/l2", "e1/lpips", "e1/w_l2", "e1/w_lpips", "e2/l2", "e2/lpips", "e2/w_l2", "e2/adv", "d/adv",
            "d/real_logit", "d/fake_logit", "loss"}
    assert want <= set(metrics[1]), sorted(metrics[1])
    assert "r1/r1_penalty" in metrics[0] and "r1/r1_penalty" not in metrics[1] and "r1/r1_penalty" in metrics[2]
    print("loss per step:", [round(m["loss"], 4) for m in metrics],
          "d/adv:", [round(m["d/adv"], 4) for m in metrics])
    for net in ("e1/psp", "e1/triplanenet", "e2/psp", "e2/triplanenet", "discriminator"):
        assert any(not np.array_equal(params[1][k], params[0][k]) for k in params[0] if k.startswith(net)), net
    d_stats = [k for k in stats[0] if "discriminator" in k]
    assert d_stats and all(not np.array_equal(stats[1][k], stats[0][k]) for k in d_stats)


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
    """The 8-device input pipeline gives the same batch to float32 error, and the 8-device step on the
    one-device run's batches gives its params (as tests/methods/test_e3dge_train.py: the Z+ rows are
    rendered under the mesh's sharding, so the two pipelines agree to rounding, not bit for bit)."""
    params, batches = stepped[0], stepped[3]
    first, eight = run_fed_worker("methods/dual_multidevice_worker.py", tmp_path, batches, timeout=1800)
    res = {"batch": first, "rel": rel_diff(eight, params[-1])}
    for net in ("e1", "e2", "discriminator"):
        one = {k: v for k, v in params[-1].items() if k.startswith(net + "/")}
        init = params[0]
        res[net + "_update"] = rel_diff({k: eight[k] - init[k] for k in one}, {k: one[k] - init[k] for k in one})
    print("8 vs 1 device after 3 steps:", json.dumps(res))
    assert res["batch"] <= TOL, res
    assert res["rel"] <= TOL and max(res[n + "_update"] for n in ("e1", "e2", "discriminator")) <= UPDATE_TOL, res


@pytest.mark.slow  # ~50 s CPU, ~95 s on the loaded 2-core machine: five encoder passes to compile
def test_training_masks_d_with_the_o_inference_stitches_with(tmp_path):
    """O of the D / E2 updates (step_inputs) == 1 - the mask dual.invert stitches with, for the same
    images, cameras and encoders; and it is E1's (E2's depth would give another O)."""
    b = loop.build(config(batch_size=2, **{"data.synthetic_ratio": 0.0}), str(tmp_path), Method)
    method, state, frozen = b["method"], b["state"], b["frozen"]
    batch = next(b["data"])
    gen = frozen["generator"]
    mods = (method.psp, method.psp_size, method.tri)

    def both(state, batch, frozen):
        train_o = method.step_inputs(state, batch, frozen)["occluded"]
        params = {"generator": gen}
        for name in ("e1", "e2"):
            params[name] = dict(split_net(state.variables(name)), latent_avg=None)
        out = dual.invert(method.gen_cfg, mods, mods, params, batch["image"], batch["c"], method.sigma)
        e2_o = dual.visible_part(method.gen_cfg, mods, dict(params["e2"], generator=gen), batch["image"],
                                 batch["c"], method.sigma)[3]
        return train_o, 1.0 - out["mask"], e2_o

    train_o, infer_o, e2_o = (np.asarray(a) for a in jax.jit(both)(state, batch, frozen))
    assert train_o.shape == infer_o.shape == (2, 3, 3, method.gen_cfg.triplane_resolution,
                                              method.gen_cfg.triplane_resolution)
    np.testing.assert_allclose(train_o, infer_o, atol=1e-5)
    assert 0.05 < train_o.mean() < 0.95, train_o.mean()  # a mask with both kinds of cells
    assert np.abs(train_o - e2_o).max() > 0.1  # the test tells E1's O from E2's
