"""StyleGAN2 mapping and synthesis (skip architecture) as Flax linen modules (eg3d.md §2-§3).

Parameter names mirror the official modules (`b64/conv0/affine/weight`, ...) so the key map is
mechanical. Layouts are channel-last: fully connected weights are (in, out), convolution weights
(kh, kw, in, out), feature maps (N, H, W, C). Stored values are the *raw* equalized-lr parameters
(as in the PyTorch state_dict); the runtime gains are applied in `__call__`.

Non-trainable state (`w_avg`, `noise_const`) lives in the 'buffers' collection. The fixed 4x4
[1,3,3,1] resample filter is a constant, not a variable.

Mixed precision (the official `use_fp16` blocks, eg3d.md §3, with bf16 in place of fp16): a block
with `dtype=bfloat16` runs its activations and convolutions in bf16; parameters stay float32 and
are cast at use, styles and demodulation coefficients are computed in float32, and the ToRGB
output is promoted to float32 before the img skip sum, so `img` is always float32.
"""
from typing import Any, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.ops.bias_act import bias_act
from inversion3d.ops.modconv import modulated_conv2d
from inversion3d.ops.upfirdn2d import setup_filter, upsample2d

RESAMPLE_FILTER = setup_filter((1, 3, 3, 1))
NOISE_MODES = ("random", "const", "none")


def _normal_init(scale=1.0):
    return lambda key, shape: jax.random.normal(key, shape, jnp.float32) * scale


def normalize_2nd_moment(x, axis=-1, eps=1e-8):
    """x * rsqrt(mean(x^2) + eps) along `axis` (eg3d.md §2)."""
    return x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=axis, keepdims=True) + eps)


class FullyConnected(nn.Module):
    """Equalized-lr dense layer: runtime weight = weight * lr_mul / sqrt(in), bias * lr_mul."""

    features: int
    activation: str = "linear"
    lr_multiplier: float = 1.0
    bias_init: float = 0.0
    use_bias: bool = True
    dtype: Any = None  # compute dtype (x and the float32 weight are cast); None = x's dtype rules

    @nn.compact
    def __call__(self, x):
        fan_in = x.shape[-1]
        weight = self.param("weight", _normal_init(1.0 / self.lr_multiplier), (fan_in, self.features))
        weight = weight * (self.lr_multiplier / np.sqrt(fan_in))
        if self.dtype is not None:
            x, weight = x.astype(self.dtype), weight.astype(self.dtype)
        y = x @ weight
        bias = None
        if self.use_bias:
            bias = self.param("bias", lambda k, s: jnp.full(s, self.bias_init, jnp.float32), (self.features,))
            bias = bias * self.lr_multiplier
        return bias_act(y, bias, act=self.activation)


