"""The Dual Encoder's occlusion-aware tri-plane discriminator, exactly the paper's Table 6
(Appendix A.1; encoders.md §6), and its back-view image variant for the ablation.

Table 6 (Conv2D(in, out, kernel, stride, padding), bias terms disabled):
  Conv2D(288, 64, 3, 1, 1)  LeakyReLU(0.2)
  Conv2D(64, 128, 3, 1, 1)  BatchNorm2D(128) LeakyReLU(0.2)
  Conv2D(128, 256, 3, 1, 1) BatchNorm2D(256) LeakyReLU(0.2)
  Conv2D(256, 512, 3, 1, 1) BatchNorm2D(512) LeakyReLU(0.2)
  Conv2D(512, 1, 3, 1, 0)   global average pool -> (N, 1); no sigmoid (softplus / WGAN-style losses).
Every conv keeps the 256 x 256 resolution (stride 1) except the last (no padding: 254 x 254).
Input: the PanoHead tri-grid (N, 3 planes, 256, 256, 32 x 3 depth slices), occluded cells only
(features times O of Eq. 3), depth slices stacked into channels: (N, 256, 256, 288).
The ablation's back-view image discriminator is the same stack with 3 input channels.

BatchNorm is torch's (nn.layers.BatchNorm: eps 1e-5, momentum 0.1, unbiased running variance),
handled functionally: apply(..., train=True, mutable=['batch_stats']) normalises with the batch
statistics and returns the updated running statistics (the training step keeps them in the state
pytree); train=False uses the running statistics. `widths` is Table 6's (64, 128, 256, 512); the
tiny CPU configs shrink it (configs/dual.py).
"""
from typing import Optional, Sequence

import flax.linen as nn
import jax.numpy as jnp

from inversion3d.nn.layers import BatchNorm, Conv2d, leaky_relu
from inversion3d.ops.grid import planes_to_channels

SLOPE = 0.2  # LeakyReLU(0.2) (Table 6)
WIDTHS = (64, 128, 256, 512)  # Table 6 hidden widths
TRIGRID_CHANNELS = 288  # 3 planes x 32 features x 3 depth slices (Appendix A.2)
RESOLUTION = 256  # PanoHead's tri-grid resolution (Appendix A.2)


def occlusion_masked(planes, occluded=None):
    """planes (N, 3, H, W, C*D) (channel c*D + d) times the occlusion mask occluded (N, 3, D, H, W)
    (1 = not seen from the input view), as (N, H, W, 3*C*D) plane-major channels (Appendix A.2)."""
    if occluded is not None:
        n, p, h, w, cd = planes.shape
        if occluded.ndim != 5 or occluded.shape[:2] != (n, p) or occluded.shape[3:] != (h, w) or \
                cd % occluded.shape[2]:
            raise ValueError(f"occluded: expected (N, 3, D, H, W) = ({n}, {p}, D, {h}, {w}) with D dividing {cd}, "
                             f"got {tuple(occluded.shape)}")
        d = occluded.shape[2]
        o = jnp.transpose(occluded, (0, 1, 3, 4, 2))[:, :, :, :, None, :]  # (N, 3, H, W, 1, D)
        planes = (planes.reshape(n, p, h, w, cd // d, d) * o).reshape(planes.shape)
    return planes_to_channels(planes)


class Table6(nn.Module):
    """The Table 6 stack on NHWC inputs (N, H, W, in_channels) -> logits (N, 1)."""

    in_channels: int = TRIGRID_CHANNELS
    widths: Sequence[int] = WIDTHS

    @nn.compact
    def __call__(self, x, train: bool = False):
        if x.ndim != 4 or x.shape[-1] != self.in_channels:
            raise ValueError(f"input: expected (N, H, W, {self.in_channels}), got {tuple(x.shape)}")
        if len(self.widths) != 4:
            raise ValueError(f"widths: Table 6 has 4 hidden widths, got {tuple(self.widths)}")
        x = leaky_relu(Conv2d(self.widths[0], 3, 1, 1, use_bias=False, name="conv0")(x), SLOPE)
        for i, width in enumerate(self.widths[1:], start=1):
            x = Conv2d(width, 3, 1, 1, use_bias=False, name=f"conv{i}")(x)
            x = leaky_relu(BatchNorm(name=f"bn{i}")(x, use_running_average=not train), SLOPE)
        x = Conv2d(1, 3, 1, 0, use_bias=False, name="conv4")(x)
        return jnp.mean(x, axis=(1, 2))  # AvgPool to 1 x 1 -> (N, 1)


class TriplaneDiscriminator(nn.Module):
    """Occlusion-aware tri-plane D: planes (N, 3, R, R, C*D) (+ occluded (N, 3, D, R, R)) -> (N, 1)."""

    resolution: int = RESOLUTION
    in_channels: int = TRIGRID_CHANNELS
    widths: Sequence[int] = WIDTHS

    @nn.compact
    def __call__(self, planes, occluded: Optional[jnp.ndarray] = None, train: bool = False):
        r = self.resolution
        if planes.ndim != 5 or planes.shape[1] != 3 or planes.shape[2:4] != (r, r) or \
                3 * planes.shape[4] != self.in_channels:
            raise ValueError(f"planes: expected (N, 3, {r}, {r}, {self.in_channels // 3}), got {tuple(planes.shape)}")
        x = occlusion_masked(planes, occluded)
        return Table6(self.in_channels, tuple(self.widths), name="net")(x, train)


class ImageDiscriminator(nn.Module):
    """The ablation's back-view image D (Appendix A.1): Table 6 with 3 input channels;
    images (N, R, R, 3) -> (N, 1)."""

    resolution: int = RESOLUTION
    widths: Sequence[int] = WIDTHS

    @nn.compact
    def __call__(self, images, train: bool = False):
        r = self.resolution
        if images.ndim != 4 or images.shape[1:] != (r, r, 3):
            raise ValueError(f"images: expected (N, {r}, {r}, 3), got {tuple(images.shape)}")
        return Table6(3, tuple(self.widths), name="net")(images, train)
