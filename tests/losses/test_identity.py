"""ID similarity / loss: the crop + adaptive pooling against torch, properties of the loss."""
import jax
import numpy as np
import pytest

from inversion3d.encoders.arcface import ArcFace
from inversion3d.losses import identity
from tests.encoders.recipe import random_variables


def test_adaptive_pool_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 188, 188, 3)).astype(np.float32)
    want = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x).permute(0, 3, 1, 2), 112).permute(0, 2, 3, 1)
    np.testing.assert_allclose(identity.adaptive_avg_pool(x, 112), want.numpy(), atol=1e-6)


def test_face_crop_takes_the_specified_window():
    img = np.zeros((1, 256, 256, 3), np.float32)
    img[:, 35:223, 32:220] = 1.0  # inside the crop: ones; outside: zeros
    np.testing.assert_allclose(identity.face_crop(img), 1.0)


@pytest.fixture(scope="module")
def small_arcface():
    module = ArcFace(input_size=112, widths=(8, 8, 16, 16), embedding=16)
    x = np.zeros((1, 112, 112, 3), np.float32)
    return module, random_variables(jax.eval_shape(module.init, jax.random.PRNGKey(0), x), seed=1)


def test_similarity_and_loss(small_arcface):
    module, variables = small_arcface
    rs = np.random.default_rng(1)
    x = rs.uniform(-1, 1, (2, 256, 256, 3)).astype(np.float32)
    y = rs.uniform(-1, 1, (2, 256, 256, 3)).astype(np.float32)
    np.testing.assert_allclose(identity.id_similarity(module, variables, x, x), 1.0, atol=1e-5)
    assert float(identity.id_loss(module, variables, x, x)) < 1e-5
    sim = np.asarray(identity.id_similarity(module, variables, x, y))
    np.testing.assert_allclose(float(identity.id_loss(module, variables, x, y)), np.mean(1 - sim), atol=1e-5)
    g = jax.grad(lambda t: identity.id_loss(module, variables, x, t))(y)
    assert float(np.abs(g).max()) == 0.0  # the target embedding is held fixed
