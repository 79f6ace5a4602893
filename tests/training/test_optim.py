"""Optimisers from config: Ranger against a numpy transcription of training.md §3, schedules,
clipping, EMA in the TrainState."""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from inversion3d.training import optim
from inversion3d.training.state import create_train_state


def _cfg(**kw):
    return ml_collections.ConfigDict(kw)


def ranger_reference(p, grads, lr, b1=0.95, b2=0.999, eps=1e-5, k=6, alpha=0.5):
    """ranger.py per training.md §3 on a (out, in) torch-layout weight, gradient centralised over
    every axis but the first."""
    m, v, slow = np.zeros_like(p), np.zeros_like(p), p.copy()
    n_max = 2 / (1 - b2) - 1
    for t, g in enumerate(grads, start=1):
        g = g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        n_t = n_max - 2 * t * b2 ** t / (1 - b2 ** t)
        if n_t > 5:
            step = np.sqrt((1 - b2 ** t) * (n_t - 4) * (n_t - 2) * n_max / ((n_max - 4) * (n_max - 2) * n_t)) / (1 - b1 ** t)
            p = p - lr * step * m / (np.sqrt(v) + eps)
        else:
            p = p - lr * m / (1 - b1 ** t)
        if t % k == 0:
            slow = slow + alpha * (p - slow)
            p = slow.copy()
    return p


def test_ranger_matches_reference():
    rs = np.random.RandomState(0)
    w_torch = rs.randn(4, 3)  # (out, in)
    grads = [rs.randn(4, 3) for _ in range(13)]  # crosses N_t > 5 (t = 6) and two lookahead syncs
    tx = optim.make_optimizer(_cfg(name="ranger", lr=0.01))
    params = {"kernel": jnp.asarray(w_torch.T, jnp.float32)}  # Flax layout (in, out)
    state = tx.init(params)
    for g in grads:
        updates, state = tx.update({"kernel": jnp.asarray(g.T, jnp.float32)}, state, params)
        params = optax.apply_updates(params, updates)
    expected = ranger_reference(w_torch, grads, 0.01)
    np.testing.assert_allclose(np.asarray(params["kernel"]).T, expected, rtol=2e-5, atol=1e-6)


def test_warmup_cosine_schedule():
    f = optim.make_schedule(_cfg(lr=1.0, schedule="cosine", warmup_steps=10, decay_steps=110, end_lr_factor=0.1))
    np.testing.assert_allclose([f(0), f(5), f(10), f(60), f(110)], [0.0, 0.5, 1.0, 0.55, 0.1], atol=1e-6)


def test_clipping_and_adamw():
    tx = optim.make_optimizer(_cfg(name="sgd", lr=1.0, clip_norm=1.0))
    updates, _ = tx.update({"w": jnp.array([3.0, 4.0])}, tx.init({"w": jnp.zeros(2)}))
    np.testing.assert_allclose(updates["w"], [-0.6, -0.8], rtol=1e-6)
    tx = optim.make_optimizer(_cfg(name="adamw", lr=0.1, weight_decay=0.5))
    params = {"w": jnp.array([2.0])}
    updates, _ = tx.update({"w": jnp.array([0.0])}, tx.init(params), params)
    np.testing.assert_allclose(updates["w"], [-0.1 * 0.5 * 2.0], rtol=1e-6)


def test_bad_names():
    with pytest.raises(ValueError, match="optim.name"):
        optim.make_optimizer(_cfg(name="lamb", lr=1.0))
    with pytest.raises(ValueError, match="optim.schedule"):
        optim.make_schedule(_cfg(lr=1.0, schedule="step"))


def test_ema_and_per_net_updates():
    variables = {"a": {"params": {"w": jnp.ones(2)}}, "b": {"params": {"w": jnp.ones(2)}}}
    state = create_train_state(jax.random.PRNGKey(0), variables, {"a": optax.sgd(1.0), "b": optax.sgd(1.0)},
                               ema_decays={"a": 0.9})
    assert set(state.ema_params) == {"a"}
    state = state.apply_gradients("a", {"w": jnp.full(2, 1.0)})
    np.testing.assert_allclose(state.params["a"]["w"], [0.0, 0.0])
    np.testing.assert_allclose(state.ema_params["a"]["w"], [0.9, 0.9], rtol=1e-6)
    np.testing.assert_array_equal(state.params["b"]["w"], [1.0, 1.0])
    with pytest.raises(ValueError, match="net"):
        state.apply_gradients("c", {})
