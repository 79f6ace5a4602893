"""The Dual Encoder's occlusion-aware tri-plane discriminator (paper Table 6, encoders.md §6):
parameter count by hand from the table, the forward pass against a numpy reference of the table,
masking, BatchNorm state, bad input."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inversion3d.discriminators.triplane import ImageDiscriminator, TriplaneDiscriminator, occlusion_masked
from tests.encoders.recipe import random_variables
from tests.tolerances import f32_tol

R, C, D = 8, 96, 3  # tiny resolution; PanoHead's 3 x 96 = 288 channels (32 features x 3 slices)
WIDTHS = (4, 8, 8, 16)  # tiny widths for the forward tests
# normalised activations (scale ~1) through contractions of at most 9 x 288 terms
TOL = dict(atol=f32_tol(1.0, n_reduce=9 * 288, ulps=8), rtol=1e-5)


def _count(tree):
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def test_table6_parameter_count_by_hand():
    """Conv weights in * out * 3 * 3 (no biases), BatchNorm weight + bias per channel; running mean /
    var are state, not parameters."""
    convs = 288 * 64 * 9 + 64 * 128 * 9 + 128 * 256 * 9 + 256 * 512 * 9 + 512 * 1 * 9
    assert convs == 1_718_784
    bn = 2 * (128 + 256 + 512)
    planes = jax.ShapeDtypeStruct((1, 3, 256, 256, 96), jnp.float32)
    shapes = jax.eval_shape(TriplaneDiscriminator().init, jax.random.PRNGKey(0), planes)
    assert _count(shapes["params"]) == convs + bn == 1_720_576
    assert _count(shapes["batch_stats"]) == bn
    assert not any("bias" in str(k) and "bn" not in str(k) for k in jax.tree_util.tree_flatten_with_path(
        shapes["params"])[0])
    image = jax.ShapeDtypeStruct((1, 256, 256, 3), jnp.float32)
    image_shapes = jax.eval_shape(ImageDiscriminator().init, jax.random.PRNGKey(0), image)
    assert _count(image_shapes["params"]) == convs - 288 * 64 * 9 + 3 * 64 * 9 + bn  # only conv0's input differs


def _np_forward(params, stats, x, train):
    """Table 6 in numpy: NHWC convs (zero padding), torch BatchNorm, LeakyReLU 0.2, mean."""
    def conv(x, w, pad):
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        h, wd = x.shape[1] - 2, x.shape[2] - 2
        return sum(np.einsum("nhwi,io->nhwo", x[:, i:i + h, j:j + wd], w[i, j]) for i in range(3) for j in range(3))

    lrelu = lambda v: np.where(v >= 0, v, 0.2 * v)
    net = params["net"]
    x = lrelu(conv(x, np.asarray(net["conv0"]["weight"], np.float64), 1))
    for i in (1, 2, 3):
        x = conv(x, np.asarray(net[f"conv{i}"]["weight"], np.float64), 1)
        bn = net[f"bn{i}"]
        if train:
            mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
        else:
            running = stats["net"][f"bn{i}"]
            mean, var = np.asarray(running["running_mean"]), np.asarray(running["running_var"])
        x = lrelu((x - mean) / np.sqrt(var + 1e-5) * np.asarray(bn["weight"]) + np.asarray(bn["bias"]))
    return conv(x, np.asarray(net["conv4"]["weight"], np.float64), 0).mean(axis=(1, 2))


@pytest.fixture(scope="module")
def case():
    module = TriplaneDiscriminator(resolution=R, widths=WIDTHS)
    rng = np.random.default_rng(0)
    planes = rng.standard_normal((3, 3, R, R, C)).astype(np.float32)
    occluded = (rng.uniform(size=(3, 3, D, R, R)) > 0.5).astype(np.float32)
    variables = random_variables(jax.eval_shape(module.init, jax.random.PRNGKey(0), planes, occluded), seed=1)
    variables = dict(variables, batch_stats=jax.tree.map(lambda v: jnp.abs(v) + 0.5, variables["batch_stats"]))
    train = jax.jit(lambda v, p, o: module.apply(v, p, o, train=True, mutable=["batch_stats"]))
    infer = jax.jit(lambda v, p, o: module.apply(v, p, o))
    return module, variables, planes, occluded, train, infer


def test_forward_matches_the_table(case):
    _, variables, planes, occluded, train, infer = case
    x = np.asarray(occlusion_masked(planes, occluded), np.float64)
    out, updates = train(variables, planes, occluded)
    assert out.shape == (3, 1)
    np.testing.assert_allclose(out, _np_forward(variables["params"], None, x, True), **TOL)
    np.testing.assert_allclose(infer(variables, planes, occluded),
                               _np_forward(variables["params"], variables["batch_stats"], x, False), **TOL)
    # the running statistics move (momentum 0.1) in training mode only; the inference output ignores the batch
    moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), updates["batch_stats"], variables["batch_stats"])
    assert min(jax.tree.leaves(moved)) > 0
    np.testing.assert_allclose(infer(variables, planes[:1], occluded[:1]), infer(variables, planes, occluded)[:1],
                               **TOL)


def test_visible_cells_are_ignored(case):
    _, variables, planes, occluded, _, infer = case
    visible = np.tile((1.0 - occluded).transpose(0, 1, 3, 4, 2), (1, 1, 1, 1, C // D))  # channel c*D + d -> slice d
    changed = planes + 5.0 * visible
    np.testing.assert_allclose(infer(variables, changed, occluded), infer(variables, planes, occluded), **TOL)
    grad = np.asarray(jax.grad(lambda p: infer(variables, p, occluded).sum())(jnp.asarray(planes)))
    assert np.all(grad[visible.astype(bool)] == 0) and np.abs(grad[~visible.astype(bool)]).max() > 0


def test_masking_order_matches_the_288_channel_layout():
    planes = np.random.default_rng(2).standard_normal((1, 3, 4, 4, 96)).astype(np.float32)
    occ = np.ones((1, 3, 3, 4, 4), np.float32)
    occ[0, 1] = 0.0  # plane 1 fully visible -> its 96 channels vanish
    occ[0, 2, 1] = 0.0  # plane 2, depth slice 1 visible -> its channels c*3 + 1 vanish
    x = np.asarray(occlusion_masked(planes, occ))
    assert x.shape == (1, 4, 4, 288)
    assert np.all(x[..., 96:192] == 0)
    np.testing.assert_array_equal(x[..., :96], planes[0, 0][None])
    assert np.all(x[..., 192 + 1::3] == 0) and np.all(x[..., 192::3] == planes[:, 2, :, :, 0::3])


def test_image_discriminator_takes_3_channels():
    module = ImageDiscriminator(resolution=R, widths=WIDTHS)
    images = np.random.default_rng(3).uniform(-1, 1, (2, R, R, 3)).astype(np.float32)
    variables = module.init(jax.random.PRNGKey(0), images)
    assert variables["params"]["net"]["conv0"]["weight"].shape == (3, 3, 3, WIDTHS[0])
    assert module.apply(variables, images).shape == (2, 1)


def test_bad_inputs(case):
    module, variables, planes, occluded, _, _ = case
    with pytest.raises(ValueError, match="planes: expected"):
        module.apply(variables, planes[:, :, :4, :4], None)
    with pytest.raises(ValueError, match="occluded: expected"):
        module.apply(variables, planes, occluded[:, :2])
    with pytest.raises(ValueError, match="images: expected"):
        ImageDiscriminator(resolution=R).init(jax.random.PRNGKey(0), planes[:, 0])
