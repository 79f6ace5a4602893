"""E3DGE-style local branch on a tri-plane generator (e3dge.md §2.2-§2.3, §3, §6 [ours]).

Three small networks in one module (`LocalBranch`), each a method:
- `features(residual, depth)`: the pixel-aligned feature map P (N, r, r, features) from the residual
  R = x - global render (3 ch) and the global render's depth (1 ch): two stems (E3DGE's residual and
  depth stems, §3: conv 3x3, a residual block with affine instance norm, conv 1x1), concatenated, then
  a one-level hourglass (a small stand-in for PIFu's stacked hourglass filter).
- `align(residual_ref, render_query)`: the 2D half of the hybrid alignment (§2.3): a small U-Net on
  concat(R_ref, the query view's global render) (6 ch) -> the residual re-aligned to the query view.
- `fuse(inputs)`: per sample point, [P_ref(x) vis_ref, vis_ref, P_query(x) vis_query, vis_query,
  PE(x)] -> an additive delta on the decoder's plane features (the 3D half + SFT-style fusion,
  §2.3, §6). Its output layer is zero-initialised (weights and bias), so at initialisation the
  delta is exactly 0 and every render equals the global-only render (E3DGE zero-inits its
  modulation block the same way, §3).
Norms are per-sample (instance norm as in §3's stems; no batch statistics), so any mesh mode works.
A conv feeding an instance norm has no bias: the norm subtracts each channel's mean, so such a bias has
exactly zero gradient, and Adam would turn its rounding noise into +-lr steps that differ between runs.
"""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


def _instance_norm(name):
    return nn.GroupNorm(num_groups=None, group_size=1, name=name)  # group size 1 = affine InstanceNorm


class Stem(nn.Module):
    """in -> conv 3x3 -> residual block (conv, IN, lrelu, conv, IN) -> conv 1x1 (e3dge.md §3's stems)."""

    features: int

    @nn.compact
    def __call__(self, x):
        x = nn.Conv(self.features, (3, 3), padding=1, name="conv_in")(x)
        conv = lambda name: nn.Conv(self.features, (3, 3), padding=1, use_bias=False, name=name)  # noqa: E731
        y = nn.leaky_relu(_instance_norm("norm_0")(conv("res_0")(x)), 0.2)
        y = _instance_norm("norm_1")(conv("res_1")(y))
        x = nn.leaky_relu(x + y, 0.2)
        return nn.Conv(self.features, (1, 1), name="conv_out")(x)


class ConvBlock(nn.Module):
    """conv 3x3 (stride) -> IN -> lrelu 0.2."""

    features: int
    stride: int = 1

    @nn.compact
    def __call__(self, x):
        x = nn.Conv(self.features, (3, 3), strides=self.stride, padding=1, use_bias=False, name="conv")(x)
        return nn.leaky_relu(_instance_norm("norm")(x), 0.2)


def _up2(x):
    n, h, w, c = x.shape
    return jax.image.resize(x, (n, 2 * h, 2 * w, c), "bilinear")


class Hourglass(nn.Module):
    """One-level hourglass: x -> [skip; down(2) -> block -> up(2)] -> sum -> 1x1 to `out` channels."""

    width: int
    out: int

    @nn.compact
    def __call__(self, x):
        skip = ConvBlock(self.width, name="skip")(x)
        down = ConvBlock(self.width, stride=2, name="down")(x)
        down = ConvBlock(self.width, name="low")(down)
        x = ConvBlock(self.width, name="merge")(skip + _up2(down))
        return nn.Conv(self.out, (1, 1), name="head")(x)


class Aligner(nn.Module):
    """concat(R_ref, query render) (N, r, r, 6) -> aligned residual (N, r, r, 3): stem, stride-2
    encoder of `widths`, bilinear decoder with skip concatenations (HFGI's ADA shape, e3dge.md §3)."""

    widths: Sequence[int] = (16, 32, 48)

    @nn.compact
    def __call__(self, x):
        x = ConvBlock(self.widths[0], name="stem")(x)
        skips = []
        for i, w in enumerate(self.widths[1:]):
            skips.append(x)
            x = ConvBlock(w, stride=2, name=f"enc_{i}")(x)
            x = ConvBlock(w, name=f"enc_{i}_1")(x)
        for i, skip in enumerate(reversed(skips)):
            x = ConvBlock(skip.shape[-1], name=f"dec_{i}")(jnp.concatenate([_up2(x), skip], axis=-1))
        return nn.Conv(3, (1, 1), name="out")(x)


class LocalBranch(nn.Module):
    """The local branch (module doc). features: P's channels; stem: each stem's width; hourglass:
    the hourglass width; hidden / layers: the fusion MLP; num_freqs: PE frequencies (§3: 7);
    plane_channels: the decoder's input channels (EG3D / PanoHead 32); align_widths: the aligner's.
    resolution / visibility_margin: the side r of R and P and the z-test margin (world units) the
    branch is used with (carried with the weights; the pipeline reads them, the layers do not)."""

    features: int = 256
    stem: int = 32
    hourglass: int = 256
    hidden: int = 256
    layers: int = 2
    num_freqs: int = 7
    plane_channels: int = 32
    align_widths: Sequence[int] = (16, 32, 48)
    resolution: int = 128
    visibility_margin: float = 0.02

    def setup(self):
        self.residual_stem = Stem(self.stem)
        self.depth_stem = Stem(self.stem)
        self.filter = Hourglass(self.hourglass, self.features)
        self.aligner = Aligner(tuple(self.align_widths))
        self.mlp = [nn.Dense(self.hidden, name=f"fuse_{i}") for i in range(self.layers)]
        self.delta = nn.Dense(self.plane_channels, kernel_init=nn.initializers.zeros,
                              bias_init=nn.initializers.zeros, name="delta")

    @property
    def fuse_inputs(self) -> int:
        """Width of fuse's input: two (features + visibility) views and PE(x)."""
        return 2 * (self.features + 1) + 3 * (2 * self.num_freqs + 1)

    def features_map(self, residual, depth):
        """residual (N, r, r, 3), depth (N, r, r, 1) (normalised) -> P (N, r, r, features)."""
        if residual.shape[:3] != depth.shape[:3] or residual.shape[-1] != 3 or depth.shape[-1] != 1:
            raise ValueError(f"residual / depth: expected (N, r, r, 3) / (N, r, r, 1), got {residual.shape} / "
                             f"{depth.shape}")
        x = jnp.concatenate([self.residual_stem(residual), self.depth_stem(depth)], axis=-1)
        return self.filter(x)

    def align(self, residual_ref, render_query):
        """(N, r, r, 3) x 2 -> the residual aligned to the query view (N, r, r, 3)."""
        return self.aligner(jnp.concatenate([residual_ref, render_query], axis=-1))

    def fuse(self, inputs):
        """(..., fuse_inputs) -> (..., plane_channels) feature delta (exactly 0 at initialisation)."""
        if inputs.shape[-1] != self.fuse_inputs:
            raise ValueError(f"inputs: expected {self.fuse_inputs} channels, got {inputs.shape[-1]}")
        x = inputs
        for layer in self.mlp:
            x = nn.leaky_relu(layer(x), 0.2)
        return self.delta(x)

    def __call__(self, residual, depth, render_query):
        """Runs every piece once (for init): -> (P, aligned residual, delta of zero inputs)."""
        p = self.features_map(residual, depth)
        aligned = self.align(residual, render_query)
        delta = self.fuse(jnp.zeros(residual.shape[:1] + (1, self.fuse_inputs), residual.dtype))
        return p, aligned, delta
