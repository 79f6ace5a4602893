"""A Dual Encoder training workdir used for inference (methods/workdir.py, the Dual `Method.export`):
`inversion3d export WORKDIR --out DIR` writes E1 and E2 as DIR/e1, DIR/e2 with their roles recorded as
`convert --role` records them; `invert --method dual --encoder WORKDIR` takes both from the one run;
either gives the training pipeline's own stitched forward (methods/dual/pipeline.invert on the state's
E1 / E2, as `Method.visualize` runs it) on the same image.

The workdir holds the initial state saved at step 0 with every parameter and BatchNorm statistic
perturbed (no train-step compile: the Dual step compiles for minutes on 2 cores); the trained
variant runs the loop for one step. The whole file is `slow` (make test-slow): building the tiny
PanoHead Dual workdir alone takes ~100 s on a cold 2-core CI machine, past make test's budget.
"""
import functools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from inversion3d.app import cli, loading
from inversion3d.camera import generator_frontal_label
from inversion3d.encoders_api import load_encoder
from inversion3d.inversion import visibility
from inversion3d.methods import registry, workdir
from inversion3d.methods.dual import pipeline
from inversion3d.methods.dual.train import ENCODERS, Method, split_net
from inversion3d.training import loop, sharding
from tests.methods.dual_train_helpers import config
from tests.methods.workdir_helpers import perturbed, save_initial
from tests.tolerances import assert_close_f32
from tests.training.helpers import apply_overrides

pytestmark = pytest.mark.slow

N_REDUCE = 16 * 9 * 4  # the encoders' longest contraction (3x3 convs over 16 channels, x4 slack)


def _config(steps):
    return config(total_steps=steps, batch_size=2, **{"checkpoint.every": max(steps, 1), "losses.lpips_weights": "",
                                                     "data.synthetic_ratio": 0.0})


@pytest.fixture(scope="module", params=["init", pytest.param("trained", marks=pytest.mark.slow)])
def run(request, tmp_path_factory):
    """(workdir, the loop's build of it: state, method, frozen)."""
    path = str(tmp_path_factory.mktemp(f"dual_{request.param}") / "run")
    if request.param == "init":  # plain SGD: a smaller optimiser state to save and read (export ignores it)
        sgd = {f"optim.{net}.name": "sgd" for net in ("e1", "e2", "discriminator")}
        return path, save_initial(apply_overrides(_config(0), sgd), path, Method, perturbed)
    loop.train_and_evaluate(_config(1), path, Method)
    b = loop.build(_config(1), path, Method)  # restores the workdir's latest checkpoint
    b["ckpt"].close()
    return path, b


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    """(the run, its generator, [E1, E2] read from the workdir, the `inversion3d export` directory)."""
    path, _ = run
    r = workdir.read_run(path)
    trainer = workdir.method(r)
    dst = str(tmp_path_factory.mktemp("dual_export") / "exported")
    assert cli.main(["export", path, "--out", dst]) == 0
    return r, workdir.generator(r, trainer), workdir.encoders(r, "dual", trainer), dst


def _training_forward(b, gen, image, c):
    """Method.visualize's stitched inference on the method's own modules and the state's E1 / E2, jitted
    as the Inverter jits its function (the same program: its second compile can be a cache hit)."""
    method, state = b["method"], sharding.fetch(b["state"])
    params = {"generator": gen.params}
    for name in ENCODERS:
        v = split_net(state.variables(name))
        params[name] = {"psp": v["psp"], "triplanenet": v["triplanenet"], "latent_avg": None}
    mods = (method.psp, method.psp_size, method.tri)
    return jax.jit(functools.partial(pipeline.invert, method.gen_cfg, mods, mods, sigma=method.sigma))(params, image, c)


