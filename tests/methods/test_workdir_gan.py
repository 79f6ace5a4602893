"""`inversion3d export WORKDIR --out DIR` of a GAN run of the generator (methods/workdir.export_generator):
DIR holds the run's G_ema (not G) with the generator buffers, in the layout `convert` writes, and
`load_generator(DIR)` renders what the workdir's G_ema renders; `--encoder WORKDIR` refuses the run.

The workdir is the loop's initial state of the test-size GAN config (tests/methods/gan_helpers.py) with
G, G_ema and the buffers moved apart (no train step: no step compile), saved as its step-0 checkpoint.
"""
import pathlib

import jax
import numpy as np
import pytest

from converters.orbax_io import read_meta
from inversion3d.api import load_generator
from inversion3d.app import cli
from inversion3d.camera import generator_frontal_label
from inversion3d.methods import registry, workdir
from tests.methods.gan_helpers import config, make_folder
from tests.methods.workdir_helpers import save_initial
from tests.tolerances import assert_close_f32


def _moved(state):
    """G_ema = G + noise, buffers (w_avg ...) + noise: every exported array differs from G and from init."""
    rs = np.random.default_rng(5)

    def move(x):
        host = np.asarray(jax.device_get(x))
        return jax.device_put((host + 0.05 * rs.standard_normal(host.shape)).astype(host.dtype), x.sharding)

    ema = dict(state.ema_params, generator=jax.tree.map(move, state.params["generator"]))
    stats = dict(state.batch_stats, generator=jax.tree.map(move, state.batch_stats["generator"]))
    return state.replace(ema_params=ema, batch_stats=stats)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(workdir, the saved build, export directory)."""
    root = tmp_path_factory.mktemp("gan_export")
    (root / "data").mkdir()
    folder = make_folder(root / "data", n=4)
    cfg = config(folder, total_steps=0, **{"checkpoint.every": 1, "mesh.num_devices": 1})
    path = str(root / "run")
    b = save_initial(cfg, path, registry.trainer("eg3d_gan"), transform=_moved)
    out = str(root / "export")
    assert cli.main(["export", path, "--out", out]) == 0
    return path, b, out


def _flat(tree):
    return {jax.tree_util.keystr(k): np.asarray(v) for k, v in jax.tree_util.tree_leaves_with_path(tree)}


def test_export_holds_g_ema_and_buffers_exactly(run):
    _, b, out = run
    gen = load_generator(out)
    want = {"params": b["state"].ema_params["generator"], "buffers": b["state"].batch_stats["generator"]}
    got, ref = _flat(gen.params), _flat(want)
    assert sorted(got) == sorted(ref)
    for key in ref:
        np.testing.assert_array_equal(got[key], ref[key], err_msg=key)
    g = _flat(b["state"].params["generator"])
    assert not np.array_equal(got["['params']" + next(iter(g))], g[next(iter(g))])  # G_ema, not G
    meta = read_meta(out)
    assert (meta["kind"], meta["network"], meta["trained_by"], meta["step"]) == ("eg3d", "G_ema", "eg3d_gan", 0)
    assert gen.config == b["method"].cfg  # the rendering settings the run trained with


def test_bfloat16_storage_rounds_every_float_and_halves_the_size(run, tmp_path):
    """export --storage bfloat16: the arrays come back as float32 equal to the bfloat16 rounding of the
    exported ones (integers untouched), the files take about half the bytes; a bad storage is one line."""
    import ml_dtypes

    from converters.orbax_io import read_converted

    path, _, out = run
    half = str(tmp_path / "bf16")
    assert cli.main(["export", path, "--out", half, "--storage", "bfloat16"]) == 0
    meta, got = read_converted(half)
    assert meta["storage"] == "bfloat16" and "storage" not in read_meta(out)
    want = read_converted(out)[1]
    got, want = _flat(got), _flat(want)
    assert sorted(got) == sorted(want)
    for key, ref in want.items():
        assert got[key].dtype == ref.dtype, key
        rounded = ref.astype(ml_dtypes.bfloat16).astype(np.float32) if ref.dtype == np.float32 else ref
        np.testing.assert_array_equal(got[key], rounded, err_msg=key)

    def size(d):
        return sum(p.stat().st_size for p in pathlib.Path(d).rglob("*") if p.is_file())

    assert size(half) < 0.6 * size(out)
    assert cli.main(["export", path, "--out", str(tmp_path / "x"), "--storage", "float16"]) == 2


def test_render_of_export_equals_workdir_g_ema(run):
    _, b, out = run
    gen = load_generator(out)
    ref = load_generator(out)
    ref.params = {"params": b["state"].ema_params["generator"], "buffers": b["state"].batch_stats["generator"]}
    ref._mapping, ref._synthesis = gen._mapping, gen._synthesis  # one compile: the same program, other arrays
    z = np.random.RandomState(0).randn(2, gen.config.z_dim).astype(np.float32)
    c = np.repeat(generator_frontal_label(gen)[None], 2, axis=0)
    got = gen.synthesis(gen.mapping(z, c, 0.7), c)
    want = ref.synthesis(ref.mapping(z, c, 0.7), c)
    for key in ("image", "image_depth"):
        assert_close_f32(np.asarray(got[key]), np.asarray(want[key]), err_msg=key)


def test_encoder_workdir_refuses_gan_run(run):
    path, _, _ = run
    with pytest.raises(ValueError, match="trains a generator, not an encoder"):
        workdir.read_run(path)
