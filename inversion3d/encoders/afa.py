"""GOAE AFA: adaptive feature alignment in F space (encoders.md §1.3).

An IR-SE residual CNN encodes (rec_img - img); its tokens are the keys/values of two
cross-attention blocks whose queries are the tokens of F (the synthesis feature after b32).
Their outputs are FiLM maps: F' = gamma * F + beta (no residual F term).
"""
import flax.linen as nn
import numpy as np

from inversion3d.encoders.attention import CrossAttention
from inversion3d.encoders.irse import input_layer, run_body, stage_units
from inversion3d.nn.layers import EqualConv2d, layer_norm, leaky_relu

AFA_WIDTHS = (64, 128, 256)  # the release's three IR-SE stages of 3 units (§1.3)


def afa_units(widths=AFA_WIDTHS):
    """The 9 IR-SE units of the residual CNN: 3 per stage at `widths` (stem widths[0])."""
    a, b, c = widths
    return stage_units(a, a, 3) + stage_units(a, b, 3) + stage_units(b, c, 3)


class AFA(nn.Module):
    """(img, rec_img (N, S, S, 3) in [-1, 1], F (N, h, w, 512)) -> (F', gamma, beta), each (N, h, w, 512).

    The residual CNN runs at S/8 after the body; its output has `feature_dim` channels; `widths` are its
    three stages' (the release's (64, 128, 256); narrower for small shipped encoders).
    BatchNorm uses running statistics unless train=True.
    """

    feature_dim: int = 512
    nhead: int = 4
    dim_feedforward: int = 1024
    widths: tuple = AFA_WIDTHS

    @nn.compact
    def __call__(self, img, rec_img, feature_map, train: bool = False):
        if img.ndim != 4 or img.shape != rec_img.shape or img.shape[-1] != 3 or img.shape[1] % 8:
            raise ValueError(f"img, rec_img: expected equal (N, S, S, 3) with S a multiple of 8, "
                             f"got {tuple(img.shape)} and {tuple(rec_img.shape)}")
        if feature_map.ndim != 4 or feature_map.shape[0] != img.shape[0] or feature_map.shape[-1] != self.feature_dim:
            raise ValueError(f"feature_map: expected (N, h, w, {self.feature_dim}), got {tuple(feature_map.shape)}")
        n, h, w, c = feature_map.shape
        x = input_layer(rec_img - img, train, channels=self.widths[0])
        x, _ = run_body(x, afa_units(tuple(self.widths)), train)
        x = EqualConv2d(c, 3, padding=1, name="output_layer_0")(x)
        x = leaky_relu(x, 0.2) * np.sqrt(2.0)  # ScaledLeakyReLU(0.2)
        x = EqualConv2d(c, 3, padding=1, name="output_layer_2")(x)
        self.sow("intermediates", "output_layer", x)
        kv = layer_norm(x.reshape(n, -1, c))
        q = layer_norm(feature_map.reshape(n, h * w, c))
        gamma = CrossAttention(self.nhead, self.dim_feedforward, name="cross_att_gamma")(q, kv).reshape(n, h, w, c)
        beta = CrossAttention(self.nhead, self.dim_feedforward, name="cross_att_beta")(q, kv).reshape(n, h, w, c)
        return gamma * feature_map + beta, gamma, beta
