"""FID Inception-v3 weights from the user's PyTorch file (the standard FID network's state dict,
torchvision layout: `Conv2d_1a_3x3.conv.weight`, `Mixed_5b.branch1x1.bn.running_mean`, ...).

Read with the safe reader (no code from the file runs); the classifier (`fc.*`, and `AuxLogits.*` if
present) and the BatchNorm counters are dropped; everything else must map exactly once.
"""
import re

import jax
import numpy as np

from converters.encoder_keymaps import DROPPED, IRSE_RULES
from converters.keymap import fill_variables
from converters.load import reading, split_arrays
from converters.torch_format import read_checkpoint_object
from inversion3d.metrics.inception import FIDInceptionV3

UNUSED = r"(fc|AuxLogits)\..*|" + DROPPED


def load_inception_variables(path):
    """Flax variables {'params', 'batch_stats'} of `FIDInceptionV3` from a .pth / .pt state dict."""
    with reading(path):
        arrays, _ = split_arrays(read_checkpoint_object(path))
    arrays = {k[len("state_dict."):] if k.startswith("state_dict.") else k: v for k, v in arrays.items()}
    state = {k: v for k, v in arrays.items() if not re.fullmatch(UNUSED, k)}
    template = jax.eval_shape(FIDInceptionV3().init, jax.random.PRNGKey(0), np.zeros((1, 75, 75, 3), np.float32))
    return fill_variables(state, template, IRSE_RULES, source=str(path))