class MappingNetwork(nn.Module):
    """z (N, z_dim), c (N, c_dim) -> ws (N, num_ws, w_dim) with optional truncation (eg3d.md §2).

    `last_activation` is PanoHead's addition (its camera-offset network ends linearly).
    """

    z_dim: int
    c_dim: int
    w_dim: int
    num_ws: int
    num_layers: int = 8
    embed_features: Optional[int] = None
    layer_features: Optional[int] = None
    activation: str = "lrelu"
    last_activation: Optional[str] = None
    lr_multiplier: float = 0.01

    @nn.compact
    def __call__(self, z, c, truncation_psi=1.0, truncation_cutoff=None):
        embed_features = self.w_dim if self.embed_features is None else self.embed_features
        layer_features = self.w_dim if self.layer_features is None else self.layer_features
        w_avg = self.variable("buffers", "w_avg", jnp.zeros, (self.w_dim,), jnp.float32)

        parts = []
        if self.z_dim > 0:
            parts.append(normalize_2nd_moment(z.astype(jnp.float32)))
        if self.c_dim > 0:
            y = FullyConnected(embed_features, name="embed")(c.astype(jnp.float32))
            parts.append(normalize_2nd_moment(y))
        x = jnp.concatenate(parts, axis=1)
        for idx in range(self.num_layers):
            last = idx == self.num_layers - 1
            act = self.last_activation if (last and self.last_activation) else self.activation
            features = self.w_dim if last else layer_features
            x = FullyConnected(features, activation=act, lr_multiplier=self.lr_multiplier, name=f"fc{idx}")(x)

        ws = jnp.broadcast_to(x[:, None, :], (x.shape[0], self.num_ws, self.w_dim))
        if not (isinstance(truncation_psi, (int, float)) and truncation_psi == 1):
            cutoff = self.num_ws if truncation_cutoff is None else int(truncation_cutoff)
            avg = w_avg.value
            truncated = avg + truncation_psi * (ws[:, :cutoff] - avg)
            ws = jnp.concatenate([truncated, ws[:, cutoff:]], axis=1)
        return ws


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv + noise + bias + lrelu (eg3d.md §3.2)."""

    out_channels: int
    resolution: int
    up: int = 1
    use_noise: bool = True
    conv_clamp: Optional[float] = None
    fused_modconv: bool = True

    @nn.compact
    def __call__(self, x, w, noise_mode="const"):
        in_channels = x.shape[-1]
        styles = FullyConnected(in_channels, bias_init=1.0, name="affine")(w)
        weight = self.param("weight", _normal_init(), (3, 3, in_channels, self.out_channels))
        bias = self.param("bias", nn.initializers.zeros, (self.out_channels,))
        noise = None
        if self.use_noise:
            strength = self.param("noise_strength", nn.initializers.zeros, ())
            noise_const = self.variable(
                "buffers", "noise_const",
                lambda: jax.random.normal(self.make_rng("params"), (self.resolution, self.resolution)))
            if noise_mode == "random":
                shape = (x.shape[0], self.resolution, self.resolution, 1)
                noise = jax.random.normal(self.make_rng("noise"), shape) * strength
            elif noise_mode == "const":
                noise = noise_const.value[:, :, None] * strength
        x = modulated_conv2d(
            x, weight, styles, noise=noise, up=self.up, padding=1,
            resample_filter=RESAMPLE_FILTER, flip_weight=(self.up == 1), fused=self.fused_modconv)
        clamp = self.conv_clamp if self.conv_clamp else None
        return bias_act(x, bias, act="lrelu", gain=np.sqrt(2.0), clamp=clamp)


class ToRGBLayer(nn.Module):
    """1x1 modulated conv without demodulation + bias (eg3d.md §3.4); output in x's dtype."""

    out_channels: int
    conv_clamp: Optional[float] = None
    fused_modconv: bool = True

    @nn.compact
    def __call__(self, x, w):
        in_channels = x.shape[-1]
        styles = FullyConnected(in_channels, bias_init=1.0, name="affine")(w)
        styles = styles * (1.0 / np.sqrt(in_channels))
        weight = self.param("weight", _normal_init(), (1, 1, in_channels, self.out_channels))
        bias = self.param("bias", nn.initializers.zeros, (self.out_channels,))
        x = modulated_conv2d(x, weight, styles, demodulate=False, fused=self.fused_modconv)
        return bias_act(x, bias, act="linear", clamp=self.conv_clamp if self.conv_clamp else None)


class SynthesisBlock(nn.Module):
    """One 'skip' block (eg3d.md §3.1). `up=False` is SuperresolutionHybrid's SynthesisBlockNoUp.

    Consumes ws (N, num_conv + 1, w_dim): conv ws first, then the ToRGB w. Returns x in `dtype`
    (the official block's fp16 x) and img in float32. `smooth` (optional callable on (N, H, W, C)
    arrays): applied to x after the convolutions and to the (upsampled) incoming image before the
    ToRGB sum (In-N-Out's temporal smoothing of SR block 0, the batch being consecutive frames).
    """

    in_channels: int
    out_channels: int
    resolution: int
    img_channels: int
    up: bool = True
    use_noise: bool = True
    conv_clamp: Optional[float] = None
    fused_modconv: bool = True
    dtype: Any = None  # activations / convolutions (official use_fp16 -> bf16); None = x's, >= float32

    @property
    def num_conv(self):
        return 1 if self.in_channels == 0 else 2

    @nn.compact
    def __call__(self, x, img, ws, noise_mode="const", smooth=None):
        kw = dict(resolution=self.resolution, use_noise=self.use_noise,
                  conv_clamp=self.conv_clamp, fused_modconv=self.fused_modconv)
        if self.in_channels == 0:
            const = self.param("const", _normal_init(), (self.resolution, self.resolution, self.out_channels))
            x = jnp.broadcast_to(const[None].astype(self._dtype(const)), (ws.shape[0],) + const.shape)
            x = SynthesisLayer(self.out_channels, name="conv1", **kw)(x, ws[:, 0], noise_mode)
        else:
            x = SynthesisLayer(self.out_channels, up=2 if self.up else 1, name="conv0", **kw)(
                x.astype(self._dtype(x)), ws[:, 0], noise_mode)
            x = SynthesisLayer(self.out_channels, name="conv1", **kw)(x, ws[:, 1], noise_mode)
        if img is not None and self.up:
            img = upsample2d(img, RESAMPLE_FILTER, up=2)
        if smooth is not None:
            x = smooth(x)
            img = None if img is None else smooth(img)
        y = ToRGBLayer(self.img_channels, conv_clamp=self.conv_clamp, fused_modconv=self.fused_modconv,
                       name="torgb")(x, ws[:, self.num_conv])
        y = y.astype(_at_least_f32(y))  # the skip sum accumulates in float32 (official `y.to(float32)`)
        img = y if img is None else img.astype(_at_least_f32(img)) + y
        return x, img

    def _dtype(self, x):
        return _at_least_f32(x) if self.dtype is None else self.dtype


