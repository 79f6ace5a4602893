"""An attribute classifier (inversion3d/nn/resnet.py: torchvision-style ResNet + N logits) as a scoring
function for InterFaceGAN labels (editing-and-eval.md §1) and the editability table (§3-§4).

A classifier checkpoint is a converted directory (converters/orbax_io.py) with kind 'classifier':

    meta["networks"]["classifier"]  ResNetClassifier kwargs (num_outputs, layers, widths, block, ...)
    meta["preprocess"]              {"input_size": S, "mean": [3], "std": [3]}: the network's input
    meta["attributes"]              names of the N logits (in order)
    params/                         {'params', 'batch_stats'} in the Flax layout

It is written by `inversion3d convert SRC DST --kind classifier` (a PyTorch state_dict) or by the
project's own training (experiments/train_attribute_classifier.py). Images given to `logits` are
(N, H, W, 3) in [-1, 1]; they are mapped to [0, 1], resized (bilinear, antialiased) to S x S and
normalised with mean / std, as torchvision's Resize + ToTensor + Normalize.
"""
import dataclasses
import os
from typing import Any, Dict, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.nn.resnet import ResNetClassifier
from inversion3d.nn.variables import check_variables

KIND = "classifier"
BATCH = 64


def check_preprocess(input_size, mean, std, source="classifier") -> Dict[str, Any]:
    """{'input_size', 'mean', 'std'} validated (ValueError naming `source` otherwise)."""
    try:
        size, mean, std = int(input_size), [float(v) for v in mean], [float(v) for v in std]
    except (TypeError, ValueError):
        raise ValueError(f"{source}: input size / mean / std must be a number and two lists of 3 numbers, got "
                         f"{input_size!r} / {mean!r} / {std!r}") from None
    if size < 8 or len(mean) != 3 or len(std) != 3 or min(std) <= 0 or not np.all(np.isfinite(mean + std)):
        raise ValueError(f"{source}: expected input size >= 8, 3 means and 3 positive stds, got "
                         f"{size} / {mean} / {std}")
    return {"input_size": size, "mean": mean, "std": std}


def classifier_meta(config, preprocess, attributes, source) -> Dict[str, Any]:
    """The converted directory's description of a classifier (see the module docstring)."""
    attributes = [str(a) for a in attributes]
    if len(attributes) != int(config["num_outputs"]) or len(set(attributes)) != len(attributes):
        raise ValueError(f"{source}: {len(attributes)} attribute names {attributes} for {config['num_outputs']} "
                         f"logits; expected one distinct name per logit")
    return {"kind": KIND, "layout": "flax", "network": KIND, "networks": {KIND: dict(config)},
            "preprocess": dict(preprocess), "attributes": attributes, "source": str(source)}


def build(config) -> Tuple[ResNetClassifier, Any]:
    """(module, variables shaped like its init, as ShapeDtypeStructs) of a ResNetClassifier config."""
    cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(config).items()}
    module = ResNetClassifier(**cfg)
    return module, jax.eval_shape(module.init, jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, module.in_channels)))


@dataclasses.dataclass(frozen=True, eq=False)
class AttributeClassifier:
    """images in [-1, 1] -> logits; `scores(images, attribute)` -> the (N,) logit of one attribute."""

    module: ResNetClassifier
    variables: Any
    input_size: int
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]
    attributes: Tuple[str, ...]
    path: str = ""

    def __post_init__(self):
        object.__setattr__(self, "_apply", jax.jit(self._forward))

    def _forward(self, variables, images):
        return self.module.apply(variables, preprocess(images, self.input_size, self.mean, self.std))

    def logits(self, images) -> np.ndarray:
        """(N, H, W, 3) in [-1, 1] -> (N, num_attributes) float32 logits (batches of BATCH)."""
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[-1] != 3 or not len(images):
            raise ValueError(f"images: expected (N, H, W, 3) with N >= 1, got shape {images.shape}")
        return np.concatenate([np.asarray(self._apply(self.variables, images[i:i + BATCH]))
                               for i in range(0, len(images), BATCH)])

    def index(self, attribute) -> int:
        """An attribute name or a 0-based logit index (int or digit string) -> the logit index."""
        text = str(attribute).strip()
        if text in self.attributes:
            return self.attributes.index(text)
        if text.isdigit() and int(text) < len(self.attributes):
            return int(text)
        raise ValueError(f"--attribute: {attribute!r} is none of {self.path or 'the classifier'}'s attributes "
                         f"{list(self.attributes)} (or a 0-based index below {len(self.attributes)})")

    def scores(self, images, attribute) -> np.ndarray:
        return self.logits(images)[:, self.index(attribute)]


def preprocess(images, input_size, mean, std):
    """[-1, 1] (N, H, W, 3) -> resized to input_size and normalised ((x01 - mean) / std)."""
    x = (jnp.asarray(images, jnp.float32) + 1.0) * 0.5
    if x.shape[1:3] != (input_size, input_size):
        x = jax.image.resize(x, (x.shape[0], input_size, input_size, 3), "linear", antialias=True)
    return (x - jnp.asarray(mean, jnp.float32)) / jnp.asarray(std, jnp.float32)


def from_variables(variables, meta, path="") -> AttributeClassifier:
    """An AttributeClassifier of a variables tree and its classifier meta (checked against the config)."""
    source = path or "classifier"
    if meta.get("kind") != KIND:
        raise ValueError(f"{source}: holds a {meta.get('kind')!r} checkpoint, expected an attribute classifier "
                         f"(convert one with `inversion3d convert SRC DST --kind classifier`)")
    config = meta["networks"][KIND]
    module, shapes = build(config)
    checked = check_variables(variables, shapes, source=source, target="its classifier config")
    pre = check_preprocess(**meta["preprocess"], source=source)
    classifier_meta(config, pre, meta["attributes"], source)  # names vs logits
    return AttributeClassifier(module, jax.tree.map(jnp.asarray, checked), pre["input_size"], tuple(pre["mean"]),
                               tuple(pre["std"]), tuple(meta["attributes"]), path)


def load_classifier(path) -> AttributeClassifier:
    """An AttributeClassifier from a converted classifier directory (ValueError, one line, otherwise)."""
    from converters.orbax_io import is_converted_dir, read_converted

    path = os.fspath(path)
    if not is_converted_dir(path):
        raise ValueError(f"--classifier: {path} is not a converted checkpoint directory (convert a PyTorch "
                         f"state_dict with `inversion3d convert SRC DST --kind classifier --input-size S ...`)")
    meta, tree = read_converted(path)
    return from_variables(tree, meta, path)


def save_classifier(dst, variables, config, preprocess_: Dict[str, Any], attributes: Sequence[str],
                    source: str) -> str:
    """Writes a classifier directory (the converted layout) from a Flax variables tree."""
    from converters.orbax_io import write_converted

    meta = classifier_meta(config, check_preprocess(**preprocess_, source=str(dst)), attributes, source)
    tree = {k: jax.tree.map(np.asarray, v) for k, v in variables.items()}
    return write_converted(dst, tree, meta)
