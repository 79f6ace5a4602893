"""EG3D's camera-conditioned dual discriminator on StyleGAN2 residual blocks (EG3D paper §4.2;
official training/dual_discriminator.py DualDiscriminator over networks_stylegan2.Discriminator*).

Input: the super-resolved image (N, S, S, 3) and the raw neural render (N, R, R, 3), the raw one
resized to S (antialiased bilinear, the official 'antialiased' filtered_resizing) and stacked on
channels -> 6 channels (PanoHead's MaskDualDiscriminator adds a mask channel: `with_mask`).
Layers mirror the official ones (names b{res}/fromrgb, conv0, conv1, skip; b4/conv, fc, out;
mapping/embed, fc{i}): equalized-lr weights ~ N(0, 1) scaled by 1/sqrt(fan_in) at run time,
lrelu(0.2) * sqrt(2), FIR [1,3,3,1] before every stride-2 convolution, residual sums scaled by
sqrt(0.5), minibatch standard deviation before the last convolution, and the projection output
(x . cmap) / sqrt(cmap_dim) with cmap = mapping(c) (an 8-layer MLP at lr multiplier 0.01).

`blur_images` is the raw-image blur fade-in of the loss (official loss.py run_D): a Gaussian-like
exp2(-(x/sigma)^2) kernel of half-width floor(3 sigma), with sigma a traced value.
"""
import math
from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.generators.stylegan2 import FullyConnected, MappingNetwork
from inversion3d.ops.bias_act import bias_act
from inversion3d.ops.resize import resize_bilinear
from inversion3d.ops.upfirdn2d import downsample2d, setup_filter, upfirdn2d

RESAMPLE_FILTER = setup_filter((1, 3, 3, 1))
SQRT_HALF = math.sqrt(0.5)


