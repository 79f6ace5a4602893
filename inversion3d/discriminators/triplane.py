"""Dual Encoder's occlusion-aware tri-plane discriminator (encoders.md §6, training.md §6).

No official code exists and the paper's layer table ("Table 6") was not available, so the layer
stack below is this port's choice, documented here and configurable: a StyleGAN2-style residual
convolutional discriminator (without the FIR blur) on the 288-channel PanoHead tri-grid
(3 planes x 3 depth x 32 features at 256 x 256).

Occlusion awareness (§6): only occluded cells are shown. With `visibility` (N, 3, H, W) in [0, 1]
(1 = cell seen from the input view, e.g. from the depth back-projection of the stitching step),
every feature of plane p at (h, w) is multiplied by 1 - visibility[:, p, h, w]. Real tri-grids
must be masked with the mask of their own front view so both distributions match.
"""
from typing import Optional, Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from inversion3d.nn.layers import Conv2d, Linear, leaky_relu
from inversion3d.ops.grid import planes_to_channels

SLOPE = 0.2


def occlusion_masked(planes, visibility=None):
    """planes (N, P, H, W, C) * (1 - visibility (N, P, H, W)) -> (N, H, W, P*C) plane-major channels."""
    if visibility is not None:
        if visibility.shape != planes.shape[:4]:
            raise ValueError(f"visibility: expected {tuple(planes.shape[:4])}, got {tuple(visibility.shape)}")
        planes = planes * (1.0 - visibility)[..., None]
    return planes_to_channels(planes)


class ResidualDownBlock(nn.Module):
    """conv3x3 -> lrelu -> conv3x3 stride 2 -> lrelu, plus a 1x1 stride-2 skip; sum / sqrt(2)."""

    features: int

    @nn.compact
    def __call__(self, x):
        skip = Conv2d(self.features, 1, stride=2, use_bias=False, name="skip")(x)
        y = leaky_relu(Conv2d(x.shape[-1], 3, padding=1, name="conv0")(x), SLOPE)
        y = leaky_relu(Conv2d(self.features, 3, stride=2, padding=1, name="conv1")(y), SLOPE)
        return (y + skip) * (1.0 / np.sqrt(2.0))


class TriplaneDiscriminator(nn.Module):
    """planes (N, 3, R, R, C) (+ visibility (N, 3, R, R)) -> logits (N, 1).

    channels[i] is the width at resolution R / 2^i; there are len(channels) down blocks, so the
    epilogue runs at R / 2^len(channels) (4 for R = 256 with the default six widths).
    """

    resolution: int = 256
    in_channels: int = 288
    channels: Sequence[int] = (128, 256, 256, 512, 512, 512)

    @nn.compact
    def __call__(self, planes, visibility: Optional[jnp.ndarray] = None):
        r = self.resolution
        if planes.ndim != 5 or planes.shape[2:4] != (r, r) or planes.shape[1] * planes.shape[4] != self.in_channels:
            raise ValueError(f"planes: expected (N, P, {r}, {r}, C) with P*C = {self.in_channels}, "
                             f"got {tuple(planes.shape)}")
        final = r >> len(self.channels)
        if final < 1 or final << len(self.channels) != r:
            raise ValueError(f"channels: {len(self.channels)} halvings do not fit resolution {r}")
        x = occlusion_masked(planes, visibility)
        x = leaky_relu(Conv2d(self.channels[0], 1, name="from_planes")(x), SLOPE)
        for i, width in enumerate(self.channels):
            nxt = self.channels[min(i + 1, len(self.channels) - 1)]
            x = ResidualDownBlock(nxt, name=f"b{r >> i}")(x)
        x = leaky_relu(Conv2d(x.shape[-1], 3, padding=1, name="out_conv")(x), SLOPE)
        x = leaky_relu(Linear(self.channels[-1], name="out_fc")(x.reshape(x.shape[0], -1)), SLOPE)
        return Linear(1, name="out")(x)
