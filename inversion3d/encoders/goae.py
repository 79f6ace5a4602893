"""GOAE encoder `GOAEncoder`: Swin-V2 taps -> base code + cross-attention deltas (encoders.md §1.2).

Module names mirror the official ones (`swin_model`, `mapper_base_spatial_{0,2}`,
`cross_att_coarse`, ...). "MLP(a -> b)" = Linear(a, a) -> LeakyReLU(0.01) -> Linear(a, b).
"""
from typing import Optional, Sequence

import flax.linen as nn
import jax.numpy as jnp

from inversion3d.encoders.attention import CrossAttention
from inversion3d.nn.layers import Linear, leaky_relu
from inversion3d.encoders.swin_v2 import SwinConfig, SwinTransformerV2

SLOPE = 0.01  # every LeakyReLU of the heads (torch default)
ROWS = {"coarse": 3, "mid": 3, "fine": 7}  # rows 1-3, 4-6, 7-13 of the 14 (§1.2)


def head_rows(num_ws: int) -> dict:
    """Rows per head: ROWS for the released 14; for a smaller generator (test-size tri-planes, e.g.
    10 ws at 64^2) the fine head takes what is left after base + coarse + mid (at least one row)."""
    if num_ws < 8:
        raise ValueError(f"num_ws: GOAEncoder needs >= 8 rows (base + 3 coarse + 3 mid + fine), got {num_ws}")
    return dict(ROWS, fine=num_ws - 1 - ROWS["coarse"] - ROWS["mid"])


def mlp(x, out: int, name: str):
    """MLP(a -> out) on the last axis, Linear modules named `{name}_0`, `{name}_2`."""
    h = leaky_relu(Linear(x.shape[-1], name=f"{name}_0")(x), SLOPE)
    return Linear(out, name=f"{name}_2")(h)


def lift(x, widths: Sequence[int], name: str):
    """[Linear -> LeakyReLU] per width on the last axis, modules `{name}_{0,2,...}`."""
    for i, w in enumerate(widths):
        x = leaky_relu(Linear(w, name=f"{name}_{2 * i}")(x), SLOPE)
    return x


def pooled_code(tokens, spatial_rows: int, spatial: str, channel: str, w_dim: int):
    """max over tokens + spatial MLP(L -> rows) along the token axis, then channel MLP(C -> w_dim).

    tokens (N, C, L) -> (N, rows, w_dim)."""
    pooled = jnp.max(tokens, axis=-1)[:, None, :]  # (N, 1, C)
    spatial_code = jnp.swapaxes(mlp(tokens, spatial_rows, spatial), 1, 2)  # (N, rows, C)
    return mlp(pooled + spatial_code, w_dim, channel)


class GOAEncoder(nn.Module):
    """images (N, 256, 256, 3) in [-1, 1] -> (ws (N, 14, 512), ws_base (N, 14, 512)) (§1.2).

    ws = ws_base + [0 | coarse (3) | mid (3) | fine (7)] deltas (fine: num_ws - 7 rows, `head_rows`). `latent_avg` (the generator's
    mapping w_avg, (512,)) is added to ws when given (the `Net` wrapper's start_from_latent_avg);
    ws_base is returned without it. `stage` is the progressive switch (0: base only, 1: + coarse,
    2: + mid, 3: all); the inference stage is 3. The call argument `stage` (an int or a traced
    scalar, so one compiled function serves every stage) overrides the attribute.
    """

    swin: SwinConfig = SwinConfig()
    w_dim: int = 512
    num_ws: int = 14
    nhead: int = 4
    dim_feedforward: int = 1024
    stage: int = 3

    @nn.compact
    def __call__(self, images, latent_avg: Optional[jnp.ndarray] = None, stage=None):
        stage = self.stage if stage is None else stage
        feats = SwinTransformerV2(**self.swin._asdict(), name="swin_model")(images)
        n, w = images.shape[0], self.w_dim
        ws_base = pooled_code(feats["x_base"], 1, "mapper_base_spatial", "mapper_base_channel", w)
        ws_base = jnp.broadcast_to(ws_base, (n, self.num_ws, w))

        kv = {"coarse": lift(feats["x_coarse"], (w,), "mapper_coarse_channel")}
        to_mid = lift(jnp.swapaxes(kv["coarse"], 1, 2), (feats["x_mid"].shape[1] // 2, feats["x_mid"].shape[1]),
                      "mapper_coarse_to_mid_spatial")
        kv["mid"] = lift(feats["x_mid"], (w,), "mapper_mid_channel") + jnp.swapaxes(to_mid, 1, 2)
        to_fine = lift(jnp.swapaxes(kv["mid"], 1, 2), (feats["x_fine"].shape[1] // 2, feats["x_fine"].shape[1]),
                       "mapper_mid_to_fine_spatial")
        fine_widths = (feats["x_fine"].shape[-1] * 2, w)
        kv["fine"] = lift(feats["x_fine"], fine_widths, "mapper_fine_channel") + jnp.swapaxes(to_fine, 1, 2)

        deltas = [jnp.zeros((n, 1, w), ws_base.dtype)]
        for level, (scale, rows) in enumerate(head_rows(self.num_ws).items(), start=1):
            query = pooled_code(feats["x_query"], rows, f"mapper_query_spatial_{scale}",
                                f"mapper_query_channel_{scale}", w)
            delta = CrossAttention(self.nhead, self.dim_feedforward, name=f"cross_att_{scale}")(query, kv[scale])
            deltas.append(jnp.where(level <= stage, delta, 0.0))
        ws = ws_base + jnp.concatenate(deltas, axis=1)
        if latent_avg is not None:
            ws = ws + latent_avg
        return ws, ws_base
