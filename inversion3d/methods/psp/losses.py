"""Loss terms only pSp / e4e training uses (training.md §4, encoders.md §3, §5.1).

Shared terms (pixel, LPIPS, ID, the logistic discriminator loss) live in `losses/`. The e4e terms
follow omertov/encoder4editing training/coach.py (`calc_loss`, `train_discriminator`); the
progressive schedule is data (a mask over the w+ rows), so one compiled step serves every stage.
"""
import jax
import jax.numpy as jnp

from inversion3d.losses import adversarial


def progressive_delta_mask(step, num_ws: int, start: int, every: int):
    """(num_ws,) float32 mask of the active w+ rows at training step `step` (0-based, may be traced).

    Row 0 (w0) is always active; delta i >= 1 is active from step start + (i - 1) * every on
    (e4e scripts/train.py `update_progressive_steps`: stage 0 = w only until `progressive_start`,
    then one more delta every `progressive_step_every` steps). every <= 0: no progressive
    training, every row active.
    """
    if every <= 0:
        return jnp.ones((num_ws,), jnp.float32)
    first = start + (jnp.arange(num_ws) - 1) * every
    return jnp.where(jnp.arange(num_ws) == 0, 1.0, (step >= first).astype(jnp.float32))


def safe_norm(x, axis):
    """L2 norm over `axis` with a zero (not NaN) gradient at x = 0 (inactive deltas are exactly 0)."""
    sq = jnp.sum(jnp.square(x), axis=axis)
    positive = sq > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, sq, 1.0)), 0.0)


def delta_norm(ws, active):
    """e4e delta regulariser: sum over active rows i >= 1 of mean_batch ||w_i - w_0||_2.

    ws (N, num_ws, w_dim); active (N, num_ws) or (num_ws,) in {0, 1} (`progressive_delta_mask`).
    coach.py sums `torch.norm(delta_i, 2, dim=1).mean()` over i = 1..progressive stage.
    """
    norms = safe_norm(ws[:, 1:] - ws[:, :1], axis=-1)  # (N, num_ws - 1)
    active = jnp.broadcast_to(active, ws.shape[:2])[:, 1:]
    return jnp.sum(jnp.mean(norms * active, axis=0))


def w_norm(ws, latent_avg=None):
    """pSp WNormLoss: mean over the batch of ||ws - latent_avg||_F over all rows (criteria/w_norm.py)."""
    x = ws if latent_avg is None else ws - latent_avg
    return jnp.mean(safe_norm(x.reshape(x.shape[0], -1), axis=-1))


def encoder_adversarial(d_fn, ws, active):
    """e4e encoder adversarial loss: mean over the active rows i of mean_batch softplus(-D(w_i)).

    d_fn: (M, w_dim) -> logits (M, 1); ws (N, num_ws, w_dim) (with the latent average);
    active (N, num_ws) or (num_ws,) (rows of every example share one mask).
    """
    n, rows, dim = ws.shape
    logits = d_fn(ws.reshape(n * rows, dim)).reshape(n, rows)
    per_row = jax.vmap(adversarial.generator_nonsaturating, in_axes=1)(logits)  # (num_ws,)
    row_mask = jnp.broadcast_to(active, (n, rows))[0]
    return jnp.sum(per_row * row_mask) / jnp.sum(row_mask)


def discriminator_loss(real_logits, fake_logits):
    """e4e `discriminator_loss`: mean softplus(-D(real)) + mean softplus(D(fake)) (= losses.adversarial's
    logistic loss), with the terms returned for the log."""
    real = jnp.mean(jax.nn.softplus(-real_logits))
    fake = jnp.mean(jax.nn.softplus(fake_logits))
    return adversarial.discriminator_logistic(real_logits, fake_logits), {"real": real, "fake": fake}
