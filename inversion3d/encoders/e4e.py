"""e4e Encoder4Editing (encoders.md §3): w0 broadcast to every row plus per-row deltas.

Same backbone, pyramid and module names as pSp (psp.py), so one converted tree serves both.
"""
import math
from typing import Optional, Sequence

import flax.linen as nn
import jax.numpy as jnp

from inversion3d.encoders.irse import IRSE_WIDTHS
from inversion3d.nn.layers import Conv2d
from inversion3d.encoders.psp import (COARSE_END, MIDDLE_END, GradualStyleBlock, backbone_features, check_image,
                                      style_spatial, upsample_add)


class Encoder4Editing(nn.Module):
    """images (N, S, S, 3) in [-1, 1] -> w (N, style_count, 512), style_count = 2 log2(stylegan_size) - 2.

    Row 0 is w0 = styles_0(c3); row i (1 <= i <= stage) adds delta_i = styles_i(features_i),
    features = c3 / p2 / p1 for the coarse / middle / fine rows (§3). `stage=None` is the
    inference stage (all deltas); rows above `stage` stay equal to w0. `latent_avg` is added if given.
    `delta_mask` (style_count,) or (N, style_count), when given, multiplies delta_i (entry 0 is unused):
    e4e's progressive training as data, so one compiled step serves every stage (a 0 entry gives
    the row w0 exactly and a zero gradient for that style block).
    `widths` / `style_dim` / `style_hidden` as in `GradualStyleEncoder` (small models; official defaults).
    """

    stylegan_size: int = 256
    num_layers: int = 50
    stage: Optional[int] = None
    widths: Sequence[int] = IRSE_WIDTHS
    style_dim: int = 512
    style_hidden: Optional[int] = None

    @property
    def style_count(self) -> int:
        return 2 * int(math.log2(self.stylegan_size)) - 2

    @nn.compact
    def __call__(self, images, train: bool = False, latent_avg: Optional[jnp.ndarray] = None,
                 delta_mask: Optional[jnp.ndarray] = None):
        check_image(images)
        size, n = images.shape[1], self.style_count
        c1, c2, c3 = backbone_features(images, train, self.num_layers, self.widths)
        w0 = GradualStyleBlock(self.style_dim, style_spatial(0, size), self.style_hidden, name="styles_0")(c3)
        last = n - 1 if self.stage is None else min(self.stage, n - 1)
        if delta_mask is not None:
            delta_mask = jnp.broadcast_to(jnp.asarray(delta_mask, w0.dtype), (w0.shape[0], n))
        rows = [w0]
        feats = c3
        p2 = None
        for i in range(1, n):
            if i > last and not self.is_initializing():  # init still creates every block's params
                rows.append(w0)
                continue
            if i == COARSE_END:
                p2 = feats = upsample_add(c3, Conv2d(c3.shape[-1], 1, name="latlayer1")(c2))
            elif i == MIDDLE_END:
                feats = upsample_add(p2, Conv2d(c3.shape[-1], 1, name="latlayer2")(c1))
            delta = GradualStyleBlock(self.style_dim, style_spatial(i, size), self.style_hidden,
                                      name=f"styles_{i}")(feats)
            if delta_mask is not None:
                delta = delta * delta_mask[:, i:i + 1]
            rows.append(w0 + delta if i <= last else w0)
        w = jnp.stack(rows, axis=1)
        return w if latent_avg is None else w + latent_avg
