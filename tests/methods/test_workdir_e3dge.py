"""An E3DGE training workdir used for inference through the common path (methods/workdir.py,
E3DGE's `Method.export`): `inversion3d export WORKDIR --out DIR` then `load_encoder` + `make_inverter`,
and `invert --encoder WORKDIR`, give the training pipeline's own forward (methods/e3dge/pipeline.invert
on the state's networks, as `Method.visualize` runs it) on the same image.

The workdir holds the initial state saved at step 0 with every parameter and BatchNorm statistic
perturbed (no train-step compile; the local branch's zero-initialised output layer would otherwise
make it an exact no-op, hiding a wrong local-branch file). The trained variant (slow) runs the loop.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.app import cli, loading
from inversion3d.camera import generator_frontal_label, mirror_label
from inversion3d.methods import registry, workdir
from inversion3d.methods.e3dge import pipeline
from inversion3d.methods.e3dge.train import Method
from inversion3d.training import loop, sharding
from tests.methods.e3dge_train_helpers import config
from tests.methods.workdir_helpers import perturbed, save_initial
from tests.tolerances import assert_close_f32
from tests.training.helpers import apply_overrides

N_REDUCE = 16 * 9 * 4  # the encoders' longest contraction (3x3 convs over 16 channels, x4 slack)


def _config(steps):
    return config(total_steps=steps, batch_size=2, **{"checkpoint.every": max(steps, 1), "losses.lpips_weights": ""})


@pytest.fixture(scope="module", params=["init", pytest.param("trained", marks=pytest.mark.slow)])
def run(request, tmp_path_factory):
    """(workdir, the loop's build of it: state, method, frozen)."""
    path = str(tmp_path_factory.mktemp(f"e3dge_{request.param}") / "run")
    if request.param == "init":  # plain SGD: a smaller optimiser state to save and read (export ignores it)
        sgd = {f"optim.{net}.name": "sgd" for net in ("encoder", "local")}
        return path, save_initial(apply_overrides(_config(0), sgd), path, Method, perturbed)
    loop.train_and_evaluate(_config(2), path, Method)
    b = loop.build(_config(2), path, Method)  # restores the workdir's latest checkpoint
    b["ckpt"].close()
    return path, b


@pytest.fixture(scope="module")
def inputs():
    """One image (1, 32, 32, 3) in [-1, 1] at the generator's output size."""
    return jax.random.uniform(jax.random.PRNGKey(3), (1, 32, 32, 3), minval=-1.0, maxval=1.0)


def _training_forward(b, image, c, gen):
    """Method.visualize's inference: pipeline.invert on the method's own modules and the state's
    networks (latent_avg None = the generator's w_avg). Jitted as the Inverter jits its function, so
    the second compile of the same program can come from the persistent cache."""
    method, state = b["method"], sharding.fetch(b["state"])
    params = {"generator": gen.params, "psp": state.variables("encoder"), pipeline.LOCAL: state.variables("local"),
              "latent_avg": None}
    fn = functools.partial(pipeline.invert, method.gen_cfg, method.encoder, method.input_size, method.local)
    return jax.jit(fn)(params, image, c)


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    """(the run, its generator, the Encoder read from the workdir, the Encoder of `inversion3d export`'s dir)."""
    path, _ = run
    r = workdir.read_run(path)
    trainer = workdir.method(r)
    dst = str(tmp_path_factory.mktemp("e3dge_export") / "exported")
    assert cli.main(["export", path, "--out", dst]) == 0
    return r, workdir.generator(r, trainer), workdir.encoders(r, "e3dge", trainer)[0], \
        loading.open_encoders("e3dge", [dst])[0]


def test_export_equals_workdir_equals_training_forward(run, exported, inputs):
    _, b = run
    r, gen, from_dir, from_file = exported
    assert r.step == int(b["state"].step)
    assert from_file.kind == "e3dge" and from_file.configs == from_dir.configs and from_file.latent_avg is None
    assert sorted(from_file.networks) == ["e3dge_local", "psp"]
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(from_file.variables),  # the same arrays
                 jax.device_get(from_dir.variables))
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(gen.params), jax.device_get(b["frozen"]["generator"]))
    c = jnp.asarray(generator_frontal_label(gen))[None]
    got = registry.make_inverter("e3dge", gen, [from_file])(inputs, c)
    want = _training_forward(b, inputs, c, gen)
    assert_close_f32(got["ws"], want["ws"], N_REDUCE)
    assert_close_f32(got["planes"], want["planes"], N_REDUCE * 4, scale=float(np.max(np.abs(want["planes"]))))
    assert_close_f32(got["image"], want["image"], N_REDUCE * 4)
    assert float(np.max(np.abs(want["image"] - want["image_global"]))) > 1e-3  # the local branch is not a no-op


@pytest.mark.slow  # compiles the per-view re-alignment (lax.map over views) twice, ~1 min on 2 cores
def test_exported_views_equal_the_training_views(run, exported, inputs):
    """Inverter.views (local features re-aligned per view) of the exported file == pipeline.views on the
    method's own modules and the state's networks (Method.visualize's novel view)."""
    _, b = run
    _, gen, _, from_file = exported
    method, state = b["method"], sharding.fetch(b["state"])
    c = jnp.asarray(generator_frontal_label(gen))[None]
    cams = jnp.stack([mirror_label(c), c])
    got = registry.make_inverter("e3dge", gen, [from_file]).views(inputs, c, cams)
    params = {"generator": gen.params, "psp": state.variables("encoder"), pipeline.LOCAL: state.variables("local"),
              "latent_avg": None}
    fn = functools.partial(pipeline.views, method.gen_cfg, method.encoder, method.input_size, method.local)
    want = jax.jit(fn)(params, inputs, c, cams)
    assert got["image"].shape == (2, 1) + tuple(want["image"].shape[2:])
    assert_close_f32(got["image"], want["image"], N_REDUCE * 4)


def test_workdir_errors_are_one_line(exported):
    with pytest.raises(ValueError, match="e3dge run, which `invert` runs as --method e3dge, got psp"):
        workdir.check_serves(exported[0], "psp")
