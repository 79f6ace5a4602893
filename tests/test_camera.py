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


# --- the camera package's newer pieces: lookat_labels, rigs / frontal cameras, mirror, deltas ------

def _frontal_by_hand(radius, pivot_y=0.0, pivot_z=0.0, focal=4.2647):
    """cam2world of the frontal camera at (0, 0, radius) looking at (0, pivot_y, pivot_z), derived on
    paper from eg3d.md §8: forward f = (0, a, b) normalised, right = (1, 0, 0), up = f x right = (0, b, -a)."""
    f = np.array([0.0, pivot_y, pivot_z - radius])
    f /= np.linalg.norm(f)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = [1, 0, 0], [0, f[2], -f[1]], f, [0, 0, radius]
    k = np.array([[focal, 0, 0.5], [0, focal, 0.5], [0, 0, 1]])
    return np.concatenate([pose.ravel(), k.ravel()])


@pytest.mark.parametrize("kind", ["eg3d", "panohead"])
def test_frontal_label_per_kind_by_hand(kind):
    # Both defaults look straight down -z from (0, 0, 2.7): EG3D at (0, 0, 0.2), PanoHead at the origin.
    want = np.array([1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 2.7, 0, 0, 0, 1, 4.2647, 0, 0.5, 0, 4.2647, 0.5, 0, 0, 1])
    got = camera.frontal_label(kind)
    assert got.shape == (25,) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    np.testing.assert_allclose(got, _frontal_by_hand(2.7, 0, camera.DEFAULT_PIVOT[kind][2]), rtol=0, atol=1e-6)
    assert camera.DEFAULT_PIVOT == {"eg3d": (0.0, 0.0, 0.2), "panohead": (0.0, 0.0, 0.0)}


def test_frontal_label_reads_the_rendering_kwargs():
    rk = {"avg_camera_pivot": [0, 0.3, 0], "avg_camera_radius": 1.7, "ray_start": 0.1}
    got = camera.frontal_label("eg3d", rk)
    np.testing.assert_allclose(got, _frontal_by_hand(1.7, 0.3, 0.0), rtol=0, atol=1e-6)
    gen = type("FakeGenerator", (), {"kind": "panohead", "init_kwargs": {"rendering_kwargs": rk}})()
    np.testing.assert_array_equal(camera.generator_frontal_label(gen), camera.frontal_label("panohead", rk))
    pivot, radius, intr = camera.generator_rig(gen)
    assert pivot == (0.0, 0.3, 0.0) and radius == 1.7
    np.testing.assert_array_equal(intr, camera.intrinsics_matrix(4.2647))
    bare = type("FakeGenerator", (), {"kind": "panohead", "init_kwargs": {}})()
    assert camera.generator_rig(bare).pivot == (0.0, 0.0, 0.0) and camera.generator_rig(bare).radius == 2.7
    with pytest.raises(ValueError, match="kind: expected one of"):
        camera.rig("stylegan")


def test_rig_labels_are_lookat_labels():
    rig = camera.rig("eg3d")
    yaw, pitch = np.array([1.2, 1.9], np.float32), np.array([1.5, 1.6], np.float32)
    want = camera.make_label(camera.lookat_pose(yaw, pitch, (0, 0, 0.2), 2.7), camera.intrinsics_matrix(4.2647))
    np.testing.assert_array_equal(rig.labels(yaw, pitch), want)
    np.testing.assert_array_equal(camera.lookat_labels(yaw, pitch), want)  # the defaults are the FFHQ rig
    np.testing.assert_array_equal(rig.frontal(), rig.labels(math.pi / 2, math.pi / 2)[0])


def test_novel_view_yaws():
    np.testing.assert_allclose(camera.novel_view_yaws("panohead", 4, 0.4),
                               math.pi / 2 + np.array([0, 0.5, 1.0, 1.5]) * math.pi, atol=1e-6)
    np.testing.assert_array_equal(camera.novel_view_yaws("eg3d", 5, 0.4), camera.orbit_yaws(5, 0.4))


