"""IR / IR-SE bottleneck units and the IR-SE-50 body (encoders.md §2.1).

Written once and shared by pSp, e4e, TriPlaneNet v2, GOAE's AFA and (later) the ArcFace ID loss.
Module names mirror the official `shortcut_layer.{0,1}`, `res_layer.{0..5}`, `input_layer.{0,1,2}`
and `body.{i}` so the key map is mechanical. Feature maps are NHWC.
"""
from typing import List, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from inversion3d.nn.layers import BatchNorm, Conv2d, PReLU


class UnitSpec(NamedTuple):
    in_channel: int
    depth: int
    stride: int


def stage_units(in_channel: int, depth: int, num_units: int, stride: int = 2) -> List[UnitSpec]:
    """One stage: the first unit maps in_channel -> depth with `stride`, the rest depth -> depth, s1."""
    return [UnitSpec(in_channel, depth, stride)] + [UnitSpec(depth, depth, 1)] * (num_units - 1)


IRSE_WIDTHS = (64, 128, 256, 512)  # stage widths of the official bodies (§2.1)


def irse_units(num_layers: int = 50, widths: Sequence[int] = IRSE_WIDTHS) -> List[UnitSpec]:
    """Unit list of the IR(-SE)-50/100/152 bodies; for 50: [3 x 64, 4 x 128, 14 x 256, 3 x 512] (§2.1).

    `widths` other than the official (64, 128, 256, 512) give narrower bodies (small test models);
    the stem then has widths[0] channels."""
    counts = {50: (3, 4, 14, 3), 100: (3, 13, 30, 3), 152: (3, 8, 36, 3)}
    if num_layers not in counts:
        raise ValueError(f"num_layers: expected one of {sorted(counts)}, got {num_layers}")
    if len(widths) != 4:
        raise ValueError(f"widths: expected 4 stage widths, got {tuple(widths)}")
    units, prev = [], widths[0]
    for depth, n in zip(widths, counts[num_layers]):
        units += stage_units(prev, depth, n)
        prev = depth
    return units


class SEModule(nn.Module):
    """Squeeze-excitation: avg pool -> fc1 (1x1, C -> C/r) -> ReLU -> fc2 (-> C) -> sigmoid -> scale."""

    reduction: int = 16

    @nn.compact
    def __call__(self, x):
        c = x.shape[-1]
        s = jnp.mean(x, axis=(1, 2), keepdims=True)
        s = jax.nn.relu(Conv2d(c // self.reduction, 1, use_bias=False, name="fc1")(s))
        s = jax.nn.sigmoid(Conv2d(c, 1, use_bias=False, name="fc2")(s))
        return x * s


class BottleneckIR(nn.Module):
    """bottleneck_IR / bottleneck_IR_SE(in_channel, depth, stride) (§2.1): (N,H,W,in) -> (N,H/s,W/s,depth).

    res: BN -> conv3x3 -> PReLU -> conv3x3 (stride) -> BN [-> SE]; shortcut: subsampling when
    in == depth (MaxPool2d(1, stride)), else conv1x1 (stride) + BN.
    """

    in_channel: int
    depth: int
    stride: int
    use_se: bool = True

    @nn.compact
    def __call__(self, x, train: bool = False):
        if x.shape[-1] != self.in_channel:
            raise ValueError(f"x: expected {self.in_channel} channels, got shape {tuple(x.shape)}")
        ra = not train
        s = self.stride
        if self.in_channel == self.depth:
            shortcut = x[:, ::s, ::s]
        else:
            shortcut = Conv2d(self.depth, 1, stride=s, use_bias=False, name="shortcut_layer_0")(x)
            shortcut = BatchNorm(name="shortcut_layer_1")(shortcut, ra)
        r = BatchNorm(name="res_layer_0")(x, ra)
        r = Conv2d(self.depth, 3, padding=1, use_bias=False, name="res_layer_1")(r)
        r = PReLU(name="res_layer_2")(r)
        r = Conv2d(self.depth, 3, stride=s, padding=1, use_bias=False, name="res_layer_3")(r)
        r = BatchNorm(name="res_layer_4")(r, ra)
        if self.use_se:
            r = SEModule(name="res_layer_5")(r)
        return r + shortcut


def input_layer(x, train: bool, channels: int = 64, name: str = "input_layer"):
    """Stem `input_layer` = Conv3x3 (no bias) -> BN -> PReLU, created in the calling module (§2.1)."""
    x = Conv2d(channels, 3, padding=1, use_bias=False, name=f"{name}_0")(x)
    x = BatchNorm(name=f"{name}_1")(x, not train)
    return PReLU(name=f"{name}_2")(x)


def run_body(x, units: Sequence[UnitSpec], train: bool, use_se: bool = True, taps: Sequence[int] = ()):
    """Applies `body.{i}` units created in the calling module; returns (x, {i: output of unit i})."""
    feats = {}
    for i, u in enumerate(units):
        x = BottleneckIR(u.in_channel, u.depth, u.stride, use_se, name=f"body_{i}")(x, train)
        if i in taps:
            feats[i] = x
    return x, feats
