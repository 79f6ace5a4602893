"""Adversarial losses and the R1 penalty shared by every GAN-style method (training.md §2, §6).

Logits are raw discriminator outputs. Every function is pure and jittable; lazy regularisation
(R1 every k steps) multiplies the penalty by k so its expected strength does not depend on k.
"""
import jax
import jax.numpy as jnp


def generator_nonsaturating(fake_logits):
    """Non-saturating generator (encoder) loss mean(softplus(-D(fake)))."""
    return jnp.mean(jax.nn.softplus(-fake_logits))


def discriminator_logistic(real_logits, fake_logits):
    """Logistic discriminator loss mean(softplus(D(fake))) + mean(softplus(-D(real)))."""
    return jnp.mean(jax.nn.softplus(fake_logits)) + jnp.mean(jax.nn.softplus(-real_logits))


def r1_penalty(d_fn, real):
    """Per-sample squared gradient norm of sum(D(real)) w.r.t. the real inputs, averaged over the batch.

    d_fn: real (N, ...) -> logits (N,) or (N, 1); real: the real samples (images, latents, tri-planes).
    """
    grads = jax.grad(lambda x: jnp.sum(d_fn(x)))(real)
    return jnp.mean(jnp.sum(jnp.square(grads).reshape(real.shape[0], -1), axis=1))


def r1_loss(d_fn, real, gamma, interval=1):
    """Lazy R1 regulariser (gamma / 2) * r1_penalty * interval, applied every `interval` steps."""
    return 0.5 * gamma * interval * r1_penalty(d_fn, real)


def is_regularisation_step(step, interval):
    """True on the steps where a lazy regulariser runs (step % interval == 0); jittable."""
    return jnp.equal(jnp.mod(step, interval), 0)