def test_export_writes_e1_and_e2_with_their_roles(exported):
    r, _, from_dir, dst = exported
    assert sorted(os.listdir(dst)) == ["e1", "e2"]
    for role, enc in zip(("e1", "e2"), from_dir):
        with open(os.path.join(dst, role, "inversion3d.json"), encoding="utf-8") as f:
            meta = json.load(f)
        assert (meta["kind"], meta["role"], meta["trained_by"], meta["step"]) == ("triplanenet", role, "dual", r.step)
        assert sorted(meta["networks"]) == ["psp", "triplanenet"]
        from_file = load_encoder(os.path.join(dst, role))
        assert (from_file.role, enc.role) == (role, role) and from_file.configs == enc.configs
        jax.tree.map(np.testing.assert_array_equal, jax.device_get(from_file.variables),  # the same arrays
                     jax.device_get(enc.variables))
    e1, e2 = (jax.device_get(e.variables["psp"]["params"]) for e in from_dir)
    assert any(not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(e1), jax.tree.leaves(e2)))  # two nets


def test_export_inverts_like_the_training_forward(run, exported):
    _, b = run
    _, gen, _, dst = exported
    assert gen.kind == "panohead" and b["method"].sigma == visibility.DEFAULT_SIGMA
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(gen.params), jax.device_get(b["frozen"]["generator"]))
    image = jax.random.uniform(jax.random.PRNGKey(3), (1, 32, 32, 3), minval=-1.0, maxval=1.0)
    c = jnp.asarray(generator_frontal_label(gen))[None]
    encoders = loading.open_encoders("dual", [os.path.join(dst, "e1"), os.path.join(dst, "e2")])
    got = registry.make_inverter("dual", gen, encoders)(image, c)
    want = _training_forward(b, gen, image, c)
    scale = float(np.max(np.abs(want["planes"])))
    assert_close_f32(got["ws"], want["ws"], N_REDUCE)
    assert_close_f32(got["planes"], want["planes"], N_REDUCE * 4, scale=scale)
    assert_close_f32(got["mask"], want["mask"], N_REDUCE * 4)
    assert_close_f32(got["image"], want["image"], N_REDUCE * 4, scale=float(np.max(np.abs(want["image"]))))
    m = np.asarray(want["mask"])
    assert 0.0 < m.mean() < 1.0  # both encoders contribute to the stitched tri-grid


def test_swapped_files_and_flags_are_one_line_errors(exported, tmp_path):
    r, gen, _, dst = exported
    swapped = loading.open_encoders("dual", [os.path.join(dst, "e2"), os.path.join(dst, "e1")])
    with pytest.raises(ValueError, match="was converted as E2 .*swap the two files"):
        registry.make_inverter("dual", gen, swapped)
    with pytest.raises(ValueError, match="dual run, which `invert` runs as --method dual, got triplanenet"):
        workdir.check_serves(r, "triplanenet")
    png = tmp_path / "face.png"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(png)
    args = ["invert", str(png), "--method", "dual", "--encoder", r.workdir, "--camera", "frontal", "--out",
            str(tmp_path / "o")]
    assert cli.main(args + ["--encoder2", os.path.join(dst, "e2")]) == 2  # the workdir holds E2 already
    assert cli.main(args[:5] + [os.path.join(dst, "e1")] + args[6:] + ["--generator", "default-panohead"]) == 2


@pytest.mark.slow  # compiles the invert command's stitched forward and novel views (~minutes on 2 cores)
def test_invert_cli_from_workdir_matches_training_forward(run, tmp_path):
    """`invert --method dual --encoder WORKDIR` (no --encoder2, no --generator): E1 and E2 of the run."""
    path, b = run
    gen = workdir.generator(workdir.read_run(path))
    size = gen.config.img_resolution  # the Dual input size: the image is read back unresized
    png = tmp_path / "face.png"
    pixels = np.asarray(jax.random.randint(jax.random.PRNGKey(4), (size, size, 3), 0, 256), np.uint8)
    Image.fromarray(pixels).save(png)
    out = tmp_path / "out"
    assert cli.main(["invert", str(png), "--method", "dual", "--encoder", path, "--camera", "frontal",
                     "--out", str(out), "--views", "1"]) == 0
    saved = np.load(out / "face.npz")
    assert str(saved["generator_kind"]) == "panohead"
    image = jnp.asarray(pixels, jnp.float32)[None] / 127.5 - 1
    want = _training_forward(b, gen, image, jnp.asarray(generator_frontal_label(gen))[None])
    assert_close_f32(saved["ws"], want["ws"][0], N_REDUCE)
    assert_close_f32(saved["planes"], want["planes"][0], N_REDUCE * 4, scale=float(np.max(np.abs(want["planes"]))))
