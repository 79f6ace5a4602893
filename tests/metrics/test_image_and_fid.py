"""Image metrics against closed forms; FID against two Gaussians with known distance."""
import numpy as np
import pytest

from inversion3d.metrics import fid, image


def test_mse_psnr_closed_form():
    x = np.zeros((2, 256, 256, 3), np.float32)
    y = x + np.array([0.1, 0.2], np.float32)[:, None, None, None]
    np.testing.assert_allclose(image.mse(x, y), [0.01, 0.04], rtol=1e-5)
    np.testing.assert_allclose(image.psnr(x, y), 10 * np.log10(4 / np.array([0.01, 0.04])), rtol=1e-5)


def test_metrics_resize_to_256():
    x = np.random.RandomState(0).uniform(-1, 1, (1, 512, 512, 3)).astype(np.float32)
    assert image.at_metric_resolution(x).shape == (1, 256, 256, 3)
    assert float(image.mse(x, x)[0]) == 0.0


def test_ssim_identity_and_noise():
    rs = np.random.RandomState(0)
    x = np.clip(rs.uniform(-1, 1, (2, 64, 64, 3)), -1, 1).astype(np.float32)
    s_same = image.ssim(x, x)
    s_noisy = image.ssim(x, np.clip(x + 0.5 * rs.randn(*x.shape), -1, 1))
    np.testing.assert_allclose(s_same, 1.0, atol=1e-6)
    assert np.all(s_noisy < 0.9)


def test_frechet_distance_of_known_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    d1, d2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    want = np.sum((mu1 - mu2) ** 2) + np.sum(d1 + d2 - 2 * np.sqrt(d1 * d2))  # diagonal covariances
    np.testing.assert_allclose(fid.frechet_distance(mu1, np.diag(d1), mu2, np.diag(d2)), want, rtol=1e-10)
    # Rotating both covariances by one orthogonal matrix leaves the distance unchanged.
    q, _ = np.linalg.qr(np.random.RandomState(0).randn(3, 3))
    got = fid.frechet_distance(q @ mu1, q @ np.diag(d1) @ q.T, q @ mu2, q @ np.diag(d2) @ q.T)
    np.testing.assert_allclose(got, want, rtol=1e-8)
    assert abs(fid.frechet_distance(mu1, np.diag(d1), mu1, np.diag(d1))) < 1e-8


def test_fid_from_samples_and_cache(tmp_path):
    rs = np.random.RandomState(0)
    a = rs.randn(20000, 2) * [1.0, 2.0]
    b = rs.randn(20000, 2) * [1.0, 2.0] + [3.0, 0.0]
    stats_a, stats_b = fid.feature_statistics(a), fid.feature_statistics(b)
    np.testing.assert_allclose(fid.frechet_distance(*stats_a, *stats_b), 9.0, rtol=0.03)
    path = fid.save_statistics(tmp_path / "ref.npz", *stats_a, count=len(a))
    mu, sigma, count = fid.load_statistics(path)
    np.testing.assert_array_equal(mu, stats_a[0])
    assert count == 20000
    with pytest.raises(ValueError, match="no such file"):
        fid.load_statistics(tmp_path / "missing.npz")
