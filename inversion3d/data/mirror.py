"""Horizontal mirror augmentation that mirrors the camera with the image (training.md §2 "flip_yaw").

Flipping an image left-right is the image of the x-mirrored scene seen from the mirrored camera
(`camera.mirror_label`, derivation in inversion3d/camera/mirror.py); EG3D heads are symmetric about
the world plane x = 0, so the flipped image with the mirrored label is another valid example.
"""
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.camera import mirror_label


def mirror_image(image):
    """Flips (..., H, W, C) images left-right (NHWC)."""
    xp = jnp if isinstance(image, jax.Array) else np
    return xp.flip(image, axis=-2)


def mirror_example(example):
    """Mirrors every image-like entry (image / mask / depth, NHWC or HW) and the camera 'c'."""
    out = dict(example)
    for key, value in example.items():
        if key == "c":
            out[key] = mirror_label(value)
        elif key in ("image", "mask", "depth"):
            out[key] = mirror_image(value) if np.ndim(value) >= 3 else np.flip(value, axis=-1)
    return out
