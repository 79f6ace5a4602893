"""LPIPS v0.1 perceptual distance (training.md §1.2): AlexNet or VGG16 feature taps, unit-normalised
over channels, squared differences weighted by learned 1x1 "lin" heads, spatial mean, summed over
taps, averaged over the batch.

Parameter names mirror the official files so the key map is mechanical: the torchvision backbone
state dict (`features.0.weight`, ...) becomes `features_0/weight` (HWIO), and the v0.1 heads
(`lin0.model.1.weight`, shape (1, C, 1, 1)) become `lin0/model_1/weight` (1, 1, C, 1).
Images are NHWC in [-1, 1] (no resize inside). `spatial=True` returns the distance map instead (the
official `LPIPS(spatial=True)`): each tap's head output upsampled bilinearly (align_corners=False) to
the input size and summed over taps -> (N, H, W, 1); its mean is the scalar distance up to the
upsampling's border weights.
"""
from typing import Sequence, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.nn.layers import Conv2d
from inversion3d.ops.resize import resize_bilinear

# (shift, scale) of the pSp-family LPIPS port, per RGB channel (training.md §1.2).
SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)
SCALE = np.array([0.458, 0.448, 0.450], np.float32)

# Backbone layers as (torchvision `features` index, kind, out channels, kernel, stride, padding);
# a tap is taken after each ReLU listed in TAPS (training.md §1.2: channels 64,192,384,256,256).
ALEX = ((0, "conv", 64, 11, 4, 2), (2, "pool"), (3, "conv", 192, 5, 1, 2), (5, "pool"),
        (6, "conv", 384, 3, 1, 1), (8, "conv", 256, 3, 1, 1), (10, "conv", 256, 3, 1, 1))
ALEX_TAPS = (0, 3, 6, 8, 10)
VGG16 = ((0, "conv", 64, 3, 1, 1), (2, "conv", 64, 3, 1, 1), (4, "pool"),
         (5, "conv", 128, 3, 1, 1), (7, "conv", 128, 3, 1, 1), (9, "pool"),
         (10, "conv", 256, 3, 1, 1), (12, "conv", 256, 3, 1, 1), (14, "conv", 256, 3, 1, 1), (16, "pool"),
         (17, "conv", 512, 3, 1, 1), (19, "conv", 512, 3, 1, 1), (21, "conv", 512, 3, 1, 1), (23, "pool"),
         (24, "conv", 512, 3, 1, 1), (26, "conv", 512, 3, 1, 1), (28, "conv", 512, 3, 1, 1))
VGG16_TAPS = (2, 7, 14, 21, 28)
NETS = {"alex": (ALEX, ALEX_TAPS, 3, 2), "vgg": (VGG16, VGG16_TAPS, 2, 2)}  # + max-pool window, stride


def backbone_taps(x, layers, taps, pool_window, pool_stride):
    """Runs the torchvision `features` trunk (inside a Flax compact method); returns the post-ReLU taps."""
    outs = []
    for layer in layers:
        if layer[1] == "pool":
            x = nn.max_pool(x, (pool_window,) * 2, (pool_stride,) * 2)
            continue
        idx, _, features, kernel, stride, padding = layer
        x = jax.nn.relu(Conv2d(features, kernel, stride, padding, name=f"features_{idx}")(x))
        if idx in taps:
            outs.append(x)
    return outs


class Head(nn.Module):
    """The v0.1 'lin' head: a bias-free 1x1 conv to one channel (official `linK.model.1`)."""

    @nn.compact
    def __call__(self, x):
        return Conv2d(1, 1, use_bias=False, name="model_1")(x)


def _unit_normalise(x, eps=1e-10):
    return x / (jnp.sqrt(jnp.sum(jnp.square(x), axis=-1, keepdims=True)) + eps)


class LPIPS(nn.Module):
    """(x, y) NHWC in [-1, 1] -> per-sample LPIPS distance (N,), or with `spatial` the distance map
    (N, H, W, 1) (same parameters either way)."""

    net: str = "alex"
    spatial: bool = False

    @nn.compact
    def __call__(self, x, y):
        if self.net not in NETS:
            raise ValueError(f"net: expected one of {sorted(NETS)}, got {self.net!r}")
        if x.shape != y.shape or x.ndim != 4 or x.shape[-1] != 3:
            raise ValueError(f"x, y: expected two (N, H, W, 3) images of one shape, got {x.shape} and {y.shape}")
        layers, taps, window, stride = NETS[self.net]
        both = (jnp.concatenate([x, y], axis=0) - SHIFT) / SCALE
        feats = backbone_taps(both, layers, taps, window, stride)
        total = 0.0
        for k, f in enumerate(feats):
            fx, fy = jnp.split(f, 2, axis=0)
            diff = jnp.square(_unit_normalise(fx) - _unit_normalise(fy))
            head = Head(name=f"lin{k}")(diff)
            if self.spatial:
                total = total + resize_bilinear(head, x.shape[1:3], antialias=False)
            else:
                total = total + jnp.mean(head, axis=(1, 2, 3))
        return total


def lpips_loss(module: LPIPS, variables, x, y):
    """Mean over the batch of LPIPS(x, y) (the pSp port divides the batch sum by the batch size)."""
    return jnp.mean(module.apply(variables, x, y))
