"""The project's own attribute classifier, trained on the synthetic heads (issue 19): labels from the
scenes' procedural parameters (inversion3d/data/synthetic/attributes.py), a small torchvision-style
ResNet (inversion3d/nn/resnet.py). It scores generator samples for `train-direction --classifier`
and edits in `eval`'s editability table.

  .venv/bin/python -m inversion3d train-classifier --config configs/attribute_classifier.py \
      --config.data.folder=/work/data/synth64 --out out/attr_classifier
Hardware: the 2-core CPU (a few minutes for 1500 steps of batch 64 at 64 px).
Expected: test-split accuracy well above chance (0.5) for each attribute; the run prints it.
"""
import ml_collections


def get_config():
    c = ml_collections.ConfigDict()
    c.data = ml_collections.ConfigDict()
    c.data.folder = "data/synth64"  # a `synth-data` root with the train and test splits
    c.data.train_split = "train"
    c.data.val_split = "test"  # its input views (held-out scenes)
    c.data.max_train = 15000  # ours: the whole train split of the README's data line
    # label thresholds on BT.601 luma (inversion3d/data/synthetic/attributes.py):
    c.data.light_skin = 0.62  # the middle skin-palette entry's luma (0.622): about half the scenes
    c.data.dark_hair = 0.2  # between dark brown (0.125) and brown (0.268): black / dark-brown hair

    c.model = ml_collections.ConfigDict()
    # ours: a ResNet-10-like net (one BasicBlock per stage), narrow enough for a < 1 MB checkpoint
    c.model.layers = (1, 1, 1, 1)
    c.model.widths = (16, 32, 48, 64)
    c.model.stem_width = 16
    c.model.block = "basic"
    c.input_size = 64  # the synthetic heads' and the default generator's resolution
    c.mean = (0.5, 0.5, 0.5)  # ours: [0, 1] -> [-1, 1]
    c.std = (0.5, 0.5, 0.5)

    c.train = ml_collections.ConfigDict()
    c.train.steps = 1500  # ours: a few minutes on the shared 2-core CPU
    c.train.batch = 64
    c.train.lr = 2e-3  # ours: Adam
    c.train.seed = 0
    c.train.log_every = 100
    return c