class Conv2dLayer(nn.Module):
    """StyleGAN2 Conv2dLayer (equalized lr) with optional FIR + stride-2 downsampling."""

    features: int
    kernel: int
    activation: str = "lrelu"
    down: int = 1
    use_bias: bool = True
    conv_clamp: Optional[float] = None

    @nn.compact
    def __call__(self, x, gain: float = 1.0):
        k, cin = self.kernel, x.shape[-1]
        weight = self.param("weight", nn.initializers.normal(1.0), (k, k, cin, self.features))
        weight = weight * (1.0 / np.sqrt(cin * k * k))
        if self.down > 1 and k == 1:  # official fast path: FIR-downsample, then the 1x1 conv
            x = downsample2d(x, RESAMPLE_FILTER, self.down)
            stride, pad = 1, 0
        elif self.down > 1:  # FIR with the padding conv2d_resample adds, then a strided valid conv
            x = upfirdn2d(x, RESAMPLE_FILTER, padding=k // 2 + 1)
            stride, pad = self.down, 0
        else:
            stride, pad = 1, k // 2
        x = jax.lax.conv_general_dilated(x, weight.astype(x.dtype), (stride, stride), [(pad, pad)] * 2,
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        bias = self.param("bias", nn.initializers.zeros, (self.features,)) if self.use_bias else None
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        act_gain = (math.sqrt(2.0) if self.activation == "lrelu" else 1.0) * gain
        return bias_act(x, bias, act=self.activation, gain=act_gain, clamp=clamp)


class DiscriminatorBlock(nn.Module):
    """Residual block: [fromrgb 1x1 (first block)] -> conv0 3x3 -> conv1 3x3 / 2, + skip 1x1 / 2."""

    tmp_channels: int
    out_channels: int
    first: bool = False
    conv_clamp: Optional[float] = None

    @nn.compact
    def __call__(self, x, img):
        if self.first:
            x = Conv2dLayer(self.tmp_channels, 1, conv_clamp=self.conv_clamp, name="fromrgb")(img)
        y = Conv2dLayer(self.out_channels, 1, activation="linear", down=2, use_bias=False, name="skip")(x, SQRT_HALF)
        x = Conv2dLayer(self.tmp_channels, 3, conv_clamp=self.conv_clamp, name="conv0")(x)
        x = Conv2dLayer(self.out_channels, 3, down=2, conv_clamp=self.conv_clamp, name="conv1")(x, SQRT_HALF)
        return x + y


def minibatch_std(x, group_size: int = 4, num_channels: int = 1):
    """Appends the std over groups of samples (official MinibatchStdLayer) as num_channels maps.

    Sample n is in group n % (N / G) with G = min(group_size, N); N must be a multiple of G.
    """
    n, h, w, c = x.shape
    g = min(group_size, n)
    if n % g:
        raise ValueError(f"batch: minibatch std needs a multiple of the group size {g}, got {n}")
    f = num_channels
    y = x.astype(jnp.promote_types(x.dtype, jnp.float32)).transpose(0, 3, 1, 2).reshape(g, n // g, f, c // f, h, w)
    y = jnp.sqrt(jnp.mean(jnp.square(y - jnp.mean(y, axis=0)), axis=0) + 1e-8)
    y = jnp.mean(y, axis=(2, 3, 4))  # (n // g, f)
    y = jnp.tile(y, (g, 1))[:, None, None, :]
    return jnp.concatenate([x, jnp.broadcast_to(y, (n, h, w, f)).astype(x.dtype)], axis=-1)


class DualDiscriminator(nn.Module):
    """image (N, S, S, 3), image_raw (N, R, R, 3) [, mask (N, R|S, R|S, 1)], c (N, 25) -> logits (N, 1).

    channel_base / channel_max set the width min(channel_base // res, channel_max) at each
    resolution S, S/2, ..., 4 (official channels_dict); c_dim 0 turns the conditioning off.
    """

    img_resolution: int
    c_dim: int = 25
    channel_base: int = 32768
    channel_max: int = 512
    mbstd_group_size: int = 4
    mbstd_num_channels: int = 1
    mapping_layers: int = 8
    conv_clamp: Optional[float] = None
    with_mask: bool = False  # PanoHead MaskDualDiscriminatorV2: the foreground mask (2 m - 1) as a 7th channel

    def channels(self, res: int) -> int:
        return min(self.channel_base // res, self.channel_max)

    @nn.compact
    def __call__(self, image, image_raw, c, mask=None):
        s = self.img_resolution
        if image.ndim != 4 or image.shape[1:] != (s, s, 3):
            raise ValueError(f"image: expected (N, {s}, {s}, 3), got {tuple(image.shape)}")
        if image_raw.ndim != 4 or image_raw.shape[0] != image.shape[0] or image_raw.shape[-1] != 3:
            raise ValueError(f"image_raw: expected (N, R, R, 3), got {tuple(image_raw.shape)}")
        if self.with_mask != (mask is not None):
            raise ValueError(f"mask: this discriminator {'needs' if self.with_mask else 'takes no'} mask")
        parts = [image, resize_bilinear(image_raw, (s, s), antialias=True)]
        if mask is not None:  # PanoHead's MaskDualDiscriminatorV2: the [0, 1] mask moved to [-1, 1] as the images
            parts.append(2.0 * resize_bilinear(mask, (s, s), antialias=True) - 1.0)
        img = jnp.concatenate(parts, axis=-1)
        log2 = int(np.log2(s))
        x = None
        for res in [2 ** i for i in range(log2, 2, -1)]:
            x = DiscriminatorBlock(self.channels(res), self.channels(res // 2), first=x is None,
                                   conv_clamp=self.conv_clamp, name=f"b{res}")(x, img)
        return self.epilogue(x, c)

    def epilogue(self, x, c):
        ch = self.channels(4)
        x = minibatch_std(x, self.mbstd_group_size, self.mbstd_num_channels)
        x = Conv2dLayer(ch, 3, conv_clamp=self.conv_clamp, name="b4_conv")(x)
        x = x.transpose(0, 3, 1, 2).reshape(x.shape[0], -1)  # NCHW flattening, as the official fc sees it
        x = FullyConnected(ch, activation="lrelu", name="b4_fc")(x)
        cmap_dim = ch if self.c_dim > 0 else 1
        x = FullyConnected(cmap_dim, name="b4_out")(x)
        if self.c_dim == 0:
            return x
        cmap = MappingNetwork(0, self.c_dim, cmap_dim, num_ws=1, num_layers=self.mapping_layers,
                              name="mapping")(None, c)[:, 0]
        return jnp.sum(x * cmap, axis=1, keepdims=True) * (1.0 / np.sqrt(cmap_dim))


def blur_kernel(sigma, max_sigma: float):
    """(2K+1,) taps exp2(-(x/sigma)^2) on |x| <= floor(3 sigma), zero beyond, normalised to sum 1;
    K = floor(3 max_sigma) fixes the shape so sigma may be traced; sigma <= 0 -> the identity."""
    half = int(np.floor(3 * max_sigma))
    x = jnp.arange(-half, half + 1, dtype=jnp.float32)
    sigma = jnp.asarray(sigma, jnp.float32)
    safe = jnp.maximum(sigma, 1e-8)
    taps = jnp.where(jnp.abs(x) <= jnp.floor(3 * sigma), jnp.exp2(-jnp.square(x / safe)), 0.0)
    delta = (x == 0).astype(jnp.float32)
    taps = jnp.where(jnp.floor(3 * sigma) > 0, taps, delta)
    return taps / jnp.sum(taps)


def blur_images(x, sigma, max_sigma: float):
    """Separable blur of x (N, H, W, C) with `blur_kernel` (zero padding, same size); sigma
    traced (0 = unchanged: that branch skips the convolution)."""
    if max_sigma <= 0:
        return x

    def blur(x):
        taps = blur_kernel(sigma, max_sigma)
        half = taps.shape[0] // 2
        c = x.shape[-1]
        rows = jnp.tile(taps.reshape(-1, 1, 1, 1), (1, 1, 1, c))
        cols = jnp.tile(taps.reshape(1, -1, 1, 1), (1, 1, 1, c))
        dn = ("NHWC", "HWIO", "NHWC")
        y = jax.lax.conv_general_dilated(x, rows, (1, 1), [(half, half), (0, 0)], dimension_numbers=dn,
                                         feature_group_count=c)
        return jax.lax.conv_general_dilated(y, cols, (1, 1), [(0, 0), (half, half)], dimension_numbers=dn,
                                            feature_group_count=c)

    return jax.lax.cond(jnp.floor(3 * jnp.asarray(sigma)) > 0, blur, lambda x: x, x)
