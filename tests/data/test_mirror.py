"""Mirror augmentation mirrors the camera with the image (derivation in camera/mirror.py): camera
algebra, ray geometry, and a rendered mirror-symmetric scene."""
import math

import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d import camera
from inversion3d.camera import mirror_label
from inversion3d.data.mirror import mirror_example
from inversion3d.rendering.rays import sample_rays
from inversion3d.rendering.renderer import RenderConfig, render

R = 12


def _labels(yaws, pitches, intr=None):
    intr = camera.intrinsics_matrix(camera.FFHQ_FOCAL) if intr is None else intr
    return camera.make_label(camera.lookat_pose(np.asarray(yaws), np.asarray(pitches)), intr)


def test_flip_yaw_entries_and_involution():
    c = _labels([1.2, 1.9], [1.4, 1.7])
    m = mirror_label(c)
    sign = -np.ones(16)
    sign[[1, 2, 4, 8, 3]] = 1  # entries [0,1] [0,2] [1,0] [2,0] [0,3] (training.md §2 flip_yaw)
    np.testing.assert_array_equal(m[:, :16] * np.where(sign > 0, -1, 1), c[:, :16])
    np.testing.assert_array_equal(m[:, 16:], c[:, 16:])  # centred, unskewed intrinsics unchanged
    np.testing.assert_array_equal(mirror_label(m), c)
    rot = m[:, :16].reshape(-1, 4, 4)[:, :3, :3]
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-5)


def test_mirrored_orbit_camera_is_the_opposite_yaw():
    """Mirroring a look-at camera at yaw pi/2 + a (pivot on x = 0) gives the one at pi/2 - a."""
    a = np.array([0.1, 0.35, -0.5])
    np.testing.assert_allclose(mirror_label(_labels(math.pi / 2 + a, [1.3, 1.6, 1.5])),
                               _labels(math.pi / 2 - a, [1.3, 1.6, 1.5]), atol=1e-6)


def test_mirrored_rays_are_mirrored_pixels():
    """Ray (i, j) of the mirrored camera == x-mirror of ray (i, R-1-j) of the original, also for an
    off-centre principal point and skew (cx' = 1 - cx, skew' = -skew)."""
    intr = np.array([[4.0, 0.3, 0.42], [0.0, 4.1, 0.55], [0.0, 0.0, 1.0]], np.float32)
    c = _labels([1.2], [1.4], intr)
    m = mirror_label(c)
    o, d = (np.asarray(x).reshape(R, R, 3) for x in sample_rays(*map(jnp.asarray, camera.split_label(c)), R))
    om, dm = (np.asarray(x).reshape(R, R, 3) for x in sample_rays(*map(jnp.asarray, camera.split_label(m)), R))
    flip = np.array([-1.0, 1.0, 1.0], np.float32)
    np.testing.assert_allclose(om, o[:, ::-1] * flip, atol=1e-6)
    np.testing.assert_allclose(dm, d[:, ::-1] * flip, atol=1e-6)


def _scene(symmetric):
    """Analytic density / colour field on world points; mirror-symmetric in x when asked."""

    def decode(feats, coords, dirs):
        x, y, z = coords[..., 0], coords[..., 1], coords[..., 2]
        xs = jnp.abs(x) if symmetric else x
        blob = jnp.exp(-((xs - 0.12) ** 2 + (y + 0.05) ** 2 + (z - 0.1) ** 2) / 0.01)
        blob2 = jnp.exp(-(xs ** 2 + (y - 0.15) ** 2 + z ** 2) / 0.02)
        sigma = 40.0 * (blob + blob2) - 5.0
        rgb = jnp.stack([xs + 0.5, y + 0.5, jnp.cos(6 * z)], axis=-1) * jnp.ones_like(coords[..., :1])
        return {"sigma": sigma[..., None], "rgb": rgb}

    return decode


@pytest.mark.parametrize("symmetric", [True, False])
def test_render_of_mirrored_camera_is_flipped_render(symmetric):
    cfg = RenderConfig(depth_resolution=24, depth_resolution_importance=8, ray_start=2.25, ray_end=3.3)
    c = _labels([math.pi / 2 + 0.4], [1.45])
    planes = jnp.zeros((1, 3, 4, 4, 1))

    def image(label):
        o, d = sample_rays(*map(jnp.asarray, camera.split_label(label)), R)
        return np.asarray(render(planes, _scene(symmetric), o, d, cfg)["rgb"]).reshape(R, R, 3)

    a, b = image(c)[:, ::-1], image(mirror_label(c))
    if symmetric:
        np.testing.assert_allclose(b, a, atol=2e-5)
    else:  # the test can tell: an asymmetric scene does not mirror
        assert np.abs(b - a).max() > 1e-2


def test_mirror_example_flips_every_image_like_field():
    rs = np.random.RandomState(0)
    ex = {"image": rs.rand(4, 4, 3), "mask": rs.rand(4, 4), "depth": rs.rand(4, 4), "c": _labels([1.2], [1.5])[0]}
    m = mirror_example(ex)
    np.testing.assert_array_equal(m["image"], ex["image"][:, ::-1])
    np.testing.assert_array_equal(m["mask"], ex["mask"][:, ::-1])
    np.testing.assert_array_equal(m["depth"], ex["depth"][:, ::-1])
    np.testing.assert_array_equal(m["c"], mirror_label(ex["c"]))
    with pytest.raises(ValueError, match="c: expected"):
        mirror_label(np.zeros(24))
