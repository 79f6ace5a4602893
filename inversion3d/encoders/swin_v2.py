"""Swin Transformer V2 backbone of GOAE (encoders.md §1.1), channel-last Flax linen.

Cosine window attention with a per-head logit scale, log-spaced continuous position bias (CPB
MLP), res-post-norm blocks, shifted windows with the window clamp rule, V2 patch merging
(reduce then norm). The fixed tables (CPB coordinates, relative position index, shifted-window
mask) are derived here in numpy from the config; the official checkpoints store them as buffers,
which the converter checks against these functions (converters/encoder_keymaps.py).

Tokens are (N, L, C) with L in row-major (h, w) order, as torch's flatten(2).transpose(1, 2).
"""
from typing import NamedTuple, Sequence, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.nn.layers import Conv2d, LayerNorm, Linear

CPB_HIDDEN = 512  # cpb_mlp = Linear(2, 512) -> ReLU -> Linear(512, heads, no bias)


# ----------------------------------------------------------------------------------------------
# Fixed tables (numpy, float32 like the official buffers).

def relative_coords_table(window: int, pretrained_window: int = 0) -> np.ndarray:
    """(2w-1, 2w-1, 2) float32 log-spaced CPB input: channel 0 = dy, channel 1 = dx (§1.1).

    Offsets in [-(w-1), w-1] are divided by (pretrained_window - 1) if pretrained_window > 0 else
    (w - 1), times 8, then t -> sign(t) * log2(|t| + 1) / log2(8).
    """
    r = np.arange(-(window - 1), window, dtype=np.float32)
    table = np.stack(np.meshgrid(r, r, indexing="ij"), axis=-1)
    denom = (pretrained_window - 1) if pretrained_window > 0 else (window - 1)
    table = table / np.float32(max(denom, 1)) * np.float32(8)
    table = np.sign(table) * np.log2(np.abs(table) + np.float32(1)) / np.float32(np.log2(8))
    return table.astype(np.float32)


def relative_position_index(window: int) -> np.ndarray:
    """(w^2, w^2) int64 index into the flattened (2w-1)^2 table: (dy + w-1) * (2w-1) + (dx + w-1)."""
    coords = np.stack(np.meshgrid(np.arange(window), np.arange(window), indexing="ij")).reshape(2, -1)
    rel = coords[:, :, None] - coords[:, None, :]
    return ((rel[0] + window - 1) * (2 * window - 1) + rel[1] + window - 1).astype(np.int64)


