"""Loss pieces only GOAE training uses (GOAE paper §4.1, Eq. 2-4, 10-11; training.md §5).

Shared terms stay in `losses/`: reconstruction (L2 / LPIPS / ID), the non-saturating and logistic
adversarial losses, R1, and the regularisers (background depth, Δw+, ΔF). Here: the progressive
stage schedule of the encoder heads, the Δw+ norm, the background mask from the generator's
opacity, and the background-depth term rendered at the canonical camera.
"""
from typing import Sequence

import jax
import jax.numpy as jnp

from inversion3d.inversion.common import render
from inversion3d.losses import regularisers


def progressive_stage(step, thresholds: Sequence[int]):
    """The GOAEncoder `stage` at training step `step` (an int or a traced int32 scalar).

    GOAE's `set_stage(iter)` with stage_list (t1, t2, t3) (encoders.md §1.2): stage 0 (w_base
    only) while iter < t1, 1 (+ coarse deltas) while iter < t2, 2 (+ mid) up to t3 inclusive, 3
    (+ fine, all 14 rows) after t3. Traced, so one compiled step serves every stage.
    """
    if len(thresholds) != 3 or list(thresholds) != sorted(thresholds):
        raise ValueError(f"stage_thresholds: expected 3 ascending steps (coarse, mid, fine), got {tuple(thresholds)}")
    t1, t2, t3 = (int(t) for t in thresholds)
    step = jnp.asarray(step, jnp.int32)
    return ((step >= t1).astype(jnp.int32) + (step >= t2).astype(jnp.int32)
            + (step > t3).astype(jnp.int32))


def wplus_delta_norm(ws):
    """L_w+ / lambda_6 (text after Eq. 11): mean over the batch of ||Δw+||_2, Δw+ = (w_1 - w_0, ...,
    w_13 - w_0) (N, 13, w_dim) as one vector; ws (N, num_ws, w_dim).

    A norm, not its square (`regularisers.wplus_delta`): GOAE's heads end in a LayerNorm-ed
    residual, so at initialisation every delta entry is O(1) and the squared sum (~6000 at
    14 x 512) times 0.001 would outweigh L_rec ~10x; e4e (the paper's [31]) also penalises
    delta norms. Zero deltas (the heads not yet switched on) give a zero gradient, not NaN."""
    sq = jnp.sum(jnp.square(ws[:, 1:] - ws[:, :1]), axis=(1, 2))
    safe = jnp.where(sq > 0, sq, 1.0)
    return jnp.mean(jnp.where(sq > 0, jnp.sqrt(safe), 0.0))


def opacity_background(weights_sum, threshold: float):
    """Background mask M from the generator's own accumulated opacity: 1 where the ray's
    weights_sum (N, R, R, 1) is below `threshold` (little density hit), else 0.

    The paper's M comes from a face-parsing network (Eq. 4); the project has none, so this is the
    substitute training.md §5 names. It is a constant of the gradient (a mask, not a target)."""
    return jax.lax.stop_gradient((weights_sum < threshold).astype(jnp.float32))


def front_background_depth(cfg, gen, planes, ws, c_front, depth_avg: float, threshold: float):
    """L_BG (Eq. 4): the tri-planes rendered at the canonical camera c_front (N, 25); the mean over
    background pixels of (depth - D_avg)^2 (`regularisers.background_depth`).

    Only the depth and opacity of the render are used, so under jit the super-resolution drops out."""
    out = render(cfg, gen, planes, ws, c_front)
    mask = opacity_background(out["weights_sum"], threshold)
    return regularisers.background_depth(out["image_depth"], mask, depth_avg)
