"""common.render_in_blocks: any number of views through one compiled program, in the order given, equal
to rendering every view at once (a stand-in renderer whose output is a known function of each camera)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.inversion import common


def _views(variables, planes, ws, cams):
    """cams (V, 1, 25) -> image (V, 1, 4, 4, 3) from cams[v, 0, :3], depth (V, 1, 2, 2, 1) from cams[v, 0, 3]."""
    image = cams[:, :, :3] * variables["scale"] + planes.sum() + ws.sum()
    depth = cams[:, :, 3, None, None, None]
    return {"image": jnp.broadcast_to(image[:, :, None, None], (cams.shape[0], 1, 4, 4, 3)),
            "image_depth": jnp.broadcast_to(depth, (cams.shape[0], 1, 2, 2, 1))}


def test_blocks_equal_all_views_at_once_and_compile_once(monkeypatch):
    traces = []

    def traced(*args):
        traces.append(args[-1].shape)
        return _views(*args)
    fn = jax.jit(traced)
    monkeypatch.setattr(common, "view_renderer", lambda cfg: fn)
    variables, planes, ws = {"scale": jnp.float32(2.0)}, jnp.ones((1, 3, 2, 2, 4)), jnp.ones((1, 10, 8))
    rng = np.random.default_rng(0)
    for views in (1, 3, 4, 9):
        cams = rng.normal(size=(views, 25)).astype(np.float32)
        out = common.render_in_blocks(None, variables, planes, ws, cams, block=4)
        assert out["image"].shape == (views, 4, 4, 3) and out["image_depth"].shape == (views, 2, 2, 1)
        want_image = cams[:, None, None, :3] * 2.0 + 48.0 + 80.0  # scale 2, planes.sum() 48, ws.sum() 80
        np.testing.assert_allclose(out["image"], np.broadcast_to(want_image, (views, 4, 4, 3)), rtol=1e-6)
        np.testing.assert_array_equal(out["image_depth"], np.broadcast_to(cams[:, 3, None, None, None], (views, 2, 2, 1)))
    assert traces == [(4, 1, 25)]  # one program for every block of every call


def test_blocks_reject_bad_shapes():
    with pytest.raises(ValueError, match="render_in_blocks"):
        common.render_in_blocks(None, {}, np.zeros((2, 3, 2, 2, 4)), np.zeros((2, 10, 8)), np.zeros((3, 25)))
    with pytest.raises(ValueError, match="render_in_blocks"):
        common.render_in_blocks(None, {}, np.zeros((1, 3, 2, 2, 4)), np.zeros((1, 10, 8)), np.zeros((3, 16)))
