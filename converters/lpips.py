"""LPIPS weights from the user's files: a torchvision AlexNet / VGG16 state dict for the trunk
(`features.N.weight`) and the v0.1 linear heads (`linK.model.1.weight`, e.g. PerceptualSimilarity's
`weights/v0.1/alex.pth`; the pSp-family renamed keys `K.1.weight` are accepted too).

Read with the safe reader (no code from the files runs); mapped with the shared key map.
"""
import re

import jax
import numpy as np

from converters.keymap import STYLEGAN_RULES, fill_variables
from converters.load import reading, split_arrays
from converters.torch_format import read_checkpoint_object
from inversion3d.losses.lpips import LPIPS


def _arrays(path):
    with reading(path):
        arrays, _ = split_arrays(read_checkpoint_object(path))
    return arrays


def _head_key(key):
    m = re.fullmatch(r"(?:lin)?(\d+)\.(?:model\.)?1\.weight", key)
    return f"lin{m.group(1)}.model.1.weight" if m else key


def lpips_state_dict(backbone_path, heads_path):
    """One flat state dict: the trunk's `features.*` entries (the classifier is dropped) + the heads."""
    state = {k: v for k, v in _arrays(backbone_path).items() if k.startswith("features.")}
    if not state:
        raise ValueError(f"{backbone_path}: no 'features.*' tensors; expected a torchvision AlexNet/VGG16 state dict")
    heads = {_head_key(k): v for k, v in _arrays(heads_path).items()}
    return {**state, **heads}


def load_lpips_variables(net, backbone_path, heads_path):
    """Flax variables for `LPIPS(net)` from the two files; mismatches are reported together."""
    module = LPIPS(net)
    template = jax.eval_shape(module.init, jax.random.PRNGKey(0), np.zeros((1, 64, 64, 3), np.float32),
                              np.zeros((1, 64, 64, 3), np.float32))
    state = lpips_state_dict(backbone_path, heads_path)
    return fill_variables(state, template, STYLEGAN_RULES, source=f"{backbone_path} + {heads_path}")