def _random_labels(n, seed=0):
    """Rigid cam2world (random rotation, position) with off-centre, skewed intrinsics."""
    rs = np.random.RandomState(seed)
    q, _ = np.linalg.qr(rs.randn(n, 3, 3))
    q *= np.sign(np.linalg.det(q))[:, None, None]
    pose = np.tile(np.eye(4), (n, 1, 1))
    pose[:, :3, :3], pose[:, :3, 3] = q, rs.randn(n, 3)
    k = np.tile(np.eye(3), (n, 1, 1))
    k[:, 0, 0] = k[:, 1, 1] = rs.uniform(1, 5, n)
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = rs.uniform(-0.1, 0.1, n), rs.uniform(0.3, 0.7, n), rs.uniform(0.3, 0.7, n)
    return camera.make_label(pose, k)


def test_split_of_make_label_is_the_identity():
    c = _random_labels(4)
    np.testing.assert_array_equal(camera.make_label(*camera.split_label(c)), c)
    cj = jnp.asarray(c)
    back = jax.jit(lambda c: camera.make_label(*camera.split_label(c)))(cj)
    np.testing.assert_array_equal(np.asarray(back), c)


def test_mirror_is_an_involution():
    c = _random_labels(5, seed=1)
    twice = camera.mirror_label(camera.mirror_label(c))
    np.testing.assert_array_equal(twice[:, :16], c[:, :16])  # sign flips: exact
    np.testing.assert_allclose(twice, c, rtol=0, atol=1e-7)  # cx: 1 - (1 - cx) up to rounding
    once = camera.mirror_label(c)
    rot = camera.split_label(once)[0][:, :3, :3]
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-5)  # still a rotation
    np.testing.assert_array_equal(np.asarray(jax.jit(camera.mirror_label)(jnp.asarray(c))), once)


def _np_rodrigues(w):
    """R = I + sin(theta) [k]x + (1 - cos(theta)) [k]x^2 with k = w / theta, in float64."""
    theta = np.linalg.norm(w)
    if theta == 0:
        return np.eye(3)
    k = w / theta
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(theta) * kx + (1 - math.cos(theta)) * kx @ kx


def test_rodrigues_matches_numpy():
    rs = np.random.RandomState(2)
    ws = np.concatenate([rs.randn(4, 3) * 0.5, rs.randn(2, 3) * 3, [[1e-5, -2e-5, 3e-6], [0, 0, 0]]])
    for w in ws:
        np.testing.assert_allclose(camera.rodrigues(w), _np_rodrigues(w), rtol=0, atol=1e-12)  # numpy float64
    assert camera.rodrigues(ws).dtype == np.float64 and camera.rodrigues(ws).shape == (8, 3, 3)
    got = np.asarray(camera.rodrigues(jnp.asarray(ws, jnp.float32)))  # jax float32, batched
    np.testing.assert_allclose(got, np.stack([_np_rodrigues(w) for w in ws]), rtol=0, atol=2e-6)
    np.testing.assert_array_equal(camera.rodrigues(np.zeros(3)), np.eye(3))
    np.testing.assert_allclose(got @ got.transpose(0, 2, 1), np.broadcast_to(np.eye(3), got.shape), atol=2e-6)


def test_skew_is_the_cross_product():
    rs = np.random.RandomState(3)
    v, u = rs.randn(4, 3), rs.randn(4, 3)
    np.testing.assert_allclose(np.einsum("nij,nj->ni", camera.skew(v), u), np.cross(v, u), atol=1e-12)


def test_camera_delta_is_a_world_rigid_motion():
    c = _random_labels(3, seed=4)
    rs = np.random.RandomState(5)
    delta = np.concatenate([rs.randn(3, 3) * 0.2, rs.randn(3, 3) * 0.1], axis=1).astype(np.float32)
    got = np.asarray(camera.apply_camera_delta(jnp.asarray(c), jnp.asarray(delta)))
    pose, k = camera.split_label(c)
    for n in range(3):
        motion = np.eye(4)
        motion[:3, :3], motion[:3, 3] = _np_rodrigues(delta[n, :3].astype(np.float64)), delta[n, 3:]
        np.testing.assert_allclose(got[n, :16].reshape(4, 4), motion @ pose[n], atol=2e-6)
        np.testing.assert_array_equal(got[n, 16:], k[n].ravel())
    np.testing.assert_array_equal(np.asarray(camera.apply_camera_delta(jnp.asarray(c), jnp.zeros((3, 6)))), c)
