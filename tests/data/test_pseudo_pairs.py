"""On-the-fly pseudo-pairs: each pair is a function of (key, global index) only, so batches do not
depend on how they are split; cameras follow the pose distribution; the source position restores."""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from inversion3d import camera
from inversion3d.data import pseudo_pairs
from inversion3d.training.inputs import PairSource
from inversion3d.training.sharding import make_mesh, put_replicated
from tests.tolerances import assert_close_f32


def _data_cfg(resolution=16):
    return ml_collections.ConfigDict(dict(
        resolution=resolution, image_key="image", truncation_psi=0.7, truncation_cutoff=None,
        poses=dict(kind="gaussian", yaw_std=0.3, pitch_std=0.1, radius=2.7, pivot=(0.0, 0.0, 0.2), focal=4.2647)))


@pytest.fixture(scope="module")
def pairs():
    """Synthetic pairs: the same per-example drawing as the generator pairs, at no rendering cost
    (the generator path runs end to end in tests/training/test_launcher.py)."""
    fn = jax.jit(pseudo_pairs.make_synthetic_pairs(_data_cfg(resolution=4), num_ws=3, w_dim=5))
    frozen = {"synthetic": pseudo_pairs.init_synthetic(jax.random.PRNGKey(0), 3, 5, 4)}
    key = jax.random.PRNGKey(7)
    return fn(frozen, key, jnp.arange(3)), fn(frozen, key, jnp.array([2, 1, 0])), np.asarray(frozen["synthetic"]["A"])


def test_pairs_depend_on_index_only(pairs):
    a, b, mat = pairs
    assert a["image"].shape == (3, 4, 4, 3) and a["ws"].shape == (3, 3, 5) and a["c"].shape == (3, 25)
    # The same index in another batch slot: the same pair to float32 rounding (XLA may vectorise each
    # slot differently). ws: elementwise from the key; c: look-at maths on 3-vectors; image: tanh of a
    # length-15 dot product, scaled by its sum of |terms|.
    a, b = ({k: np.asarray(v) for k, v in x.items()} for x in (a, b))
    assert_close_f32(b["ws"][::-1], a["ws"], err_msg="ws")
    assert_close_f32(b["c"][::-1], a["c"], n_reduce=3, err_msg="c")
    terms = np.abs(a["ws"].reshape(3, -1)) @ np.abs(mat)
    assert_close_f32(b["image"][::-1], a["image"], n_reduce=mat.shape[0], scale=terms, err_msg="image")
    assert not np.allclose(a["ws"][0], a["ws"][1])


def test_cameras_are_orbit_poses(pairs):
    c = np.asarray(pairs[0]["c"])
    pose, _ = camera.split_label(c)
    rot = pose[:, :3, :3]
    np.testing.assert_allclose(rot @ rot.transpose(0, 2, 1), np.broadcast_to(np.eye(3), rot.shape), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(pose[:, :3, 3], axis=-1), 2.7, rtol=1e-5)
    np.testing.assert_allclose(c[:, 16:], np.tile([4.2647, 0, 0.5, 0, 4.2647, 0.5, 0, 0, 1], (3, 1)), rtol=1e-6)


def test_pose_labels_kind_draws_given_rows():
    labels = jnp.asarray(np.random.RandomState(0).randn(5, 25), jnp.float32)
    cfg = ml_collections.ConfigDict(dict(kind="labels"))
    drawn = np.stack([np.asarray(pseudo_pairs.sample_pose(jax.random.PRNGKey(i), cfg, labels)) for i in range(8)])
    assert all(any(np.array_equal(d, l) for l in np.asarray(labels)) for d in drawn)
    with pytest.raises(ValueError, match="labels"):
        pseudo_pairs.sample_pose(jax.random.PRNGKey(0), cfg, None)


def test_pair_source_state_restores_position():
    cfg = _data_cfg(resolution=4)
    fn = pseudo_pairs.make_synthetic_pairs(cfg, num_ws=2, w_dim=3)
    mesh = make_mesh(1)
    frozen = put_replicated({"synthetic": pseudo_pairs.init_synthetic(jax.random.PRNGKey(0), 2, 3, 4)}, mesh)
    src = PairSource(fn, frozen, jax.random.PRNGKey(1), 4, mesh)
    first = [np.asarray(next(src)["ws"]) for _ in range(3)]
    assert src.get_state() == {"position": 3}
    src.set_state({"position": 1})
    np.testing.assert_array_equal(np.asarray(next(src)["ws"]), first[1])
    assert float(np.abs(np.asarray(next(src)["image"])).max()) <= 1.0
