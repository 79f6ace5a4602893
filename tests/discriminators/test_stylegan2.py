"""EG3D's dual discriminator and the GAN training terms (issue 16 item 2): R1 against finite
differences of D (slow), minibatch std against numpy, the blur fade-in kernel and schedule, the G_ema
ramp and update formula, the pose-conditioning swap, style mixing, the density regulariser (slow) and the
lazy-regularisation phase schedule with two intervals. Tiny sizes (8-16 px); no generator."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.discriminators.stylegan2 import DualDiscriminator, blur_images, blur_kernel, minibatch_std
from inversion3d.methods.eg3d_gan import losses as L
from inversion3d.rendering.renderer import RenderConfig
from inversion3d.training import gan, sharding
from inversion3d.training.state import create_train_state
from tests.tolerances import f32_tol


@pytest.fixture(scope="module")
def tiny_d():
    d = DualDiscriminator(8, channel_base=64, channel_max=8, mbstd_group_size=2, mapping_layers=2)
    rng = np.random.default_rng(0)
    image = rng.uniform(-1, 1, (2, 8, 8, 3))
    raw = rng.uniform(-1, 1, (2, 4, 4, 3))
    c = rng.standard_normal((2, 25))
    with jax.enable_x64():
        v = d.init(jax.random.PRNGKey(0), *(jnp.asarray(a, jnp.float32) for a in (image, raw, c)))
        v = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), v)
    return d, v, image, raw, c


@pytest.mark.slow  # ~1 min: an x64 compile of D and of 960 finite-difference evaluations
def test_r1_matches_finite_differences_of_d(tiny_d):
    d, v, image, raw, c = tiny_d
    with jax.enable_x64():
        d_fn = lambda x, r: d.apply(v, x, r, jnp.asarray(c))  # noqa: E731
        penalty = float(L.r1_dual(d_fn, (jnp.asarray(image), jnp.asarray(raw))))
        flat = np.concatenate([image.ravel(), raw.ravel()])
        split = image.size

        def total(z):
            return jnp.sum(d_fn(z[:split].reshape(image.shape), z[split:].reshape(raw.shape)))

        h = 1e-5
        eye = np.eye(flat.size) * h
        f = jax.jit(jax.vmap(total))
        grad = (np.asarray(f(jnp.asarray(flat + eye))) - np.asarray(f(jnp.asarray(flat - eye)))) / (2 * h)
    g_img, g_raw = grad[:split].reshape(image.shape), grad[split:].reshape(raw.shape)
    expected = np.mean(np.sum(g_img.reshape(2, -1) ** 2, 1) + np.sum(g_raw.reshape(2, -1) ** 2, 1))
    assert expected > 0
    np.testing.assert_allclose(penalty, expected, rtol=1e-6)


def test_minibatch_std_matches_numpy():
    x = np.random.default_rng(1).standard_normal((4, 4, 4, 6)).astype(np.float32)
    out = np.asarray(minibatch_std(jnp.asarray(x), group_size=2, num_channels=1))
    # official grouping: sample n is in group n % (N / G); std over the group, averaged over C, H, W
    m = 4 // 2
    stats = [np.mean(np.sqrt(np.var(x[[j, j + m]], axis=0) + 1e-8)) for j in range(m)]
    for n in range(4):
        np.testing.assert_allclose(out[n, ..., -1], stats[n % m], rtol=1e-5)
    np.testing.assert_array_equal(out[..., :6], x)


def test_discriminator_shapes_and_bad_input(tiny_d):
    d, v, image, raw, c = tiny_d
    with jax.enable_x64():
        logits = d.apply(v, jnp.asarray(image), jnp.asarray(raw), jnp.asarray(c))
    assert logits.shape == (2, 1) and np.all(np.isfinite(logits))
    with pytest.raises(ValueError, match="image: expected"):
        d.apply(v, jnp.zeros((2, 16, 16, 3)), jnp.asarray(raw), jnp.asarray(c))


def test_mask_channel_is_centred_as_panoheads_v2():
    """PanoHead's MaskDualDiscriminatorV2 feeds 2 m - 1: a mask of 0.5 is a zero channel, so the logits do not
    depend on the first layer's weights for it; a mask of 1 (-> 1) does."""
    d = DualDiscriminator(8, channel_base=64, channel_max=8, mbstd_group_size=2, mapping_layers=2, with_mask=True)
    rng = np.random.default_rng(1)
    image, raw = jnp.asarray(rng.uniform(-1, 1, (2, 8, 8, 3))), jnp.asarray(rng.uniform(-1, 1, (2, 4, 4, 3)))
    c, half = jnp.asarray(rng.standard_normal((2, 25))), jnp.full((2, 4, 4, 1), 0.5)
    v = d.init(jax.random.PRNGKey(0), image, raw, c, half)
    params = v["params"]
    w = params["b8"]["fromrgb"]["weight"]
    assert w.shape[-2] == 7  # image, raw, mask channels (HWIO)
    moved = jax.tree.map(lambda a: a, params)
    moved["b8"]["fromrgb"]["weight"] = w.at[..., 6, :].add(1.0)
    logits = lambda p, m: np.asarray(d.apply({**v, "params": p}, image, raw, c, m))
    np.testing.assert_allclose(logits(moved, half), logits(params, half), rtol=1e-5, atol=1e-6)
    full = jnp.ones_like(half)
    assert np.abs(logits(moved, full) - logits(params, full)).max() > 1e-3


