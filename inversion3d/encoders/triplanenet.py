"""TriPlaneNet v2 tri-plane encoder `TriPlane_Encoder` (encoders.md §4).

A U-Net over IR-SE-50 taps that predicts tri-plane offsets: T = T0 + head(...). Two variants:
nearest upsampling (default) and pixel shuffle (`use_pixelshuffle=True`).
Tri-planes are (N, 3, H, W, C) as everywhere in the port; internally they are folded to
(N, H, W, 3C) with channel p*C + c, which is torch's (N, 3C, H, W) channel order.
"""
from typing import Optional, Sequence

import flax.linen as nn
import jax.numpy as jnp

from inversion3d.encoders.irse import IRSE_WIDTHS, input_layer, irse_units, run_body
from inversion3d.nn.layers import BatchNorm, Conv2d, PReLU, pixel_shuffle, upsample_nearest
from inversion3d.ops.grid import channels_to_planes, planes_to_channels

TAP_C0, TAP_C1, TAP_C2, TAP_C3 = 2, 6, 20, 21  # skip taps (§4); the body output (unit 23) is x
UP_WIDTHS = {False: (512, 256, 128, 64), True: (512, 384, 256, 96)}  # up1..up4 outputs per variant (§4)


class DoubleConv(nn.Module):
    """BN(in) -> Conv3x3 (bias) -> PReLU -> Conv3x3 (bias) -> PReLU -> PReLU (names double_conv_{0..5})."""

    features: int

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = BatchNorm(name="double_conv_0")(x, not train)
        x = PReLU(name="double_conv_2")(Conv2d(self.features, 3, padding=1, name="double_conv_1")(x))
        x = PReLU(name="double_conv_4")(Conv2d(self.features, 3, padding=1, name="double_conv_3")(x))
        return PReLU(name="double_conv_5")(x)  # two consecutive PReLUs, as in the official module


class Up(nn.Module):
    """Upsample `x` (nearest by `scale`, or PixelShuffle(scale)), concat [skip, x], DoubleConv."""

    features: int
    scale: int
    pixelshuffle: bool = False

    @nn.compact
    def __call__(self, x, skip, train: bool = False):
        x = pixel_shuffle(x, self.scale) if self.pixelshuffle else upsample_nearest(x, self.scale)
        return DoubleConv(self.features, name="conv")(jnp.concatenate([skip, x], axis=-1), train)


class TriPlaneEncoder(nn.Module):
    """x (N, S, S, in_nc) and T0 planes (N, 3, S, S, C) -> T = T0 + delta, same shape as T0 (§4).

    x is concat(y0, x - y0, x_mirror - y0_mirror) (9 channels) in the official pipeline; S must be a
    multiple of 16. BatchNorm uses running statistics unless train=True. `widths` (IR-SE stage
    widths) and `up_widths` (outputs of up1..up4; None = the variant's official table) give small
    models with the same structure.
    """

    use_pixelshuffle: bool = False
    in_nc: int = 9
    num_layers: int = 50
    widths: Sequence[int] = IRSE_WIDTHS
    up_widths: Optional[Sequence[int]] = None

    @nn.compact
    def __call__(self, x, planes, train: bool = False):
        if x.ndim != 4 or x.shape[-1] != self.in_nc or x.shape[1] % 16 or x.shape[2] % 16:
            raise ValueError(f"x: expected (N, H, W, {self.in_nc}) with H, W multiples of 16, got {tuple(x.shape)}")
        if planes.ndim != 5 or planes.shape[0] != x.shape[0] or planes.shape[2:4] != x.shape[1:3]:
            raise ValueError(f"planes: expected (N, P, {x.shape[1]}, {x.shape[2]}, C) matching x, "
                             f"got {tuple(planes.shape)}")
        t0 = planes_to_channels(planes)
        h = input_layer(x, train, channels=self.widths[0])
        h, feats = run_body(h, irse_units(self.num_layers, self.widths), train, taps=(TAP_C0, TAP_C1, TAP_C2, TAP_C3))
        widths = tuple(self.up_widths or UP_WIDTHS[self.use_pixelshuffle])
        ps = self.use_pixelshuffle
        h = Up(widths[0], 1, ps, name="up1")(h, feats[TAP_C3], train)
        h = Up(widths[1], 2, ps, name="up2")(h, feats[TAP_C2], train)
        h = Up(widths[2], 2, ps, name="up3")(h, feats[TAP_C1], train)
        h = Up(widths[3], 2, ps, name="up4")(h, feats[TAP_C0], train)
        h = pixel_shuffle(h, 2) if ps else upsample_nearest(h, 2)
        c = t0.shape[-1]
        h = jnp.concatenate([t0, h], axis=-1)
        h = PReLU(name="final_head_two_1")(Conv2d(c, 3, padding=1, name="final_head_two_0")(h))
        h = PReLU(name="final_head_two_3")(Conv2d(c, 3, padding=1, name="final_head_two_2")(h))
        delta = Conv2d(c, 1, name="final_head_two_4")(h)
        return channels_to_planes(t0 + delta, planes.shape[1])
