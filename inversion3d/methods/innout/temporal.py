"""In-N-Out's temporal smoothing of a clip at inference (in-n-out.md §4, the release's `smooth_out`).

One causal filter over frames, taps (0.25, 0.75, 1) / 2 on (t-2, t-1, t) (configs/innout.py
inference.smooth_taps), applied once K = len(taps) frames are buffered; the first K - 1 frames are
left as they are, and the buffer always holds the unsmoothed values. It smooths the per-frame w+ and
codes (`smooth_sequence`) and, inside the generator's super-resolution, block 0's convolution output
and its (upsampled) image skip before block 0's ToRGB sum (`smoothed_superresolve`, the release's
`smooth_block_forward`; block 1 runs unchanged on the smoothed values).
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.generators import eg3d


def _check_taps(taps):
    taps = tuple(float(t) for t in taps)
    if not taps:
        raise ValueError("taps: expected at least one filter tap, got none")
    return taps


def smooth_sequence(x, taps):
    """Causal filter over the leading (frame) axis of x (T, ...) in numpy: y_t = sum_k taps[k] x_{t-K+1+k}
    for t >= K - 1, y_t = x_t before (fewer than K frames: x unchanged)."""
    taps = _check_taps(taps)
    x = np.asarray(x)
    k = len(taps)
    if x.shape[0] < k:
        return x
    y = x.copy()
    y[k - 1:] = sum(tap * x[i:x.shape[0] - k + 1 + i] for i, tap in enumerate(taps))
    return y


def causal_filter(x, taps):
    """`smooth_sequence` in jnp (traceable): the filter over axis 0 of x (N, ...), rows < K - 1 unchanged."""
    taps = _check_taps(taps)
    k, n = len(taps), x.shape[0]
    if n < k:
        return x
    y = sum(jnp.asarray(tap, x.dtype) * x[i:n - k + 1 + i] for i, tap in enumerate(taps))
    return jnp.concatenate([x[:k - 1], y.astype(x.dtype)], axis=0)


@functools.partial(jax.jit, static_argnums=(0, 5))
def _smoothed_sr(cfg, gen_vars, sr_params, feats, ws, taps):
    variables = {**gen_vars, "params": {**gen_vars["params"], "superresolution": sr_params}}
    out = eg3d.TriPlaneGenerator(cfg).apply(variables, feats[..., :3], feats, ws, cfg.sr_noise_mode,
                                            functools.partial(causal_filter, taps=taps),
                                            method=eg3d.TriPlaneGenerator.superresolve)
    return jnp.clip(out, -1, 1)


def smoothed_superresolve(cfg, gen_vars, sr_params, feature_images, ws, taps, chunk: int = 8):
    """The generator's SR of a clip's composite feature images (T, R, R, C) with ws (T, num_ws, w_dim),
    block 0 smoothed over frames by `taps` -> (T, S, S, 3) clipped to [-1, 1] (numpy).

    Frames go through in chunks of `chunk`, each with the K - 1 frames before it as context (their
    outputs are dropped) and padded at the end by repeating its last frame (causal: the padding
    changes nothing before it), so every call has one shape and the result does not depend on chunk.
    The raw image input of the SR is feature_images[..., :3] (the composite's first channels, as in
    field.composite_synthesize)."""
    taps = _check_taps(taps)
    feats = np.asarray(feature_images, np.float32)
    ws = np.asarray(ws, np.float32)
    num, ctx = feats.shape[0], len(taps) - 1
    if ws.shape[0] != num:
        raise ValueError(f"ws: expected {num} frames like feature_images, got {ws.shape[0]}")
    if chunk < 1:
        raise ValueError(f"chunk: expected >= 1, got {chunk}")
    size = chunk + ctx
    out = []
    for start in range(0, num, chunk):
        lo, hi = max(0, start - ctx), min(num, start + chunk)
        idx = np.arange(lo, hi)
        idx = np.concatenate([idx, np.full(size - len(idx), hi - 1)])
        images = _smoothed_sr(cfg, gen_vars, sr_params, jnp.asarray(feats[idx]), jnp.asarray(ws[idx]), taps)
        out.append(np.asarray(images)[start - lo:start - lo + hi - start])
    return np.concatenate(out, axis=0)
