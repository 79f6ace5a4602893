"""Training a small attribute classifier (inversion3d/nn/resnet.py) on labelled images: multi-label
binary cross-entropy on the N logits, Adam, BatchNorm in training mode, random horizontal flips.

Pure pieces: `init`, `loss_fn`, `train_step` (jitted, rng explicit), `accuracy`; `fit` runs them
over numpy arrays. Used by `inversion3d train-classifier` (configs/attribute_classifier.py).
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from inversion3d.metrics.attributes import preprocess
from inversion3d.nn.resnet import ResNetClassifier


def init(module: ResNetClassifier, rng, input_size):
    """{'params', 'batch_stats'} of the module for (1, S, S, 3) inputs."""
    return dict(module.init(rng, jnp.zeros((1, input_size, input_size, module.in_channels))))


def loss_fn(params, batch_stats, module, pre, images, labels, train=True):
    """Mean binary cross-entropy of the logits of images (B, S, S, 3) in [-1, 1] against labels
    (B, N) in {0, 1} -> (loss, new batch_stats)."""
    x = preprocess(images, *pre)
    if train:
        logits, upd = module.apply({"params": params, "batch_stats": batch_stats}, x, True, mutable=["batch_stats"])
        stats = upd["batch_stats"]
    else:
        logits, stats = module.apply({"params": params, "batch_stats": batch_stats}, x), batch_stats
    return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, labels)), stats


@functools.partial(jax.jit, static_argnames=("module", "opt", "pre"))
def train_step(state, rng, images, labels, module, opt, pre):
    """One Adam step on a batch, flipping each image left-right with probability 1/2 (the labels are
    mirror-symmetric). state: {'params', 'batch_stats', 'opt'} -> (state, loss)."""
    flip = jax.random.bernoulli(rng, 0.5, (images.shape[0], 1, 1, 1))
    images = jnp.where(flip, images[:, :, ::-1], images)
    (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        state["params"], state["batch_stats"], module, pre, images, labels)
    updates, opt_state = opt.update(grads, state["opt"], state["params"])
    return {"params": optax.apply_updates(state["params"], updates), "batch_stats": stats, "opt": opt_state}, loss


def accuracy(logits, labels):
    """(N,) per-attribute accuracy of logits > 0 against labels (M, N)."""
    return np.mean((np.asarray(logits) > 0) == (np.asarray(labels) > 0.5), axis=0)


def fit(module, pre, images, labels, steps, batch, lr, seed=0, log_every=100, log=print):
    """Trains on uint8 images (M, S, S, 3) with labels (M, N); pre = (input_size, mean, std).
    -> (variables {'params', 'batch_stats'}, losses (steps,))."""
    if images.ndim != 4 or labels.shape != (images.shape[0], module.num_outputs):
        raise ValueError(f"images / labels: expected (M, S, S, 3) and (M, {module.num_outputs}), got "
                         f"{images.shape} and {labels.shape}")
    rng = jax.random.PRNGKey(seed)
    rng, key = jax.random.split(rng)
    variables = init(module, key, pre[0])
    opt = optax.adam(lr)
    state = {"params": variables["params"], "batch_stats": variables["batch_stats"],
             "opt": opt.init(variables["params"])}
    order = np.random.RandomState(seed)
    losses = []
    for step in range(int(steps)):
        idx = order.randint(0, len(images), int(batch))
        x = images[idx].astype(np.float32) / 127.5 - 1.0
        rng, key = jax.random.split(rng)
        state, loss = train_step(state, key, jnp.asarray(x), jnp.asarray(labels[idx], jnp.float32), module, opt, pre)
        losses.append(float(loss))
        if log is not None and (step % log_every == 0 or step == steps - 1):
            log(f"step {step}: loss {losses[-1]:.4f}")
    return {"params": state["params"], "batch_stats": state["batch_stats"]}, np.asarray(losses)
