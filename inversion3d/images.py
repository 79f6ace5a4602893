"""Reading the photos and crops the commands take (`invert`, `preprocess`, `eval`): one reader, so every
command sees the same pixels.

- The pixel count is checked from the header before anything is decoded (a 12 KB PNG may declare
  10000x10000 pixels): over `max_pixels` (DEFAULT_MAX_PIXELS, `--max-pixels`) is a one-line error.
  PIL's DecompressionBombWarning is never shown; its own hard limit (2 x Image.MAX_IMAGE_PIXELS,
  about 179 MP) still applies above ours.
- The EXIF orientation is applied (a phone photo stored sideways is read upright).
- Modes are converted to RGB by their range: 16-bit grayscale (I;16*) is scaled by 255/65535
  (PIL's convert("RGB") would clip it to white); 32-bit integer (I) the same when its values
  exceed 8 bits; float (F) in [0, 1] is scaled by 255, otherwise clipped to [0, 255]; transparent
  pixels are composited on white.
Errors are `ImageError`s (a ValueError) whose message is one line naming the file.
"""
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 64_000_000  # 64 MP: 8000x8000; phone photos are 12-50 MP
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


class ImageError(ValueError):
    """An image that cannot be read (or is over the pixel limit); the message is one line."""


def _reason(err):
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return " ".join(text.split())[:200]


def check_max_pixels(max_pixels, flag="--max-pixels"):
    """The limit as an int >= 1; ValueError naming `flag` otherwise."""
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels < 1:
        raise ValueError(f"{flag}: expected a positive number of pixels, got {max_pixels!r}")
    return int(max_pixels)


def open_image(path, max_pixels=DEFAULT_MAX_PIXELS):
    """The decoded PIL image at `path` (its own mode), EXIF orientation applied; the header's pixel
    count is checked against `max_pixels` before decoding."""
    max_pixels = check_max_pixels(max_pixels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit speaks instead
        try:
            img = Image.open(path)
        except Image.DecompressionBombError:
            raise ImageError(f"{path}: image declares more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels "
                             f"(PIL's decompression-bomb limit); not decoded") from None
        except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as err:
            raise ImageError(f"{path}: cannot read the image ({_reason(err)})") from None
        width, height = img.size
        if width * height > max_pixels:
            img.close()
            raise ImageError(f"{path}: image is {width}x{height} = {width * height / 1e6:.1f} MP, over the limit of "
                             f"{max_pixels / 1e6:g} MP (--max-pixels); not decoded")
        try:
            img.load()
            return ImageOps.exif_transpose(img)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
            raise ImageError(f"{path}: cannot read the image ({_reason(err)})") from None


def to_rgb(img):
    """Any PIL mode -> 'RGB', converted by the mode's range (see the module docstring)."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode.startswith("I;16") or mode in ("I", "F"):
        values = np.asarray(img).astype(np.float64)
        top = float(values.max()) if values.size else 0.0
        if mode.startswith("I;16") or (mode == "I" and top > 255):
            values = values * (255.0 / 65535.0)
        elif mode == "F" and top <= 1.0:
            values = values * 255.0
        gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return Image.fromarray(np.repeat(gray[..., None], 3, axis=-1), "RGB")
    if mode in ALPHA_MODES or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def has_alpha(img):
    return img.mode in ALPHA_MODES or (img.mode == "P" and "transparency" in img.info)


def read_rgb(path, max_pixels=DEFAULT_MAX_PIXELS):
    """(H, W, 3) uint8 RGB of the image at `path` (pixel limit, EXIF orientation, conversion by range)."""
    return np.asarray(to_rgb(open_image(path, max_pixels)))
