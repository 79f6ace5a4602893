"""Ray sampler vs RaySampler goldens (eg3d.md §5.1)."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d import camera
from inversion3d.rendering.rays import sample_rays

ATOL = 1e-5


def test_sample_rays_matches_golden(ops_golden):
    origins, dirs = jax.jit(sample_rays, static_argnums=2)(
        ops_golden["rs_cam2world"], ops_golden["rs_intrinsics"], 8)
    assert origins.shape == dirs.shape == (2, 64, 3)
    np.testing.assert_allclose(np.asarray(origins), ops_golden["rs_origins"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(np.asarray(dirs), ops_golden["rs_dirs"], rtol=0, atol=ATOL)


def test_directions_are_unit_and_centre_ray_is_forward():
    pose = camera.lookat_pose(math.pi / 2 + 0.3, math.pi / 2 - 0.2, lookat=(0, 0, 0), radius=2.7)
    k = camera.intrinsics_matrix()[None]
    origins, dirs = sample_rays(pose, k, 5)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(dirs), axis=-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(dirs)[0, 12], pose[0, :3, 2], atol=1e-6)  # centre pixel 2*5+2
    np.testing.assert_allclose(np.asarray(origins)[0], np.broadcast_to(pose[0, :3, 3], (25, 3)), atol=1e-6)


def test_pixel_order_is_row_major_with_y_down():
    """m = i*R + j: moving right in j -> +x camera, moving down in i -> image down (-y world, frontal)."""
    pose = camera.lookat_pose(math.pi / 2, math.pi / 2, lookat=(0, 0, 0))
    _, dirs = sample_rays(pose, camera.intrinsics_matrix()[None], 4)
    d = np.asarray(dirs)[0].reshape(4, 4, 3)
    assert np.all(np.diff(d[..., 0], axis=1) > 0)  # camera x == world +x for the frontal view
    assert np.all(np.diff(d[..., 1], axis=0) < 0)  # image down == world -y


@pytest.mark.parametrize("pose_shape,k_shape,arg", [((4, 4), (1, 3, 3), "cam2world"),
                                                    ((2, 4, 4), (1, 3, 3), "intrinsics")])
def test_bad_shapes_raise(pose_shape, k_shape, arg):
    with pytest.raises(ValueError, match=arg):
        sample_rays(jnp.zeros(pose_shape), jnp.zeros(k_shape), 4)
