"""Regenerates the goldens' "recipe" weights with numpy and checks the per-key checksums.

The recipe (golden/encoders/README.md, "Weights: stored vs. recipe"): rng = default_rng(seed);
walk `sd_keys` in order; for each key whose kind is not keep/derived draw one
`rng.standard_normal(shape)` (float64, C order), map it by kind in float64, cast to float32.
"""
import jax
import numpy as np

KINDS = {
    "fanin": lambda u: u / np.sqrt(np.prod(u.shape[1:])),
    "unit": lambda u: u,
    "bias": lambda u: 0.1 * u,
    "norm_w": lambda u: 1.0 + 0.1 * u,
    "rmean": lambda u: 0.1 * u,
    "rvar": lambda u: 1.0 + 0.2 * np.abs(u),
    "prelu": lambda u: 0.25 + 0.05 * u,
    "logit_scale": lambda u: np.log(10.0) + 0.1 * u,
}


def _shape(text):
    return tuple(int(s) for s in str(text).split(",")) if str(text) else ()


def recipe_state_dict(golden, seed, derived=None):
    """{official key: array} in `sd_keys` order: recipe draws, int64 0 for `keep` counters and
    `derived[key]` (the port's own tables) for derived buffers."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, shape, kind in zip(golden["sd_keys"], golden["sd_shapes"], golden["sd_kinds"]):
        key, kind = str(key), str(kind)
        if kind == "keep":
            out[key] = np.zeros(_shape(shape), np.int64)
        elif kind == "derived":
            out[key] = np.asarray(derived[key])
        else:
            out[key] = KINDS[kind](rng.standard_normal(_shape(shape))).astype(np.float32)
    return out


def checksum_mismatches(state_dict, golden, rtol=1e-9):
    """Keys whose float64 sum / first four values differ from `sd_sum` / `sd_first4`."""
    bad = []
    for i, key in enumerate(golden["sd_keys"]):
        a = np.asarray(state_dict[str(key)], np.float64).ravel()
        first4 = np.zeros(4)
        first4[:min(4, a.size)] = a[:4]
        tol = rtol * (golden["sd_abssum"][i] + 1.0)
        same_first4 = np.allclose(first4, golden["sd_first4"][i], rtol=1e-7, atol=1e-7)
        if abs(a.sum() - golden["sd_sum"][i]) > tol or not same_first4:
            bad.append(str(key))
    return bad


def stored_state_dict(golden):
    """The `sd/<key>` arrays of a stored-weight golden, in `sd_keys` order."""
    return {str(k): golden[f"sd/{k}"] for k in golden["sd_keys"]}


def random_variables(template, seed=0, scale=0.1):
    """A Flax variables tree shaped like `template` (e.g. jax.eval_shape of `init`), filled with
    numpy draws: running_var 1 + |0.2 u|, every other leaf scale * u. Cheaper than a jitted init."""
    rng = np.random.default_rng(seed)

    def draw(path, leaf):
        u = rng.standard_normal(leaf.shape)
        name = getattr(path[-1], "key", "")
        return (1.0 + 0.2 * np.abs(u) if name == "running_var" else scale * u).astype(np.float32)

    return jax.tree_util.tree_map_with_path(draw, template)
