"""Method names -> their folders: `make_inverter(method, generator, encoders)` (inference) and
`trainer(name)` (the `Method` class the training loop runs).

`make_inverter` gives an `Inverter`: one jit-compiled pure function of (params, image, camera) per
method, its params and the image size it expects. Each method's `pipeline.py` declares its encoder
files (FILE_KINDS, ROLES) and builds its function (`build`):

| method | encoders (load_encoder results) | input image size |
|---|---|---|
| goae | (GOAE encoder file, AFA file) | the generator's output size (AFA's input) |
| goae-noafa | (GOAE encoder file,): stage 1 alone, W tri-planes | the encoder's input size |
| psp, e4e | (pSp / e4e file,) | the encoder's input size |
| triplanenet | (TriPlaneNet v2 file,) | the generator's output size |
| dual | (E1 file, E2 file), both TriPlaneNet-style | the generator's output size |
| e3dge | (e3dge file: pSp + local branch, `inversion3d export` of a training run) | the generator's output size |

A pipeline whose novel views need more than the planes (E3DGE re-aligns its local features per
view) also has `build_views`; its Inverter then carries `views(image, c, cams)`.
"""
import dataclasses
import importlib
from typing import Any, Callable, Mapping, Optional, Sequence

import jax
import jax.numpy as jnp

from inversion3d.inversion import visibility
from inversion3d.methods.dual import pipeline as dual
from inversion3d.methods.e3dge import pipeline as e3dge
from inversion3d.methods.goae import pipeline as goae
from inversion3d.methods.psp import pipeline as psp
from inversion3d.methods.triplanenet import pipeline as triplanenet

PIPELINES = {"goae": goae, "goae-noafa": goae, "psp": psp, "e4e": psp, "triplanenet": triplanenet, "dual": dual,
             "e3dge": e3dge}
METHODS = tuple(PIPELINES)
FILE_KINDS = {m: p.FILE_KINDS[m] for m, p in PIPELINES.items()}
ROLES = {m: p.ROLES for m, p in PIPELINES.items()}
# Imported on demand: a train module pulls in the training stack, which inference does not need.
TRAINERS = {"toy_psp": "inversion3d.methods.toy_psp.train", "psp": "inversion3d.methods.psp.train",
            "e4e": "inversion3d.methods.psp.train",  # e4e = pSp plus extras (psp/train.py)
            "triplanenet": "inversion3d.methods.triplanenet.train", "dual": "inversion3d.methods.dual.train",
            "goae_stage1": "inversion3d.methods.goae.train_stage1", "goae_stage2": "inversion3d.methods.goae.train_stage2",
            "e3dge": "inversion3d.methods.e3dge.train",
            "eg3d_gan": "inversion3d.methods.eg3d_gan.train",  # GAN training of the generator itself
            "panohead_gan": "inversion3d.methods.eg3d_gan.train"}


@dataclasses.dataclass(frozen=True)
class Inverter:
    """fn(params, image (N, S, S, 3) in [-1, 1], c (N, 25)) -> result dict (inversion/common.py)."""

    method: str
    fn: Callable
    params: Mapping[str, Any]
    input_size: int
    config: Any  # the generator's EG3DConfig
    views_fn: Optional[Callable] = None  # fn(params, image, c, cams (V, N, 25)) when the planes are not enough

    def __call__(self, image, c):
        return self.fn(self.params, jnp.asarray(image, jnp.float32), jnp.asarray(c, jnp.float32))

    def views(self, image, c, cams):
        """{'image': (V, N, S, S, 3), 'image_depth': (V, N, R, R, 1)} at cams (V, N, 25); only with views_fn."""
        return self.views_fn(self.params, jnp.asarray(image, jnp.float32), jnp.asarray(c, jnp.float32),
                             jnp.asarray(cams, jnp.float32))


def check_kinds(method: str, encoders: Sequence):
    """The encoder files fit the method (count and kinds, see the table above)."""
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    kinds = FILE_KINDS[method]
    if len(encoders) != len(kinds):
        roles = ", ".join(ROLES[method])
        raise ValueError(f"encoders: {method} needs {len(kinds)} encoder file(s) ({roles}), got {len(encoders)}")
    for enc, kind in zip(encoders, kinds):
        if enc.kind != kind:
            raise ValueError(f"--encoder: {enc.source} is a {enc.kind} checkpoint, {method} needs {kind}")


def make_inverter(method: str, generator, encoders: Sequence, sigma: float = visibility.DEFAULT_SIGMA) -> Inverter:
    """generator: an `inversion3d.Generator`; encoders: `Encoder`s in the order of the table above.
    sigma: blur of the GOAE / Dual visibility masks (GOAE draws it in [1, 2] per call)."""
    check_kinds(method, encoders)
    cfg = generator.config
    module = PIPELINES[method]
    fn, params, size = module.build(method, cfg, encoders, sigma)
    views = jax.jit(module.build_views(method, cfg, encoders)) if hasattr(module, "build_views") else None
    return Inverter(method, jax.jit(fn), {"generator": generator.params, **params}, size, cfg, views)


def trainer(name: str):
    """The `Method` class of training method `name` (methods/<name>/train.py), for training.loop."""
    if name not in TRAINERS:
        raise ValueError(f"method: expected one of {sorted(TRAINERS)}, got {name!r}")
    return importlib.import_module(TRAINERS[name]).Method
