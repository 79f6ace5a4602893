"""load_encoder refuses an official encoder file whose weights hold NaN / Inf (issue 20 A12), in one line."""
import numpy as np
import pytest

from inversion3d import load_encoder
from tests.converters import pickle_writer as pw
from tests.inversion import synthetic as syn


def test_nan_weights_in_an_official_encoder_file_are_refused(tmp_path):
    _, sd = syn.official_state_dict("afa", syn.afa_config())
    key = next(k for k, v in sd.items() if v.dtype.kind == "f" and v.size > 1)
    sd[key] = np.full_like(sd[key], np.nan)
    path = tmp_path / "afa_nan.pth"
    pw.write_zip_pth(path, sd)
    with pytest.raises(ValueError, match=rf"tensor {key} is all NaN/Inf") as err:
        load_encoder(path, kind="goae")
    assert "\n" not in str(err.value)
    clean = tmp_path / "afa.pth"
    _, sd = syn.official_state_dict("afa", syn.afa_config())
    pw.write_zip_pth(clean, sd)
    assert load_encoder(clean, kind="goae").kind == "goae"
