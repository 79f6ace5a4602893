"""Fused bias + activation + gain + clamp of StyleGAN2 layers (eg3d.md §3.5), NHWC layout."""
import math

import jax
import jax.numpy as jnp

# name -> (function(x, alpha), default alpha, default gain); the sqrt(2) gains keep the
# activation variance of a rectifier at 1 (StyleGAN2 equalised learning rate, eg3d.md §3.5).
_ACTIVATIONS = {
    "linear": (lambda x, a: x, None, 1.0),
    "relu": (lambda x, a: jax.nn.relu(x), None, math.sqrt(2)),
    "lrelu": (lambda x, a: jnp.where(x >= 0, x, x * a), 0.2, math.sqrt(2)),
    "tanh": (lambda x, a: jnp.tanh(x), None, 1.0),
    "sigmoid": (lambda x, a: jax.nn.sigmoid(x), None, 1.0),
    "softplus": (lambda x, a: jax.nn.softplus(x), None, 1.0),
}


def bias_act(x, b=None, act="linear", alpha=None, gain=None, clamp=None):
    """Adds a per-channel bias, applies an activation, scales by gain, clips (eg3d.md §3.5).

    The order activation -> gain -> clamp is the reference one; swapping gain and clamp changes
    results wherever the clamp is active (SR layers use conv_clamp 256, eg3d.md §7).

    Args:
      x: (..., C) array (NHWC images or (N, C) features).
      b: optional (C,) bias broadcast over the last (channel) axis.
      act: 'linear', 'relu', 'lrelu', 'tanh', 'sigmoid' or 'softplus'.
      alpha: lrelu negative slope (default 0.2); ignored by the other activations.
      gain: output scale; default sqrt(2) for relu/lrelu, 1 otherwise.
      clamp: if not None, clip the output to [-clamp, clamp].
    Returns:
      array with the shape and dtype of x.
    """
    if act not in _ACTIVATIONS:
        raise ValueError(f"act: expected one of {sorted(_ACTIVATIONS)}, got {act!r}")
    fn, def_alpha, def_gain = _ACTIVATIONS[act]
    alpha = def_alpha if alpha is None else alpha
    gain = def_gain if gain is None else gain
    if b is not None:
        b = jnp.asarray(b)
        if b.ndim != 1 or b.shape[0] != x.shape[-1]:
            raise ValueError(f"b: expected shape ({x.shape[-1]},), got {b.shape}")
        x = x + b.astype(x.dtype)
    x = fn(x, alpha)
    # Skipping a unit gain keeps the result bit-identical to the reference; traced gains always apply.
    if not (isinstance(gain, (int, float)) and gain == 1):
        x = x * jnp.asarray(gain, x.dtype)
    if clamp is not None:
        # Bounds in x's dtype: a float32 bound must not promote a bf16 activation.
        x = jnp.clip(x, jnp.asarray(-clamp, x.dtype), jnp.asarray(clamp, x.dtype))
    return x
