"""float32 tolerances for results XLA may compute in another order (README: "Which equalities are exact").

XLA promises bit-equality only when the same compiled program runs on the same inputs on the same
machine. Move an example to another batch slot, change the batch size, a shape, the chunking, the
device count, jit vs eager, fusion, the thread count or the CPU's instruction set, and a reduction
of n terms may be summed in another order (vector width, tiling, tail loops, per-thread blocks) or
a multiply-add may become one FMA. Such results agree only to rounding error.

Bound (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., §3.1 and eq. (4.4)): any
order of summing n float32 terms, or of a length-n dot product, gives |s_hat - s| <= gamma_n S with
S = sum |x_i| and gamma_n = n u / (1 - n u), u = 2^-24 (half an ulp of 1). Two orders therefore differ
by at most 2 gamma_n S ~= n eps S, eps = 2^-23 (one ulp of 1). `f32_tol` returns
ulps * eps * n_reduce * scale:
  n_reduce: the longest reduction (contraction) behind an output element. For a network this is the
    longest single contraction, not the sum over layers: the worst-case factor n already exceeds the
    sqrt(n) growth rounding errors show in practice by sqrt(n), which covers the accumulation over a
    few tens of layers;
  scale: S for the worst element; max |ref| when the terms do not cancel much (activations,
    normalised features), or a known bound on S;
  ulps (default 4): the roundings around the reductions (bias adds, activations, normalisation,
    resampling), each within an ulp or two of the result.
"""
import numpy as np

EPS32 = float(np.finfo(np.float32).eps)  # 2^-23: one ulp of 1.0 in float32


def f32_tol(scale, n_reduce=1, ulps=4):
    """Absolute tolerance ulps * eps * n_reduce * scale (module docstring); `scale` may be an array
    (its max |.| is used)."""
    scale = float(np.max(np.abs(np.asarray(scale, np.float64))))
    return ulps * EPS32 * max(int(n_reduce), 1) * scale


def assert_close_f32(actual, desired, n_reduce=1, scale=None, ulps=4, err_msg=""):
    """assert_allclose(actual, desired, rtol=0, atol=f32_tol(scale, n_reduce, ulps)) with scale
    defaulting to max |desired|: the two agree to float32 rounding of one computation done in two
    orders. Shapes must match exactly."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    assert actual.shape == desired.shape, (actual.shape, desired.shape, err_msg)
    atol = f32_tol(desired if scale is None else scale, n_reduce, ulps)
    np.testing.assert_allclose(actual, desired, rtol=0, atol=atol, err_msg=err_msg)
