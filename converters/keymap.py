"""Official PyTorch state_dict names -> Flax variable tree, as one readable table.

A PyTorch key `a.b.net.0.weight` names the Flax leaf `('a', 'b', 'net_0', 'weight')` in the
collection and layout given by the first matching rule below. `fill_variables` checks that every
official key is consumed exactly once and every Flax leaf is filled, and reports every unknown,
missing and mis-shaped key together in one ValueError. (Trees already in the Flax layout are
checked by `inversion3d.nn.variables.check_variables`.)
"""
import re
from typing import Callable, Dict, Iterable, Mapping, NamedTuple, Optional, Tuple

import numpy as np
from flax import traverse_util

from inversion3d.ops.upfirdn2d import setup_filter


class Rule(NamedTuple):
    pattern: str  # regex on the official key (matched against the whole key)
    collection: Optional[str]  # Flax collection; None = constant, checked and dropped
    layout: str  # how the PyTorch array becomes the Flax array
    note: str


# Rules are tried in order; the first full match wins.
STYLEGAN_RULES: Tuple[Rule, ...] = (
    Rule(r".*\.resample_filter", None, "fir_1331", "fixed [1,3,3,1] FIR, a constant in the port"),
    Rule(r".*\.w_avg", "buffers", "same", "truncation centre (mapping)"),
    Rule(r".*\.noise_const", "buffers", "same", "fixed noise map (res, res)"),
    Rule(r".*\.const", "params", "chw_to_hwc", "b4 constant input (C,4,4) -> (4,4,C)"),
    Rule(r".*\.(weight)", "params", "by_rank", "FC (out,in)->(in,out); conv (O,I,kh,kw)->(kh,kw,I,O)"),
    Rule(r".*\.(bias|noise_strength)", "params", "same", "vectors and scalars"),
)

def _by_rank(a: np.ndarray) -> np.ndarray:
    if a.ndim == 2:
        return a.T  # FC (out, in) -> (in, out)
    if a.ndim == 4:
        return np.transpose(a, (2, 3, 1, 0))  # conv OIHW -> HWIO
    return a


LAYOUTS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "same": lambda a: a,
    "chw_to_hwc": lambda a: np.transpose(a, (1, 2, 0)),
    "by_rank": _by_rank,
}


def flax_path(key: str) -> Tuple[str, ...]:
    """'decoder.net.0.weight' -> ('decoder', 'net_0', 'weight'): numeric parts join their parent."""
    parts = []
    for part in key.split("."):
        if part.isdigit() and parts:
            parts[-1] = f"{parts[-1]}_{part}"
        else:
            parts.append(part)
    return tuple(parts)


