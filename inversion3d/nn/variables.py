"""Checks of a Flax variables tree read from disk against the tree a module's `init` would make.

One check for every loader (converted generators, converted encoders, PTI-tuned generators), so
a file that does not fit its network fails the same way everywhere: one ValueError naming every
unknown, missing and mis-shaped leaf at once.
"""
from typing import Mapping

import numpy as np
from flax import traverse_util


def check_variables(variables: Mapping, template: Mapping, source: str = "variables",
                    target: str = "the generator") -> dict:
    """`variables` checked against `template` (same leaf paths, same shapes), as float32 numpy.

    variables: nested dict of arrays (e.g. restored with Orbax or read from an .npz).
    template: nested dict of arrays or ShapeDtypeStructs (e.g. jax.eval_shape of `module.init`).
    source / target: the file and the network named in the error ("{source}: does not fit {target}").
    Returns a nested dict with the paths of `variables`, every leaf a float32 numpy array.
    Raises ValueError (one line) listing every unknown, missing and mis-shaped leaf at once.
    """
    got, wanted = traverse_util.flatten_dict(variables), traverse_util.flatten_dict(template)
    unknown = sorted("/".join(p) for p in got if p not in wanted)
    missing = sorted("/".join(p) for p in wanted if p not in got)
    shapes = [f"{'/'.join(p)}: expected {tuple(wanted[p].shape)}, got {tuple(np.shape(v))}"
              for p, v in got.items() if p in wanted and tuple(np.shape(v)) != tuple(wanted[p].shape)]
    problems = [f"{label} {items}" for label, items in
                (("unknown leaves", unknown), ("missing leaves", missing), ("mis-shaped", shapes)) if items]
    if problems:
        raise ValueError(f"{source}: does not fit {target}: " + "; ".join(problems))
    return traverse_util.unflatten_dict({p: np.asarray(v, np.float32) for p, v in got.items()})
