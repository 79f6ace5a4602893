"""torch-style multi-head attention and GOAE's CrossAttention block (encoders.md §1.2, §1.3).

Shared by the GOAE latent heads (cross_att_coarse|mid|fine) and AFA (cross_att_gamma|beta).
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.nn.layers import Linear, layer_norm


class MultiheadAttention(nn.Module):
    """torch.nn.MultiheadAttention(batch_first=True) forward, eval mode (dropout off).

    Params mirror torch: `in_proj_weight` stored (E, 3E) with columns [q | k | v] (the transpose
    of torch's packed (3E, E) rows), `in_proj_bias` (3E,), `out_proj/{weight,bias}`.
    query (N, Lq, E), key/value (N, Lk, E) -> (N, Lq, E). Scores use 1/sqrt(E / num_heads).
    """

    num_heads: int

    @nn.compact
    def __call__(self, query, key, value):
        e = query.shape[-1]
        if e % self.num_heads:
            raise ValueError(f"query: embed dim {e} is not divisible by num_heads={self.num_heads}")
        d = e // self.num_heads
        bound = 1.0 / np.sqrt(e)
        w_in = self.param("in_proj_weight", lambda k, s: jax.random.uniform(k, s, jnp.float32, -bound, bound),
                          (e, 3 * e))
        b_in = self.param("in_proj_bias", nn.initializers.zeros, (3 * e,))
        q = query @ w_in[:, :e] + b_in[:e]
        k = key @ w_in[:, e:2 * e] + b_in[e:2 * e]
        v = value @ w_in[:, 2 * e:] + b_in[2 * e:]
        split = lambda t: t.reshape(t.shape[:-1] + (self.num_heads, d))
        # torch scales q before the product (need_weights=True path).
        q = split(q) * (1.0 / np.sqrt(d))
        logits = jnp.einsum("nqhd,nkhd->nhqk", q, split(k))
        attn = jax.nn.softmax(logits, axis=-1)
        out = jnp.einsum("nhqk,nkhd->nqhd", attn, split(v)).reshape(query.shape[:-1] + (e,))
        return Linear(e, name="out_proj")(out)


class CrossAttention(nn.Module):
    """GOAE CrossAttention(d_model, nhead, dim_feedforward), eval mode (encoders.md §1.2).

    t = LayerNorm_noaffine(tgt + MHA(tgt, memory, memory)); out = t + linear2(relu(linear1(t))).
    tgt (N, Lq, d_model), memory (N, Lk, d_model) -> (N, Lq, d_model).
    """

    num_heads: int
    dim_feedforward: int

    @nn.compact
    def __call__(self, tgt, memory):
        if tgt.ndim != 3 or memory.ndim != 3 or tgt.shape[-1] != memory.shape[-1]:
            raise ValueError(f"tgt, memory: expected (N, Lq, E) and (N, Lk, E), got {tgt.shape} and {memory.shape}")
        t = layer_norm(tgt + MultiheadAttention(self.num_heads, name="multihead_attn")(tgt, memory, memory))
        ff = Linear(self.dim_feedforward, name="linear1")(t)
        return t + Linear(tgt.shape[-1], name="linear2")(jax.nn.relu(ff))
