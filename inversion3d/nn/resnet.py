"""A torchvision-style ResNet (He et al. 2016; torchvision.models.resnet layout) with a linear head of
N logits: the usual form of face-attribute classifiers (a ResNet-18 / 50 backbone fine-tuned on
CelebA's 40 attributes).

Module names mirror torchvision's state_dict keys, so the key map is mechanical
(converters/classifier.py): `conv1`, `bn1`, `layer{s}.{i}.conv{1,2[,3]}`, `layer{s}.{i}.bn{...}`,
`layer{s}.{i}.downsample.{0,1}`, `fc`. Bottleneck blocks stride in the 3x3 conv (torchvision's
"ResNet v1.5"). `widths` other than (64, 128, 256, 512) give narrower networks (tests, the small
classifier trained on the synthetic heads). Feature maps are NHWC.
"""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from inversion3d.nn.layers import BatchNorm, Conv2d, Linear

BLOCKS = ("basic", "bottleneck")
EXPANSION = {"basic": 1, "bottleneck": 4}
DEPTHS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)), 50: ("bottleneck", (3, 4, 6, 3)),
          101: ("bottleneck", (3, 4, 23, 3)), 152: ("bottleneck", (3, 8, 36, 3))}  # torchvision resnet*


class Block(nn.Module):
    """BasicBlock (3x3, 3x3) or Bottleneck (1x1, 3x3 with the stride, 1x1 to 4x planes) + identity or
    1x1-conv/BN shortcut, ReLU after the sum."""

    planes: int
    stride: int = 1
    block: str = "basic"

    @nn.compact
    def __call__(self, x, train: bool = False):
        ra = not train
        out_ch = self.planes * EXPANSION[self.block]
        if self.block == "basic":
            y = jax.nn.relu(BatchNorm(name="bn1")(Conv2d(self.planes, 3, self.stride, 1, False, name="conv1")(x), ra))
            y = BatchNorm(name="bn2")(Conv2d(self.planes, 3, 1, 1, False, name="conv2")(y), ra)
        else:
            y = jax.nn.relu(BatchNorm(name="bn1")(Conv2d(self.planes, 1, 1, 0, False, name="conv1")(x), ra))
            y = jax.nn.relu(BatchNorm(name="bn2")(Conv2d(self.planes, 3, self.stride, 1, False, name="conv2")(y), ra))
            y = BatchNorm(name="bn3")(Conv2d(out_ch, 1, 1, 0, False, name="conv3")(y), ra)
        if self.stride != 1 or x.shape[-1] != out_ch:
            x = BatchNorm(name="downsample_1")(Conv2d(out_ch, 1, self.stride, 0, False, name="downsample_0")(x), ra)
        return jax.nn.relu(y + x)


class ResNetClassifier(nn.Module):
    """images (N, S, S, in_channels), already normalised -> (N, num_outputs) logits.

    stem conv 7x7/2 + BN + ReLU + max-pool 3x3/2, four stages of `layers[s]` blocks (`widths[s]`
    planes, stride 2 from the second stage), global average pool, `fc`."""

    num_outputs: int
    layers: Sequence[int] = (2, 2, 2, 2)
    widths: Sequence[int] = (64, 128, 256, 512)
    block: str = "basic"
    stem_width: int = 64
    in_channels: int = 3

    @nn.compact
    def __call__(self, x, train: bool = False):
        if self.block not in BLOCKS:
            raise ValueError(f"block: expected one of {BLOCKS}, got {self.block!r}")
        if len(self.layers) != 4 or len(self.widths) != 4:
            raise ValueError(f"layers / widths: expected 4 stages, got {tuple(self.layers)} / {tuple(self.widths)}")
        if x.ndim != 4 or x.shape[-1] != self.in_channels:
            raise ValueError(f"images: expected (N, S, S, {self.in_channels}), got shape {tuple(x.shape)}")
        x = Conv2d(self.stem_width, 7, 2, 3, False, name="conv1")(x)
        x = jax.nn.relu(BatchNorm(name="bn1")(x, not train))
        x = nn.max_pool(x, (3, 3), (2, 2), ((1, 1), (1, 1)))  # pads with -inf, as torch
        for s, (n, planes) in enumerate(zip(self.layers, self.widths)):
            for i in range(n):
                x = Block(planes, 2 if (s > 0 and i == 0) else 1, self.block, name=f"layer{s + 1}_{i}")(x, train)
        return Linear(self.num_outputs, name="fc")(jnp.mean(x, axis=(1, 2)))
