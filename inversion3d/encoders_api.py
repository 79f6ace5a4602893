"""`load_encoder(source, kind)` -> `Encoder`: the Flax encoder networks of one official file.

A source is a directory written by `inversion3d convert --kind goae|psp|e4e|triplanenet|arcface`
or the official `.pth` / `.pt` itself (converted in memory, nothing written). The handle holds the
networks' configs, modules and variables and, for pSp-style files, the stored latent average.
"""
import dataclasses
import os
from typing import Any, Dict, Mapping, Optional

import jax
import jax.numpy as jnp

from inversion3d.networks import template
from inversion3d.nn.variables import check_variables

KINDS = ("goae", "psp", "e4e", "triplanenet", "arcface", "e3dge")  # e3dge: `inversion3d export` of a training run


@dataclasses.dataclass(frozen=True)
class Encoder:
    """kind: the file's family; configs / modules / variables: per network name ('goae', 'afa', 'psp',
    'e4e', 'triplanenet', 'arcface', 'latent_discriminator'); latent_avg: (512,) or (n, 512) or None;
    role: the Dual Encoder role ('e1' visible / 'e2' occluded) given to `inversion3d convert --role`, or
    None (official files and directories converted without one)."""

    kind: str
    source: str
    configs: Mapping[str, Mapping[str, Any]]
    modules: Mapping[str, Any]
    variables: Mapping[str, Any]
    latent_avg: Optional[jnp.ndarray] = None
    role: Optional[str] = None

    @property
    def networks(self):
        return tuple(self.configs)


def _read(path, kind):
    """(kind, tree, meta) of a converted directory or an official file."""
    from converters.orbax_io import is_converted_dir, read_converted

    if os.path.isdir(path):
        if not is_converted_dir(path):
            raise ValueError(f"source: {path} is a directory without inversion3d.json (not a converted checkpoint)")
        meta, tree = read_converted(path)
        if not meta.get("networks"):
            raise ValueError(f"source: {path} holds a {meta.get('kind')} {meta.get('layout')} checkpoint, "
                             f"not a converted encoder")
        if kind is not None and kind != meta["kind"]:
            raise ValueError(f"kind: {path} holds a {meta['kind']!r} encoder, got kind={kind!r}")
        return meta["kind"], tree, meta
    if not os.path.exists(path):
        raise ValueError(f"source: no such file or directory: {path}")
    from converters.encoder_convert import convert_encoder
    from converters.load import check_finite, reading, split_arrays
    if kind == "e3dge":
        raise ValueError(f"source: {path}: e3dge encoders are read from directories `inversion3d export` "
                         "writes from a training run (no converter for official E3DGE files: they drive StyleSDF)")
    from converters.modules import guess_state_dict_kind
    from converters.torch_format import read_checkpoint_object

    obj = read_checkpoint_object(path)
    with reading(path):
        arrays, _ = split_arrays(obj)
        guessed = guess_state_dict_kind(arrays, obj)
    check_finite(path, arrays)  # a diverged / corrupt file is refused, not loaded to give NaN codes
    if kind is not None and guessed is not None and kind != guessed:
        raise ValueError(f"kind: {path} looks like a {guessed!r} checkpoint, got kind={kind!r}")
    kind = kind or guessed
    if kind is None:
        raise ValueError(f"kind: cannot tell which encoder {path} holds; pass kind ({'|'.join(KINDS)})")
    tree, meta = convert_encoder(kind, arrays, source=path)
    return kind, tree, meta


def load_encoder(source, kind: Optional[str] = None) -> Encoder:
    """Loads the encoder networks of `source` (converted directory or official .pth / .pt).

    kind: 'goae' | 'psp' | 'e4e' | 'triplanenet' | 'arcface'; None = the file's (detected from the
    names and, for pSp / e4e, the stored `opts`). A GOAE encoder and its AFA are separate files.
    Raises ValueError (one line) for unreadable files, unknown kinds and weights that do not fit.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS} or None, got {kind!r}")
    path = os.fspath(source)
    kind, tree, meta = _read(path, kind)
    return from_tree(kind, tree, meta["networks"], path, role=meta.get("role"))


def from_tree(kind: str, tree: Mapping[str, Any], configs: Mapping[str, Any], path: str,
              role: Optional[str] = None) -> Encoder:
    """An `Encoder` of arrays already in memory: tree {network: {'params'[, 'batch_stats']},
    ['latent_avg']} and configs {network: config} (the converted layout; also a training workdir's
    networks, methods/workdir.py), each checked against the template its config builds; role: the
    Dual Encoder role ('e1' / 'e2') or None."""
    configs = dict(configs)
    modules: Dict[str, Any] = {}
    variables: Dict[str, Any] = {}
    for name, cfg in configs.items():
        if name not in tree:
            raise ValueError(f"source: {path} has no arrays for its {name} network")
        modules[name], shapes = template(name, cfg)
        checked = check_variables(tree[name], shapes, source=f"{path} ({name})", target="its config")
        variables[name] = jax.tree.map(jnp.asarray, checked)
    avg = tree.get("latent_avg")
    return Encoder(kind, path, configs, modules, variables, None if avg is None else jnp.asarray(avg, jnp.float32),
                   role=role)
