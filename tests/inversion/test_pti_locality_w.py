"""PTI's locality regulariser (inversion/pti.locality_loss) and the single-w (W-space) projector
(configs/wplus.py space='w'), on the embedded tiny generator at neural resolution 16, 8 + 8 samples."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d import camera
from inversion3d.inversion import pti, wplus
from tests.inversion.test_wplus_pti import config, gen, scene  # noqa: F401 (module fixtures)


@pytest.mark.slow
def test_w_space_projector_keeps_one_w(gen, scene):  # noqa: F811
    ws, c, target = scene
    cfg = config("wplus", steps=8)
    cfg.space = "w"
    res = wplus.run(gen, target, c, cfg, log=lambda *a: None)
    out = np.asarray(res["ws"])
    assert out.shape == ws.shape
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1], out.shape))  # one w on every layer
    assert np.all(np.isfinite(res["losses"])) and float(np.abs(out[0, 0] - out[0, 0].mean()).max()) > 0
    assert not np.allclose(out[0, 0], np.asarray(wplus.init(*res_stats(gen, cfg), 14, 1, cfg).ws[0, 0]))  # it moved
    cfg.space = "z"
    with pytest.raises(ValueError, match="space"):
        wplus.run(gen, target, c, cfg, log=lambda *a: None)


def res_stats(gen, cfg):  # noqa: F811
    from inversion3d.inversion import optimization as opt

    return opt.compute_w_statistics(gen, camera.generator_frontal_label(gen), cfg.w_avg_samples, cfg.w_avg_seed)


@pytest.mark.slow
def test_locality_regulariser_is_zero_for_the_original_generator_and_grows(gen, scene):  # noqa: F811
    ws, c, target = scene
    cfg = config("pti", steps=2)
    cfg.tune.locality_weight = 1.0
    state = pti.init(gen.params, 1, cfg.tune, cfg.pose_opt)
    frozen = {"buffers": gen.params["buffers"], "original": gen.params["params"], "lpips": {},
              "cond": jnp.asarray(camera.generator_frontal_label(gen)), "samples": jnp.zeros((2,))}
    static = pti.static_settings(cfg.tune, cfg.pose_opt, None)
    fn = jax.jit(lambda p: pti.locality_loss(gen.config, static, p, frozen, jnp.asarray(ws), jnp.asarray(c),
                                             jax.random.PRNGKey(0), state.hparams))
    assert float(fn(state.params)) < 1e-10
    moved = jax.tree.map(lambda x: x * 1.05, state.params)
    assert float(fn(moved)) > 1e-6
    cfg.tune.max_steps = 3
    res = pti.run(gen, target, c, cfg, log=lambda *a: None)
    assert np.all(np.isfinite(res["tune_losses"])) and res["tune_steps"] == 3
