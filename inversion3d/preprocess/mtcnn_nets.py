"""MTCNN's three networks (P-, R-, O-Net; Zhang et al. 2016) as Flax modules.

Layer sizes follow the released MTCNN models as `facenet-pytorch` ships them (data/pnet.pt,
rnet.pt, onet.pt): 3x3 / 2x2 VALID convolutions, per-channel PReLU, max pooling with ceil rounding.
Parameter names mirror the PyTorch state_dict (`conv1/weight`, `prelu1/weight`, `dense4/bias` ...)
so `params_from_state_dict` is a mechanical layout change: conv OIHW -> HWIO, linear (out, in) ->
(in, out).

Inputs are NHWC float32 already normalised as MTCNN expects: (pixel - 127.5) / 128.
The dense layers of R- and O-Net were trained (in Caffe) on features flattened in (W, H, C) order,
so the feature map is transposed to NWHC before flattening.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

# Per network: (layer name, kind, kernel, out features). Kinds: conv, prelu, pool (kernel, stride 2), dense.
ARCHITECTURES = {
    "pnet": (("conv1", "conv", 3, 10), ("prelu1", "prelu", 0, 10), ("pool1", "pool", 2, 0),
             ("conv2", "conv", 3, 16), ("prelu2", "prelu", 0, 16), ("conv3", "conv", 3, 32),
             ("prelu3", "prelu", 0, 32)),
    "rnet": (("conv1", "conv", 3, 28), ("prelu1", "prelu", 0, 28), ("pool1", "pool", 3, 0),
             ("conv2", "conv", 3, 48), ("prelu2", "prelu", 0, 48), ("pool2", "pool", 3, 0),
             ("conv3", "conv", 2, 64), ("prelu3", "prelu", 0, 64), ("flatten", "flatten", 0, 0),
             ("dense4", "dense", 0, 128), ("prelu4", "prelu", 0, 128)),
    "onet": (("conv1", "conv", 3, 32), ("prelu1", "prelu", 0, 32), ("pool1", "pool", 3, 0),
             ("conv2", "conv", 3, 64), ("prelu2", "prelu", 0, 64), ("pool2", "pool", 3, 0),
             ("conv3", "conv", 3, 64), ("prelu3", "prelu", 0, 64), ("pool3", "pool", 2, 0),
             ("conv4", "conv", 2, 128), ("prelu4", "prelu", 0, 128), ("flatten", "flatten", 0, 0),
             ("dense5", "dense", 0, 256), ("prelu5", "prelu", 0, 256)),
}
# Heads: (name, kind, outputs) -> face probability logits (2), box regression (4), landmarks (10).
HEADS = {
    "pnet": (("conv4_1", "conv", 2), ("conv4_2", "conv", 4)),
    "rnet": (("dense5_1", "dense", 2), ("dense5_2", "dense", 4)),
    "onet": (("dense6_1", "dense", 2), ("dense6_2", "dense", 4), ("dense6_3", "dense", 10)),
}
INPUT_SIZES = {"pnet": None, "rnet": 24, "onet": 48}  # P-Net is fully convolutional


def max_pool_ceil(x, size, stride=2):
    """NHWC max pooling, no padding, output size ceil((n - size) / stride) + 1 (torch ceil_mode=True)."""
    pads = []
    for n in x.shape[1:3]:
        out = -(-(n - size) // stride) + 1
        pads.append((0, (out - 1) * stride + size - n))
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, size, size, 1), (1, stride, stride, 1),
                                 [(0, 0)] + pads + [(0, 0)])


class Conv(nn.Module):
    """VALID convolution, stride 1; params weight (k, k, in, out), bias (out,)."""

    features: int
    kernel: int

    @nn.compact
    def __call__(self, x):
        w = self.param("weight", nn.initializers.lecun_normal(), (self.kernel, self.kernel, x.shape[-1], self.features))
        b = self.param("bias", nn.initializers.zeros, (self.features,))
        y = jax.lax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return y + b


class Dense(nn.Module):
    """y = x @ weight + bias; params weight (in, out), bias (out,)."""

    features: int

    @nn.compact
    def __call__(self, x):
        w = self.param("weight", nn.initializers.lecun_normal(), (x.shape[-1], self.features))
        b = self.param("bias", nn.initializers.zeros, (self.features,))
        return x @ w + b


class PReLU(nn.Module):
    """max(x, 0) + weight * min(x, 0) with one slope per channel (last axis)."""

    @nn.compact
    def __call__(self, x):
        a = self.param("weight", nn.initializers.constant(0.25), (x.shape[-1],))
        return jnp.maximum(x, 0.0) + a * jnp.minimum(x, 0.0)


class MTCNNNet(nn.Module):
    """One of 'pnet', 'rnet', 'onet'.

    Returns a dict: 'prob' face probability (softmax of the 2 logits, class 1), 'reg' box regression
    (4: dx1, dy1, dx2, dy2 in units of the box size) and for O-Net 'landmarks' (10: five x then five
    y, in units of the box size). P-Net maps (N, H, W, 3) -> prob (N, H', W'), reg (N, H', W', 4)
    with H' = ceil((H - 2) / 2) - 4 (one output cell per 12x12 window, stride 2); R-/O-Net map
    (N, 24, 24, 3) / (N, 48, 48, 3) -> prob (N,), reg (N, 4)[, landmarks (N, 10)].
    """

    kind: str

    @nn.compact
    def __call__(self, x):
        for name, op, kernel, features in ARCHITECTURES[self.kind]:
            if op == "conv":
                x = Conv(features, kernel, name=name)(x)
            elif op == "prelu":
                x = PReLU(name=name)(x)
            elif op == "pool":
                x = max_pool_ceil(x, kernel)
            elif op == "flatten":
                x = jnp.transpose(x, (0, 2, 1, 3)).reshape(x.shape[0], -1)  # Caffe's (W, H, C) order
            else:
                x = Dense(features, name=name)(x)
        heads = [Conv(n_out, 1, name=name)(x) if op == "conv" else Dense(n_out, name=name)(x)
                 for name, op, n_out in HEADS[self.kind]]
        out = {"prob": jax.nn.softmax(heads[0], axis=-1)[..., 1], "reg": heads[1]}
        if self.kind == "onet":
            out["landmarks"] = heads[2]
        return out


def params_from_state_dict(kind, state_dict):
    """PyTorch state_dict of facenet-pytorch's PNet / RNet / ONet -> Flax {'params': ...} tree.

    Args:
      kind: 'pnet' | 'rnet' | 'onet'.
      state_dict: name -> numpy array ('conv1.weight' (O, I, kh, kw), 'dense4.weight' (out, in), ...).
    Returns:
      {'params': {layer: {'weight', 'bias'}}} float32, checked against the architecture's shapes.
    """
    if kind not in ARCHITECTURES:
        raise ValueError(f"kind: expected one of {tuple(ARCHITECTURES)}, got {kind!r}")
    want = jax.eval_shape(MTCNNNet(kind).init, jax.random.PRNGKey(0), _dummy_input(kind))["params"]
    expected = {f"{layer}.{p}" for layer, leaves in want.items() for p in leaves}
    if set(state_dict) != expected:
        missing, extra = sorted(expected - set(state_dict)), sorted(set(state_dict) - expected)
        raise ValueError(f"state_dict: not an MTCNN {kind} (missing {missing[:3]}, unexpected {extra[:3]})")
    params = {}
    for layer, leaves in want.items():
        params[layer] = {}
        for p, spec in leaves.items():
            value = np.asarray(state_dict[f"{layer}.{p}"], np.float32)
            if value.ndim == 4:
                value = value.transpose(2, 3, 1, 0)  # OIHW -> HWIO
            elif value.ndim == 2:
                value = value.T  # (out, in) -> (in, out)
            if value.shape != spec.shape:
                raise ValueError(f"state_dict: {layer}.{p} of {kind}: expected shape {spec.shape}, got {value.shape}")
            params[layer][p] = jnp.asarray(value)
    return {"params": params}


def _dummy_input(kind):
    size = INPUT_SIZES[kind] or 12
    return jnp.zeros((1, size, size, 3), jnp.float32)