def test_r1_per_input_parts_sum_to_the_joint_r1():
    """PanoHead weighs the mask's R1 apart (--gamma_seg): the per-input parts add up to the joint penalty,
    and the mask's part is the squared gradient of D with respect to the mask alone."""
    d = DualDiscriminator(8, channel_base=64, channel_max=8, mbstd_group_size=2, mapping_layers=2, with_mask=True)
    rng = np.random.default_rng(2)
    image, raw = jnp.asarray(rng.uniform(-1, 1, (2, 8, 8, 3))), jnp.asarray(rng.uniform(-1, 1, (2, 4, 4, 3)))
    c, mask = jnp.asarray(rng.standard_normal((2, 25))), jnp.asarray(rng.uniform(0, 1, (2, 4, 4, 1)))
    v = d.init(jax.random.PRNGKey(0), image, raw, c, mask)
    d_fn = lambda i, r, m: d.apply(v, i, r, c, m)
    parts = L.r1_per_input(d_fn, (image, raw, mask))
    assert len(parts) == 3 and all(float(p) > 0 for p in parts)
    np.testing.assert_allclose(float(sum(parts)), float(L.r1_dual(d_fn, (image, raw, mask))), rtol=1e-6)
    g = jax.grad(lambda m: jnp.sum(d_fn(image, raw, m)))(mask)
    np.testing.assert_allclose(float(parts[2]), float(jnp.mean(jnp.sum(g ** 2, axis=(1, 2, 3)))), rtol=1e-5)


def test_blur_kernel_and_fade_in_schedule():
    sigma = 2.5
    x = np.arange(-7, 8)  # floor(3 sigma) = 7
    ref = np.exp2(-(x / sigma) ** 2)
    k = np.asarray(blur_kernel(sigma, 10.0))
    assert k.shape == (61,)
    np.testing.assert_allclose(k[30 - 7:30 + 8], ref / ref.sum(), rtol=1e-6)
    assert np.all(k[:30 - 7] == 0) and np.all(k[30 + 8:] == 0)
    # official: max(1 - nimg / (fade_kimg 1e3), 0) * init
    assert [float(L.blur_sigma(n, 10.0, 20.0)) for n in (0, 5000, 10000, 20000, 40000)] == [10.0, 7.5, 5.0, 0.0, 0.0]
    assert float(L.blur_sigma(123, 10.0, 0.0)) == 0.0
    img = jnp.asarray(np.random.default_rng(2).uniform(-1, 1, (1, 8, 8, 3)), jnp.float32)
    np.testing.assert_array_equal(blur_images(img, 0.0, 10.0), img)  # sigma 0 (floor(3 sigma) = 0): unchanged
    k1 = np.asarray(blur_kernel(1.0, 10.0))
    # separable: a single bright pixel spreads as outer(k, k)
    impulse = np.zeros((1, 9, 9, 1), np.float32)
    impulse[0, 4, 4] = 1
    spread = np.asarray(blur_images(jnp.asarray(impulse), 1.0, 10.0))[0, :, :, 0]
    k3 = k1[30 - 3:30 + 4]
    np.testing.assert_allclose(spread[1:8, 1:8], np.outer(k3, k3), atol=1e-7)


def test_swap_prob_and_ema_ramp():
    # generator pose conditioning: 1 at the start, gpc_reg_prob after the fade
    assert [float(L.swap_prob(n, 0.5, 1.0)) for n in (0, 500, 1000, 5000)] == [1.0, 0.75, 0.5, 0.5]
    assert float(L.swap_prob(0, 0.5, 0.0)) == 0.5
    # G_ema: beta = 0.5 ** (B / max(min(ema_kimg 1e3, nimg * rampup), 1e-8))
    assert float(L.ema_beta(0, 8, 2.5, 0.05)) == 0.0
    np.testing.assert_allclose(float(L.ema_beta(16000, 8, 2.5, 0.05)), 0.5 ** (8 / 800), rtol=1e-6)
    np.testing.assert_allclose(float(L.ema_beta(10 ** 6, 8, 2.5, 0.05)), 0.5 ** (8 / 2500), rtol=1e-6)
    np.testing.assert_allclose(float(L.ema_beta(16, 8, 2.5, None)), 0.5 ** (8 / 2500), rtol=1e-6)


