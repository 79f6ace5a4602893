"""GOAE mix-fusion mask (encoders.md §1.4) against a numpy reference written from the spec, and the
tri-grid blend used by the Dual Encoder stitching."""
import jax
import numpy as np
import pytest

from inversion3d import camera
from inversion3d.inversion import visibility
from inversion3d.rendering.rays import sample_rays


def _np_blur(x, sigma):
    """torchvision GaussianBlur(9, sigma) on (H, W): 2-D kernel outer(k, k), reflect padding."""
    t = np.linspace(-4, 4, 9)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    k /= k.sum()
    k2 = np.outer(k, k)
    p = np.pad(x, 4, mode="reflect")
    h, w = x.shape
    return sum(k2[i, j] * p[i:i + h, j:j + w] for i in range(9) for j in range(9))


def _np_goae_mask(depth, c, sigma):
    """Spec §1.4: xyz = o + depth * d; u = (X + 0.5) * 256, v = (Y + 0.5) * 256, clamped to [0, 255] and
    truncated; mask[v, u] = 1; blur -> > 0.35 -> blur."""
    o, d = (np.asarray(a) for a in sample_rays(*camera.split_label(c), depth.shape[1]))
    out = []
    for n in range(depth.shape[0]):
        xyz = o[n] + depth[n].reshape(-1, 1) * d[n]
        u = np.clip((xyz[:, 0] + 0.5) * 256, 0, 255).astype(np.int64)
        v = np.clip((xyz[:, 1] + 0.5) * 256, 0, 255).astype(np.int64)
        mask = np.zeros((256, 256))
        mask[v, u] = 1
        out.append(_np_blur((_np_blur(mask, sigma) > 0.35).astype(np.float64), sigma))
    return np.stack(out)


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(0)
    yaw = np.array([np.pi / 2, np.pi / 2 + 0.3], np.float32)
    c = camera.make_label(camera.lookat_pose(yaw, np.full(2, np.pi / 2, np.float32)), camera.intrinsics_matrix())
    depth = (2.6 + 0.1 * rng.standard_normal((2, 128, 128, 1))).astype(np.float32)  # a dense surface near the pivot
    return depth, c


@pytest.mark.parametrize("sigma", [1.0, 1.5, 2.0])
def test_plane0_mask_matches_the_spec(scene, sigma):
    depth, c = scene
    got = jax.jit(lambda d, c: visibility.visibility(d, c, 256, sigma=sigma))(depth, c)
    assert got.shape == (2, 3, 1, 256, 256)
    want = _np_goae_mask(depth, c, sigma)
    np.testing.assert_allclose(got[:, 0, 0], want, atol=1e-5)
    assert 0.05 < want.mean() < 0.9  # a non-trivial mask: the test exercises both sides


def test_cells_follow_the_plane_axes():
    """A point on the x axis lands in column (x + 0.5) * size of planes 0 (xy) and 1 (xz), and in
    column (0 + 0.5) * size of PanoHead's plane 2 (yz) whose slice axis is x."""
    pts = np.array([[[0.25, 0.0, 0.0]]], np.float32)
    cells = np.asarray(visibility.cell_indices(pts, 8, 3, 1.0, "panohead"))[0, :, 0]
    np.testing.assert_array_equal(cells, [[6, 4, 1], [6, 4, 1], [4, 4, 2]])


def test_gaussian_kernel():
    k = visibility.gaussian_kernel(1.5)
    t = np.linspace(-4, 4, 9)
    np.testing.assert_allclose(k, np.exp(-t ** 2 / 4.5) / np.exp(-t ** 2 / 4.5).sum(), rtol=1e-6)


def test_blend_per_depth_slice():
    rng = np.random.default_rng(1)
    seen, unseen = rng.standard_normal((2, 1, 3, 4, 4, 2 * 3)).astype(np.float32)
    mask = rng.uniform(size=(1, 3, 3, 4, 4)).astype(np.float32)
    got = np.asarray(visibility.blend_planes(seen, unseen, mask))
    for c in range(2):
        for d in range(3):
            m = mask[:, :, d]
            np.testing.assert_allclose(got[..., c * 3 + d], m * seen[..., c * 3 + d] + (1 - m) * unseen[..., c * 3 + d],
                                       rtol=1e-6)
    one = mask[:, :, :1]
    np.testing.assert_allclose(np.asarray(visibility.blend_planes(seen, unseen, one)),
                               one[:, :, 0, ..., None] * seen + (1 - one[:, :, 0, ..., None]) * unseen, rtol=1e-6)
