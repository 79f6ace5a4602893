"""The GAN monitor's diversity numbers (Method.diversity, configs/eg3d_gan.py at test size) and the
z_dim choice they led to: the tiny run of session 5 collapsed because its generator carried its
variety in the conditioning camera instead of z (cond_std > seed_std), which fid_random could not see.

Facts: a generator whose mapping ignores z has seed_std 0 and cond_std > 0; one whose mapping ignores
the camera has cond_std 0 and seed_std > 0 (both exact up to float32 rounding: the rows of the batch
are the same computation)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import eg3d_gan
from inversion3d.generators import eg3d
from inversion3d.methods.eg3d_gan.train import Method
from tests.methods.gan_helpers import config
from tests.tolerances import f32_tol

N = 4


@pytest.fixture(scope="module")
def setup():
    method = Method(config("unused"))
    # the generator part of method.init_variables (its G init: eg3d.init_variables with the method's
    # gen_key), without the discriminator's eager init, which these tests never read
    init = eg3d.init_variables(method.cfg, method.gen_key)
    gen = {"params": init["params"], "batch_stats": init["buffers"]}
    z = jax.random.normal(jax.random.PRNGKey(1), (N, method.cfg.z_dim))
    yaw = (np.pi / 2 + np.linspace(-0.4, 0.4, N)).astype(np.float32)
    c = jnp.asarray(method.rig.labels(yaw, np.full(N, np.pi / 2, np.float32)))
    return method, jax.jit(method.diversity), gen, z, c


def _with_mapping(params, **changes):
    mapping = dict(params["backbone"]["mapping"])
    for name, fn in changes.items():
        mapping[name] = {k: fn(k, v) for k, v in mapping[name].items()}
    return {**params, "backbone": {**params["backbone"], "mapping": mapping}}


def test_mapping_without_z_has_no_seed_spread(setup):
    method, div, gen, z, c = setup
    zd = method.cfg.z_dim  # fc0 sees [normalised z, normalised embed(c)]: zero the z rows
    params = _with_mapping(gen["params"], fc0=lambda k, v: v.at[:zd].set(0.0) if k == "weight" else v)
    out = div(params, gen["batch_stats"], z, c)
    for key in ("seed_std", "seed_depth_std"):
        assert float(out[key]) <= f32_tol(3.3, 512), key  # images within a few units, depths <= ray_end
    assert float(out["cond_std"]) > 1e-3 and float(out["cond_depth_std"]) > f32_tol(3.3, 512)


def test_mapping_without_camera_has_no_cond_spread(setup):
    method, div, gen, z, c = setup
    params = _with_mapping(gen["params"], embed=lambda k, v: jnp.zeros_like(v))
    out = div(params, gen["batch_stats"], z, c)
    for key in ("cond_std", "cond_depth_std"):
        assert float(out[key]) <= f32_tol(3.3, 512), key
    assert float(out["seed_std"]) > 1e-3 and float(out["seed_depth_std"]) > f32_tol(3.3, 512)


def test_diversity_rejects_mismatched_cameras(setup):
    method, _, gen, z, c = setup
    with pytest.raises(ValueError, match="c_cond"):
        method.diversity(gen["params"], gen["batch_stats"], z, c[:2])


def test_config_z_not_outweighed_by_camera_embedding():
    kwargs = eg3d_gan.get_config().generator.init_kwargs
    embed = kwargs.get("mapping_kwargs", {}).get("embed_features") or kwargs.w_dim
    assert kwargs.z_dim >= embed  # official 512 / 512; 64 / 512 collapsed into the camera (module doc)
