"""The public generator handle: `load_generator(source, kind, init_kwargs)` -> `Generator`.

`Generator.mapping` and `Generator.synthesis` are jit-compiled once per configuration; the pure
pieces are exposed as `gen.module`, `gen.params` (the variables tree {'params', 'buffers'}) and
`gen.config` for use inside user code (grad, vmap, custom jit).
"""
import os
from typing import Any, Mapping, Optional

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.generators import eg3d
from inversion3d.generators.eg3d_config import (COMPUTE_DTYPES, LOW_PRECISION_BLOCKS, NEURAL_RENDERING_RESOLUTION,
                                                 EG3DConfig)
from inversion3d.nn.variables import check_variables

KINDS = ("eg3d", "panohead")
NOISE_MODES = ("const", "random", "none")


def _check_shape(name, array, expected):
    shape = tuple(np.shape(array))
    ok = len(shape) == len(expected) and all(e is None or e == s for e, s in zip(expected, shape))
    if not ok:
        pretty = "(" + ", ".join("N" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{name}: expected shape {pretty}, got {shape}")
    return jnp.asarray(array, jnp.float32)


class Generator:
    """A loaded EG3D generator; see the README section "The generator handle"."""

    def __init__(self, config: EG3DConfig, variables: Mapping, init_kwargs: Optional[Mapping] = None,
                 kind: str = "eg3d"):
        self.config = config
        self.params = variables
        self.init_kwargs = dict(init_kwargs or {})
        self.kind = kind
        self.module = eg3d.TriPlaneGenerator(config)
        self._mapping, self._synthesis, self._delta_c = eg3d.jitted(config)
        self._planes = jax.jit(lambda v, ws, noise_mode: self.module.apply(
            v, ws, noise_mode, method=eg3d.TriPlaneGenerator.planes), static_argnames=("noise_mode",))

    @property
    def num_ws(self) -> int:
        return self.config.num_ws

    def mapping(self, z, c, truncation_psi=1.0, truncation_cutoff=None):
        """z (N, z_dim), c (N, 25) conditioning camera -> ws (N, num_ws, w_dim)."""
        cfg = self.config
        z = _check_shape("z", z, (None, cfg.z_dim))
        c = _check_shape("c", c, (z.shape[0], cfg.c_dim))
        if truncation_cutoff is not None:
            truncation_cutoff = int(truncation_cutoff)
            if truncation_cutoff < 0:
                raise ValueError(f"truncation_cutoff: expected >= 0 or None, got {truncation_cutoff}")
            # Like the official slicing ws[:, :cutoff], a cutoff past num_ws truncates them all.
            truncation_cutoff = min(truncation_cutoff, cfg.num_ws)
        return self._mapping(self.params, z, c, float(truncation_psi), truncation_cutoff)

    def synthesis(self, ws, c, noise_mode="const", rng=None, draws=None, neural_rendering_resolution=None,
                  capture=False):
        """ws (N, num_ws, w_dim), c (N, 25) rendering camera -> dict of NHWC arrays.

        Keys: image (N,S,S,3), image_raw (N,R,R,3) (the official value, see below),
        image_raw_render (N,R,R,3) (the neural render itself), image_depth (N,R,R,1), planes
        (N,3,H,W,C), feature_image (N,R,R,C), weights_sum (N,R,R,1) [+ intermediates with
        capture=True]. image_raw differs from image_raw_render only where the official code
        overwrites it in place: a 2X / 4X SR whose input needs no resize (eg3d.synthesize).
        draws: {'stratified': (N, R*R, S, 1), 'importance': (N*R*R, S_imp)} uniforms that replace
        the renderer's random draws; rng: a PRNG key for jitter / noise; neither = deterministic.
        """
        cfg = self.config
        ws = _check_shape("ws", ws, (None, cfg.num_ws, cfg.w_dim))
        n = ws.shape[0]
        c = _check_shape("c", c, (n, cfg.c_dim))
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode: expected one of {NOISE_MODES}, got {noise_mode!r}")
        res = int(neural_rendering_resolution or cfg.neural_rendering_resolution)
        if res <= 0:
            raise ValueError(f"neural_rendering_resolution: expected a positive int, got {res}")
        if draws is not None:
            draws = self._check_draws(draws, n, res)
        return self._synthesis(self.params, ws, c, noise_mode=noise_mode, rng=rng, draws=draws,
                               neural_rendering_resolution=res, capture=bool(capture))

    def apply_delta_c(self, z, c, truncation_psi=1.0, truncation_cutoff=None):
        """PanoHead only: (c_new (N, 25), delta (N, 3)), the camera with t_mapping's offset."""
        if not self.config.camera_offset:
            raise ValueError(f"apply_delta_c: a {self.kind} generator has no camera-offset network (PanoHead only)")
        z = _check_shape("z", z, (None, self.config.z_dim))
        c = _check_shape("c", c, (z.shape[0], self.config.c_dim))
        cutoff = None if truncation_cutoff is None else int(truncation_cutoff)
        return self._delta_c(self.params, z, c, float(truncation_psi), cutoff)

    def __call__(self, z, c, truncation_psi=1.0, truncation_cutoff=None, **synthesis_kwargs):
        """The official forward: mapping + synthesis with the same camera for conditioning and
        rendering; PanoHead first moves the rendering camera by its t_mapping offset (panohead.md §6)."""
        ws = self.mapping(z, c, truncation_psi, truncation_cutoff)
        if self.config.camera_offset:
            c, _ = self.apply_delta_c(z, c, truncation_psi, truncation_cutoff)
        return self.synthesis(ws, c, **synthesis_kwargs)

    def density_grid(self, ws, resolution=256, chunk=65536, noise_mode="const"):
        """ws (1, num_ws, w_dim) -> raw density (R, R, R) indexed [z, y, x] over the feature cube."""
        from inversion3d.rendering.shapes import density_grid

        ws = _check_shape("ws", ws, (1, self.config.num_ws, self.config.w_dim))
        planes = self._planes(self.params, ws, noise_mode=noise_mode)
        return density_grid(planes, self.params, eg3d.decode_apply(self.config), self.config.render,
                            resolution=int(resolution), chunk=int(chunk))

    def _check_draws(self, draws, n, res):
        if not isinstance(draws, Mapping):
            raise ValueError(f"draws: expected a dict with 'stratified'/'importance', got {type(draws).__name__}")
        unknown = sorted(set(draws) - {"stratified", "importance"})
        if unknown:
            raise ValueError(f"draws: unknown keys {unknown}; expected 'stratified' and/or 'importance'")
        r = self.config.render
        m = res * res
        shapes = {"stratified": (n, m, r.depth_resolution, 1), "importance": (n * m, r.depth_resolution_importance)}
        return {k: _check_shape(f"draws[{k!r}]", v, shapes[k]) for k, v in draws.items()}


def _read_state_dict(source) -> Mapping[str, np.ndarray]:
    if isinstance(source, Mapping):
        return {k: np.asarray(v) for k, v in source.items()}
    path = os.fspath(source)
    if not os.path.exists(path):
        raise ValueError(f"source: no such file or directory: {path}")
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    raise ValueError(f"source: {path}: expected a .npz of PyTorch state_dict arrays, a dict, an official "
                     f".pkl / .pth or a converted directory")


def load_generator(source: Any = None, kind: Optional[str] = None, init_kwargs: Optional[Mapping] = None,
                   neural_rendering_resolution: Optional[int] = None, ray_chunk: Optional[int] = None,
                   fused_modconv: bool = True, seed: int = 0, network: str = "G_ema",
                   compute_dtype: str = "float32", low_precision_blocks: str = "official",
                   remat: bool = False) -> Generator:
    """Builds a `Generator`.

    source: None for a randomly initialised generator (official init, PRNG `seed`); a dict or `.npz`
      of PyTorch state_dict arrays (exact official key names); an official EG3D / PanoHead `.pkl`
      (read without running its code; `network` picks 'G_ema' or 'G'), a generator `.pth`, or a
      directory written by `inversion3d convert`. Files that carry kind, init_kwargs and
      neural_rendering_resolution supply them; arguments given here override them.
    kind: 'eg3d' | 'panohead'; None = the file's kind, else 'eg3d'.
    init_kwargs: the official `TriPlaneGenerator(**init_kwargs)` constructor kwargs, including
      `rendering_kwargs` (eg3d.md §0, §6).
    neural_rendering_resolution: the pickled attribute (64 for ffhq512-64, 128 for ffhq512-128);
      None = the file's value, else NEURAL_RENDERING_RESOLUTION (64).
    ray_chunk: rays per renderer chunk (bounds memory); None renders all rays at once.
    compute_dtype: 'float32' (default, the official CPU numerics) or 'bfloat16' (mixed precision for
      TPU / GPU: parameters and outputs stay float32, README "Mixed precision").
    low_precision_blocks: which parts run in compute_dtype: 'official' (the blocks the official code
      runs in fp16: top num_fp16_res backbone blocks, SR blocks iff sr_num_fp16_res > 0) or 'all'
      (every synthesis block and the decoder MLP).
    remat: recompute each ray chunk of the renderer in the backward pass (`jax.checkpoint`): gradients
      through a 128² render need ~45% of the memory for ~20% more time (optimisation, training).
    """
    if compute_dtype not in COMPUTE_DTYPES:
        raise ValueError(f"compute_dtype: expected one of {COMPUTE_DTYPES}, got {compute_dtype!r}")
    if low_precision_blocks not in LOW_PRECISION_BLOCKS:
        raise ValueError(f"low_precision_blocks: expected one of {LOW_PRECISION_BLOCKS}, got {low_precision_blocks!r}")
    checkpoint = None
    if source is not None and not isinstance(source, Mapping) and not os.fspath(source).endswith(".npz"):
        from converters.load import read_generator_source  # official .pkl / .pth or a converted directory

        checkpoint = read_generator_source(source, network=network)
        kind = checkpoint.resolve_kind(kind)
        init_kwargs = checkpoint.init_kwargs if init_kwargs is None else init_kwargs
        if neural_rendering_resolution is None:
            neural_rendering_resolution = checkpoint.neural_rendering_resolution
    kind = "eg3d" if kind is None else kind
    if neural_rendering_resolution is None:
        neural_rendering_resolution = NEURAL_RENDERING_RESOLUTION
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    if init_kwargs is None:
        raise ValueError("init_kwargs: required (the official TriPlaneGenerator constructor kwargs)")
    cfg = EG3DConfig.from_official(init_kwargs, neural_rendering_resolution=neural_rendering_resolution,
                                   ray_chunk=ray_chunk, fused_modconv=fused_modconv, kind=kind,
                                   compute_dtype=compute_dtype, low_precision_blocks=low_precision_blocks,
                                   remat=remat)
    if source is None:
        variables = eg3d.init_variables(cfg, jax.random.PRNGKey(seed))
    else:
        from converters.keymap import fill_variables  # the top-level loader may use converters

        template = jax.eval_shape(lambda: eg3d.init_variables(cfg, jax.random.PRNGKey(0)))
        name = source if not isinstance(source, Mapping) else "state_dict"
        if checkpoint is not None and checkpoint.variables is not None:  # converted: already the Flax tree
            variables = check_variables(checkpoint.variables, template, source=str(name))
        else:
            state = checkpoint.state_dict if checkpoint is not None else _read_state_dict(source)
            variables = fill_variables(state, template, source=str(name))
        variables = jax.tree.map(jnp.asarray, variables)
    return Generator(cfg, variables, init_kwargs, kind)
