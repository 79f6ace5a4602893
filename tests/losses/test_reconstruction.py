"""losses/reconstruction.py against numpy references; training/loss_networks.py set-up."""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from inversion3d.losses import reconstruction
from inversion3d.training import loss_networks


def _images(seed, n=2, size=8):
    return np.random.RandomState(seed).uniform(-1, 1, (n, size, size, 3)).astype(np.float32)


def test_smooth_l1_matches_torch_definition():
    x, y = _images(0), _images(1)
    d = np.abs(x - y)
    ref = np.where(d < 1.0, 0.5 * d ** 2, d - 0.5)
    np.testing.assert_allclose(reconstruction.smooth_l1(x, y), ref, rtol=1e-6, atol=1e-7)


def test_confidence_weighting():
    x, y = _images(2), _images(3)
    conf = np.random.RandomState(4).uniform(0, 2, (2, 8, 8, 1)).astype(np.float32)
    ref = np.mean(np.mean((x - y) ** 2, axis=-1, keepdims=True) / (conf + 1.0))
    np.testing.assert_allclose(reconstruction.pixel_loss(x, y, "l2", conf), ref, rtol=1e-6)
    np.testing.assert_allclose(reconstruction.pixel_loss(x, y, "l2"), np.mean((x - y) ** 2), rtol=1e-6)


def test_terms_at_resolution_area_average():
    x, y = _images(5, size=8), _images(6, size=8)
    terms = reconstruction.reconstruction_terms(x, y, resolution=4)
    xs = x.reshape(2, 4, 2, 4, 2, 3).mean(axis=(2, 4))
    ys = y.reshape(2, 4, 2, 4, 2, 3).mean(axis=(2, 4))
    assert set(terms) == {"l2"}
    np.testing.assert_allclose(terms["l2"], np.mean((xs - ys) ** 2), rtol=1e-5)


def test_weighted_total_and_errors():
    terms = {"l2": jnp.float32(2.0), "lpips": jnp.float32(3.0)}
    assert float(reconstruction.weighted_total(terms, {"l2": 1.0, "lpips": 0.8, "id": 0.25})) == pytest.approx(4.4)
    with pytest.raises(ValueError, match=r"no weight for the term\(s\) \['lpips'\]"):
        reconstruction.weighted_total(terms, {"l2": 1.0})
    with pytest.raises(ValueError, match="pixel loss"):
        reconstruction.pixel_loss(_images(0), _images(1), "l1")
    with pytest.raises(ValueError, match="one shape"):
        reconstruction.reconstruction_terms(_images(0, size=8), _images(1, size=4))


def test_random_lpips_term_is_differentiable_and_zero_on_equal_images():
    cfg = ml_collections.ConfigDict({"lpips_weights": "random-init:alex", "arcface_weights": ""})
    nets = loss_networks.load(cfg, jax.random.PRNGKey(0))
    assert nets["arcface"] is None and "without arcface" in loss_networks.describe(nets)
    x, y = _images(7, size=64), _images(8, size=64)
    same = reconstruction.reconstruction_terms(x, x, lpips=nets["lpips"], resolution=64)
    assert float(same["lpips"]) < 1e-6
    grad = jax.grad(lambda a: reconstruction.reconstruction_terms(a, y, lpips=nets["lpips"], resolution=64)["lpips"])(x)
    assert np.isfinite(np.asarray(grad)).all() and float(jnp.abs(grad).max()) > 0
