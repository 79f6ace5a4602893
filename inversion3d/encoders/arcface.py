"""ArcFace IR-SE-50 `Backbone` of the ID loss (`model_ir_se50.pth`; training.md §1.3, encoders.md §2.1).

Stem and body are the shared IR-SE units (irse.py); the output layer is
BN2d(512) -> Dropout -> flatten (torch's C, H, W order) -> Linear(512 * s * s, 512) -> BN1d(512),
then L2 normalisation. Names mirror the official `output_layer.{0,3,4}`.
"""
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from inversion3d.encoders.irse import IRSE_WIDTHS, input_layer, irse_units, run_body
from inversion3d.nn.layers import BatchNorm, Linear


class ArcFace(nn.Module):
    """images (N, S, S, 3) in [-1, 1], S = input_size (112 or 224) -> unit embeddings (N, embedding).

    Dropout is inactive (inference); BatchNorm uses running statistics unless train=True.
    """

    input_size: int = 112
    num_layers: int = 50
    widths: Sequence[int] = IRSE_WIDTHS
    embedding: int = 512

    @nn.compact
    def __call__(self, images, train: bool = False):
        s = self.input_size
        if images.ndim != 4 or tuple(images.shape[1:]) != (s, s, 3):
            raise ValueError(f"images: expected (N, {s}, {s}, 3), got {tuple(images.shape)}")
        x = input_layer(images, train, channels=self.widths[0])
        x, _ = run_body(x, irse_units(self.num_layers, self.widths), train)
        x = BatchNorm(name="output_layer_0")(x, not train)
        x = jnp.transpose(x, (0, 3, 1, 2)).reshape(x.shape[0], -1)  # torch flattens (C, H, W)
        x = BatchNorm(name="output_layer_4")(Linear(self.embedding, name="output_layer_3")(x), not train)
        return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
