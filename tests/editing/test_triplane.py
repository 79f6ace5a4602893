"""Tri-plane edits of every method (editing/triplane.py through app/edit.sweep_fn) on the embedded tiny
PanoHead generator (tri-grid 64: the edit code is the same for EG3D tri-planes, and its backbone is
16x cheaper than EG3D's 256² one) at neural resolution 16: strength 0 returns the stored inversion
exactly, GOAE's eq. 9 with Δ = 0 returns F* exactly, and nonzero edits move the generator's part as
the formula says."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d import camera
from inversion3d.app import loading
from inversion3d.app.edit import sweep_fn
from inversion3d.editing import directions, triplane
from inversion3d.inversion.common import generator_planes
from inversion3d.methods.goae import pipeline as goae
from tests.inversion.test_wplus_pti import OVERRIDES
from tests.tolerances import assert_close_f32

STRENGTHS = np.array([0.0, 1.5], np.float32)
planes_of = jax.jit(generator_planes, static_argnums=0)  # one compile for every case


@pytest.fixture(scope="module")
def scene():
    gen = loading.open_generator("default-panohead", overrides=OVERRIDES)
    c = camera.generator_frontal_label(gen)[None]
    z = np.random.RandomState(0).randn(1, gen.config.z_dim).astype(np.float32)
    ws = np.asarray(gen.mapping(z, c, 0.7))
    d = directions.as_layers(np.random.RandomState(1).randn(512) / np.sqrt(512), gen.config.num_ws, 512)
    return gen, c, ws, d


def _stored(gen, ws, offset_seed):
    planes = np.asarray(planes_of(gen.config, gen.params, ws))
    return planes + 0.1 * np.random.RandomState(offset_seed).randn(*planes.shape).astype(np.float32)


@pytest.mark.parametrize("method", ["psp", "e4e", "wplus", "triplanenet", "dual", "pti"])
def test_strength_zero_is_identity_for_plane_delta_methods(scene, method):
    gen, c, ws, d = scene
    variables = gen.params
    if method == "pti":  # a "tuned" generator: every weight moved a little
        variables = jax.tree.map(lambda v: v * 1.01, gen.params)
    stored = _stored(gen, ws, 2) if method in ("triplanenet", "dual") else np.asarray(
        planes_of(gen.config, variables, ws))
    out_ws, out_planes = (np.asarray(a) for a in sweep_fn(method, gen.config)(variables, stored, ws, d, STRENGTHS,
                                                                              c, None))
    np.testing.assert_array_equal(out_planes[0], stored)
    np.testing.assert_array_equal(out_ws[0], ws)
    # nonzero: T* + G(w + s d) - G(w); for pSp-like results (T* = G(w)) that is G(w + s d)
    want = stored + np.asarray(planes_of(gen.config, variables, ws + 1.5 * d)) - np.asarray(
        planes_of(gen.config, variables, ws))
    assert_close_f32(out_planes[1], want, n_reduce=512, scale=want)
    assert np.abs(out_planes[1] - stored).max() > 1e-3


def test_goae_eq9_with_zero_delta_returns_f_star():
    rng = np.random.RandomState(6)
    f_star, f_rec = rng.randn(2, 1, 32, 32, 32).astype(np.float32)
    np.testing.assert_array_equal(triplane.edited_feature(f_star, f_rec, f_rec), f_star)
    f_edit = f_rec + rng.randn(*f_rec.shape).astype(np.float32)
    np.testing.assert_allclose(triplane.edited_feature(f_star, f_rec, f_edit), f_star + f_edit - f_rec, atol=1e-5)


def _f_star(cfg):
    return 0.5 * np.random.RandomState(7).randn(1, 32, 32, goae.feature_channels(cfg)).astype(np.float32)


def test_goae_edit_carries_afa_feature_and_is_identity_at_zero(scene):
    gen, c, ws, d = scene
    stored = _stored(gen, ws, 8)  # stands in for GOAE's mixed planes (the identity holds for any)
    out_ws, planes = (np.asarray(a) for a in sweep_fn("goae", gen.config)(gen.params, stored, ws, d, STRENGTHS, c,
                                                                           _f_star(gen.config)))
    np.testing.assert_array_equal(planes[0], stored)
    np.testing.assert_array_equal(out_ws[0], ws)
    assert np.abs(planes[1] - stored).max() > 1e-3


@pytest.mark.slow
def test_goae_edit_reruns_the_inversion_mix(scene):
    """goae_mixed at Δ = 0 is methods/goae/pipeline.mix for the same F* (another program)."""
    gen, c, ws, _ = scene
    cfg = gen.config
    f_star = _f_star(cfg)
    _, skip = jax.jit(lambda w: goae.eg3d.TriPlaneGenerator(cfg).apply(
        gen.params, w, "const", goae.SPLIT, method=goae.eg3d.TriPlaneGenerator.backbone_features))(ws)
    w = {"ws": jnp.asarray(ws), "skip": skip, "w_planes": generator_planes(cfg, gen.params, ws)}
    stored = np.asarray(jax.jit(lambda: goae.mix(cfg, gen.params, w, jnp.asarray(f_star), jnp.asarray(c))["mixed"])())
    recomputed = np.asarray(jax.jit(lambda: triplane.goae_mixed(cfg, gen.params, ws, ws, f_star, c))())
    # planes 1, 2 (no mask): float32 rounding through the synthesis blocks (3x3 convolutions over 32
    # channels, several layers); plane 0 also passes the thresholded visibility mask, where a cell
    # within rounding of the threshold may flip, so only its mean is compared
    assert_close_f32(recomputed[:, 1:], stored[:, 1:], n_reduce=288 * 8, scale=stored)
    assert np.mean(np.abs(recomputed[:, 0] - stored[:, 0])) < 1e-3 * np.abs(stored).max()


def test_in_n_out_edits_only_the_in_distribution_part(scene):
    gen, c, ws, d = scene
    stored = np.asarray(planes_of(gen.config, gen.params, ws))
    ood = {"planes": np.ones((1, 3, 8, 8, 4), np.float32)}
    result = {"ws": ws, "planes": stored, "ood": ood}
    same = jax.jit(lambda r, w: triplane.in_n_out_edit(gen.config, gen.params, r, w))(result, ws)
    np.testing.assert_array_equal(np.asarray(same["planes"]), stored)
    np.testing.assert_array_equal(np.asarray(same["ood"]["planes"]), ood["planes"])
    with pytest.raises(ValueError, match="no 'ood' part"):
        triplane.in_n_out_edit(gen.config, gen.params, {"ws": ws, "planes": stored}, ws)
