"""A toy pSp-style encoder: image -> W+ (N, num_ws, w_dim). For exercising the training stack.

Small strided conv stack (optional BatchNorm) -> global average pool -> one linear head per
w row, added to a latent offset (pSp's `start_from_latent_avg`: pass the generator's w_avg).
Not a real encoder (those are swin_v2 / irse / goae ...); it keeps CPU tests fast.
"""
from typing import Optional, Sequence

import chex
import flax.linen as nn
import jax.numpy as jnp


class Model(nn.Module):
    """images (N, H, W, 3) in [-1, 1] -> ws (N, num_ws, w_dim)."""

    num_ws: int
    w_dim: int
    widths: Sequence[int] = (16, 32)
    batch_norm: bool = False
    bn_axis_name: Optional[str] = None  # 'data' under shard_map: cross-device (sync) BatchNorm
    bn_momentum: float = 0.9

    @nn.compact
    def __call__(self, images, train: bool = False, latent_avg=None):
        chex.assert_rank(images, 4)
        x = images
        for i, width in enumerate(self.widths):
            # no conv bias before BatchNorm: BN removes it, its gradient is pure rounding noise
            x = nn.Conv(width, (3, 3), strides=(2, 2), use_bias=not self.batch_norm, name=f"conv{i}")(x)
            if self.batch_norm:
                x = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum,
                                 axis_name=self.bn_axis_name if train else None, name=f"bn{i}")(x)
            x = nn.leaky_relu(x, 0.2)
        x = jnp.mean(x, axis=(1, 2))
        ws = nn.Dense(self.num_ws * self.w_dim, kernel_init=nn.initializers.normal(1e-2), name="head")(x)
        ws = ws.reshape(-1, self.num_ws, self.w_dim)
        if latent_avg is not None:
            ws = ws + latent_avg
        return ws


def load(config):
    """Model from a `config.model` section (num_ws, w_dim, widths, batch_norm)."""
    return Model(num_ws=int(config.num_ws), w_dim=int(config.w_dim), widths=tuple(config.widths),
                 batch_norm=bool(config.get("batch_norm", False)))
