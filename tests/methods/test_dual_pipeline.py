"""Dual Encoder inference (paper Sec. 3.4, Eq. 3; methods/dual/pipeline.py): the stitching is E1 on
visible cells and E2 on occluded cells exactly; the occlusion mask of a plane at a known depth
against cells computed by hand; the pipeline stitches E1 / E2 with E1's depth; role checks."""
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d import camera
from inversion3d.methods.dual import pipeline as dual
from inversion3d.rendering.rays import sample_rays


def test_stitch_is_e1_on_visible_and_e2_on_occluded_cells_exactly():
    rng = np.random.default_rng(0)
    n, r, c, d = 2, 8, 12, 3
    t1, t2 = (rng.standard_normal((n, 3, r, r, c)).astype(np.float32) for _ in range(2))
    occluded = (rng.uniform(size=(n, 3, d, r, r)) > 0.5).astype(np.float32)
    got = np.asarray(jax.jit(dual.stitch)(t1, t2, occluded))
    occ = np.tile(occluded.transpose(0, 1, 3, 4, 2), (1, 1, 1, 1, c // d)).astype(bool)  # channel k*D + slice
    np.testing.assert_array_equal(got[~occ], t1[~occ])
    np.testing.assert_array_equal(got[occ], t2[occ])
    assert 0.3 < occ.mean() < 0.7


def _trigrid_cfg(size, depth):
    return types.SimpleNamespace(triplane_resolution=size,
                                 render=types.SimpleNamespace(plane_kind="trigrid", triplane_depth=depth, box_warp=1.0))


def test_occlusion_mask_of_a_plane_at_known_depth():
    """The front camera (0, 0, 2.7) looking at the origin sees the plane z = 0.25 over 16 x 16 rays.

    By hand: focal 4.2647, outermost pixel centre 7.5 / 16 off the axis -> |x|, |y| <= 0.46875 / 4.2647
    * (2.7 - 0.25) = 0.2693, i.e. g = 2x in [-0.5386, 0.5386]; cell = trunc((g + 1) / 2 * size).
    Size 8, 3 slices: x, y -> cells 1..6 (1.85 -> 1, 6.15 -> 6); z = 0.25 -> g 0.5 -> row 6 of 8,
    slice 2 of 3; y or x as a slice axis -> slices 0..2 (0.69 -> 0, 2.31 -> 2). Plane grids (panohead.md
    §2): 0 = (x, y | slice z), 1 = (x, z | slice y), 2 = (y, z | slice x); arrays are [slice, row, col].
    """
    z0, rays = 0.25, 16
    c = camera.make_label(camera.lookat_pose(np.float32(np.pi / 2), np.float32(np.pi / 2), (0.0, 0.0, 0.0)),
                          camera.intrinsics_matrix())
    origins, dirs = (np.asarray(a) for a in sample_rays(*camera.split_label(jnp.asarray(c)), rays))
    depth = ((z0 - origins[..., 2]) / dirs[..., 2]).reshape(1, rays, rays, 1)  # along unit rays to z = z0
    visible = np.zeros((1, 3, 3, 8, 8), np.float32)
    visible[0, 0, 2, 1:7, 1:7] = 1  # plane xy: slice of z, rows y, cols x
    visible[0, 1, :, 6, 1:7] = 1  # plane xz: every slice of y, row of z, cols x
    visible[0, 2, :, 6, 1:7] = 1  # plane yz: every slice of x, row of z, cols y
    got = np.asarray(dual.occlusion_mask(_trigrid_cfg(8, 3), jnp.asarray(depth), jnp.asarray(c), sigma=0.0))
    np.testing.assert_array_equal(got, 1.0 - visible)
    soft = np.asarray(dual.occlusion_mask(_trigrid_cfg(8, 3), jnp.asarray(depth), jnp.asarray(c)))
    assert soft.shape == got.shape and 0 <= soft.min() and soft.max() <= 1 and soft[0, 0, 2, 3, 3] < 0.5


class _Enc(types.SimpleNamespace):
    pass


def test_roles_must_sit_in_their_place():
    e1, e2, plain = _Enc(source="a", role="e1"), _Enc(source="b", role="e2"), _Enc(source="c", role=None)
    dual.check_roles([e1, e2])
    dual.check_roles([plain, plain])
    with pytest.raises(ValueError, match="--encoder: b was converted as E2 .*swap the two files"):
        dual.check_roles([e2, e1])
    with pytest.raises(ValueError, match="--encoder2: a was converted as E1"):
        dual.check_roles([plain, e1])
