"""Linear latent directions in W (InterFaceGAN style; editing-and-eval.md §1): training a boundary
from labelled latents, the released files' layout, and applying a direction to w / w+.

A direction is a unit normal n in W (w_dim,). Files are stored as GOAE's released ones (§1.1):
float32 (1, num_ws, w_dim) with n in the rows it edits (all rows by default) and zeros elsewhere.
Released files may be pre-scaled (GOAE's age.npy has row norm 2.0); they are applied as stored, so
strength 1 reproduces the released edit, as GOAE's infer.py does with its default alpha = 1.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

DIRECTION_SHAPES = "(w_dim,), (1, w_dim), (num_ws, w_dim) or (1, num_ws, w_dim)"


def latent_rows(ws):
    """ws (N, num_ws, w_dim) or (N, w_dim) -> (N, w_dim): the W code of each sample (the mean of the
    rows; for sampled latents every row is the same w)."""
    ws = np.asarray(ws, np.float32)
    if ws.ndim == 3:
        return ws.mean(axis=1)
    if ws.ndim != 2:
        raise ValueError(f"latents: expected (N, w_dim) or (N, num_ws, w_dim), got shape {ws.shape}")
    return ws


def select_labelled(latents, scores, chosen_ratio=0.02, min_per_class=10):
    """InterFaceGAN's selection (§1): the top and bottom `chosen_ratio` of the scored latents (at least
    `min_per_class` each) become positives and negatives. Scores that are already 0 / 1 are used as
    they are. -> (latents (M, D), labels (M,) in {0, 1})."""
    latents, scores = np.asarray(latents, np.float32), np.asarray(scores, np.float64).reshape(-1)
    if latents.shape[0] != scores.shape[0]:
        raise ValueError(f"labels: {scores.shape[0]} scores for {latents.shape[0]} latents")
    if not np.all(np.isfinite(scores)):
        raise ValueError("labels: scores must be finite numbers")
    if set(np.unique(scores)) <= {0.0, 1.0}:
        labels = scores
    else:
        k = max(int(round(chosen_ratio * len(scores))), min_per_class)
        k = min(k, len(scores) // 2)
        order = np.argsort(scores, kind="stable")
        keep = np.concatenate([order[-k:], order[:k]])
        latents, labels = latents[keep], np.concatenate([np.ones(k), np.zeros(k)])
    if labels.min() == labels.max():
        raise ValueError("labels: need both classes (scores that differ), got one")
    return latents, labels.astype(np.float32)


def _logistic_loss(params, x, y, l2):
    logits = x @ params["w"] + params["b"]
    return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, y)) + l2 * jnp.sum(params["w"] ** 2)


@functools.partial(jax.jit, static_argnames=("steps",))
def _fit(x, y, steps, lr, l2):
    opt = optax.adam(lr)
    params = {"w": jnp.zeros(x.shape[1], jnp.float32), "b": jnp.zeros((), jnp.float32)}
    grad = jax.value_and_grad(_logistic_loss)

    def step(carry, _):
        p, s = carry
        loss, g = grad(p, x, y, l2)
        upd, s = opt.update(g, s, p)
        return (optax.apply_updates(p, upd), s), loss

    (params, _), losses = jax.lax.scan(step, (params, opt.init(params)), None, length=steps)
    return params, losses


def train_boundary(latents, labels, steps=500, lr=0.01, l2=1e-3, val_ratio=0.3, seed=0):
    """Fits a linear classifier (L2-regularised logistic regression, full-batch Adam) to latents
    (M, D) with labels (M,) in {0, 1}; returns dict normal (D,) unit, bias (in the centred frame),
    losses (steps,), train_accuracy and val_accuracy (on a held-out `val_ratio`, None if too few).
    Latents are centred on their mean first, which changes only the bias, not the normal."""
    x, y = np.asarray(latents, np.float32), np.asarray(labels, np.float32)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"latents / labels: expected (M, D) and (M,), got {x.shape} and {y.shape}")
    order = np.random.RandomState(seed).permutation(len(y))
    n_val = int(len(y) * val_ratio) if len(y) * val_ratio >= 2 else 0
    val, train = order[:n_val], order[n_val:]
    mean = x[train].mean(axis=0)
    params, losses = _fit(jnp.asarray(x[train] - mean), jnp.asarray(y[train]), int(steps), float(lr), float(l2))
    w, b = np.asarray(params["w"], np.float64), float(params["b"])
    norm = np.linalg.norm(w)
    if not np.isfinite(norm) or norm == 0:
        raise ValueError("train_boundary: the classifier did not separate the classes (zero normal)")

    def accuracy(idx):
        return float(np.mean(((x[idx] - mean) @ w + b > 0) == (y[idx] > 0.5))) if len(idx) else None

    return {"normal": (w / norm).astype(np.float32), "bias": b / norm, "losses": np.asarray(losses),
            "train_accuracy": accuracy(train), "val_accuracy": accuracy(val)}


def parse_layers(text, num_ws):
    """'' -> every row; '4-13' or '4,5' -> those ws rows (0-based, inclusive ranges) as a sorted list."""
    if not str(text).strip():
        return list(range(num_ws))
    rows = set()
    try:
        for part in str(text).split(","):
            lo, sep, hi = part.strip().partition("-")
            rows.update(range(int(lo), int(hi) + 1) if sep else [int(lo)])
    except ValueError:
        raise ValueError(f"--layers: expected rows like '4-13' or '0,1,2', got {text!r}") from None
    if not rows or min(rows) < 0 or max(rows) >= num_ws:
        raise ValueError(f"--layers: rows must lie in 0..{num_ws - 1}, got {text!r}")
    return sorted(rows)


def layered(normal, num_ws, layers=None, scale=1.0):
    """normal (w_dim,) -> float32 (1, num_ws, w_dim): scale * normal in the rows `layers` (None = all),
    zeros elsewhere: the released files' layout (§1.1)."""
    normal = np.asarray(normal, np.float32).reshape(-1)
    out = np.zeros((1, num_ws, normal.shape[0]), np.float32)
    out[0, list(range(num_ws)) if layers is None else list(layers)] = scale * normal
    return out


