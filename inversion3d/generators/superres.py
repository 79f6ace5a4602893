"""EG3D super-resolution modules (eg3d.md §7): two StyleGAN2 skip blocks on the rendered features.

All SR layers use the LAST w (ws[:, -1]) for their three style inputs. Inputs are resized with
(antialiased) bilinear interpolation to the module's input resolution under the module's condition.

Official in-place quirk (`block0_overwrites_rgb`): the official skip blocks add their ToRGB output
to the incoming image in place (`img.add_(y)`). Block0 of the 2X / 4X modules
(SynthesisBlockNoUp) does not upsample that image first, so when no resize happened either, the
tensor it adds into is the caller's own rgb input, which then holds block0's image. This module is
functional (its input is never changed); the generator reproduces the quirk in its `image_raw`.
"""
from typing import Any, Optional

import flax.linen as nn
import jax.numpy as jnp

from inversion3d.generators.stylegan2 import SynthesisBlock
from inversion3d.ops.resize import resize_bilinear

# name -> (output resolution, input resolution, resize rule, block0 (out, res, up), block1 (...))
SR_MODULES = {
    "SuperresolutionHybrid8XDC": (512, 128, "ne", (256, 256, True), (128, 512, True)),
    "SuperresolutionHybrid8X": (512, 128, "ne", (128, 256, True), (64, 512, True)),
    "SuperresolutionHybrid4X": (256, 128, "lt", (128, 128, False), (64, 256, True)),
    "SuperresolutionHybrid2X": (128, 64, "ne", (128, 64, False), (64, 128, True)),
    # Not an official module: 2X at half the size and width (32 -> 64 px, 64 / 32 channels), for the
    # tiny generator this project trains on a CPU (configs/eg3d_gan.py).
    "SuperresolutionHybrid2X64": (64, 32, "ne", (64, 32, False), (32, 64, True)),
}


def sr_module_name(path: str) -> str:
    """'training.superresolution.SuperresolutionHybrid8XDC' -> 'SuperresolutionHybrid8XDC' (validated)."""
    name = str(path).rsplit(".", 1)[-1]
    if name not in SR_MODULES:
        raise ValueError(f"superresolution_module: expected one of {sorted(SR_MODULES)}, got {path!r}")
    return name


def resizes_input(module_name: str, width: int) -> bool:
    """Whether the module resizes features of the given width to its input resolution (eg3d.md §7:
    2X / 8X / 8XDC when width != input resolution, 4X only when width < 128)."""
    _, in_res, rule, _, _ = SR_MODULES[sr_module_name(module_name)]
    return (rule == "ne" and width != in_res) or (rule == "lt" and width < in_res)


def block0_overwrites_rgb(module_name: str, width: int) -> bool:
    """Whether the official module leaves block0's image output in the caller's rgb tensor.

    True exactly when block0 does not upsample (SynthesisBlockNoUp: 2X, 4X) and no resize made a
    new tensor first (2X at width 64; 4X at width >= 128): its `img.add_(y)` then writes into the
    caller's rgb. 8X / 8XDC upsample in block0 (a new tensor) and are never affected.
    """
    block0_up = SR_MODULES[sr_module_name(module_name)][3][2]
    return not block0_up and not resizes_input(module_name, width)


class SuperResolution(nn.Module):
    """(rgb (N,R,R,3), features (N,R,R,C), ws (N,num_ws,512)) -> image (N,out,out,3).

    Sows `block0_in_rgb` (rgb after the resize) and `block0_img` into 'intermediates' (the latter
    is what the official rgb input holds afterwards when `block0_overwrites_rgb`). Both blocks
    compute in `dtype` (official: fp16 iff sr_num_fp16_res > 0, eg3d.md §7); the resize and the
    rgb skip sum stay float32, so the image is float32. `block0_smooth`: SynthesisBlock's `smooth` hook
    for block 0 (None: the plain module).
    """

    module_name: str
    img_resolution: int
    sr_antialias: bool = True
    conv_clamp: Optional[float] = 256
    fused_modconv: bool = True
    dtype: Any = None  # None: float32 (or the inputs' wider dtype)

    @nn.compact
    def __call__(self, rgb, x, ws, noise_mode="none", block0_smooth=None):
        out_res, in_res, _, block0, block1 = SR_MODULES[sr_module_name(self.module_name)]
        if self.img_resolution != out_res:
            raise ValueError(f"img_resolution: {self.module_name} produces {out_res}, got {self.img_resolution}")
        ws_sr = jnp.repeat(ws[:, -1:], 3, axis=1)
        if resizes_input(self.module_name, x.shape[2]):
            size = (in_res, in_res)
            x = resize_bilinear(x, size, antialias=self.sr_antialias)
            rgb = resize_bilinear(rgb, size, antialias=self.sr_antialias)
        self.sow("intermediates", "block0_in_rgb", rgb)
        in_ch = x.shape[-1]
        for idx, (out_ch, res, up) in enumerate((block0, block1)):
            block = SynthesisBlock(in_ch, out_ch, res, rgb.shape[-1], up=up, conv_clamp=self.conv_clamp,
                                   fused_modconv=self.fused_modconv, dtype=self.dtype, name=f"block{idx}")
            x, rgb = block(x, rgb, ws_sr, noise_mode, smooth=block0_smooth if idx == 0 else None)
            if idx == 0:
                self.sow("intermediates", "block0_img", rgb)
            in_ch = out_ch
        return rgb
