"""Modulated (style-scaled, demodulated) 2-D convolution of StyleGAN2 layers (eg3d.md §3.3), NHWC/HWIO."""
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.ops.upfirdn2d import parse_padding, upfirdn2d

_HIGHEST = jax.lax.Precision.HIGHEST


def _conv(x, w, up, padding, flip_weight, resample_filter, groups):
    """Plain or 2x-upsampling convolution (eg3d.md §3.3 "Convolution geometry").

    x: (B, H, W, groups*I); w: (kh, kw, I, groups*O) HWIO. Returns (B, H', W', groups*O).
    flip_weight=True is cross-correlation (torch conv2d), False a true convolution; for up=2 this
    is applied to the zero-stuffed input, as the official transposed-conv path computes.
    """
    kh, kw = w.shape[:2]
    px0, px1, py0, py1 = parse_padding(padding)
    if not flip_weight:
        w = w[::-1, ::-1]
    conv = lambda inp, pad, dil: jax.lax.conv_general_dilated(
        inp, w, window_strides=(1, 1), padding=pad, lhs_dilation=dil,
        dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=groups, precision=_HIGHEST)
    if up == 1:
        return conv(x, ((py0, py1), (px0, px1)), (1, 1))
    # up=2: zero-stuffing + full convolution (pad k-1 each side) gives (H-1)*up + k samples, which
    # equals a stride-`up` transposed conv; the FIR then needs the upsample2d pads shifted by the
    # k-1 / k-up already consumed by the conv. For k=3, fw=4, padding=1: FIR pads [1,1,1,1] -> 2H.
    f = np.ones((1, 1), np.float32) if resample_filter is None else resample_filter
    fh, fw = np.shape(f)
    y = conv(x, ((kh - 1, kh - 1), (kw - 1, kw - 1)), (up, up))
    pads = (px0 + (fw + up - 1) // 2 - (kw - 1), px1 + (fw - up) // 2 - (kw - up),
            py0 + (fh + up - 1) // 2 - (kh - 1), py1 + (fh - up) // 2 - (kh - up))
    return upfirdn2d(y, f, padding=pads, gain=up * up)


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
        different rounding (~1e-6, eg3d.md §9).
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
    mod_dtype = jnp.promote_types(jnp.promote_types(weight.dtype, styles.dtype), jnp.float32)
    wn = weight.astype(mod_dtype)[None] * styles.astype(mod_dtype)[:, None, None, :, None]  # (N, kh, kw, I, O)
    d = jax.lax.rsqrt(jnp.sum(jnp.square(wn), axis=(1, 2, 3)) + 1e-8) if demodulate else None  # (N, O)

    if fused:
        if d is not None:
            wn = wn * d[:, None, None, None, :]
        wn = wn.astype(x.dtype)
        if grouped is None:
            grouped = n == 1 or jax.default_backend() != "cpu"
        if not grouped:
            # XLA:CPU runs a sample-grouped conv 6-8x slower per image than separate convs and
            # allocates outside its own accounting (experiments/benchmarks/bench_modconv.py), so
            # convolve sample by sample there; the maths is the same per sample.
            conv_one = lambda args: _conv(args[0][None], args[1], up, padding, flip_weight,
                                          resample_filter, groups=1)[0]
            y = jax.lax.map(conv_one, (x, wn))
        else:
            # Groups = samples: channels of sample n occupy block n of the input and output axes.
            xg = jnp.transpose(x, (1, 2, 0, 3)).reshape(1, h, w_, n * i)
            wg = jnp.transpose(wn, (1, 2, 3, 0, 4)).reshape(kh, kw, i, n * o)
            y = _conv(xg, wg, up, padding, flip_weight, resample_filter, groups=n)
            y = jnp.transpose(y.reshape(y.shape[1], y.shape[2], n, o), (2, 0, 1, 3))
    else:
        y = _conv(x * styles.astype(x.dtype)[:, None, None, :], weight.astype(x.dtype), up, padding,
                  flip_weight, resample_filter, groups=1)
        if d is not None:
            y = y * d.astype(y.dtype)[:, None, None, :]
    if noise is not None:
        y = y + jnp.asarray(noise, y.dtype)
    return y
