"""Adversarial losses, R1 and regularisers against closed forms and finite differences."""
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.losses import adversarial as adv
from inversion3d.losses import regularisers as reg


def _softplus(x):
    return np.log1p(np.exp(x))


def test_nonsaturating_and_logistic_closed_form():
    real, fake = np.array([0.5, -1.0, 2.0]), np.array([-0.3, 1.5])
    np.testing.assert_allclose(adv.generator_nonsaturating(fake), _softplus(-fake).mean(), rtol=1e-6)
    np.testing.assert_allclose(adv.discriminator_logistic(real, fake),
                               _softplus(fake).mean() + _softplus(-real).mean(), rtol=1e-6)


def test_r1_of_a_linear_and_a_quadratic_discriminator():
    x = jnp.asarray(np.random.RandomState(0).randn(4, 3, 5), jnp.float32)
    w = jnp.asarray(np.random.RandomState(1).randn(3, 5), jnp.float32)
    linear = lambda v: jnp.sum(v * w, axis=(1, 2))  # grad = w for every sample
    np.testing.assert_allclose(adv.r1_penalty(linear, x), float(jnp.sum(w ** 2)), rtol=1e-5)
    quadratic = lambda v: 0.5 * jnp.sum(v ** 2, axis=(1, 2))  # grad = v
    np.testing.assert_allclose(adv.r1_penalty(quadratic, x), float(jnp.mean(jnp.sum(x ** 2, axis=(1, 2)))),
                               rtol=1e-5)
    np.testing.assert_allclose(adv.r1_loss(quadratic, x, gamma=10.0, interval=16),
                               0.5 * 10.0 * 16 * float(adv.r1_penalty(quadratic, x)), rtol=1e-6)
    assert bool(adv.is_regularisation_step(32, 16)) and not bool(adv.is_regularisation_step(33, 16))


def test_background_depth():
    depth = jnp.array([[[[2.0]], [[3.0]]]])  # (1, 2, 1, 1)
    mask = jnp.array([[[[1.0]], [[0.0]]]])
    np.testing.assert_allclose(reg.background_depth(depth, mask, 2.5), 0.25)
    assert float(reg.background_depth(depth, jnp.zeros_like(mask), 2.5)) == 0.0


def test_wplus_and_triplane_delta():
    ws = np.zeros((2, 3, 4), np.float32)
    ws[0, 2] = 1.0  # one row differs from w_0 by ones -> 4
    np.testing.assert_allclose(reg.wplus_delta(ws), 4 / 2)
    np.testing.assert_allclose(reg.triplane_delta(jnp.full((1, 3, 2, 2, 4), 0.5)), 0.25)


def test_blend_entropy_values_and_gradient():
    b = jnp.array([0.0, 0.5, 1.0, 0.9])
    bs = np.clip(np.asarray(b, np.float64) ** 2, 1e-19, 1 - np.finfo(np.float32).epsneg)
    want = np.mean(-(bs * np.log(bs) + (1 - bs) * np.log1p(-bs)))
    assert np.isfinite(want) and np.isfinite(float(reg.blend_entropy(b)))  # b = 1 gives no nan
    np.testing.assert_allclose(reg.blend_entropy(b), want, rtol=1e-4, atol=1e-6)
    assert np.all(np.isfinite(np.asarray(jax.grad(lambda v: reg.blend_entropy(v))(b))))
    # Minimum at the ends; maximum where b^2 = 0.5.
    assert float(reg.blend_entropy(jnp.array([2 ** -0.5]))) > float(reg.blend_entropy(jnp.array([0.9])))
    g = jax.grad(lambda v: reg.blend_entropy(v))(jnp.array([0.3]))
    eps = 1e-3
    fd = (float(reg.blend_entropy(jnp.array([0.3 + eps]))) - float(reg.blend_entropy(jnp.array([0.3 - eps])))) / (2 * eps)
    np.testing.assert_allclose(float(g[0]), fd, rtol=1e-3)
