"""Every SR module builds, has the official parameter shapes and resizes only under its rule."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.generators.superres import SR_MODULES, SuperResolution, sr_module_name


@pytest.mark.parametrize("name,in_res,resized", [
    ("SuperresolutionHybrid2X", 32, True), ("SuperresolutionHybrid2X", 64, False),
    ("SuperresolutionHybrid4X", 64, True), ("SuperresolutionHybrid4X", 128, False),
    ("SuperresolutionHybrid8X", 64, True), ("SuperresolutionHybrid8XDC", 128, False)])
def test_sr_shapes_and_resize_rule(name, in_res, resized):
    out_res = SR_MODULES[name][0]
    module = SuperResolution(name, out_res)
    x = jnp.ones((1, in_res, in_res, 32))
    ws = jnp.ones((1, 14, 512))
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), x[..., :3], x, ws)
    out, state = jax.eval_shape(lambda v: module.apply(v, x[..., :3], x, ws, mutable=["intermediates"]), shapes)
    assert out.shape == (1, out_res, out_res, 3)
    seen = state["intermediates"]["block0_in_rgb"][0].shape[1]
    assert seen == (SR_MODULES[name][1] if resized else in_res)
    p = shapes["params"]
    out0, _, _ = SR_MODULES[name][3]
    # PyTorch conv0 weight (out0, 32, 3, 3) is stored HWIO.
    assert p["block0"]["conv0"]["weight"].shape == (3, 3, 32, out0)


def test_unknown_sr_module():
    with pytest.raises(ValueError, match="superresolution_module: expected one of"):
        sr_module_name("training.superresolution.Bogus")
    assert sr_module_name("training.superresolution.SuperresolutionHybrid8XDC") == "SuperresolutionHybrid8XDC"
