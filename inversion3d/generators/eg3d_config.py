"""Tri-plane generator configuration (EG3D, PanoHead) from the official constructor kwargs.

EG3D: eg3d.md §0, §6. PanoHead adds tri-grids, a background network, a raw ToRGB and a camera
offset network, all switched by keys inside `rendering_kwargs` (panohead.md §1-§6).

`EG3DConfig.from_official(init_kwargs)` accepts exactly what `TriPlaneGenerator(**init_kwargs)`
takes in the official code (as stored in the checkpoint pickles) and rejects anything else with a
one-line ValueError, so a typo or an unsupported rendering option never passes silently.
"""
import dataclasses
from typing import Any, Mapping, Optional, Tuple

from inversion3d.generators.superres import SR_MODULES, sr_module_name
from inversion3d.rendering.renderer import RenderConfig

_TOP_KEYS = {"z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "sr_num_fp16_res",
             "mapping_kwargs", "rendering_kwargs", "sr_kwargs",
             # synthesis_kwargs forwarded to the StyleGAN2 backbone
             "channel_base", "channel_max", "num_fp16_res", "conv_clamp", "fused_modconv_default"}
_MAPPING_KEYS = {"num_layers", "embed_features", "layer_features", "lr_multiplier", "w_avg_beta", "activation"}
_SR_KEYS = {"channel_base", "channel_max", "fused_modconv_default", "num_fp16_res", "conv_clamp"}
# Keys that only matter to training losses or to scripts; accepted and kept, no effect on rendering.
_RENDER_TRAINING_KEYS = {"gpc_reg_prob", "density_reg", "density_reg_p_dist", "reg_type",
                         "avg_camera_radius", "avg_camera_pivot", "density_reg_every", "gpc_reg_fade_kimg"}
_RENDER_KEYS = {"image_resolution", "disparity_space_sampling", "clamp_mode", "superresolution_module",
                "c_gen_conditioning_zero", "c_scale", "superresolution_noise_mode", "decoder_lr_mul",
                "sr_antialias", "depth_resolution", "depth_resolution_importance", "ray_start", "ray_end",
                "box_warp", "white_back", "density_noise",
                "triplane_size"} | _RENDER_TRAINING_KEYS  # triplane_size: PanoHead's key; EG3D hard-codes 256
_PANOHEAD_KEYS = {"decoder_activation", "use_torgb_raw", "triplane_depth", "use_background",
                  "trans_reg", "bcg_reg_prob"}
_PANOHEAD_TRAINING_KEYS = {"trans_reg", "bcg_reg_prob"}
KINDS = ("eg3d", "panohead")
COMPUTE_DTYPES = ("float32", "bfloat16")
LOW_PRECISION_BLOCKS = ("official", "all")
# The one default neural rendering resolution of the project: the official TriPlaneGenerator's initial
# value (64, as in ffhq512-64; eg3d.md §0). Checkpoints carry their own (ffhq512-128: 128).
NEURAL_RENDERING_RESOLUTION = 64


def _check_keys(where: str, given: Mapping[str, Any], allowed: set, hint: str = ""):
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ValueError(f"{where}: unsupported key(s) {unknown}; expected a subset of {sorted(allowed)}{hint}")


