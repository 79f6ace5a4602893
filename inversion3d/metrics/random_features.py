"""An FID-like score without downloaded weights: Fréchet distance (metrics/fid.py) between the
features of a fixed, randomly initialised CNN (seeded; never trained) on real and generated images.

Honest about what it is: random convolutional features measure colour, texture and coarse layout
statistics, not Inception's semantics, so the value is comparable only between runs that use the
same seed, resolution and sample counts; it is a training-progress tracker, not FID. With Inception
weights (metrics/fid.inception_features) use those instead.
"""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.metrics import fid


class RandomFeatures(nn.Module):
    """images (N, S, S, 3) in [-1, 1] -> (N, 2 * widths[-1]): stride-2 3x3 convs + lrelu(0.2), then
    the per-channel mean and std over the last map."""

    widths: Sequence[int] = (32, 64, 128, 128)

    @nn.compact
    def __call__(self, x):
        for i, w in enumerate(self.widths):
            x = nn.Conv(w, (3, 3), strides=2, kernel_init=nn.initializers.variance_scaling(2.0, "fan_in", "normal"),
                        name=f"conv{i}")(x)
            x = nn.leaky_relu(x, 0.2)
        return jnp.concatenate([jnp.mean(x, axis=(1, 2)), jnp.std(x, axis=(1, 2))], axis=-1)


class RandomFeatureFID:
    """score(fake images) -> Fréchet distance to the real images' statistics (given once)."""

    def __init__(self, real_images, seed: int = 0, batch: int = 64):
        real_images = np.asarray(real_images, np.float32)
        if real_images.ndim != 4 or real_images.shape[-1] != 3:
            raise ValueError(f"real_images: expected (N, S, S, 3), got {real_images.shape}")
        self.module = RandomFeatures()
        self.variables = self.module.init(jax.random.PRNGKey(seed), jnp.zeros((1,) + real_images.shape[1:]))
        self._apply = jax.jit(self.module.apply)
        self.batch = batch
        self.real_stats = fid.feature_statistics(self.features(real_images))

    def features(self, images):
        images = np.asarray(images, np.float32)
        return np.concatenate([np.asarray(self._apply(self.variables, images[i:i + self.batch]))
                               for i in range(0, len(images), self.batch)])

    def score(self, fake_images) -> float:
        return fid.frechet_distance(*self.real_stats, *fid.feature_statistics(self.features(fake_images)))
