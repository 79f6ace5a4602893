"""Shared pieces of the GAN training tests (test_eg3d_gan_train.py and its 8-device worker)."""
import math

import numpy as np
from PIL import Image

from inversion3d import camera
from inversion3d.preprocess.dataset_json import write_dataset_json
from tests.training.helpers import apply_overrides, load_config

SIZE = 64  # test images: the tiny SR module's 64 px output; 16 px neural rendering (below)


def make_folder(root, n: int = 8, size: int = SIZE, seed: int = 0):
    """n random-blob PNGs with FFHQ-like camera labels around the front in dataset.json; -> root."""
    rng = np.random.default_rng(seed)
    rig = camera.rig("eg3d")
    yaw = math.pi / 2 + rng.uniform(-0.4, 0.4, n)
    labels = rig.labels(yaw.astype(np.float32), np.full(n, math.pi / 2, np.float32))
    yy, xx = np.mgrid[:size, :size] / size - 0.5
    entries = []
    for i in range(n):
        r = 0.25 + 0.1 * rng.random()
        blob = (xx ** 2 + yy ** 2 < r * r)[..., None]
        img = np.where(blob, rng.uniform(60, 250, 3), 20.0).astype(np.uint8)
        Image.fromarray(img).save(root / f"img{i}.png")
        entries.append((f"img{i}.png", labels[i]))
    write_dataset_json(root / "dataset.json", entries)
    return root


def config(folder, name="eg3d_gan", **overrides):
    """configs/<name>.py at test size (64 px, 16 px rendering, 4 + 4 samples, narrow D) with
    test run settings (log every step, no TensorBoard, no images, no checkpoints, single process)."""
    cfg = load_config(name)
    rk = cfg.generator.init_kwargs.rendering_kwargs
    rk.depth_resolution, rk.depth_resolution_importance = 4, 4
    cfg.generator.neural_rendering_resolution = 16
    cfg.data.folder, cfg.data.name, cfg.data.resolution = str(folder), "gan_test", SIZE
    cfg.batch_size = 4
    cfg.total_steps = 2
    cfg.losses.density_reg_points = 64
    cfg.model.discriminator.channel_base, cfg.model.discriminator.channel_max = 128, 16
    cfg.model.discriminator.mapping_layers = 2
    cfg.checkpoint.every = 0
    cfg.logging.log_every = 1
    cfg.logging.image_every = 0
    cfg.logging.tensorboard = False
    cfg.distributed.enabled = "no"
    cfg.monitor.every = 0
    return apply_overrides(cfg, overrides)
