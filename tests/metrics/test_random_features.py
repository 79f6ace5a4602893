"""The FID-like tracker of GAN training (metrics/random_features.py): zero for the reference set
itself, larger for a distribution further away, and the same for every order of the samples."""
import numpy as np
import pytest

from inversion3d.metrics.random_features import RandomFeatureFID


def test_random_feature_fid_orders_distributions():
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (48, 16, 16, 3)).astype(np.float32)
    tracker = RandomFeatureFID(real, batch=16)
    assert abs(tracker.score(real[::-1].copy())) < 1e-4  # same set, another order
    near = np.clip(real + rng.normal(0, 0.05, real.shape), -1, 1).astype(np.float32)
    far = (0.3 + rng.normal(0, 0.01, real.shape)).astype(np.float32)
    assert 0 < tracker.score(near) < tracker.score(far)
    with pytest.raises(ValueError, match="real_images"):
        RandomFeatureFID(real[..., 0])
