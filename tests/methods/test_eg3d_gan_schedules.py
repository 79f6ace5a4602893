"""EG3D / PanoHead GAN schedules that the fast tests can check without compiling a GAN step (issue 16
item 2): the neural rendering resolution fade (official loss.py formula and the ffhq512-128 constants of
configs/eg3d_gan_full128.py), the step compiled once per resolution (training/gan.LazyRegularizedStep
stages), PanoHead's density-noise fade and background ws swap. A GAN step at each resolution of a fade,
and the PanoHead extras inside a step: test_eg3d_gan_train.py (slow)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.methods.eg3d_gan import losses as L
from inversion3d.methods.eg3d_gan.train import Method
from inversion3d.training import gan, sharding
from tests.training.helpers import load_config


def test_rendering_resolution_fade_formula():
    res = lambda nimg: L.rendering_resolution(nimg, 64, 128, 1000.0)  # noqa: E731
    assert res(0) == 64 and res(500_000) == 96 and res(1_000_000) == 128 and res(5_000_000) == 128
    # rint rounds halves to even: one pixel of the fade is 1e6 / 64 = 15625 images
    assert res(7812.5) == 64 and res(3 * 7812.5) == 66 and res(15625) == 65
    assert L.rendering_resolution(10**9, 64, None, 1000.0) == 64  # no final: static
    assert L.rendering_resolution(0, 64, 128, 0.0) == 128  # no fade: the final at once
    steps = [L.rendering_resolution(i * 32, 64, 128, 1000.0) for i in range(0, 31260, 7)]
    assert np.all(np.diff(steps) >= 0) and set(np.diff(steps)) <= {0, 1}


def test_ffhq512_128_constants_and_its_stages():
    config = load_config("eg3d_gan_full128")
    g = config.generator
    assert (g.neural_rendering_resolution, g.neural_rendering_resolution_final) == (64, 128)
    assert g.neural_rendering_resolution_fade_kimg == 1000.0 and config.batch_size == 32
    assert config.total_steps == 2000 * 1000 // 32
    stages = L.rendering_resolutions(64, 128, 1000.0, 32, config.total_steps)
    assert sorted(stages) == list(range(64, 129))  # 65 resolutions -> 65 x 3 lazy variants compiled
    # resolution r + 1 starts at the first nimg = 32 step with 64 nimg / 1e6 > r - 63.5 (a tie rounds to even)
    assert (stages[64], stages[65], stages[66], stages[127], stages[128]) == (0, 245, 733, 30518, 31006)
    method = Method(config)
    assert [method.static_stage(s) for s in (0, 244, 245, 31005, 31006, 62499)] == [64, 64, 65, 127, 128, 128]
    assert load_config("eg3d_gan").generator.neural_rendering_resolution_final is None  # the tiny run: static 32


def test_lazy_step_compiles_once_per_stage_and_drops_left_stages():
    traced = []

    def step(state, batch, frozen, regularize, width):
        traced.append((regularize, width))
        return state, {"x": jnp.sum(jnp.ones(width)) + batch["x"].sum()}  # width is a static shape

    mesh = sharding.make_mesh(1)
    rep = sharding.replicated(mesh)
    # the second regulariser is off (interval None: PanoHead's density_reg 0): its flag is always False
    lazy = gan.LazyRegularizedStep(step, (2, None), mesh, rep, rep, rep, stage=lambda i: 8 + i // 3)
    out = [float(lazy({"a": jnp.zeros(())}, {"x": jnp.zeros(2)}, {}, i)[1]["x"]) for i in range(9)]
    assert out == [8, 8, 8, 9, 9, 9, 10, 10, 10]
    on, off = (True, False), (False, False)
    assert traced == [(on, 8), (off, 8), (off, 9), (on, 9), (on, 10), (off, 10)]
    assert lazy.compiles == 6 and sorted(lazy._fns) == [(off, 10), (on, 10)]


def test_density_noise_fade_and_background_swap():
    assert float(L.density_noise_std(0, 200.0)) == 1.0
    assert float(L.density_noise_std(100_000, 200.0)) == pytest.approx(0.5)
    assert float(L.density_noise_std(300_000, 200.0)) == 0.0 and float(L.density_noise_std(0, 0.0)) == 0.0
    ws = jnp.arange(6 * 2 * 3, dtype=jnp.float32).reshape(6, 2, 3)
    assert L.background_ws(jax.random.PRNGKey(0), ws, 0.0) is None
    np.testing.assert_array_equal(L.background_ws(jax.random.PRNGKey(0), ws, 1.0), jnp.roll(ws, 1, axis=0))
    mixed = np.asarray(L.background_ws(jax.random.PRNGKey(3), ws, 0.5))
    own = np.all(mixed == np.asarray(ws), axis=(1, 2))
    swapped = np.all(mixed == np.roll(np.asarray(ws), 1, axis=0), axis=(1, 2))
    assert np.all(own | swapped) and own.any() and swapped.any()  # per sample, whole ws rows


def test_panohead_extras_configured_and_eg3d_rejects_background_swap():
    pano = load_config("panohead_gan")
    assert pano.losses.bcg_reg_prob == 0.2  # README command
    assert 0 < pano.losses.density_noise_fade_kimg <= pano.losses.blur_fade_kimg  # official 200, shortened as the blur
    assert Method(pano).bcg_reg_prob == 0.2
    assert pano.losses.r1_gamma_seg > pano.losses.r1_gamma > 0  # the mask's R1 weight (configs/panohead_gan.py)
    eg3d = load_config("eg3d_gan")
    assert eg3d.losses.bcg_reg_prob == 0.0 and eg3d.losses.density_noise_fade_kimg == 0.0
    eg3d.losses.bcg_reg_prob = 0.2
    with pytest.raises(ValueError, match="bcg_reg_prob"):
        Method(eg3d)
