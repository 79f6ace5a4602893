"""Stratified and pdf depth sampling vs sample_pdf / sample_importance goldens (eg3d.md §5.2, §5.6)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.rendering import sampling
from tests.tolerances import assert_close_f32

ATOL = 1e-5


def test_sample_pdf_matches_golden(ops_golden):
    out = jax.jit(sampling.sample_pdf)(ops_golden["pdf_bins"], ops_golden["pdf_w"], ops_golden["pdf_u"])
    np.testing.assert_allclose(np.asarray(out), ops_golden["pdf_out"], rtol=0, atol=ATOL)


def test_sample_pdf_deterministic_matches_golden(ops_golden):
    u = sampling.linspace_u((5,), 9)
    out = sampling.sample_pdf(ops_golden["pdf_bins"], ops_golden["pdf_w"], u)
    np.testing.assert_allclose(np.asarray(out), ops_golden["pdf_det_out"], rtol=0, atol=ATOL)


def test_importance_depths_matches_golden(ops_golden):
    out = jax.jit(sampling.importance_depths)(
        ops_golden["pdf_z_vals"], ops_golden["pdf_weights"], ops_golden["importance_u"])
    assert out.shape == (2, 3, 8, 1)
    np.testing.assert_allclose(np.asarray(out), ops_golden["importance_out"], rtol=0, atol=ATOL)
    u3 = ops_golden["importance_u"].reshape(2, 3, 8)  # (N, M, n) is accepted too
    out3 = sampling.importance_depths(ops_golden["pdf_z_vals"], ops_golden["pdf_weights"], u3)
    # eager on another shape vs jitted: equal to float32 rounding of the CDF (a sum over the bins)
    assert_close_f32(np.asarray(out3), np.asarray(out), n_reduce=ops_golden["pdf_weights"].shape[-2])


def test_importance_depths_has_no_gradient(ops_golden):
    z, w, u = (jnp.asarray(ops_golden[k]) for k in ("pdf_z_vals", "pdf_weights", "importance_u"))
    gz, gw = jax.grad(lambda a, b: jnp.sum(sampling.importance_depths(a, b, u)), argnums=(0, 1))(z, w)
    assert not np.any(np.asarray(gz)) and not np.any(np.asarray(gw))


def _numpy_sample_pdf(bins, weights, u, eps=1e-5):
    """Reference with np.searchsorted(side='right')."""
    weights = weights + eps
    cdf = np.concatenate([np.zeros_like(weights[:, :1]), np.cumsum(weights / weights.sum(-1, keepdims=True), -1)], -1)
    out = np.empty_like(u)
    for r in range(u.shape[0]):
        idx = np.searchsorted(cdf[r], u[r], side="right")
        lo, hi = np.maximum(idx - 1, 0), np.minimum(idx, weights.shape[-1])
        denom = cdf[r, hi] - cdf[r, lo]
        denom = np.where(denom < eps, 1.0, denom)
        out[r] = bins[r, lo] + (u[r] - cdf[r, lo]) / denom * (bins[r, hi] - bins[r, lo])
    return out


def test_sample_pdf_matches_numpy_searchsorted():
    rng = np.random.default_rng(3)
    bins = np.sort(rng.uniform(2, 3, size=(7, 13)), axis=-1).astype(np.float32)
    weights = (rng.uniform(size=(7, 11)) * (rng.uniform(size=(7, 11)) > 0.4)).astype(np.float32)
    u = rng.uniform(size=(7, 20)).astype(np.float32)
    u[0, :3] = [0.0, 1.0, 0.5]
    out = sampling.sample_pdf(bins, weights, u)  # bins longer than K+1: extra edges unused
    np.testing.assert_allclose(np.asarray(out), _numpy_sample_pdf(bins, weights, u), atol=1e-5)
    assert np.all(np.asarray(out) >= bins[:, :1] - 1e-6) and np.all(np.asarray(out) <= bins[:, 11:12] + 1e-6)


def test_sample_pdf_is_monotone_in_u():
    """Sorted uniforms give sorted samples, exactly (the renderer merges sorted lists)."""
    rng = np.random.default_rng(4)
    bins = np.sort(rng.uniform(2, 3, size=(64, 47)), axis=-1).astype(np.float32)
    weights = (rng.uniform(size=(64, 45)) * (rng.uniform(size=(64, 45)) > 0.7)).astype(np.float32)
    u = np.sort(rng.uniform(size=(64, 48)), axis=-1).astype(np.float32)
    u[:, 10:13] = u[:, 11:12]  # ties
    out = np.asarray(jax.jit(sampling.sample_pdf)(bins, weights, u))
    assert np.all(np.diff(out, axis=-1) >= 0)


def test_merge_ranks_inverts_a_stable_argsort():
    rng = np.random.default_rng(5)
    a = np.sort(rng.integers(0, 12, size=(3, 4, 9)), axis=-1).astype(np.float32)  # many ties
    b = np.sort(rng.integers(0, 12, size=(3, 4, 7)), axis=-1).astype(np.float32)
    ranks = np.asarray(sampling.merge_ranks(jnp.asarray(a)[..., None], jnp.asarray(b)[..., None]))
    order = np.argsort(np.concatenate([a, b], -1), axis=-1, kind="stable")
    np.testing.assert_array_equal(ranks, np.argsort(order, axis=-1))


def test_stratified_depths():
    u = jnp.zeros((1, 2, 5, 1))
    np.testing.assert_allclose(np.asarray(sampling.stratified_depths(u, 2.0, 3.0))[0, 1, :, 0],
                               [2.0, 2.25, 2.5, 2.75, 3.0], atol=1e-6)
    u = jnp.full((1, 1, 5, 1), 0.5)
    np.testing.assert_allclose(np.asarray(sampling.stratified_depths(u, 2.0, 3.0))[0, 0, :, 0],
                               [2.125, 2.375, 2.625, 2.875, 3.125], atol=1e-6)
    disp = np.asarray(sampling.stratified_depths(jnp.zeros((1, 1, 3, 1)), 1.0, 4.0, disparity_space=True))
    np.testing.assert_allclose(disp[0, 0, :, 0], [1.0, 1.6, 4.0], atol=1e-6)  # uniform in 1/depth


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="u"):
        sampling.stratified_depths(jnp.zeros((2, 5, 1)), 2.0, 3.0)
    with pytest.raises(ValueError, match="weights"):
        sampling.importance_depths(jnp.zeros((1, 2, 6, 1)), jnp.zeros((1, 2, 6, 1)), jnp.zeros((2, 4)))
    with pytest.raises(ValueError, match="bins"):
        sampling.sample_pdf(jnp.zeros((2, 4)), jnp.zeros((2, 4)), jnp.zeros((2, 3)))
