"""An attribute classifier's PyTorch state_dict (torchvision ResNet names: `conv1.weight`,
`layer1.0.bn1.running_mean`, `layer2.0.downsample.0.weight`, ..., `fc.weight` with N rows) -> the
Flax tree of inversion3d/nn/resnet.py + the classifier description (inversion3d/metrics/attributes.py).

The network's shape (block type, blocks per stage, widths, N) is read from the tensor shapes, so a
ResNet-18 / 50 and small test models convert alike. What a state_dict does not hold, the input size,
the normalisation and the attribute names, comes from non-tensor entries of the file
(`{'state_dict': ..., 'input_size': 224, 'mean': [...], 'std': [...], 'attributes': [...]}`) or
from the caller (`inversion3d convert --kind classifier --input-size 224 --mean ... --std ...`),
the caller's values winning. Read with the safe reader (converters/torch_format.py): nothing in the
file runs. `num_batches_tracked` counters are dropped; every other key must map exactly once.
"""
import re
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from converters.encoder_keymaps import IRSE_RULES, load_variables
from inversion3d.metrics import attributes as attr

CLASSIFIER_RULES = IRSE_RULES  # BatchNorm running stats -> batch_stats; weights by rank; biases as they are


def _shape(sd, key, source):
    if key not in sd:
        raise ValueError(f"{source}: missing {key}; expected a torchvision-style ResNet state_dict")
    return tuple(np.shape(sd[key]))


def classifier_config(sd: Mapping[str, np.ndarray], source: str = "state_dict") -> Dict[str, Any]:
    """ResNetClassifier kwargs read from the tensor shapes."""
    stem_width, in_channels = _shape(sd, "conv1.weight", source)[:2]
    num_outputs = _shape(sd, "fc.weight", source)[0]
    block = "bottleneck" if "layer1.0.conv3.weight" in sd else "basic"
    layers, widths = [], []
    for s in range(1, 5):
        found = [int(m.group(1)) for k in sd for m in [re.match(rf"layer{s}\.(\d+)\.", k)] if m]
        if not found:
            raise ValueError(f"{source}: no layer{s}.* tensors; expected the four stages of a torchvision ResNet")
        layers.append(max(found) + 1)
        widths.append(_shape(sd, f"layer{s}.0.conv1.weight", source)[0])
    return dict(num_outputs=int(num_outputs), layers=layers, widths=[int(w) for w in widths], block=block,
                stem_width=int(stem_width), in_channels=int(in_channels))


def _strip(arrays):
    for prefix in ("state_dict.", "model.", "module."):
        if arrays and all(k.startswith(prefix) for k in arrays):
            arrays = {k[len(prefix):]: v for k, v in arrays.items()}
    return arrays


def convert_classifier(arrays: Mapping[str, np.ndarray], extra: Optional[Mapping[str, Any]] = None,
                       input_size=None, mean: Optional[Sequence[float]] = None, std: Optional[Sequence[float]] = None,
                       attributes: Optional[Sequence[str]] = None, source: str = "state_dict"
                       ) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """-> (tree {'params', 'batch_stats'}, meta of metrics/attributes.classifier_meta). extra: the file's
    non-tensor entries (split_arrays); the keyword arguments override them. Attribute names default
    to the logit indices ('0', '1', ...)."""
    extra = {k.split(".", 1)[-1] if k.startswith("state_dict.") else k: v for k, v in dict(extra or {}).items()}
    sd = _strip(dict(arrays))
    config = classifier_config(sd, source)
    given = {"input_size": input_size, "mean": mean, "std": std}
    pre = {k: v if v is not None else extra.get(k) for k, v in given.items()}
    absent = [k for k, v in pre.items() if v is None]
    if absent:
        raise ValueError(f"{source}: the classifier's {', '.join(absent)} are not in the file; pass "
                         + " ".join(f"--{k.replace('_', '-')}" for k in absent))
    names = attributes if attributes is not None else extra.get("attributes")
    names = [str(i) for i in range(config["num_outputs"])] if names is None else list(names)
    _, shapes = attr.build(config)
    tree = load_variables(sd, shapes, CLASSIFIER_RULES, source=f"{source} (classifier)")
    meta = attr.classifier_meta(config, attr.check_preprocess(**pre, source=source), names, source)
    return tree, meta
