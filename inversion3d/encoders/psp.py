"""pSp GradualStyleEncoder on IR-SE-50 (encoders.md §2): image -> w+ (N, n_styles, 512).

The feature pyramid (`FeaturePyramid`) and `GradualStyleBlock` are shared with e4e (e4e.py),
which uses the same module names, hence the same converted weights.
"""
from typing import Optional, Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from inversion3d.encoders.irse import IRSE_WIDTHS, input_layer, irse_units, run_body
from inversion3d.nn.layers import Conv2d, EqualLinear, leaky_relu
from inversion3d.ops.resize import resize_bilinear_align_corners

COARSE_END, MIDDLE_END = 3, 7  # styles [0,3) from c3, [3,7) from p2, [7, n) from p1 (§2.2)
TAP_C1, TAP_C2, TAP_C3 = 6, 20, 23  # body units whose outputs feed the pyramid (§2.2)


class GradualStyleBlock(nn.Module):
    """log2(spatial) x [Conv3x3 s2 p1 (bias) + LeakyReLU 0.01], flatten, EqualLinear (§2.2).

    x (N, spatial, spatial, C) -> (N, out_c). Names `convs_{0,2,4,...}` and `linear`. The convs are
    `hidden` wide (None = out_c, the official block; smaller for small test models).
    """

    out_c: int
    spatial: int
    hidden: Optional[int] = None

    @nn.compact
    def __call__(self, x):
        if x.shape[1:3] != (self.spatial, self.spatial):
            raise ValueError(f"x: expected spatial {self.spatial}x{self.spatial}, got shape {tuple(x.shape)}")
        for i in range(int(np.log2(self.spatial))):
            x = leaky_relu(Conv2d(self.hidden or self.out_c, 3, stride=2, padding=1, name=f"convs_{2 * i}")(x), 0.01)
        return EqualLinear(self.out_c, name="linear")(x.reshape(x.shape[0], -1))


def upsample_add(x, y):
    """bilinear_resize(x -> y's size, align_corners=True) + y (pSp `_upsample_add`)."""
    return resize_bilinear_align_corners(x, y.shape[1:3]) + y


def style_spatial(i: int, size: int) -> int:
    """Input spatial size of style block i for an input image of side `size` (16/32/64 at 256)."""
    return size // 16 if i < COARSE_END else (size // 8 if i < MIDDLE_END else size // 4)


def backbone_features(x, train: bool, num_layers: int = 50, widths: Sequence[int] = IRSE_WIDTHS):
    """Stem + IR-SE body created in the calling module: returns c1 (/4, 128), c2 (/8, 256), c3 (/16, 512)
    (channels widths[1:] for narrower bodies)."""
    x = input_layer(x, train, channels=widths[0])
    _, feats = run_body(x, irse_units(num_layers, widths), train, taps=(TAP_C1, TAP_C2, TAP_C3))
    return feats[TAP_C1], feats[TAP_C2], feats[TAP_C3]


def check_image(images, channels: int = 3):
    if images.ndim != 4 or images.shape[-1] != channels or images.shape[1] != images.shape[2] or images.shape[1] % 16:
        raise ValueError(f"images: expected (N, S, S, {channels}) with S a multiple of 16, got {tuple(images.shape)}")


class GradualStyleEncoder(nn.Module):
    """pSp encoder (§2.2): images (N, S, S, input_nc) in [-1, 1] -> codes (N, n_styles, 512).

    `latent_avg` (512,) or (n_styles, 512), when given, is added (start_from_latent_avg).
    BatchNorm uses running statistics unless train=True (then apply with mutable=['batch_stats']).
    Sows the pyramid inputs c2 (N, S/8, S/8, 256) and c3 (N, S/16, S/16, 512) into 'intermediates'.
    `widths` (IR-SE stage widths) and `style_hidden` (width of the style blocks' convs, None =
    style_dim) other than the official (64, 128, 256, 512) and 512 give small models with the same
    structure (tests); `style_dim` is the w size.
    """

    n_styles: int = 14
    input_nc: int = 3
    num_layers: int = 50
    widths: Sequence[int] = IRSE_WIDTHS
    style_dim: int = 512
    style_hidden: Optional[int] = None

    @nn.compact
    def __call__(self, images, train: bool = False, latent_avg: Optional[jnp.ndarray] = None):
        check_image(images, self.input_nc)
        size = images.shape[1]
        c1, c2, c3 = backbone_features(images, train, self.num_layers, self.widths)
        self.sow("intermediates", "c2", c2)
        self.sow("intermediates", "c3", c3)
        p2 = upsample_add(c3, Conv2d(c3.shape[-1], 1, name="latlayer1")(c2))
        p1 = upsample_add(p2, Conv2d(c3.shape[-1], 1, name="latlayer2")(c1))
        latents = []
        for i in range(self.n_styles):
            feats = c3 if i < COARSE_END else (p2 if i < MIDDLE_END else p1)
            block = GradualStyleBlock(self.style_dim, style_spatial(i, size), self.style_hidden, name=f"styles_{i}")
            latents.append(block(feats))
        codes = jnp.stack(latents, axis=1)
        return codes if latent_avg is None else codes + latent_avg
