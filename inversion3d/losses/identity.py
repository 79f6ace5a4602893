"""Identity similarity / loss with ArcFace IR-SE-50 (training.md §1.3; editing-and-eval.md §4).

The 256x256 image in [-1, 1] (other sizes are resized first) is cropped to rows 35:223 and columns
32:220 (188 x 188) and average-pooled to 112 x 112 exactly like torch's AdaptiveAvgPool2d; the
embeddings are L2-normalised by the network, so similarity is their dot product.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.metrics.image import at_metric_resolution

CROP_ROWS = (35, 223)
CROP_COLS = (32, 220)
ARCFACE_SIZE = 112


@functools.lru_cache(maxsize=None)
def adaptive_pool_matrix(n_in, n_out):
    """(n_out, n_in) averaging weights of torch's adaptive average pooling along one axis:
    output i averages inputs floor(i * n_in / n_out) .. ceil((i + 1) * n_in / n_out) - 1."""
    m = np.zeros((n_out, n_in), np.float32)
    for i in range(n_out):
        lo, hi = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def adaptive_avg_pool(x, size):
    """(N, H, W, C) -> (N, size, size, C) like torch.nn.AdaptiveAvgPool2d(size)."""
    rows = jnp.asarray(adaptive_pool_matrix(x.shape[1], size))
    cols = jnp.asarray(adaptive_pool_matrix(x.shape[2], size))
    return jnp.einsum("ih,nhwc,jw->nijc", rows, x, cols)


def face_crop(images):
    """(N, H, W, 3) in [-1, 1] -> the (N, 112, 112, 3) ArcFace input (crop of the 256² image, pooled)."""
    x = at_metric_resolution(images)
    x = x[:, CROP_ROWS[0]:CROP_ROWS[1], CROP_COLS[0]:CROP_COLS[1]]
    return adaptive_avg_pool(x, ARCFACE_SIZE)


def embed(arcface, variables, images):
    """Unit ArcFace embeddings (N, 512) of face images (N, H, W, 3) in [-1, 1]."""
    return arcface.apply(variables, face_crop(images))


def id_similarity(arcface, variables, x, y):
    """Per-image cosine similarity (N,) of the ArcFace embeddings of x and y (the table metric)."""
    return jnp.sum(embed(arcface, variables, x) * embed(arcface, variables, y), axis=-1)


def id_loss(arcface, variables, y_hat, y):
    """mean(1 - <f(y_hat), f(y)>) with the target embedding held fixed (training.md §1.3)."""
    target = jax.lax.stop_gradient(embed(arcface, variables, y))
    return jnp.mean(1.0 - jnp.sum(embed(arcface, variables, y_hat) * target, axis=-1))