def as_layers(direction, num_ws, w_dim, source="direction"):
    """A direction array of any released shape (DIRECTION_SHAPES) -> float32 (num_ws, w_dim), a 1-row
    direction repeated in every row. ValueError naming `source` for other shapes or non-finite values."""
    d = np.asarray(direction, np.float32)
    if d.ndim == 3 and d.shape[0] == 1:
        d = d[0]
    if d.ndim == 1:
        d = d[None]
    if d.ndim != 2 or d.shape[1] != w_dim or d.shape[0] not in (1, num_ws):
        raise ValueError(f"{source}: shape {tuple(np.shape(direction))} does not fit a generator with {num_ws} ws of "
                         f"{w_dim}; expected {DIRECTION_SHAPES}")
    if not np.all(np.isfinite(d)):
        raise ValueError(f"{source}: holds NaN or Inf values")
    return np.repeat(d, num_ws, axis=0) if d.shape[0] == 1 else d


def restrict(direction, layers):
    """(num_ws, w_dim) direction with every row outside `layers` (a list of rows, None = all) zeroed."""
    if layers is None:
        return direction
    keep = np.zeros((direction.shape[0], 1), np.float32)
    keep[list(layers)] = 1.0
    return direction * keep


def apply(ws, direction, strength):
    """w+ edit ws + strength * direction (editing-and-eval.md §1.2). ws (N, num_ws, w_dim) or a w
    (N, w_dim) (then a per-row direction must be the same in every row); direction (num_ws, w_dim);
    strength a scalar or (N,). Strength 0 returns ws exactly."""
    ws = jnp.asarray(ws)
    direction = jnp.asarray(direction, ws.dtype)
    s = jnp.reshape(jnp.asarray(strength, ws.dtype), (-1,) + (1,) * (ws.ndim - 1))
    if ws.ndim == 2:
        if not bool(jnp.all(direction == direction[:1])):
            raise ValueError("direction: restricted to some layers, so it needs w+ (N, num_ws, w_dim), not w")
        return ws + s * direction[0]
    if ws.shape[1:] != direction.shape:
        raise ValueError(f"ws: shape {ws.shape} does not fit the direction {direction.shape}")
    return ws + s * direction


def goae_corrected(direction, glasses, name, amount=0.8):
    """GOAE infer.py's entanglement fix (§1.2): every attribute but glasses is applied as
    d - amount * glasses (EG3D W entangles attributes with glasses). direction / glasses (num_ws, w_dim)."""
    return direction if name == "glass" else direction - amount * glasses


def parse_strengths(text):
    """'-3:3:7' -> linspace(-3, 3, 7); '2.2' -> [2.2]; '-1,0,1' -> [-1, 0, 1] (float32 array)."""
    text = str(text).strip()
    try:
        if ":" in text:
            lo, hi, num = text.split(":")
            if int(num) < 1:
                raise ValueError
            values = np.linspace(float(lo), float(hi), int(num))
        else:
            values = np.asarray([float(v) for v in text.split(",")])
    except ValueError:
        raise ValueError(f"--strength: expected LOW:HIGH:COUNT, a number or a comma list, got {text!r}") from None
    if not np.all(np.isfinite(values)):
        raise ValueError(f"--strength: expected finite numbers, got {text!r}")
    return values.astype(np.float32)


def sample_scored(gen, score_fn, num, seed=0, truncation_psi=1.0, batch=16, progress=None):
    """InterFaceGAN's sampling (§1): `num` latents z ~ N(0, I) (seeded) mapped to W with the frontal
    camera as condition, rendered at that camera and scored by `score_fn` (images (B, S, S, 3) in
    [-1, 1] -> (B,) scores). -> (ws (num, num_ws, w_dim) float32, scores (num,) float64).
    progress: called with the number done after each batch (or None)."""
    from inversion3d import camera

    if int(num) < 2 or int(batch) < 1:
        raise ValueError(f"samples: expected num >= 2 and batch >= 1, got {num} and {batch}")
    cond = np.repeat(np.asarray(camera.generator_frontal_label(gen), np.float32)[None], int(batch), axis=0)
    z_all = np.random.RandomState(int(seed)).randn(int(num), gen.config.z_dim).astype(np.float32)
    ws_out, scores = [], []
    for start in range(0, int(num), int(batch)):
        z = z_all[start:start + int(batch)]
        n = len(z)
        z = np.concatenate([z, np.zeros((int(batch) - n, z.shape[1]), np.float32)])  # one shape, one compile
        ws = gen.mapping(z, cond, truncation_psi)
        images = gen.synthesis(ws, cond)["image"]
        ws_out.append(np.asarray(ws, np.float32)[:n])
        score = np.asarray(score_fn(np.asarray(images)), np.float64)
        scores.append(score.reshape((len(z),) + score.shape[1:])[:n])
        if progress is not None:
            progress(start + n)
    return np.concatenate(ws_out), np.concatenate(scores)
