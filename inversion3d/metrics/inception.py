"""Inception-v3 pool3 features (2048-d) for FID: the torchvision layout with the FID variants of the
blocks (average pools that exclude padding; the last block max-pools), NHWC.

Parameter names mirror the PyTorch state dict of the user's FID weights file
(`Mixed_5b.branch1x1.conv.weight` -> `Mixed_5b/branch1x1/conv/weight`, BatchNorm statistics in
'batch_stats'), so the shared key map converts it. Input: images in [-1, 1] (any size; resized to
299x299 with bilinear interpolation, no antialias).
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from inversion3d.nn.layers import BatchNorm
from inversion3d.ops.resize import resize_bilinear

FID_SIZE = 299


class _Conv(nn.Module):
    features: int
    kernel: tuple
    stride: int
    padding: tuple

    @nn.compact
    def __call__(self, x):
        w = self.param("weight", nn.initializers.lecun_normal(), (*self.kernel, x.shape[-1], self.features))
        return jax.lax.conv_general_dilated(x, w, (self.stride,) * 2, [(p, p) for p in self.padding],
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))


class BasicConv2d(nn.Module):
    """conv (no bias) -> BatchNorm (eps 1e-3) -> ReLU, under `conv` / `bn` like torchvision."""

    features: int
    kernel: tuple = (1, 1)
    stride: int = 1
    padding: tuple = (0, 0)

    @nn.compact
    def __call__(self, x):
        y = _Conv(self.features, self.kernel, self.stride, self.padding, name="conv")(x)
        return jax.nn.relu(BatchNorm(eps=1e-3, name="bn")(y, True))


def _c(features, name, k=1, stride=1, pad=None):
    kernel = (k, k) if isinstance(k, int) else k
    padding = tuple((s - 1) // 2 for s in kernel) if pad is None else pad
    return BasicConv2d(features, kernel, stride, padding, name=name)


def avg_pool_exclude_pad(x):
    """3x3 stride-1 average pool with padding 1 dividing by the real pixels (count_include_pad=False)."""
    pad = ((0, 0), (1, 1), (1, 1), (0, 0))
    total = jax.lax.reduce_window(x, 0.0, jax.lax.add, (1, 3, 3, 1), (1, 1, 1, 1), pad)
    count = jax.lax.reduce_window(jnp.ones((1,) + x.shape[1:3] + (1,), x.dtype), 0.0, jax.lax.add,
                                  (1, 3, 3, 1), (1, 1, 1, 1), pad)
    return total / count


def max_pool(x, window=3, stride=2, padding=0):
    pad = ((0, 0), (padding, padding), (padding, padding), (0, 0))
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, window, window, 1), (1, stride, stride, 1), pad)


class InceptionA(nn.Module):
    pool_features: int

    @nn.compact
    def __call__(self, x):
        b1 = _c(64, "branch1x1")(x)
        b5 = _c(64, "branch5x5_2", 5)(_c(48, "branch5x5_1")(x))
        b3 = _c(96, "branch3x3dbl_3", 3)(_c(96, "branch3x3dbl_2", 3)(_c(64, "branch3x3dbl_1")(x)))
        bp = _c(self.pool_features, "branch_pool")(avg_pool_exclude_pad(x))
        return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
    @nn.compact
    def __call__(self, x):
        b3 = _c(384, "branch3x3", 3, 2, (0, 0))(x)
        bd = _c(96, "branch3x3dbl_3", 3, 2, (0, 0))(_c(96, "branch3x3dbl_2", 3)(_c(64, "branch3x3dbl_1")(x)))
        return jnp.concatenate([b3, bd, max_pool(x)], axis=-1)


class InceptionC(nn.Module):
    channels_7x7: int

    @nn.compact
    def __call__(self, x):
        c7 = self.channels_7x7
        b1 = _c(192, "branch1x1")(x)
        b7 = _c(192, "branch7x7_3", (7, 1))(_c(c7, "branch7x7_2", (1, 7))(_c(c7, "branch7x7_1")(x)))
        bd = _c(c7, "branch7x7dbl_1")(x)
        for i, (ch, k) in enumerate(((c7, (7, 1)), (c7, (1, 7)), (c7, (7, 1)), (192, (1, 7))), start=2):
            bd = _c(ch, f"branch7x7dbl_{i}", k)(bd)
        bp = _c(192, "branch_pool")(avg_pool_exclude_pad(x))
        return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
    @nn.compact
    def __call__(self, x):
        b3 = _c(320, "branch3x3_2", 3, 2, (0, 0))(_c(192, "branch3x3_1")(x))
        b7 = _c(192, "branch7x7x3_1")(x)
        b7 = _c(192, "branch7x7x3_3", (7, 1))(_c(192, "branch7x7x3_2", (1, 7))(b7))
        b7 = _c(192, "branch7x7x3_4", 3, 2, (0, 0))(b7)
        return jnp.concatenate([b3, b7, max_pool(x)], axis=-1)


class InceptionE(nn.Module):
    """pool='avg' (FID Mixed_7b: average excluding padding) or 'max' (FID Mixed_7c)."""

    pool: str = "avg"

    @nn.compact
    def __call__(self, x):
        b1 = _c(320, "branch1x1")(x)
        b3 = _c(384, "branch3x3_1")(x)
        b3 = jnp.concatenate([_c(384, "branch3x3_2a", (1, 3))(b3), _c(384, "branch3x3_2b", (3, 1))(b3)], axis=-1)
        bd = _c(384, "branch3x3dbl_2", 3)(_c(448, "branch3x3dbl_1")(x))
        bd = jnp.concatenate([_c(384, "branch3x3dbl_3a", (1, 3))(bd), _c(384, "branch3x3dbl_3b", (3, 1))(bd)], axis=-1)
        pooled = avg_pool_exclude_pad(x) if self.pool == "avg" else max_pool(x, 3, 1, 1)
        bp = _c(192, "branch_pool")(pooled)
        return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class FIDInceptionV3(nn.Module):
    """images (N, H, W, 3) in [-1, 1] -> pool3 features (N, 2048)."""

    @nn.compact
    def __call__(self, images):
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images: expected (N, H, W, 3), got {tuple(images.shape)}")
        x = images
        if x.shape[1:3] != (FID_SIZE, FID_SIZE):
            x = resize_bilinear(x, (FID_SIZE, FID_SIZE), antialias=False)
        x = _c(32, "Conv2d_1a_3x3", 3, 2, (0, 0))(x)
        x = _c(32, "Conv2d_2a_3x3", 3, 1, (0, 0))(x)
        x = max_pool(_c(64, "Conv2d_2b_3x3", 3)(x))
        x = _c(80, "Conv2d_3b_1x1")(x)
        x = max_pool(_c(192, "Conv2d_4a_3x3", 3, 1, (0, 0))(x))
        x = InceptionA(32, name="Mixed_5b")(x)
        x = InceptionA(64, name="Mixed_5c")(x)
        x = InceptionA(64, name="Mixed_5d")(x)
        x = InceptionB(name="Mixed_6a")(x)
        for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
            x = InceptionC(c7, name=name)(x)
        x = InceptionD(name="Mixed_7a")(x)
        x = InceptionE("avg", name="Mixed_7b")(x)
        x = InceptionE("max", name="Mixed_7c")(x)
        return jnp.mean(x, axis=(1, 2))
