"""W directions (editing/directions.py, app/edit.read_direction): a synthetic attribute injected into
generator samples is recovered, released file layouts load, and applying strength 0 is the identity."""
import os

import numpy as np
import pytest

from inversion3d import camera
from inversion3d.app import loading
from inversion3d.app.edit import read_direction
from inversion3d.editing import directions

RECOVERY_COSINE = 0.95  # measured 0.972 (2000 samples, top / bottom 10 %, 500 Adam steps)


@pytest.fixture(scope="module")
def samples():
    # the random-weight tiny EG3D (configs/tiny_eg3d.py), not the shipped `default`: the recovery fact is about
    # the trainer, and a fixed generator keeps its w distribution (so the measured cosine) from changing with
    # every re-shipped default (the trained v3 default's more structured w gives 0.923)
    gen = loading.open_generator(os.path.join(loading.CONFIG_DIR, "tiny_eg3d.py"))
    c = np.repeat(camera.generator_frontal_label(gen)[None], 2000, 0)
    z = np.random.RandomState(0).randn(2000, gen.config.z_dim).astype(np.float32)
    return np.asarray(gen.mapping(z, c, 0.7, 14))  # (2000, 14, 512)


def test_synthetic_direction_is_recovered(samples):
    rng = np.random.RandomState(1)
    n = rng.randn(512)
    n /= np.linalg.norm(n)
    score = rng.randn(len(samples))  # the attribute: a known amount along n in every row of w+
    ws = samples + score[:, None, None] * n
    x, y = directions.select_labelled(directions.latent_rows(ws), score, chosen_ratio=0.1)
    assert x.shape == (400, 512) and y.sum() == 200
    fit = directions.train_boundary(x, y)
    assert fit["losses"][-1] < 0.1 * fit["losses"][0]
    assert float(fit["normal"] @ n) >= RECOVERY_COSINE
    assert fit["val_accuracy"] == 1.0
    np.testing.assert_allclose(np.linalg.norm(fit["normal"]), 1.0, rtol=1e-6)


@pytest.mark.parametrize("shape", [(512,), (1, 512), (14, 512), (1, 14, 512)])
def test_released_npy_layouts_load(tmp_path, shape):
    rng = np.random.RandomState(2)
    arr = rng.randn(*shape).astype(np.float32)
    np.save(tmp_path / "d.npy", arr)
    got = directions.as_layers(read_direction(str(tmp_path / "d.npy")), 14, 512)
    assert got.shape == (14, 512)
    rows = arr.reshape(-1, 512)
    np.testing.assert_array_equal(got, np.repeat(rows, 14, 0) if len(rows) == 1 else rows)


def test_torch_zip_direction_loads(tmp_path):
    """GOAE's cat_*.npy are torch.save archives (1, 14, 512), nonzero in rows 4-13 only (§1.1)."""
    torch = pytest.importorskip("torch")
    arr = directions.layered(np.random.RandomState(3).randn(512), 14, range(4, 14), scale=7.0)
    torch.save(torch.tensor(arr), tmp_path / "cat_black.npy")
    got = directions.as_layers(read_direction(str(tmp_path / "cat_black.npy")), 14, 512)
    np.testing.assert_array_equal(got, arr[0])
    assert not got[:4].any()


def test_layout_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match=r"direction: shape \(3, 512\) does not fit"):
        directions.as_layers(np.zeros((3, 512)), 14, 512)
    with pytest.raises(ValueError, match="NaN or Inf"):
        directions.as_layers(np.full(512, np.nan), 14, 512)
    with pytest.raises(ValueError, match="--layers: rows must lie in 0..13"):
        directions.parse_layers("4-14", 14)


def test_apply_strength_zero_is_identity_and_layers_restrict():
    rng = np.random.RandomState(4)
    ws = rng.randn(2, 14, 512).astype(np.float32)
    d = directions.restrict(directions.as_layers(rng.randn(512), 14, 512), directions.parse_layers("4-5", 14))
    np.testing.assert_array_equal(directions.apply(ws, d, 0.0), ws)
    out = np.asarray(directions.apply(ws, d, np.array([1.0, -2.0])))
    np.testing.assert_array_equal(out[:, :4], ws[:, :4])
    np.testing.assert_array_equal(out[:, 6:], ws[:, 6:])
    np.testing.assert_allclose(out[1, 4:6] - ws[1, 4:6], -2.0 * d[4:6], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(directions.parse_strengths("-3:3:7"), [-3, -2, -1, 0, 1, 2, 3])
    np.testing.assert_allclose(directions.parse_strengths("2.2"), [2.2])
    glass = np.ones((14, 512), np.float32)  # GOAE infer.py: attributes other than glass minus 0.8 glass
    np.testing.assert_allclose(directions.goae_corrected(d, glass, "age"), d - 0.8, rtol=1e-6)
    np.testing.assert_array_equal(directions.goae_corrected(d, glass, "glass"), d)