def test_update_ema_formula():
    import optax

    params = {"g": {"params": {"w": jnp.arange(4.0)}}, "d": {"params": {"w": jnp.ones(2)}}}
    state = create_train_state(jax.random.PRNGKey(0), params, {"g": optax.sgd(1.0), "d": optax.sgd(1.0)},
                               manual_ema=("g",))
    assert set(state.ema_params) == {"g"}
    state = state.apply_gradients("g", {"w": jnp.ones(4)})  # manual: no EMA change here
    np.testing.assert_array_equal(state.ema_params["g"]["w"], np.arange(4.0))
    new = state.update_ema("g", 0.25)
    np.testing.assert_allclose(new.ema_params["g"]["w"], 0.25 * np.arange(4.0) + 0.75 * (np.arange(4.0) - 1))
    with pytest.raises(ValueError, match="no EMA"):
        state.update_ema("d", 0.5)


def test_pose_swap_and_style_mixing():
    c = jnp.arange(4.0 * 25).reshape(4, 25)
    key = jax.random.PRNGKey(0)
    np.testing.assert_array_equal(L.conditioning_cameras(key, c, 0.0), c)
    np.testing.assert_array_equal(L.conditioning_cameras(key, c, 1.0), jnp.roll(c, 1, axis=0))
    mixed = np.asarray(L.conditioning_cameras(key, c, 0.5))
    assert all(np.array_equal(mixed[i], c[i]) or np.array_equal(mixed[i], c[i - 1]) for i in range(4))
    ws, other = jnp.zeros((2, 6, 3)), jnp.ones((2, 6, 3))
    np.testing.assert_array_equal(L.style_mix(key, ws, other, 0.0), ws)
    for seed in range(5):
        out = np.asarray(L.style_mix(jax.random.PRNGKey(seed), ws, other, 1.0))
        rows = out[0, :, 0]
        cut = int(np.argmax(rows))  # prob 1: a cutoff in [1, 6): zeros then ones
        assert 1 <= cut < 6 and np.all(rows[:cut] == 0) and np.all(rows[cut:] == 1)


@pytest.mark.slow  # ~25 s: compiles two plane lookups
def test_density_l1_is_zero_on_constant_planes_and_positive_otherwise():
    cfg = RenderConfig(depth_resolution=4, depth_resolution_importance=0, ray_start=2.25, ray_end=3.3)

    def decode(feats):  # sigma = the mean feature over planes and channels
        return {"sigma": jnp.mean(feats, axis=(1, 3))[..., None]}

    planes = jnp.ones((2, 3, 8, 8, 4))
    key = jax.random.PRNGKey(0)
    # box_warp 1: points in [-1, 1]^3 are partly outside the feature cube (zero features, official too),
    # so only points inside (|x| < 0.5 with margin p_dist) are tested for an exact zero
    inside = L.density_l1(key, planes, decode, dataclasses.replace(cfg, box_warp=4.0), 64, 0.004)
    # zero up to float32 rounding: the four bilinear weights of a point sum to 1 only to an ulp or two
    # (in float32 about 1.5 % of random points give 1 - 6e-8), so sigma(x) and sigma(x + eps) of a
    # constant field may differ by rounding; sigma is a mean over 3 planes x 4 channels of 4-tap lookups
    assert float(inside) <= f32_tol(1.0, n_reduce=4), float(inside)
    rough = jax.random.normal(key, (2, 3, 8, 8, 4))
    assert float(L.density_l1(key, rough, decode, cfg, 64, 0.004)) > 0


def test_lazy_step_with_two_intervals():
    calls = []

    def step(state, batch, frozen, regularize):
        calls.append(regularize)  # traced once per variant
        return state, {"x": batch["x"].sum()}

    mesh = sharding.make_mesh(1)
    rep = sharding.replicated(mesh)
    lazy = gan.LazyRegularizedStep(step, (4, 16), mesh, rep, rep, rep)
    seen = []
    for s in range(18):
        lazy({"a": jnp.zeros(())}, {"x": jnp.ones(2)}, {}, s)
        seen.append(tuple(s % k == 0 for k in (4, 16)))
    assert sorted(set(calls)) == sorted({(False, False), (True, False), (True, True)})
    assert len(calls) == 3  # each variant compiled once
    with pytest.raises(ValueError, match="intervals"):
        gan.LazyRegularizedStep(step, (4, 0), mesh, rep, rep, rep)