@dataclasses.dataclass(frozen=True)
class EG3DConfig:
    """Everything that defines an EG3D TriPlaneGenerator; hashable so it can be a jit static arg."""

    z_dim: int = 512
    c_dim: int = 25
    w_dim: int = 512
    img_resolution: int = 512
    img_channels: int = 3
    mapping_layers: int = 2
    mapping_lr_multiplier: float = 0.01
    channel_base: int = 32768
    channel_max: int = 512
    conv_clamp: Optional[float] = None
    triplane_resolution: int = 256
    plane_channels: int = 32
    sr_module: str = "SuperresolutionHybrid8XDC"
    sr_conv_clamp: Optional[float] = 256
    sr_antialias: bool = True
    sr_noise_mode: str = "none"
    c_scale: float = 1.0
    c_gen_conditioning_zero: bool = False
    decoder_lr_mul: float = 1.0
    neural_rendering_resolution: int = NEURAL_RENDERING_RESOLUTION
    fused_modconv: bool = True
    render: RenderConfig = RenderConfig(depth_resolution=48, depth_resolution_importance=48,
                                        ray_start=2.25, ray_end=3.3)
    extra_rendering_kwargs: Tuple[Tuple[str, Any], ...] = ()
    # PanoHead (panohead.md); the defaults are EG3D's behaviour.
    kind: str = "eg3d"
    triplane_depth: int = 1
    decoder_activation: str = "sigmoid"
    use_torgb_raw: bool = False
    use_background: bool = False
    bcg_resolution: int = 0  # = SR input resolution when use_background
    camera_offset: bool = False  # t_mapping network (PanoHead forward only)
    # Mixed precision (README "Mixed precision"). compute_dtype 'bfloat16' runs the blocks picked by
    # low_precision_blocks in bf16: 'official' = the blocks the official code runs in fp16 (the top
    # num_fp16_res backbone / background blocks, both SR blocks iff sr_num_fp16_res > 0; eg3d.md
    # §0, §3, §7), 'all' = every synthesis block plus the decoder MLP (and bf16 planes into the
    # renderer). Parameters, mapping, styles, skip sums and outputs stay float32; conv_clamp is the
    # model's own (from init_kwargs) either way (bf16 has float32's range, no extra clamp is needed).
    compute_dtype: str = "float32"
    low_precision_blocks: str = "official"
    num_fp16_res: int = 0
    sr_num_fp16_res: int = 4

    def __post_init__(self):
        if self.compute_dtype not in COMPUTE_DTYPES:
            raise ValueError(f"compute_dtype: expected one of {COMPUTE_DTYPES}, got {self.compute_dtype!r}")
        if self.low_precision_blocks not in LOW_PRECISION_BLOCKS:
            raise ValueError(f"low_precision_blocks: expected one of {LOW_PRECISION_BLOCKS}, "
                             f"got {self.low_precision_blocks!r}")

    def dtype_from_res(self, img_resolution: int) -> int:
        """Lowest block resolution of a synthesis network of `img_resolution` that computes in
        compute_dtype (official fp16_resolution = max(2 ** (log2(R) + 1 - num_fp16_res), 8))."""
        if self.compute_dtype == "float32" or self.low_precision_blocks == "all":
            return 4
        return max(2 ** max(img_resolution.bit_length() - self.num_fp16_res, 0), 8)

    @property
    def sr_dtype(self) -> str:
        """Compute dtype of the super-resolution blocks (official use_fp16 = sr_num_fp16_res > 0)."""
        on = self.low_precision_blocks == "all" or self.sr_num_fp16_res > 0
        return self.compute_dtype if on else "float32"

    @property
    def decoder_dtype(self) -> str:
        """Compute dtype of the OSG decoder MLP and of the planes handed to the renderer."""
        return self.compute_dtype if self.low_precision_blocks == "all" else "float32"

    @property
    def bcg_num_ws(self) -> int:
        return 2 * len(range(2, self.bcg_resolution.bit_length())) if self.use_background else 0

    @property
    def num_ws(self) -> int:
        blocks = len(range(2, self.triplane_resolution.bit_length()))
        return 2 * blocks

    @classmethod
    def from_official(cls, init_kwargs: Mapping[str, Any],
                      neural_rendering_resolution: int = NEURAL_RENDERING_RESOLUTION,
                      ray_chunk: Optional[int] = None, fused_modconv: bool = True,
                      kind: str = "eg3d", compute_dtype: str = "float32",
                      low_precision_blocks: str = "official", remat: bool = False) -> "EG3DConfig":
        """Builds the config from official `TriPlaneGenerator` constructor kwargs (eg3d.md §0;
        panohead.md §1 for kind='panohead'); compute_dtype / low_precision_blocks as the fields;
        remat: recompute each ray chunk in the backward pass (RenderConfig.remat, training memory)."""
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
        if hasattr(init_kwargs, "to_dict"):  # ml_collections.ConfigDict from a config file
            init_kwargs = init_kwargs.to_dict()
        if not isinstance(init_kwargs, Mapping):
            raise ValueError(f"init_kwargs: expected a dict of TriPlaneGenerator kwargs, got {type(init_kwargs).__name__}")
        _check_keys("init_kwargs", init_kwargs, _TOP_KEYS)
        for required in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "rendering_kwargs"):
            if required not in init_kwargs:
                raise ValueError(f"init_kwargs: missing required key {required!r}")
        mapping = dict(init_kwargs.get("mapping_kwargs") or {})
        _check_keys("init_kwargs['mapping_kwargs']", mapping, _MAPPING_KEYS)
        if mapping.get("activation", "lrelu") != "lrelu":
            raise ValueError(f"mapping_kwargs['activation']: expected 'lrelu', got {mapping['activation']!r}")
        for key in ("embed_features", "layer_features"):
            if mapping.get(key) not in (None, init_kwargs["w_dim"]):
                raise ValueError(f"mapping_kwargs[{key!r}]: expected None or w_dim, got {mapping[key]!r}")
        _check_keys("init_kwargs['sr_kwargs']", dict(init_kwargs.get("sr_kwargs") or {}), _SR_KEYS)
        rk = dict(init_kwargs["rendering_kwargs"])
        _check_keys("rendering_kwargs", rk, _RENDER_KEYS | _PANOHEAD_KEYS)
        pano = sorted(set(rk) & _PANOHEAD_KEYS)
        if pano and kind == "eg3d":
            raise ValueError(f"rendering_kwargs: keys {pano} belong to a PanoHead generator; use kind='panohead'")
        if not pano and kind == "panohead":
            raise ValueError("rendering_kwargs: no PanoHead keys (triplane_depth, use_background, ...); "
                             "this is an EG3D generator, use kind='eg3d'")
        if rk.get("clamp_mode", "softplus") != "softplus":
            raise ValueError(f"rendering_kwargs['clamp_mode']: expected 'softplus', got {rk['clamp_mode']!r}")
        for key in ("ray_start", "ray_end"):
            if not isinstance(rk.get(key), (int, float)):
                raise ValueError(f"rendering_kwargs[{key!r}]: expected a number, got {rk.get(key)!r}")
        if float(rk.get("density_noise", 0) or 0) > 0:
            raise ValueError(f"rendering_kwargs['density_noise']: training-time noise is not supported "
                             f"at inference, got {rk['density_noise']!r}")
        sr_noise = rk.get("superresolution_noise_mode", "none")
        if sr_noise not in ("none", "const", "random"):
            raise ValueError(f"rendering_kwargs['superresolution_noise_mode']: expected none|const|random, got {sr_noise!r}")
        if init_kwargs["w_dim"] != 512:
            raise ValueError(f"w_dim: the super-resolution blocks hard-code 512, got {init_kwargs['w_dim']}")
        if init_kwargs["img_channels"] != 3:
            raise ValueError(f"img_channels: expected 3, got {init_kwargs['img_channels']}")
        sr_fp16 = int(init_kwargs.get("sr_num_fp16_res", 0))
        render = RenderConfig(
            depth_resolution=int(rk["depth_resolution"]),
            depth_resolution_importance=int(rk.get("depth_resolution_importance", 0)),
            ray_start=float(rk["ray_start"]), ray_end=float(rk["ray_end"]),
            box_warp=float(rk.get("box_warp", 1.0)),
            disparity_space_sampling=bool(rk.get("disparity_space_sampling", False)),
            white_back=bool(rk.get("white_back", False)), rgb_scale=kind == "eg3d", ray_chunk=ray_chunk,
            density_crop=0.1 if kind == "panohead" else None,  # renderer's triplane_crop (panohead.md §4)
            plane_kind="trigrid" if kind == "panohead" else "eg3d",
            triplane_depth=int(rk.get("triplane_depth", 1)), remat=bool(remat))
        conv_clamp = init_kwargs.get("conv_clamp")
        extra = tuple(sorted((k, repr(v)) for k, v in rk.items()
                             if k in _RENDER_TRAINING_KEYS | _PANOHEAD_TRAINING_KEYS))
        sr_name = sr_module_name(rk["superresolution_module"])
        pano_fields = {}
        if kind == "panohead":
            activation = rk.get("decoder_activation", "sigmoid")
            if activation not in ("sigmoid", "lrelu", "none"):
                raise ValueError(f"rendering_kwargs['decoder_activation']: expected sigmoid|lrelu|none, got {activation!r}")
            use_background = bool(rk.get("use_background", True))
            pano_fields = dict(
                kind="panohead", triplane_depth=int(rk.get("triplane_depth", 1)), decoder_activation=activation,
                use_torgb_raw=bool(rk.get("use_torgb_raw", False)), use_background=use_background,
                bcg_resolution=SR_MODULES[sr_name][1] if use_background else 0, camera_offset=True)
        return cls(
            z_dim=int(init_kwargs["z_dim"]), c_dim=int(init_kwargs["c_dim"]), w_dim=int(init_kwargs["w_dim"]),
            img_resolution=int(init_kwargs["img_resolution"]), img_channels=int(init_kwargs["img_channels"]),
            mapping_layers=int(mapping.get("num_layers", 8)),
            mapping_lr_multiplier=float(mapping.get("lr_multiplier", 0.01)),
            channel_base=int(init_kwargs.get("channel_base", 32768)),
            channel_max=int(init_kwargs.get("channel_max", 512)),
            conv_clamp=None if conv_clamp is None else float(conv_clamp),
            sr_module=sr_name,
            sr_conv_clamp=256.0 if sr_fp16 > 0 else None,
            sr_antialias=bool(rk.get("sr_antialias", True)), sr_noise_mode=sr_noise,
            c_scale=float(rk.get("c_scale", 0.0)),  # official `.get('c_scale', 0)` default (eg3d.md §2)
            c_gen_conditioning_zero=bool(rk.get("c_gen_conditioning_zero", False)),
            decoder_lr_mul=float(rk.get("decoder_lr_mul", 1.0)),
            neural_rendering_resolution=int(neural_rendering_resolution),
            fused_modconv=fused_modconv, render=render, extra_rendering_kwargs=extra,
            compute_dtype=compute_dtype, low_precision_blocks=low_precision_blocks,
            num_fp16_res=int(init_kwargs.get("num_fp16_res", 0)), sr_num_fp16_res=sr_fp16,
            # the project's tiny trained EG3D (configs/eg3d_gan.py) also shrinks its planes this way
            triplane_resolution=int(rk.get("triplane_size", 256)), **pano_fields)


def with_triplane_resolution(cfg: EG3DConfig, resolution: int) -> EG3DConfig:
    """cfg with tri-planes of resolution x resolution (num_ws = 2 (log2 resolution - 1)); 0 keeps cfg's.
    For test-size training runs: the backbone's cost grows with resolution^2 and the tiny generator's
    is 256 like EG3D's; a released checkpoint's resolution is its own."""
    if resolution == 0 or resolution == cfg.triplane_resolution:
        return cfg
    if resolution < 8 or resolution & (resolution - 1):
        raise ValueError(f"generator.triplane_resolution: expected 0 or a power of two >= 8, got {resolution}")
    return dataclasses.replace(cfg, triplane_resolution=int(resolution))