def _at_least_f32(x):
    """x's dtype promoted to float32 or wider (bf16 -> float32; float64 stays, for x64 checks)."""
    return jnp.promote_types(x.dtype, jnp.float32)


def block_channels(resolutions: Sequence[int], channel_base: int, channel_max: int):
    return {res: min(channel_base // res, channel_max) for res in resolutions}


class SynthesisNetwork(nn.Module):
    """ws (N, num_ws, w_dim) -> img (N, R, R, img_channels), the skip sum of all blocks (eg3d.md §3).

    Sows each block's (x, img) into the 'intermediates' collection as `b{res}_x` / `b{res}_img`.
    Blocks of resolution >= `dtype_from_res` compute in `dtype` (the official fp16 blocks are those
    >= max(2 ** (log2(img_resolution) + 1 - num_fp16_res), 8)), the others in float32 (or wider).
    """

    w_dim: int
    img_resolution: int
    img_channels: int
    channel_base: int = 32768
    channel_max: int = 512
    conv_clamp: Optional[float] = None
    fused_modconv: bool = True
    dtype: Any = None  # None: float32 (or the inputs' wider dtype) everywhere
    dtype_from_res: int = 4

    @property
    def block_resolutions(self):
        log2 = int(np.log2(self.img_resolution))
        return [2 ** i for i in range(2, log2 + 1)]

    @property
    def num_ws(self):
        # b4 has one conv, the others two; plus the final ToRGB (eg3d.md §3).
        return 2 * (len(self.block_resolutions) - 1) + 1 + 1

    def __call__(self, ws, noise_mode="const"):
        return self.blocks(ws, noise_mode)[1]

    @nn.compact
    def blocks(self, ws, noise_mode="const", x=None, img=None, first: int = 4, last: Optional[int] = None):
        """Runs blocks b{first}..b{last} (default: all) from (x, img) and returns (x, img).

        Each block takes its usual rows of the full ws (b64 starts at row 7), so a forward split
        at any block and resumed from (possibly edited) x equals the plain forward (GOAE's
        train_forward_1/_2, encoders.md §1.3).
        """
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode: expected one of {NOISE_MODES}, got {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws: expected shape (N, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        last = self.img_resolution if last is None else last
        if first not in self.block_resolutions or last not in self.block_resolutions or last < first:
            raise ValueError(f"first, last: expected block resolutions {self.block_resolutions} with first <= last, "
                             f"got {first}, {last}")
        channels = block_channels(self.block_resolutions, self.channel_base, self.channel_max)
        w_idx = 0
        for res in self.block_resolutions:
            in_ch = 0 if res == 4 else channels[res // 2]
            dtype = self.dtype if res >= self.dtype_from_res else None
            block = SynthesisBlock(in_ch, channels[res], res, self.img_channels, conv_clamp=self.conv_clamp,
                                   fused_modconv=self.fused_modconv, dtype=dtype, name=f"b{res}")
            if first <= res <= last:
                x, img = block(x, img, ws[:, w_idx:w_idx + block.num_conv + 1], noise_mode)
                self.sow("intermediates", f"b{res}_x", x)
                self.sow("intermediates", f"b{res}_img", img)
            w_idx += block.num_conv
        return x, img