def window_partition(x, window: int):
    """(N, H, W, C) -> (N * nW, window^2, C): windows row-major, then pixels row-major."""
    n, h, w, c = x.shape
    x = x.reshape(n, h // window, window, w // window, window, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, window * window, c)


def window_reverse(windows, window: int, h: int, w: int):
    """Inverse of `window_partition`: (N * nW, window^2, C) -> (N, H, W, C)."""
    c = windows.shape[-1]
    x = windows.reshape(-1, h // window, w // window, window, window, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, h, w, c)


def shifted_window_mask(h: int, w: int, window: int, shift: int) -> np.ndarray:
    """(nW, window^2, window^2) float32: 0 within a region, -100 across the 9 shift regions (§1.1)."""
    labels = np.zeros((1, h, w, 1), np.float32)
    cuts = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    count = 0
    for hs in cuts:
        for ws in cuts:
            labels[:, hs, ws, :] = count
            count += 1
    lw = np.asarray(window_partition(labels, window))[..., 0]  # (nW, window^2)
    diff = lw[:, None, :] - lw[:, :, None]
    return np.where(diff != 0, np.float32(-100.0), np.float32(0.0)).astype(np.float32)


class SwinConfig(NamedTuple):
    """Constructor arguments of `SwinTransformerV2`; defaults are goae/configs/swinv2.yaml (§1.1)."""

    img_size: int = 256
    patch_size: int = 4
    in_chans: int = 3
    embed_dim: int = 128
    depths: Tuple[int, ...] = (2, 2, 18, 2)
    num_heads: Tuple[int, ...] = (4, 8, 16, 32)
    window_size: int = 16
    mlp_ratio: float = 4.0
    pretrained_window_sizes: Tuple[int, ...] = (12, 12, 12, 6)


class StageGeometry(NamedTuple):
    depth: int
    grid: int  # token grid side at the stage input
    dim: int
    heads: int
    window: int  # effective window after the clamp rule
    pretrained_window: int
    shifts: Tuple[int, ...]  # per block


def effective_window(grid: int, window: int, shift: int) -> Tuple[int, int]:
    """Clamp rule (§1.1): if grid <= window the window is the whole grid and there is no shift."""
    if grid <= window:
        return grid, 0
    return window, shift


def stage_geometry(cfg) -> Tuple[StageGeometry, ...]:
    """Per-stage geometry of a `SwinConfig` / `SwinTransformerV2` (the table in §1.1)."""
    out = []
    grid = cfg.img_size // cfg.patch_size
    for i, depth in enumerate(cfg.depths):
        shifts, window = [], cfg.window_size
        for b in range(depth):
            window, shift = effective_window(grid, cfg.window_size, 0 if b % 2 == 0 else cfg.window_size // 2)
            shifts.append(shift)
        if grid % window:
            raise ValueError(f"img_size: stage {i} grid {grid} is not a multiple of its window {window}")
        pre = cfg.pretrained_window_sizes[i] if cfg.pretrained_window_sizes else 0
        out.append(StageGeometry(depth, grid, cfg.embed_dim * 2 ** i, cfg.num_heads[i], window, pre, tuple(shifts)))
        grid //= 2
    return tuple(out)


# ----------------------------------------------------------------------------------------------
# Modules.

class WindowAttention(nn.Module):
    """Swin-V2 window attention (§1.1): x (B*nW, w^2, C), mask (nW, w^2, w^2) or None."""

    window: int
    num_heads: int
    pretrained_window: int = 0

    @nn.compact
    def __call__(self, x, mask=None):
        bw, n, c = x.shape
        h, d = self.num_heads, c // self.num_heads
        logit_scale = self.param("logit_scale", nn.initializers.constant(np.log(10.0)), (h, 1, 1))
        q_bias = self.param("q_bias", nn.initializers.zeros, (c,))
        v_bias = self.param("v_bias", nn.initializers.zeros, (c,))

        coords = jnp.asarray(relative_coords_table(self.window, self.pretrained_window))
        table = Linear(CPB_HIDDEN, name="cpb_mlp_0")(coords)
        table = Linear(h, use_bias=False, name="cpb_mlp_2")(jax.nn.relu(table)).reshape(-1, h)
        bias = jnp.take(table, relative_position_index(self.window).reshape(-1), axis=0)
        bias = 16.0 * jax.nn.sigmoid(bias.reshape(n, n, h).transpose(2, 0, 1))  # (h, n, n)

        qkv = Linear(3 * c, use_bias=False, name="qkv")(x)
        qkv = qkv + jnp.concatenate([q_bias, jnp.zeros_like(v_bias), v_bias])
        qkv = qkv.reshape(bw, n, 3, h, d).transpose(2, 0, 3, 1, 4)  # (3, B*nW, h, n, d)
        q, k, v = qkv[0], qkv[1], qkv[2]
        normalize = lambda t: t / jnp.maximum(jnp.linalg.norm(t, axis=-1, keepdims=True), 1e-12)
        attn = normalize(q) @ jnp.swapaxes(normalize(k), -1, -2)
        attn = attn * jnp.exp(jnp.minimum(logit_scale, np.log(100.0))) + bias
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.reshape(bw // nw, nw, h, n, n) + mask[None, :, None]).reshape(bw, h, n, n)
        attn = jax.nn.softmax(attn, axis=-1)
        out = (attn @ v).transpose(0, 2, 1, 3).reshape(bw, n, c)
        return Linear(c, name="proj")(out)


class Mlp(nn.Module):
    """fc1 (C -> hidden) -> exact GELU -> fc2 (hidden -> C)."""

    hidden: int

    @nn.compact
    def __call__(self, x):
        y = jax.nn.gelu(Linear(self.hidden, name="fc1")(x), approximate=False)
        return Linear(x.shape[-1], name="fc2")(y)


class SwinBlock(nn.Module):
    """Res-post-norm Swin-V2 block on tokens (N, grid^2, C) (§1.1 steps 1-5)."""

    grid: int
    num_heads: int
    window: int
    shift: int
    pretrained_window: int
    mlp_ratio: float = 4.0

    @nn.compact
    def __call__(self, x):
        n, length, c = x.shape
        g = self.grid
        img = x.reshape(n, g, g, c)
        if self.shift:
            img = jnp.roll(img, (-self.shift, -self.shift), axis=(1, 2))
        mask = jnp.asarray(shifted_window_mask(g, g, self.window, self.shift)) if self.shift else None
        attn = WindowAttention(self.window, self.num_heads, self.pretrained_window, name="attn")(
            window_partition(img, self.window), mask)
        img = window_reverse(attn, self.window, g, g)
        if self.shift:
            img = jnp.roll(img, (self.shift, self.shift), axis=(1, 2))
        x = x + LayerNorm(name="norm1")(img.reshape(n, length, c))
        return x + LayerNorm(name="norm2")(Mlp(int(c * self.mlp_ratio), name="mlp")(x))


class PatchMerging(nn.Module):
    """V2 patch merging (§1.1): (N, g^2, C) -> (N, (g/2)^2, 2C), 2x2 gather, reduce, then norm."""

    grid: int

    @nn.compact
    def __call__(self, x):
        n, _, c = x.shape
        img = x.reshape(n, self.grid, self.grid, c)
        parts = [img[:, 0::2, 0::2], img[:, 1::2, 0::2], img[:, 0::2, 1::2], img[:, 1::2, 1::2]]
        x = jnp.concatenate(parts, axis=-1).reshape(n, -1, 4 * c)
        return LayerNorm(name="norm")(Linear(2 * c, use_bias=False, name="reduction")(x))


class PatchEmbed(nn.Module):
    """Conv(in -> embed, k = s = patch, bias) then LayerNorm: (N, H, W, in) -> (N, (H/p)(W/p), embed)."""

    patch_size: int
    embed_dim: int

    @nn.compact
    def __call__(self, x):
        y = Conv2d(self.embed_dim, self.patch_size, stride=self.patch_size, name="proj")(x)
        return LayerNorm(name="norm")(y.reshape(y.shape[0], -1, self.embed_dim))


class BasicLayer(nn.Module):
    """One stage: `depth` blocks (alternating shift) then optional PatchMerging."""

    geometry: StageGeometry
    mlp_ratio: float
    downsample: bool

    @nn.compact
    def __call__(self, x):
        g = self.geometry
        for b, shift in enumerate(g.shifts):
            x = SwinBlock(g.grid, g.heads, g.window, shift, g.pretrained_window, self.mlp_ratio,
                          name=f"blocks_{b}")(x)
        if self.downsample:
            x = PatchMerging(g.grid, name="downsample")(x)
        return x


class SwinTransformerV2(nn.Module):
    """GOAE's Swin-V2 (§1.1). Defaults are goae/configs/swinv2.yaml.

    __call__(images (N, img_size, img_size, in_chans), values in [-1, 1]) returns the feature taps
    of §1.1 as a dict: x_fine (N, L0, C), x_mid (N, L0/4, 2C), x_coarse (N, L0/16, 4C),
    x_query (N, 8C, L0/64) and x_base (N, 8C, L0/64) (the last two transposed to (N, C, L)),
    with L0 = (img_size / patch_size)^2 and C = embed_dim (for 4 stages).
    """

    img_size: int = 256
    patch_size: int = 4
    in_chans: int = 3
    embed_dim: int = 128
    depths: Sequence[int] = (2, 2, 18, 2)
    num_heads: Sequence[int] = (4, 8, 16, 32)
    window_size: int = 16
    mlp_ratio: float = 4.0
    pretrained_window_sizes: Sequence[int] = (12, 12, 12, 6)

    @nn.compact
    def __call__(self, images):
        want = (self.img_size, self.img_size, self.in_chans)
        if images.ndim != 4 or tuple(images.shape[1:]) != want:
            raise ValueError(f"images: expected (N, {want[0]}, {want[1]}, {want[2]}), got {tuple(images.shape)}")
        geometry = stage_geometry(self)
        if len(geometry) != 4:
            raise ValueError(f"depths: expected 4 stages (the GOAE taps), got {tuple(self.depths)}")
        x = PatchEmbed(self.patch_size, self.embed_dim, name="patch_embed")(images)
        stage_inputs = []
        for i, g in enumerate(geometry):
            stage_inputs.append(x)
            x = BasicLayer(g, self.mlp_ratio, i < len(geometry) - 1, name=f"layers_{i}")(x)
        x = LayerNorm(name="norm")(x)
        return {
            "x_fine": stage_inputs[0],
            "x_mid": stage_inputs[1],
            "x_coarse": stage_inputs[2],
            "x_query": jnp.swapaxes(stage_inputs[3], 1, 2),
            "x_base": jnp.swapaxes(x, 1, 2),
        }
