"""Alternating encoder / discriminator updates with lazy R1 every k steps (training/gan.py)."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from inversion3d.training import gan, sharding
from inversion3d.training.state import create_train_state

K, GAMMA = 3, 10.0


def d_apply(params, batch_stats, x):
    """Linear discriminator: D(x) = x . w + b; dD/dx = w, so R1 = gamma/2 |w|^2 * K exactly."""
    del batch_stats
    return x @ params["w"] + params["b"]


def g_loss(params, batch_stats, batch, rng, ctx):
    fake = batch["z"] * params["scale"]
    loss = jnp.mean(jax.nn.softplus(-d_apply(ctx["params"]["discriminator"], None, fake)))
    return loss, ({}, batch_stats)


def d_loss(params, batch_stats, batch, rng, ctx):
    fake = batch["z"] * ctx["params"]["encoder"]["scale"]
    loss = jnp.mean(jax.nn.softplus(d_apply(params, None, fake))) + jnp.mean(
        jax.nn.softplus(-d_apply(params, None, batch["real"])))
    return loss, ({}, batch_stats)


@pytest.fixture(scope="module")
def setup():
    mesh = sharding.make_mesh(1)
    variables = {"encoder": {"params": {"scale": jnp.ones(2)}},
                 "discriminator": {"params": {"w": jnp.array([0.5, -0.25]), "b": jnp.zeros(())}}}
    txs = {"encoder": optax.sgd(0.1), "discriminator": optax.sgd(0.1)}
    state = create_train_state(jax.random.PRNGKey(0), variables, txs)
    shardings = jax.tree.map(lambda _: sharding.replicated(mesh), state)
    step = gan.make_gan_step(g_loss, d_loss, gan.r1_penalty(d_apply, GAMMA, K))
    rep = sharding.replicated(mesh)
    runner = gan.LazyRegularizedStep(step, K, mesh, shardings, rep, rep)
    rs = np.random.RandomState(0)
    batch = {"z": jnp.asarray(rs.randn(4, 2), jnp.float32), "real": jnp.asarray(rs.randn(4, 2), jnp.float32)}
    return state, step, runner, batch


def _copy(state):
    return jax.tree.map(jnp.array, state)  # the compiled steps donate their input


def test_r1_every_k_steps(setup):
    state, _, runner, batch = setup
    state = _copy(state)
    with_r1 = []
    for i in range(7):
        state, metrics = runner(state, batch, {}, i)
        with_r1.append("r1/r1_penalty" in metrics)
    assert with_r1 == [i % K == 0 for i in range(7)]
    assert int(state.step) == 7


def test_r1_value_and_update(setup):
    state, step, _, batch = setup
    before = _copy(state)
    plain, _ = step(before, batch, {}, False)
    reg, metrics = step(before, batch, {}, True)
    w = np.asarray(plain.params["discriminator"]["w"])  # R1 runs after the D step
    np.testing.assert_allclose(metrics["r1/r1_penalty"], np.sum(w ** 2), rtol=1e-6)
    # SGD on gamma/2 |w|^2 K: w <- w - lr gamma K w; b has no R1 gradient.
    np.testing.assert_allclose(reg.params["discriminator"]["w"], w - 0.1 * GAMMA * K * w, rtol=1e-6)
    np.testing.assert_allclose(reg.params["discriminator"]["b"], plain.params["discriminator"]["b"], rtol=0)
    np.testing.assert_array_equal(reg.params["encoder"]["scale"], plain.params["encoder"]["scale"])


def test_alternation_order(setup):
    """Encoder first (against the old D), then D (against the updated encoder)."""
    state, step, _, batch = setup
    new, _ = step(_copy(state), batch, {}, False)
    ctx = {"frozen": {}, "params": state.params, "batch_stats": state.batch_stats}
    g = jax.grad(lambda p: g_loss(p, None, batch, None, ctx)[0])(state.params["encoder"])
    scale = state.params["encoder"]["scale"] - 0.1 * g["scale"]
    np.testing.assert_allclose(new.params["encoder"]["scale"], scale, rtol=1e-6)
    ctx2 = {"frozen": {}, "params": dict(state.params, encoder={"scale": scale}), "batch_stats": {}}
    gd = jax.grad(lambda p: d_loss(p, None, batch, None, ctx2)[0])(state.params["discriminator"])
    np.testing.assert_allclose(new.params["discriminator"]["w"], state.params["discriminator"]["w"] - 0.1 * gd["w"],
                               rtol=1e-6)


def test_no_regulariser_compiles_one_variant(setup):
    """r1_every=None (a method without R1): one compiled variant, regularize always False."""
    state, _, _, batch = setup
    mesh = sharding.make_mesh(1)
    rep = sharding.replicated(mesh)
    shardings = jax.tree.map(lambda _: rep, state)
    step = gan.make_gan_step(g_loss, d_loss, gan.r1_penalty(d_apply, GAMMA, K))
    runner = gan.LazyRegularizedStep(step, None, mesh, shardings, rep, rep)
    assert sorted(runner._fns) == [False]
    state = _copy(state)
    for i in range(2):
        state, metrics = runner(state, batch, {}, i)
        assert "r1/r1_penalty" not in metrics
    with pytest.raises(ValueError, match="r1_every"):
        gan.LazyRegularizedStep(step, 0, mesh, shardings, rep, rep)
