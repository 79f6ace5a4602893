"""The small attribute classifier's training (inversion3d/training/classifier.py) on a toy problem
whose labels an image shows (brightness, red vs green), and its checkpoint round trip
(metrics/attributes.save_classifier / load_classifier). Tiny ResNet, 32 px, 60 steps."""
import numpy as np
import pytest

from inversion3d.metrics.attributes import AttributeClassifier, load_classifier, save_classifier
from inversion3d.nn.resnet import ResNetClassifier
from inversion3d.training import classifier
from tests.tolerances import assert_close_f32

CONFIG = dict(num_outputs=2, layers=(1, 1, 1, 1), widths=(8, 8, 8, 8), stem_width=8)
PRE = (32, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def _toy(n, seed):
    rng = np.random.RandomState(seed)
    labels = rng.randint(0, 2, (n, 2)).astype(np.float32)
    base = np.where(labels[:, :1, None, None] > 0, 170.0, 80.0) + rng.uniform(-30, 30, (n, 1, 1, 1))
    tint = np.where(labels[:, 1:, None, None] > 0, 1.0, -1.0) * np.array([30.0, -30.0, 0.0])
    images = base + tint + rng.uniform(-20, 20, (n, 32, 32, 3))
    return np.clip(images, 0, 255).astype(np.uint8), labels


@pytest.mark.slow  # ~100 s on the loaded 2-core CPU (the train step's compile); the round trip alone is in
# tests/app/test_edit.py (classifier_dir) and the conversion in tests/metrics/test_attribute_classifier.py
def test_training_learns_visible_labels_and_the_checkpoint_round_trips(tmp_path):
    module = ResNetClassifier(**CONFIG)
    x, y = _toy(256, 0)
    variables, losses = classifier.fit(module, PRE, x, y, steps=60, batch=32, lr=3e-3, log=None)
    assert losses.shape == (60,) and np.all(np.isfinite(losses))
    assert losses[-10:].mean() < 0.5 * losses[:5].mean(), (losses[:5], losses[-10:])
    vx, vy = _toy(64, 1)
    clf = AttributeClassifier(module, variables, *PRE, ("bright", "red"))
    logits = clf.logits(vx.astype(np.float32) / 127.5 - 1.0)
    assert np.all(classifier.accuracy(logits, vy) >= 0.9), classifier.accuracy(logits, vy)
    cfg = {k: list(v) if isinstance(v, tuple) else v for k, v in CONFIG.items()}
    save_classifier(tmp_path / "c", variables, cfg, dict(zip(("input_size", "mean", "std"), PRE)), ("bright", "red"),
                    "test")
    loaded = load_classifier(tmp_path / "c")
    assert loaded.attributes == ("bright", "red") and loaded.input_size == 32
    assert_close_f32(loaded.logits(vx.astype(np.float32) / 127.5 - 1.0), logits, n_reduce=8 * 9, scale=10.0)
