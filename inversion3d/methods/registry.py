"""`make_inverter(method, generator, encoders)` -> an `Inverter`: one jit-compiled pure function of
(params, image, camera) per method, its params and the image size it expects.

| method | encoders (load_encoder results) | input image size |
|---|---|---|
| goae | (GOAE encoder file, AFA file) | the generator's output size (AFA's input) |
| psp, e4e | (pSp / e4e file,) | the encoder's input size |
| triplanenet | (TriPlaneNet v2 file,) | the generator's output size |
| dual | (E1 file, E2 file), both TriPlaneNet-style | the generator's output size |
"""
import dataclasses
import functools
from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp

from inversion3d.inversion import common, dual, goae, psp, triplanenet, visibility

METHODS = ("goae", "psp", "e4e", "triplanenet", "dual")
FILE_KINDS = {"goae": ("goae", "goae"), "psp": ("psp",), "e4e": ("e4e",), "triplanenet": ("triplanenet",),
              "dual": ("triplanenet", "triplanenet")}
ROLES = {"goae": ("encoder", "AFA"), "dual": ("E1 (occluded)", "E2 (visible)")}


@dataclasses.dataclass(frozen=True)
class Inverter:
    """fn(params, image (N, S, S, 3) in [-1, 1], c (N, 25)) -> result dict (inversion/common.py)."""

    method: str
    fn: Callable
    params: Mapping[str, Any]
    input_size: int
    config: Any  # the generator's EG3DConfig

    def __call__(self, image, c):
        return self.fn(self.params, jnp.asarray(image, jnp.float32), jnp.asarray(c, jnp.float32))


def _network(enc, name, method, role):
    if name not in enc.modules:
        raise ValueError(f"--encoder: {enc.source} holds {'+'.join(enc.networks)}, but {method} needs its "
                         f"{role} file with a {name} network")
    return enc.modules[name], enc.variables[name]


def _check_ws(cfg, n_styles, w_dim, where):
    if (n_styles, w_dim) != (cfg.num_ws, cfg.w_dim):
        raise ValueError(f"{where}: the encoder gives {n_styles} x {w_dim} codes, the generator needs "
                         f"{cfg.num_ws} x {cfg.w_dim}")


def _psp_part(cfg, enc, method, role="encoder"):
    """(module, input size, variables, latent_avg or None) of a pSp / e4e network."""
    name = "e4e" if method == "e4e" else "psp"
    module, variables = _network(enc, name, method, role)
    n = module.n_styles if name == "psp" else module.style_count
    _check_ws(cfg, n, module.style_dim, enc.source)
    avg = enc.latent_avg
    if avg is not None and avg.shape not in ((cfg.w_dim,), (cfg.num_ws, cfg.w_dim)):
        raise ValueError(f"{enc.source}: latent_avg has shape {tuple(avg.shape)}, expected ({cfg.w_dim},) or "
                         f"({cfg.num_ws}, {cfg.w_dim})")
    return module, enc.configs[name]["image_size"], variables, avg


def _triplanenet_part(cfg, enc, role):
    module, size, variables, avg = _psp_part(cfg, enc, "triplanenet", role)
    tri, tri_vars = _network(enc, "triplanenet", "triplanenet", role)
    want = cfg.plane_channels * cfg.triplane_depth
    if enc.configs["triplanenet"]["plane_channels"] != want:
        raise ValueError(f"{enc.source}: the tri-plane encoder refines {enc.configs['triplanenet']['plane_channels']} "
                         f"channels per plane, the generator has {want}")
    return (module, size, tri), {"psp": variables, "triplanenet": tri_vars, "latent_avg": avg}


def check_kinds(method: str, encoders: Sequence):
    """The encoder files fit the method (count and kinds, see the table above)."""
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    kinds = FILE_KINDS[method]
    if len(encoders) != len(kinds):
        roles = ", ".join(ROLES.get(method, ("encoder",)))
        raise ValueError(f"encoders: {method} needs {len(kinds)} encoder file(s) ({roles}), got {len(encoders)}")
    for enc, kind in zip(encoders, kinds):
        if enc.kind != kind:
            raise ValueError(f"--encoder: {enc.source} is a {enc.kind} checkpoint, {method} needs {kind}")


def make_inverter(method: str, generator, encoders: Sequence, sigma: float = visibility.DEFAULT_SIGMA) -> Inverter:
    """generator: an `inversion3d.Generator`; encoders: `Encoder`s in the order of the table above.
    sigma: blur of the GOAE / Dual visibility masks (GOAE draws it in [1, 2] per call)."""
    check_kinds(method, encoders)
    cfg = generator.config
    params = {"generator": generator.params}
    size = cfg.img_resolution
    if method == "goae":
        enc, afa_enc = encoders
        encoder, params["goae"] = _network(enc, "goae", method, "encoder")
        afa, params["afa"] = _network(afa_enc, "afa", method, "AFA")
        _check_ws(cfg, encoder.num_ws, encoder.w_dim, enc.source)
        channels = min(cfg.channel_base // goae.SPLIT, cfg.channel_max)  # F = the backbone's b32 feature
        if cfg.triplane_resolution <= goae.SPLIT or afa.feature_dim != channels:
            raise ValueError(f"--afa: {afa_enc.source} refines {afa.feature_dim}-channel features at 32x32, the "
                             f"generator's b32 block has {channels} channels (tri-planes {cfg.triplane_resolution})")
        fn = functools.partial(goae.invert, cfg, encoder, afa, sigma=sigma)
    elif method in ("psp", "e4e"):
        module, size, params["encoder"], params["latent_avg"] = _psp_part(cfg, encoders[0], method)
        fn = functools.partial(psp.invert, cfg, module, size)
    elif method == "triplanenet":
        modules, parts = _triplanenet_part(cfg, encoders[0], "encoder")
        params.update(parts)
        fn = functools.partial(triplanenet.invert, cfg, *modules)
    else:
        (m1, p1), (m2, p2) = (_triplanenet_part(cfg, e, r) for e, r in zip(encoders, ROLES["dual"]))
        params.update(e1=p1, e2=p2)
        fn = functools.partial(dual.invert, cfg, m1, m2, sigma=sigma)
    return Inverter(method, jax.jit(fn), params, size, cfg)


@functools.lru_cache(maxsize=None)
def view_renderer(cfg):
    """jit of common.render_views for one generator config: (gen_params, planes, ws, cams (V, N, 25))."""
    return jax.jit(functools.partial(common.render_views, cfg))
