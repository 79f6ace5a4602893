"""Discriminators on latent codes (encoders.md §5).

`LatentCodesDiscriminator` is e4e's (§5.1, golden-checked). `CanonicalLatentDiscriminator` is
GOAE's canonical latent discriminator (§5.2), which has no released code: the paper describes a
discriminator on w codes whose real samples are EG3D mapping outputs for the canonical (front)
camera. Its layer configuration is unknown, so it reuses the e4e MLP (the closest official
reference, as §5.2 advises) and scores every row of a w / w+ code.
"""
import flax.linen as nn

from inversion3d.nn.layers import Linear, leaky_relu


class LatentCodesDiscriminator(nn.Module):
    """e4e MLP (§5.1): w (N, style_dim) -> logits (N, 1).

    (n_mlp - 1) x [Linear(style_dim, style_dim) + LeakyReLU(0.2)] then Linear(style_dim, 1);
    Linear modules are named `mlp_{0,2,4,...}` (official `mlp.{0,2,4,6}`).
    """

    style_dim: int = 512
    n_mlp: int = 4

    @nn.compact
    def __call__(self, w):
        if w.ndim != 2 or w.shape[-1] != self.style_dim:
            raise ValueError(f"w: expected (N, {self.style_dim}), got {tuple(w.shape)}")
        for i in range(self.n_mlp - 1):
            w = leaky_relu(Linear(self.style_dim, name=f"mlp_{2 * i}")(w), 0.2)
        return Linear(1, name=f"mlp_{2 * (self.n_mlp - 1)}")(w)


class CanonicalLatentDiscriminator(nn.Module):
    """GOAE canonical latent discriminator (§5.2, paper description; layer sizes assumed from §5.1).

    ws (N, style_dim) or (N, num_ws, style_dim) -> logits (N, 1) or (N, num_ws, 1): every row is
    scored independently by one shared e4e-style MLP under the module name `mlp`. Real samples are
    mapping(z, c_front) (rows identical); fake samples are the encoder's rows (plus w_avg).
    """

    style_dim: int = 512
    n_mlp: int = 4

    @nn.compact
    def __call__(self, ws):
        if ws.ndim not in (2, 3) or ws.shape[-1] != self.style_dim:
            raise ValueError(f"ws: expected (N, {self.style_dim}) or (N, num_ws, {self.style_dim}), "
                             f"got {tuple(ws.shape)}")
        flat = ws.reshape(-1, self.style_dim)
        logits = LatentCodesDiscriminator(self.style_dim, self.n_mlp, name="mlp")(flat)
        return logits.reshape(ws.shape[:-1] + (1,))
