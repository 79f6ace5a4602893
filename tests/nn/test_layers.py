"""Torch-semantics building blocks (inversion3d/nn/layers.py) against numpy references."""
import numpy as np

from inversion3d.nn.layers import BatchNorm, pixel_shuffle


def test_batchnorm_train_and_eval():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5, 6)).astype(np.float32) * 2 + 1
    bn = BatchNorm()
    params = {"weight": np.float32([1.0, 2.0, 0.5, 1.5, 1.0, 1.0]), "bias": np.full(6, 0.1, np.float32)}
    stats = {"running_mean": np.full(6, 0.5, np.float32), "running_var": np.full(6, 2.0, np.float32)}
    variables = {"params": params, "batch_stats": stats}
    y, state = bn.apply(variables, x, False, mutable=["batch_stats"])
    mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
    w, b = variables["params"]["weight"], variables["params"]["bias"]
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5) * w + b, rtol=1e-5, atol=1e-5)
    n = x.size // 6  # torch updates running_var with the unbiased variance
    np.testing.assert_allclose(state["batch_stats"]["running_mean"], 0.9 * 0.5 + 0.1 * mean, rtol=1e-6)
    np.testing.assert_allclose(state["batch_stats"]["running_var"], 0.9 * 2.0 + 0.1 * var * n / (n - 1), rtol=1e-5)
    y_eval = bn.apply(variables, x, True)
    np.testing.assert_allclose(y_eval, (x - 0.5) / np.sqrt(2.0 + 1e-5) * w + b, rtol=1e-5, atol=1e-5)


def test_pixel_shuffle_matches_torch_order():
    r, c = 2, 3
    x = np.arange(1 * 2 * 2 * c * r * r, dtype=np.float32).reshape(1, 2, 2, c * r * r)
    y = np.asarray(pixel_shuffle(x, r))
    ref = np.zeros((1, 4, 4, c), np.float32)
    for h in range(2):
        for w in range(2):
            for ch in range(c):
                for i in range(r):
                    for j in range(r):
                        ref[0, h * r + i, w * r + j, ch] = x[0, h, w, ch * r * r + i * r + j]
    np.testing.assert_array_equal(y, ref)
