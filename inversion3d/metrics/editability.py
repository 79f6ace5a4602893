"""Editability (In-N-Out Table 2; editing-and-eval.md §3-§4): how well an edit keeps the identity, as
the ArcFace ID similarity between the inverted and the edited result, per direction; plus the change of
an attribute score when a classifier (any images -> (N,) scores function) is given.

Without ArcFace weights the identity column can be a stand-in, named for what it is: the cosine
similarity of a fixed random CNN's feature maps (metrics/random_features.py, never trained) of the
two images, "feature sim (random CNN)". It measures how much of the image's colour and layout the
edit keeps, not identity, and is comparable only between runs at the same resolution and seed.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

FEATURE_SIM = "feature sim (random CNN)"


def id_preservation(arcface, variables, inverted, edited):
    """(N,) cosine similarity of the ArcFace embeddings of inverted and edited images (N, H, W, 3) in
    [-1, 1] (losses/identity.py crop and pooling)."""
    from inversion3d.losses.identity import id_similarity

    if np.shape(inverted) != np.shape(edited):
        raise ValueError(f"edited: shape {np.shape(edited)} differs from the inverted images' {np.shape(inverted)}")
    return np.asarray(id_similarity(arcface, variables, inverted, edited), np.float64)


@functools.lru_cache(maxsize=4)
def _random_cnn(seed, size):
    from inversion3d.metrics.random_features import RandomFeatures

    module = RandomFeatures()
    variables = module.init(jax.random.PRNGKey(seed), jnp.zeros((1, size, size, 3)))

    @jax.jit
    def maps(images):  # the last conv's activations, flattened: layout-sensitive, unlike the pooled stats
        _, state = module.apply(variables, images, capture_intermediates=True)
        last = state["intermediates"][f"conv{len(module.widths) - 1}"]["__call__"][0]
        return jnp.reshape(jnp.where(last >= 0, last, 0.2 * last), (images.shape[0], -1))

    return maps


def feature_similarity(inverted, edited, seed=0):
    """(N,) cosine similarity of a fixed random CNN's flattened last feature maps of inverted and
    edited images (N, H, W, 3) in [-1, 1] (the FEATURE_SIM stand-in; module docstring)."""
    inverted, edited = np.asarray(inverted, np.float32), np.asarray(edited, np.float32)
    if inverted.shape != edited.shape or inverted.ndim != 4 or inverted.shape[1] != inverted.shape[2]:
        raise ValueError(f"images: expected two equal (N, S, S, 3) batches, got {inverted.shape} and {edited.shape}")
    maps = _random_cnn(int(seed), inverted.shape[1])
    a, b = np.asarray(maps(inverted), np.float64), np.asarray(maps(edited), np.float64)
    return np.sum(a * b, axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def attribute_change(score_fn, inverted, edited, strength=None):
    """(N,) score_fn(edited) - score_fn(inverted): how far the edit moved the attribute; divided by
    the edit strength when one is given (N,) (then: the change per unit strength, positive when the
    edit moves the attribute the way its direction points, whatever the sign of the strength)."""
    change = np.asarray(score_fn(edited), np.float64) - np.asarray(score_fn(inverted), np.float64)
    return change if strength is None else change / np.asarray(strength, np.float64)


METRICS = ("id", "feature_sim", "attribute_change")


def table(records):
    """records: dicts with method, edit, and metrics {'id', 'feature_sim', 'attribute_change'} (any
    may be absent or None) -> {method: {edit: {'n', 'id', 'feature_sim', 'attribute_change'}, 'avg':
    {...}}} (means; None when absent)."""
    def mean(rows, key):
        vals = [r["metrics"].get(key) for r in rows if r["metrics"].get(key) is not None]
        return float(np.mean(vals)) if vals else None

    out = {}
    for method in dict.fromkeys(r["method"] for r in records):
        mine = [r for r in records if r["method"] == method]
        out[method] = {}
        for edit in list(dict.fromkeys(r["edit"] for r in mine)) + ["avg"]:
            rows = mine if edit == "avg" else [r for r in mine if r["edit"] == edit]
            out[method][edit] = {"n": len(rows), **{k: mean(rows, k) for k in METRICS}}
    return out
