"""Editability (In-N-Out Table 2; editing-and-eval.md §3-§4): how well an edit keeps the identity, as
the ArcFace ID similarity between the inverted and the edited result, per direction; plus the change of
an attribute score when a classifier (any images -> (N,) scores function) is given."""
import numpy as np


def id_preservation(arcface, variables, inverted, edited):
    """(N,) cosine similarity of the ArcFace embeddings of inverted and edited images (N, H, W, 3) in
    [-1, 1] (losses/identity.py crop and pooling)."""
    from inversion3d.losses.identity import id_similarity

    if np.shape(inverted) != np.shape(edited):
        raise ValueError(f"edited: shape {np.shape(edited)} differs from the inverted images' {np.shape(inverted)}")
    return np.asarray(id_similarity(arcface, variables, inverted, edited), np.float64)


def attribute_change(score_fn, inverted, edited):
    """(N,) score_fn(edited) - score_fn(inverted): how far the edit moved the attribute."""
    return np.asarray(score_fn(edited), np.float64) - np.asarray(score_fn(inverted), np.float64)


def table(records):
    """records: dicts with method, edit, and metrics {'id': ..., 'attribute_change': ...} ->
    {method: {edit: {'n', 'id', 'attribute_change'}, 'avg': {...}}} (means; None when absent)."""
    def mean(rows, key):
        vals = [r["metrics"].get(key) for r in rows if r["metrics"].get(key) is not None]
        return float(np.mean(vals)) if vals else None

    out = {}
    for method in dict.fromkeys(r["method"] for r in records):
        mine = [r for r in records if r["method"] == method]
        out[method] = {}
        for edit in list(dict.fromkeys(r["edit"] for r in mine)) + ["avg"]:
            rows = mine if edit == "avg" else [r for r in mine if r["edit"] == edit]
            out[method][edit] = {"n": len(rows), "id": mean(rows, "id"),
                                 "attribute_change": mean(rows, "attribute_change")}
    return out
