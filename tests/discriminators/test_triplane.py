"""Occlusion-aware tri-plane discriminator (encoders.md §6): shapes, masking, bad input.

There is no official code or golden; these tests pin the port's documented behaviour.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.discriminators.triplane import TriplaneDiscriminator, occlusion_masked
from tests.encoders.recipe import random_variables

R, C = 32, 96  # tiny resolution, PanoHead's 3 x 96 = 288 channels


@pytest.fixture(scope="module")
def case():
    module = TriplaneDiscriminator(resolution=R, in_channels=3 * C, channels=(16, 32, 32))
    rng = np.random.default_rng(0)
    planes = rng.standard_normal((2, 3, R, R, C)).astype(np.float32)
    visibility = (rng.uniform(size=(2, 3, R, R)) > 0.5).astype(np.float32)
    variables = random_variables(jax.eval_shape(module.init, jax.random.PRNGKey(0), planes, visibility), seed=1)
    apply = jax.jit(module.apply)
    return module, variables, planes, visibility, apply


def test_logits_shape(case):
    _, variables, planes, visibility, apply = case
    out = apply(variables, planes, visibility)
    assert out.shape == (2, 1) and np.all(np.isfinite(out))


def test_visible_cells_are_ignored(case):
    _, variables, planes, visibility, apply = case
    changed = planes + 5.0 * visibility[..., None]  # perturb only the visible cells
    np.testing.assert_allclose(apply(variables, changed, visibility), apply(variables, planes, visibility), atol=1e-5)
    grad = jax.grad(lambda p: apply(variables, p, visibility).sum())(jnp.asarray(planes))
    assert np.all(np.asarray(grad)[visibility.astype(bool)] == 0)
    assert np.abs(np.asarray(grad)[~visibility.astype(bool)]).max() > 0


def test_masking_order_matches_288_channel_layout():
    planes = np.random.default_rng(2).standard_normal((1, 3, 4, 4, 96)).astype(np.float32)
    vis = np.zeros((1, 3, 4, 4), np.float32)
    vis[0, 1] = 1.0  # plane 1 fully visible -> its 96 channels vanish
    x = np.asarray(occlusion_masked(planes, vis))
    assert x.shape == (1, 4, 4, 288)
    assert np.all(x[..., 96:192] == 0)
    np.testing.assert_array_equal(x[..., :96], planes[0, 0][None])


def test_bad_inputs(case):
    module, variables, planes, visibility, _ = case
    with pytest.raises(ValueError, match="planes: expected"):
        module.apply(variables, planes[:, :, :16, :16], None)
    with pytest.raises(ValueError, match="visibility: expected"):
        module.apply(variables, planes, visibility[:, :2])
    with pytest.raises(ValueError, match="channels"):
        TriplaneDiscriminator(resolution=R, in_channels=3 * C, channels=(8,) * 6).init(
            jax.random.PRNGKey(0), planes)