def fill_variables(state_dict: Mapping[str, np.ndarray], template: Mapping, rules: Iterable[Rule] = STYLEGAN_RULES,
                   strip_prefix: str = "", source: str = "state_dict",
                   keep_template: Iterable[str] = ()) -> dict:
    """Converts `state_dict` into a Flax variables tree shaped like `template`.

    template: {'params': ..., 'buffers': ...} of arrays or ShapeDtypeStructs (e.g. from jax.eval_shape).
    keep_template: regexes of Flax leaves (joined with '/') that may be absent from the state_dict
      and then keep the template value (e.g. noise maps a file left out on purpose).
    Raises ValueError listing every unknown, duplicate, missing and mis-shaped key at once.
    """
    rules = tuple(rules)
    wanted = traverse_util.flatten_dict(template)
    filled: Dict[Tuple[str, ...], np.ndarray] = {}
    unknown, shape_errors, bad_constants = [], [], []
    fir = setup_filter((1, 3, 3, 1))
    for key, value in state_dict.items():
        name = key[len(strip_prefix):] if strip_prefix and key.startswith(strip_prefix) else key
        value = np.asarray(value)
        rule = next((r for r in rules if re.fullmatch(r.pattern, name)), None)
        if rule is None:
            unknown.append(key)
            continue
        if rule.collection is None:
            if value.shape != fir.shape or not np.allclose(value, fir, atol=1e-7):
                bad_constants.append(f"{key} (expected the normalised [1,3,3,1] filter)")
            continue
        path = (rule.collection,) + flax_path(name)
        if path not in wanted:
            unknown.append(key)
            continue
        array = LAYOUTS[rule.layout](value)
        expected = tuple(wanted[path].shape)
        if tuple(array.shape) != expected:
            shape_errors.append(f"{key}: expected {expected} (Flax layout), got {tuple(array.shape)} "
                                f"(PyTorch {tuple(value.shape)})")
            continue
        filled[path] = array.astype(np.float32)
    keep = [re.compile(p) for p in keep_template]
    missing = []
    for path, leaf in wanted.items():
        if path in filled:
            continue
        if any(p.fullmatch("/".join(path)) for p in keep):
            filled[path] = np.asarray(leaf)
        else:
            missing.append("/".join(path))
    problems = []
    if unknown:
        problems.append(f"unknown keys {unknown}")
    if missing:
        problems.append(f"missing Flax leaves {missing}")
    if shape_errors:
        problems.append(f"mis-shaped {shape_errors}")
    if bad_constants:
        problems.append(f"unexpected constants {bad_constants}")
    if problems:
        raise ValueError(f"{source}: cannot map to the Flax tree: " + "; ".join(problems))
    return traverse_util.unflatten_dict(filled)


# Inverse layouts (Flax -> PyTorch), one per entry of LAYOUTS.
INVERSE_LAYOUTS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "same": lambda a: a,
    "chw_to_hwc": lambda a: np.transpose(a, (2, 0, 1)),
    "by_rank": lambda a: a.T if a.ndim == 2 else (np.transpose(a, (3, 2, 0, 1)) if a.ndim == 4 else a),
}


def torch_key(path: Tuple[str, ...]) -> str:
    """('decoder', 'net_0', 'weight') -> 'decoder.net.0.weight' (inverse of `flax_path`)."""
    parts = []
    for part in path:
        m = re.fullmatch(r"(.*?)((?:_\d+)+)", part)
        parts.append(m.group(1) + m.group(2).replace("_", ".") if m and m.group(1) else part)
    return ".".join(parts)


def constant_keys(state_keys: Iterable[str]) -> Tuple[str, ...]:
    """The [1,3,3,1] `resample_filter` buffers the port drops, for the StyleGAN2 keys given:
    one per SynthesisLayer (conv0/conv1) and one per block holding such a layer (eg3d.md §10)."""
    out = []
    for key in state_keys:
        m = re.fullmatch(r"(.*)\.(conv[01])\.weight", key)
        if m:
            for name in (f"{m.group(1)}.resample_filter", f"{m.group(1)}.{m.group(2)}.resample_filter"):
                if name not in out:
                    out.append(name)
    return tuple(out)


def to_state_dict(variables: Mapping, rules: Iterable[Rule] = STYLEGAN_RULES,
                  constants: Iterable[str] = ()) -> Dict[str, np.ndarray]:
    """Inverse of `fill_variables`: a Flax variables tree -> PyTorch state_dict (official layouts).

    constants: official keys of the dropped constant buffers (see `constant_keys`) to emit as the
      normalised [1,3,3,1] filter, so the result has the official key set.
    """
    rules = tuple(rules)
    out: Dict[str, np.ndarray] = {}
    for path, leaf in traverse_util.flatten_dict(variables).items():
        collection, key = path[0], torch_key(path[1:])
        rule = next((r for r in rules if re.fullmatch(r.pattern, key)), None)
        if rule is None or rule.collection != collection:
            raise ValueError(f"variables: no key-map rule gives {'/'.join(path)} (as PyTorch key {key!r})")
        out[key] = np.array(INVERSE_LAYOUTS[rule.layout](np.asarray(leaf, np.float32)), order="C")  # keeps 0-d
    fir = setup_filter((1, 3, 3, 1)).astype(np.float32)
    for key in constants:
        out[key] = fir.copy()
    return out
