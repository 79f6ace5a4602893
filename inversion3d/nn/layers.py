"""Torch-named building blocks shared by the encoders, discriminators, LPIPS and Inception
(encoders.md §1-§4).

They sit below every network family so that no family imports another's modules. Parameter names
are the PyTorch ones (`weight`, `bias`, `running_mean` ...) so the key maps in
`converters/encoder_keymaps.py` are mechanical. Layouts are channel-last: Linear weights (in, out),
conv weights (kh, kw, in, out), feature maps (N, H, W, C), token sequences (N, L, C).
BatchNorm running statistics live in the 'batch_stats' collection.
"""
from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


def _uniform(fan_in):
    """torch's default Linear/Conv init for weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / np.sqrt(max(fan_in, 1))
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)


def leaky_relu(x, slope):
    """LeakyReLU with an explicit slope (the repos mix 0.01 and 0.2, encoders.md conventions)."""
    return jnp.where(x >= 0, x, x * slope)


class Linear(nn.Module):
    """torch.nn.Linear on the last axis: (..., in) -> (..., features); weight stored (in, out)."""

    features: int
    use_bias: bool = True

    @nn.compact
    def __call__(self, x):
        fan_in = x.shape[-1]
        y = x @ self.param("weight", _uniform(fan_in), (fan_in, self.features))
        if self.use_bias:
            y = y + self.param("bias", _uniform(fan_in), (self.features,))
        return y


def conv2d(x, weight, stride=1, padding=0):
    """NHWC x HWIO convolution with torch's symmetric zero padding."""
    return jax.lax.conv_general_dilated(
        x, weight, (stride, stride), [(padding, padding), (padding, padding)],
        dimension_numbers=("NHWC", "HWIO", "NHWC"))


class Conv2d(nn.Module):
    """torch.nn.Conv2d: (N, H, W, in) -> (N, H', W', features); weight stored HWIO."""

    features: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    use_bias: bool = True

    @nn.compact
    def __call__(self, x):
        k = self.kernel_size
        fan_in = k * k * x.shape[-1]
        weight = self.param("weight", _uniform(fan_in), (k, k, x.shape[-1], self.features))
        y = conv2d(x, weight, self.stride, self.padding)
        if self.use_bias:
            y = y + self.param("bias", _uniform(fan_in), (self.features,))
        return y


class EqualConv2d(nn.Module):
    """StyleGAN2-pytorch EqualConv2d: weight stored unscaled, times 1/sqrt(in*k*k) at run time
    (encoders.md §1.3)."""

    features: int
    kernel_size: int
    stride: int = 1
    padding: int = 0

    @nn.compact
    def __call__(self, x):
        k, cin = self.kernel_size, x.shape[-1]
        weight = self.param("weight", nn.initializers.normal(1.0), (k, k, cin, self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        return conv2d(x, weight * (1.0 / np.sqrt(cin * k * k)), self.stride, self.padding) + bias


class EqualLinear(nn.Module):
    """pSp EqualLinear without activation: y = x @ (W * lr_mul / sqrt(in)) + b * lr_mul (§2.2)."""

    features: int
    lr_mul: float = 1.0

    @nn.compact
    def __call__(self, x):
        fan_in = x.shape[-1]
        weight = self.param("weight", nn.initializers.normal(1.0 / self.lr_mul), (fan_in, self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        return x @ (weight * (self.lr_mul / np.sqrt(fan_in))) + bias * self.lr_mul


class PReLU(nn.Module):
    """torch.nn.PReLU(num_parameters=C) on the channel (last) axis."""

    @nn.compact
    def __call__(self, x):
        weight = self.param("weight", nn.initializers.constant(0.25), (x.shape[-1],))
        return jnp.where(x >= 0, x, weight * x)


def layer_norm(x, eps=1e-5):
    """Normalises the last axis (biased variance), no affine parameters."""
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + eps)


class LayerNorm(nn.Module):
    """torch.nn.LayerNorm(C) over the last axis, eps 1e-5, params `weight`/`bias`."""

    eps: float = 1e-5

    @nn.compact
    def __call__(self, x):
        c = x.shape[-1]
        weight = self.param("weight", nn.initializers.ones, (c,))
        bias = self.param("bias", nn.initializers.zeros, (c,))
        return layer_norm(x, self.eps) * weight + bias


class BatchNorm(nn.Module):
    """torch.nn.BatchNorm{1,2}d over all axes but the last (encoders.md §2.1: eps 1e-5, momentum 0.1).

    use_running_average=True (inference) normalises with the running statistics. False (training)
    normalises with the batch mean and biased variance and, outside `init`, updates the
    'batch_stats' collection as torch does: running_var takes the *unbiased* batch variance.
    Apply with mutable=['batch_stats'] in training mode.
    """

    use_running_average: Optional[bool] = None
    momentum: float = 0.1
    eps: float = 1e-5

    @nn.compact
    def __call__(self, x, use_running_average: Optional[bool] = None):
        use_ra = nn.merge_param("use_running_average", self.use_running_average, use_running_average)
        c = x.shape[-1]
        weight = self.param("weight", nn.initializers.ones, (c,))
        bias = self.param("bias", nn.initializers.zeros, (c,))
        ra_mean = self.variable("batch_stats", "running_mean", lambda: jnp.zeros((c,), jnp.float32))
        ra_var = self.variable("batch_stats", "running_var", lambda: jnp.ones((c,), jnp.float32))
        if use_ra:
            mean, var = ra_mean.value, ra_var.value
        else:
            axes = tuple(range(x.ndim - 1))
            mean = jnp.mean(x, axis=axes)
            var = jnp.mean(jnp.square(x - mean), axis=axes)
            n = int(np.prod([x.shape[a] for a in axes]))
            if not self.is_initializing():
                m = self.momentum
                ra_mean.value = (1 - m) * ra_mean.value + m * mean
                ra_var.value = (1 - m) * ra_var.value + m * var * (n / max(n - 1, 1))
        return (x - mean) * jax.lax.rsqrt(var + self.eps) * weight + bias


def upsample_nearest(x, scale):
    """torch nn.Upsample(scale_factor=s, mode='nearest') for integer s on NHWC x."""
    if scale == 1:
        return x
    return jnp.repeat(jnp.repeat(x, scale, axis=1), scale, axis=2)


def pixel_shuffle(x, r):
    """torch nn.PixelShuffle(r) in NHWC: (N, H, W, C*r*r) -> (N, H*r, W*r, C).

    torch's channel index is c*r*r + i*r + j for output offset (i, j) of channel c.
    """
    if r == 1:
        return x
    n, h, w, crr = x.shape
    c = crr // (r * r)
    x = x.reshape(n, h, w, c, r, r).transpose(0, 1, 4, 2, 5, 3)
    return x.reshape(n, h * r, w * r, c)
