"""Pieces of the inversion pipelines that need no full render: the backbone split GOAE uses
(encoders.md §1.3-§1.4), image resizing, and `make_inverter`'s checks (one-line ValueErrors)."""
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import generators
from inversion3d.encoders_api import Encoder
from inversion3d.generators import eg3d
from inversion3d.generators.eg3d_config import EG3DConfig
from inversion3d.inversion import common
from inversion3d.methods.registry import make_inverter
from tests.encoders.recipe import random_variables


@pytest.fixture(scope="module")
def tiny():
    cfg = EG3DConfig.from_official(generators.eg3d_init_kwargs())  # the tiny 128 px kwargs (14 ws), random weights
    shapes = jax.eval_shape(lambda: eg3d.init_variables(cfg, jax.random.PRNGKey(0)))
    return cfg, random_variables(shapes, seed=0, scale=0.5)


def test_backbone_split_resumes_exactly(tiny):
    cfg, variables = tiny
    module = eg3d.TriPlaneGenerator(cfg)
    ws = jnp.asarray(np.random.default_rng(1).standard_normal((2, cfg.num_ws, cfg.w_dim)), jnp.float32)

    @jax.jit
    def both(v, ws):
        whole = module.apply(v, ws, "const", method=eg3d.TriPlaneGenerator.planes)
        feature, skip = module.apply(v, ws, "const", 32, method=eg3d.TriPlaneGenerator.backbone_features)
        split = module.apply(v, feature, skip, ws, "const", 32, method=eg3d.TriPlaneGenerator.planes_from_features)
        edited = module.apply(v, feature * 0.5, skip, ws, "const", 32,
                              method=eg3d.TriPlaneGenerator.planes_from_features)
        return whole, split, edited, feature

    whole, split, edited, feature = both(variables, ws)
    assert feature.shape == (2, 32, 32, min(cfg.channel_base // 32, cfg.channel_max))
    np.testing.assert_allclose(split, whole, rtol=1e-5, atol=1e-5)
    assert np.abs(np.asarray(edited) - np.asarray(whole)).max() > 1e-3  # F really feeds b64 onwards


def test_resize_image_area_and_bilinear():
    x = np.arange(2 * 8 * 8 * 3, dtype=np.float32).reshape(2, 8, 8, 3)
    np.testing.assert_allclose(common.resize_image(x, 4), x.reshape(2, 4, 2, 4, 2, 3).mean(axis=(2, 4)))
    assert common.resize_image(x, 8) is x
    up = np.asarray(common.resize_image(x, 16))
    assert up.shape == (2, 16, 16, 3) and np.allclose(up.mean(), x.mean(), rtol=1e-3)


def _encoder(kind, networks, modules=None):
    return Encoder(kind, f"{kind}.pt", {n: {} for n in networks}, modules or {n: None for n in networks},
                   {n: {} for n in networks})


@pytest.mark.parametrize("method,encoders,message", [
    ("pti", [], "method: expected one of"),
    ("goae", [_encoder("goae", ["goae"])], "goae needs 2 encoder file(s) (encoder, AFA), got 1"),
    ("psp", [_encoder("e4e", ["e4e"])], "e4e.pt is a e4e checkpoint, psp needs psp"),
    ("goae", [_encoder("goae", ["afa"]), _encoder("goae", ["afa"])], "needs its encoder file with a goae network"),
])
def test_make_inverter_checks(tiny, method, encoders, message):
    gen = types.SimpleNamespace(config=tiny[0], params=tiny[1])
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_inverter(method, gen, encoders)


def test_code_shape_must_match_the_generator(tiny):
    from inversion3d.encoders.psp import GradualStyleEncoder

    enc = Encoder("psp", "psp10.pt", {"psp": {"image_size": 32}}, {"psp": GradualStyleEncoder(n_styles=10)},
                  {"psp": {}})
    gen = types.SimpleNamespace(config=tiny[0], params=tiny[1])
    with pytest.raises(ValueError, match="gives 10 x 512 codes, the generator needs 14 x 512"):
        make_inverter("psp", gen, [enc])
