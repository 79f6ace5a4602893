"""Modulated (style-scaled, demodulated) 2-D convolution of StyleGAN2 layers (eg3d.md §3.3), NHWC/HWIO.

Differentiation. XLA:CPU computes some kernel gradients 10-100x slower than the forward conv:
the per-sample kernels of the fused path (a weight-gradient conv per sample in the transpose of
`lax.map`, or of a sample-grouped conv), the kernel of the up=2 lhs-dilated (zero-stuffing) conv,
and, ~2x, plain 3x3 kernels on large SR images. The functions are the same whichever way they
are written, so the forward passes stay as they were (bit for bit) and custom JVP rules write the
tangents in forms whose transposes are fast: the non-fused (train path) formulation with one
shared kernel over the batch, the up=2 conv split into its up*up output phases, and per-offset
matmuls for big weight gradients. Reverse mode transposes the rules, so jax.grad, jax.jvp and
higher orders all work; values equal plain autodiff up to rounding (tests/ops/test_modconv_grad.py).
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

from inversion3d.ops.upfirdn2d import parse_padding, upfirdn2d

_HIGHEST = jax.lax.Precision.HIGHEST


def _is_zero(t):
    return t is None or isinstance(t, SymbolicZero)


def _phase_taps(k, up, n_in):
    """1-D phase split of "zero-stuff by `up`, pad k-1, correlate with k taps" (n_in samples).

    Output p = up*m + r only sees input j = m + delta(r, a) through tap a when (r + a - k + 1) is a
    multiple of up, so each phase r is a stride-1 correlation of x (left-padded by -delta_min)
    with L taps. Returns (sel (up, L, k) 0/1 numpy array with sel[r, l, a] = 1 iff tap a lands on
    phase r at offset l, left pad, right pad, m (phase length), full output length).
    """
    deltas = {(r, a): (r + a - k + 1) // up for r in range(up) for a in range(k) if (r + a - k + 1) % up == 0}
    dmin = min(deltas.values())
    length = max(deltas.values()) - dmin + 1
    sel = np.zeros((up, length, k), np.float32)
    for (r, a), d in deltas.items():
        sel[r, d - dmin, a] = 1.0
    full = (n_in - 1) * up + k
    m = -(-full // up)
    return sel, -dmin, m + length - 1 + dmin - n_in, m, full


def _correlate_taps(x, w, pads, out_h, out_w):
    """Stride-1 correlation of zero-padded x with w as one matmul per kernel offset.

    XLA:CPU runs these and their transposes at matmul speed, whereas the weight gradient of the
    equivalent convolution takes a slow path for large images: ~2x slower for 3x3 convs at
    256^2-512^2 with >= 128 channels, ~50x for the 2x2 phase conv of `_dilated_conv_phases`.
    x: (N, H, W, I); w: (kh, kw, I, O); pads ((top, bottom), (left, right)). Returns (N, out_h, out_w, O).
    """
    xp = jax.lax.pad(x, jnp.array(0, x.dtype), ((0, 0, 0), pads[0] + (0,), pads[1] + (0,), (0, 0, 0)))
    y = None
    for a in range(w.shape[0]):
        for b in range(w.shape[1]):
            t = jnp.einsum("nhwi,io->nhwo", xp[:, a:a + out_h, b:b + out_w], w[a, b], precision=_HIGHEST)
            y = t if y is None else y + t
    return y


def _dilated_conv_phases(x, w, up):
    """Zero-stuffing (lhs_dilation=up) full correlation of x with w as one stride-1 correlation.

    Equals _native_conv(x, w, up, k-1 padding each side) up to rounding: the kernels of the up*up
    output phases are stacked on the output-channel axis (selecting taps of w exactly), and the
    phases are interleaved afterwards. Its transposes are matmuls, pads and slices (fast).
    x: (N, H, W, I); w: (kh, kw, I, O). Returns (N, (H-1)*up+kh, (W-1)*up+kw, O).
    """
    n, h, wd, _ = x.shape
    kh, kw, i, o = w.shape
    sy, py0, py1, my, fy = _phase_taps(kh, up, h)
    sx, px0, px1, mx, fx = _phase_taps(kw, up, wd)
    k = jnp.einsum("rla,sLb,abio->lLirso", jnp.asarray(sy, w.dtype), jnp.asarray(sx, w.dtype), w,
                   precision=_HIGHEST).reshape(sy.shape[1], sx.shape[1], i, up * up * o)
    y = _correlate_taps(x, k, ((py0, py1), (px0, px1)), my, mx)
    y = jnp.transpose(y.reshape(n, my, mx, up, up, o), (0, 1, 3, 2, 4, 5)).reshape(n, my * up, mx * up, o)
    return y[:, :fy, :fx]


def _native_conv(x, w, up, pads, groups=1):
    """Stride-1 correlation of x (zero-stuffed by `up` when up > 1) padded by pads with w."""
    return jax.lax.conv_general_dilated(
        x, w, window_strides=(1, 1), padding=pads, lhs_dilation=(up, up),
        dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=groups, precision=_HIGHEST)


def _conv_linear_in_w(x, w, up, pads):
    """`_native_conv(x, w, up, pads)` written so that its transpose in w (weight gradient) is fast."""
    if up != 1:
        return _dilated_conv_phases(x, w, up)
    n, h, wd, i = x.shape
    kh, kw, _, o = w.shape
    # Measured on XLA:CPU: the native weight gradient wins below ~2^31 N*H*W*I*O (small images or
    # few channels), the per-offset matmuls above it (SR layers at 256^2-512^2).
    if jax.default_backend() != "cpu" or n * h * wd * i * o < 2 ** 31:
        return _native_conv(x, w, up, pads)
    return _correlate_taps(x, w, pads, h + sum(pads[0]) - kh + 1, wd + sum(pads[1]) - kw + 1)


def _conv_linear_in_x(x, w, up, pads):
    """`_native_conv(x, w, up, pads)` written so that its transpose in x is fast."""
    return _native_conv(x, w, up, pads) if up == 1 else _dilated_conv_phases(x, w, up)


@functools.lru_cache(maxsize=None)
def _differentiable_conv(up, pads):
    """`_native_conv` (the forward as before) whose JVP uses the fast-transpose forms above."""
    fn = jax.custom_jvp(lambda x, w: _native_conv(x, w, up, pads))

    def rule(primals, tangents):
        (x, w), (tx, tw) = primals, tangents
        t = None if _is_zero(tx) else _conv_linear_in_x(tx, w, up, pads)
        if not _is_zero(tw):
            tt = _conv_linear_in_w(x, tw, up, pads)
            t = tt if t is None else t + tt
        y = _native_conv(x, w, up, pads)
        return y, (jnp.zeros_like(y) if t is None else t)

    fn.defjvp(rule, symbolic_zeros=True)
    return fn


def _conv(x, w, up, padding, flip_weight, resample_filter, groups, linear_in=None):
    """Plain or 2x-upsampling convolution (eg3d.md §3.3 "Convolution geometry").

    x: (B, H, W, groups*I); w: (kh, kw, I, groups*O) HWIO. Returns (B, H', W', groups*O).
    flip_weight=True is cross-correlation (torch conv2d), False a true convolution; for up=2 this
    is applied to the zero-stuffed input, as the official transposed-conv path computes.
    linear_in='x' or 'w' (groups=1, inside tangent rules) picks the formulation whose transpose in
    that argument is fast; None is the forward formulation, differentiated through those.
    """
    kh, kw = w.shape[:2]
    px0, px1, py0, py1 = parse_padding(padding)
    if not flip_weight:
        w = w[::-1, ::-1]
    # up=2: zero-stuffing + full convolution (pad k-1 each side) gives (H-1)*up + k samples, which
    # equals a stride-`up` transposed conv; the FIR then needs the upsample2d pads shifted by the
    # k-1 / k-up already consumed by the conv. For k=3, fw=4, padding=1: FIR pads [1,1,1,1] -> 2H.
    pads = ((py0, py1), (px0, px1)) if up == 1 else ((kh - 1, kh - 1), (kw - 1, kw - 1))
    if linear_in == "x":
        y = _conv_linear_in_x(x, w, up, pads)
    elif linear_in == "w":
        y = _conv_linear_in_w(x, w, up, pads)
    elif groups == 1:
        y = _differentiable_conv(up, pads)(x, w)
    else:  # per-sample kernels: differentiated by `_fused_modconv`'s rule
        y = _native_conv(x, w, up, pads, groups)
    if up == 1:
        return y
    f = np.ones((1, 1), np.float32) if resample_filter is None else resample_filter
    fh, fw = np.shape(f)
    pads = (px0 + (fw + up - 1) // 2 - (kw - 1), px1 + (fw - up) // 2 - (kw - up),
            py0 + (fh + up - 1) // 2 - (kh - 1), py1 + (fh - up) // 2 - (kh - up))
    return upfirdn2d(y, f, padding=pads, gain=up * up)


def _modulate(weight, styles, demodulate):
    """Per-sample kernels weight*styles (N, kh, kw, I, O) and d (N, O) (or None), float32 or wider."""
    mod_dtype = jnp.promote_types(jnp.promote_types(weight.dtype, styles.dtype), jnp.float32)
    wn = weight.astype(mod_dtype)[None] * styles.astype(mod_dtype)[:, None, None, :, None]
    d = jax.lax.rsqrt(jnp.sum(jnp.square(wn), axis=(1, 2, 3)) + 1e-8) if demodulate else None
    return wn, d


def _fused_modconv(up, padding, flip_weight, resample_filter, demodulate, grouped):
    """(x, weight, styles) -> conv of each sample with its own (demodulated) kernel, no noise.

    The forward is the per-sample-kernel computation; the custom JVP is the non-fused (train path)
    formulation of the same function, y = d * conv(x * s, weight), differentiated by hand:
      dy = d * conv(dx * s + x * ds, weight) + d * conv(x * s, dweight) + (y / d) * dd,
      dd = -d^3 * (sum_{kh,kw,I} weight^2 * s * ds + sum_{kh,kw,I} weight * dweight * s^2),
    so every transposed convolution has a shared kernel and a batch (eg3d.md §3.3).
    """

    def primal(x, weight, styles):
        n, h, w_, i = x.shape
        kh, kw, _, o = weight.shape
        wn, d = _modulate(weight, styles, demodulate)
        if d is not None:
            wn = wn * d[:, None, None, None, :]
        wn = wn.astype(x.dtype)
        if not grouped:
            # XLA:CPU runs a sample-grouped conv 6-8x slower per image than separate convs and
            # allocates outside its own accounting (experiments/benchmarks/bench_modconv.py), so
            # convolve sample by sample there; the maths is the same per sample.
            conv_one = lambda args: _conv(args[0][None], args[1], up, padding, flip_weight,
                                          resample_filter, groups=1)[0]
            return jax.lax.map(conv_one, (x, wn))
        # Groups = samples: channels of sample n occupy block n of the input and output axes.
        xg = jnp.transpose(x, (1, 2, 0, 3)).reshape(1, h, w_, n * i)
        wg = jnp.transpose(wn, (1, 2, 3, 0, 4)).reshape(kh, kw, i, n * o)
        y = _conv(xg, wg, up, padding, flip_weight, resample_filter, groups=n)
        return jnp.transpose(y.reshape(y.shape[1], y.shape[2], n, o), (2, 0, 1, 3))

    fn = jax.custom_jvp(primal)

    def rule(primals, tangents):
        (x, weight, styles), (tx, tw, ts) = primals, tangents
        y = primal(x, weight, styles)
        conv = lambda a, k, arg: _conv(a, k.astype(x.dtype), up, padding, flip_weight, resample_filter,
                                       groups=1, linear_in=arg)
        s = styles.astype(x.dtype)[:, None, None, :]
        lhs = None if _is_zero(tx) else tx * s
        if not _is_zero(ts):
            xts = x * ts.astype(x.dtype)[:, None, None, :]
            lhs = xts if lhs is None else lhs + xts
        t = None if lhs is None else conv(lhs, weight, "x")
        if not _is_zero(tw):
            tt = conv(x * s, tw, "w")
            t = tt if t is None else t + tt
        if demodulate:
            _, d = _modulate(weight, styles, True)
            mod_dtype = d.dtype
            w2, s2 = weight.astype(mod_dtype), styles.astype(mod_dtype)
            dot = lambda a, b: jnp.einsum("ni,io->no", a, b, precision=_HIGHEST)
            dd = None
            if not _is_zero(ts):
                dd = dot(s2 * ts.astype(mod_dtype), jnp.sum(jnp.square(w2), axis=(0, 1)))
            if not _is_zero(tw):
                term = dot(jnp.square(s2), jnp.sum(w2 * tw.astype(mod_dtype), axis=(0, 1)))
                dd = term if dd is None else dd + term
            dx = d.astype(x.dtype)[:, None, None, :]
            if t is not None:
                t = t * dx
            if dd is not None:
                dd = (-(d ** 3) * dd).astype(x.dtype)[:, None, None, :]
                t = (y / dx) * dd if t is None else t + (y / dx) * dd
        return y, (jnp.zeros_like(y) if t is None else t)

    fn.defjvp(rule, symbolic_zeros=True)
    return fn


def modulated_conv2d(x, weight, styles, noise=None, up=1, padding=0, resample_filter=None,
                     demodulate=True, flip_weight=True, fused=True, grouped=None):
    """Style-modulated convolution with optional demodulation and noise (eg3d.md §3.3).

    Per sample n: w_n = weight * styles[n] (on the input-channel axis);
    d_n = rsqrt(sum_{kh,kw,I} w_n^2 + 1e-8) if demodulate; y_n = conv(x_n, w_n * d_n) + noise.

    Args:
      x: (N, H, W, I) input.
      weight: (kh, kw, I, O) HWIO kernel (PyTorch (O, I, kh, kw) transposed by (2, 3, 1, 0)).
      styles: (N, I) per-sample input-channel scales.
      noise: optional array broadcastable to (N, H', W', 1), e.g. (H', W', 1) or (N, H', W', 1);
        added after the conv and demodulation, before any bias.
      up: 1 or 2. up=2 (SynthesisLayer conv0: padding=1, flip_weight=False, resample_filter the
        4x4 [1,3,3,1] filter) returns (N, 2H, 2W, O). A None filter means no FIR (1x1 identity).
      padding: int, (px, py) or (px0, px1, py0, py1) zero padding (as in upfirdn2d for up=2).
      resample_filter: (fh, fw) FIR filter used when up=2.
      demodulate: apply d_n (False for ToRGB, whose styles already carry the weight gain, §3.4).
      flip_weight: True = cross-correlation (torch conv2d), False = true convolution.
      fused: True convolves with per-sample kernels (eval path; one sample-grouped conv, or one
        conv per sample on CPU where grouped convs are slow); False modulates x
        and demodulates the output around a shared-kernel conv (train path). Same maths,
        different rounding (~1e-6, eg3d.md §9). Derivatives of both are computed in the
        shared-kernel form (module docstring), so fused=True is also the fast choice under
        jax.grad.
      grouped: for fused=True, force the one-grouped-conv form (True) or the per-sample loop
        (False); None picks per backend.
    Returns:
      (N, H', W', O) in x's dtype (weight and styles are cast at use; styles and d are computed in
      float32 for a bf16 x); H' = H + py0 + py1 - kh + 1 for up=1, 2H for up=2 with the defaults above.
    """
    if up not in (1, 2):
        raise ValueError(f"up: expected 1 or 2, got {up}")
    if x.ndim != 4 or weight.ndim != 4 or styles.ndim != 2:
        raise ValueError(f"x, weight, styles: expected ranks 4, 4, 2, got shapes "
                         f"{x.shape}, {weight.shape}, {styles.shape}")
    n, h, w_, i = x.shape
    kh, kw, wi, o = weight.shape
    if wi != i or styles.shape != (n, i):
        raise ValueError(f"weight/styles: expected (kh, kw, {i}, O) and ({n}, {i}), got "
                         f"{weight.shape} and {styles.shape}")
    # Styles and demodulation coefficients stay in (at least) float32 whatever x's dtype; only the
    # convolution runs in x's dtype (bf16 blocks, README "Mixed precision"). The official fp16
    # pre-normalisation (eg3d.md §3.3) guards fp16's range; bf16 has float32's range and, with
    # demodulation, the pre-scaling cancels mathematically, so it is not applied.
    if fused:
        if grouped is None:
            grouped = n == 1 or jax.default_backend() != "cpu"
        y = _fused_modconv(up, padding, flip_weight, resample_filter, demodulate, grouped)(x, weight, styles)
    else:
        _, d = _modulate(weight, styles, demodulate)
        y = _conv(x * styles.astype(x.dtype)[:, None, None, :], weight.astype(x.dtype), up, padding,
                  flip_weight, resample_filter, groups=1)
        if d is not None:
            y = y * d.astype(y.dtype)[:, None, None, :]
    if noise is not None:
        y = y + jnp.asarray(noise, y.dtype)
    return y
