"""Fuzzing the image reader of `invert` (issue 20 B4): app/inputs.check_image and read_image.

Inputs: random bytes; small valid images in every PIL mode and format `invert` may meet (PNG, JPEG,
BMP, GIF, TIFF, WebP; 1, L, LA, P with and without transparency, PA, RGB, RGBA, CMYK, YCbCr, LAB,
I;16, I;16B, I, F) and of odd sizes (1 pixel, long strips), then truncated or mutated (bit flips, inserted and deleted bytes,
also inside the header that declares the size). Property: check_image gives (side, mode) or a
one-line ValueError; read_image gives a finite float32 (size, size, 3) array in [-1, 1] or a one-line
ValueError.
"""
import io

import numpy as np
import pytest
from PIL import Image

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given, strategies as st  # noqa: E402

from inversion3d.app.inputs import check_image, read_image  # noqa: E402
from tests.fuzz import mutators  # noqa: E402
from tests.fuzz.common import fuzz_settings, result_or_one_line_error  # noqa: E402

# PIL warns about the damage it skips (truncated TIFF tags, corrupt EXIF); what counts is what comes back
pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore::UserWarning")]
SIZE = 16  # the side read_image resizes to
FORMATS = {  # format -> modes PIL writes in it (and reads back as such or converted)
    "PNG": ["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I;16B"],
    "JPEG": ["L", "RGB", "CMYK", "YCbCr"],
    "BMP": ["1", "L", "P", "RGB", "RGBA"],
    "GIF": ["L", "P", "RGBA"],
    "TIFF": ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I;16B", "I", "F", "YCbCr", "LAB", "PA"],
    "WEBP": ["RGB", "RGBA", "LA"],
}


def _quiet(*args, **kwargs):
    pass


def encode(fmt, mode, width, height, seed, transparency=False) -> bytes:
    """A small image of random pixels in `mode`, saved as `fmt`."""
    rng = np.random.RandomState(seed)
    if mode in ("I;16", "I;16B", "I", "F"):
        dtype = {"I;16": np.uint16, "I;16B": np.uint16, "I": np.int32, "F": np.float32}[mode]
        img = Image.fromarray(rng.randint(0, 65535, (height, width)).astype(dtype))
        img = img.convert(mode) if img.mode != mode else img
    else:
        img = Image.frombytes("RGBA", (width, height), rng.randint(0, 256, width * height * 4, dtype=np.uint8).tobytes())
        img = img.convert(mode) if mode != "P" else img.convert("RGB").quantize(8)
    params = {"transparency": 0} if transparency and mode == "P" and fmt in ("PNG", "GIF") else {}
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


@st.composite
def image_files(draw):
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    mode = draw(st.sampled_from(FORMATS[fmt]))
    width = draw(st.sampled_from([1, 2, 7, 16, 33]))
    height = draw(st.sampled_from([width, width, 1, 40]))
    data = encode(fmt, mode, width, height, draw(st.integers(0, 3)), draw(st.booleans()))
    change = draw(st.sampled_from(["none", "truncate", "mutate", "header"]))
    if change == "truncate":
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif change in ("mutate", "header"):
        positions = st.integers(0, 40) if change == "header" else st.integers(0, 1 << 16)
        ops = draw(st.lists(st.tuples(st.sampled_from(["flip", "insert", "delete"]), positions,
                                      st.integers(0, 1 << 12)), min_size=1, max_size=3))
        data = mutators.mutate(data, ops)
    return fmt, mode, change, data


def _check(path):
    got, _ = result_or_one_line_error(check_image, path)
    if got is not None:
        side, mode = got
        assert isinstance(side, int) and side > 0 and isinstance(mode, str)
    image, _ = result_or_one_line_error(read_image, path, SIZE, log=_quiet)
    if image is not None:
        assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.float32, image.shape
        assert np.all(np.isfinite(image)) and image.min() >= -1 and image.max() <= 1


@fuzz_settings(max_examples=500)
@given(case=image_files())
@example(case=("PNG", "1", "mutate", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00(\x01\x00\x00\x00"
                             b"\x00\x17\xcd\xad\xda\x00\x00\x00\x01IDATx\x9cc``h```\x80\x90P\x16\x13\x82d@\x91k`b`B\xe3#"
                             b"\xd4@d\x00\x08w\x06\x8d/b\x15A\x00\x00\x00\x00IEND\xaeB`\x82"))  # PIL's SyntaxError
def test_images(tmp_path_factory, case):
    fmt, _, _, data = case
    path = tmp_path_factory.getbasetemp() / f"fuzz_image.{fmt.lower()}"
    path.write_bytes(data)
    _check(path)


@fuzz_settings(max_examples=100)
@given(data=st.binary(max_size=256), suffix=st.sampled_from([".png", ".jpg", ".bin"]))
@example(data=b"\x89PNG\r\n\x1a\n", suffix=".png")  # a PNG signature and nothing else
@example(data=b"", suffix=".png")
def test_random_bytes(tmp_path_factory, data, suffix):
    path = tmp_path_factory.getbasetemp() / f"fuzz_bytes{suffix}"
    path.write_bytes(data)
    _check(path)
