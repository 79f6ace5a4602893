"""The one image reader of the commands (inversion3d/images.py): 16-bit grayscale converted by range
(issue 20 A4), EXIF orientation applied by invert as by preprocess (A5), decompression bombs refused
from the header with one line and no PIL warning (A7)."""
import struct
import time
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from inversion3d import images
from inversion3d.app import cli, inputs, loading
from inversion3d.preprocess import pipeline


def bomb_png(path, side=10_000):
    """A ~1 KB PNG whose header declares side x side 8-bit grayscale pixels (the data is short)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
                     + chunk(b"IEND", b""))
    return path


def test_16bit_grayscale_is_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 64 * 64).round().astype(np.uint16).reshape(64, 64)
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode == "I;16"
    want = np.rint(ramp * (255 / 65535)).astype(np.uint8)
    rgb = images.read_rgb(tmp_path / "g16.png")
    np.testing.assert_array_equal(rgb, np.repeat(want[..., None], 3, -1))
    photo = pipeline.read_photo(tmp_path / "g16.png")
    np.testing.assert_array_equal(photo, rgb)  # preprocess and invert see the same pixels
    msgs = []
    x = inputs.read_image(tmp_path / "g16.png", 64, log=lambda *a, **k: msgs.append(a[0]))
    np.testing.assert_allclose(x[..., 0], want / 127.5 - 1.0, atol=1e-6)
    assert "scaled to 8 bits" in msgs[0]


def test_exif_orientation_applied_by_invert_and_preprocess(tmp_path):
    stored = np.zeros((40, 40, 3), np.uint8)
    stored[:, :10] = 255  # a white band on the left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    Image.fromarray(stored).save(tmp_path / "side.jpg", exif=exif.tobytes(), quality=100)
    upright = pipeline.read_photo(tmp_path / "side.jpg")
    assert upright[:10].mean() > 200 and upright[-10:].mean() < 50  # the band is on top once rotated
    inverted = (inputs.read_image(tmp_path / "side.jpg", 40) + 1.0) * 127.5
    np.testing.assert_allclose(inverted, upright, atol=1)


@pytest.mark.parametrize("side", [10_000, 9_000])  # above / below PIL's own warning threshold (89 MP)
def test_decompression_bomb_refused_from_the_header(tmp_path, side):
    path = bomb_png(tmp_path / "bomb.png", side)
    assert path.stat().st_size < 12_000
    start = time.time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(images.ImageError) as err:
            images.read_rgb(path)
        with pytest.raises(pipeline.PhotoRejected) as rejected:
            pipeline.read_photo(path)
    assert time.time() - start < 2
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    msg = str(err.value)
    assert msg.startswith(f"{path}: image is {side}x{side}") and "--max-pixels" in msg and "\n" not in msg
    assert "over the limit of 64 MP" in str(rejected.value)


def test_max_pixels_is_configurable(tmp_path, monkeypatch, capsys):
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "a.png")
    assert images.read_rgb(tmp_path / "a.png", max_pixels=1024).shape == (32, 32, 3)
    with pytest.raises(images.ImageError, match="32x32"):
        images.read_rgb(tmp_path / "a.png", max_pixels=1023)

    def no_load(*a, **k):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(loading, "open_generator", no_load)
    monkeypatch.setattr(loading, "open_encoders", no_load)
    code = cli.main(["invert", str(tmp_path / "a.png"), "--method", "wplus", "--generator", "default", "--camera",
                     "frontal", "--out", str(tmp_path / "out"), "--max-pixels", "1000"])
    err = capsys.readouterr().err
    assert code == 2 and "over the limit of 0.001 MP (--max-pixels)" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
