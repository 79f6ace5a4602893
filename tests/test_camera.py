"""Camera utilities vs camera_utils.py goldens and geometry (eg3d.md §8)."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d import camera

ATOL = 1e-5


def test_lookat_pose_matches_golden_numpy(ops_golden):
    yp = ops_golden["lookat_yaw_pitch"]
    poses = camera.lookat_pose(yp[:, 0], yp[:, 1], lookat=(0, 0, 0.2), radius=2.7)
    assert isinstance(poses, np.ndarray) and poses.dtype == np.float32
    np.testing.assert_allclose(poses, ops_golden["lookat_poses_pivot0_0_0p2_r2p7"], rtol=0, atol=ATOL)


def test_lookat_pose_matches_golden_jax_jit(ops_golden):
    yp = jnp.asarray(ops_golden["lookat_yaw_pitch"])
    poses = jax.jit(lambda y, p: camera.lookat_pose(y, p, camera.FFHQ_PIVOT, camera.FFHQ_RADIUS))(yp[:, 0], yp[:, 1])
    np.testing.assert_allclose(np.asarray(poses), ops_golden["lookat_poses_pivot0_0_0p2_r2p7"], rtol=0, atol=ATOL)


def test_frontal_and_back_views():
    front = camera.lookat_pose(math.pi / 2, math.pi / 2, lookat=(0, 0, 0), radius=2.7)[0]
    np.testing.assert_allclose(front[:3, 3], [0, 0, 2.7], atol=1e-6)
    np.testing.assert_allclose(front[:3, 2], [0, 0, -1], atol=1e-6)  # forward
    np.testing.assert_allclose(front[:3, 1], [0, -1, 0], atol=1e-6)  # OpenCV y points down
    np.testing.assert_allclose(front[3], [0, 0, 0, 1])
    back = camera.lookat_pose(3 * math.pi / 2, math.pi / 2, lookat=(0, 0, 0), radius=2.7)[0]
    np.testing.assert_allclose(back[:3, 3], [0, 0, -2.7], atol=1e-6)
    np.testing.assert_allclose(back[:3, :3] @ back[:3, :3].T, np.eye(3), atol=1e-6)


def test_pitch_is_clipped():
    top = camera.lookat_pose(math.pi / 2, -1.0, lookat=(0, 0, 0), radius=1.0)
    assert np.all(np.isfinite(top))
    np.testing.assert_allclose(top[0, :3, 3], camera.lookat_pose(math.pi / 2, 0.0, (0, 0, 0), 1.0)[0, :3, 3])


def test_scalar_yaw_broadcasts_against_pitch_array():
    poses = camera.lookat_pose(math.pi / 2, np.array([1.2, 1.5, 1.9]))
    assert poses.shape == (3, 4, 4)


def test_fov_to_intrinsics_matches_golden(ops_golden):
    k = camera.fov_to_intrinsics(18.837)
    assert k.shape == (3, 3) and k.dtype == np.float32
    np.testing.assert_allclose(k, ops_golden["fov_18p837_intrinsics"], rtol=0, atol=ATOL)


def test_intrinsics_matrix():
    np.testing.assert_array_equal(
        camera.intrinsics_matrix(), np.array([[4.2647, 0, 0.5], [0, 4.2647, 0.5], [0, 0, 1]], np.float32))
    k = camera.intrinsics_matrix(jnp.float32(2.0), 0.4, 0.6)
    assert isinstance(k, jax.Array)
    np.testing.assert_allclose(np.asarray(k), [[2, 0, 0.4], [0, 2, 0.6], [0, 0, 1]], atol=1e-7)


def test_label_round_trip():
    poses = camera.lookat_pose(np.array([1.3, 1.6]), np.array([1.5, 1.7]))
    k = camera.intrinsics_matrix()
    c = camera.make_label(poses, k)
    assert c.shape == (2, 25)
    np.testing.assert_array_equal(c[0, :16], poses[0].ravel())
    np.testing.assert_array_equal(c[1, 16:], k.ravel())
    pose_back, k_back = camera.split_label(c)
    np.testing.assert_array_equal(pose_back, poses)
    np.testing.assert_array_equal(k_back, np.stack([k, k]))
    pose_j, _ = camera.split_label(jnp.asarray(c))
    np.testing.assert_array_equal(np.asarray(pose_j), poses)


@pytest.mark.parametrize("shape", [(25,), (2, 24), (1, 2, 25)])
def test_split_label_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="c: expected shape"):
        camera.split_label(np.zeros(shape))


def test_orbit_yaws():
    yaws = camera.orbit_yaws(5, 0.4)
    np.testing.assert_allclose(yaws, math.pi / 2 + np.array([-0.4, -0.2, 0, 0.2, 0.4]), atol=1e-6)
    np.testing.assert_allclose(camera.orbit_yaws(1, 0.4), [math.pi / 2])
