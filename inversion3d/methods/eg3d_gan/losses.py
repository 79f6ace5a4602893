"""EG3D / PanoHead GAN training terms and schedules (official training/loss.py StyleGAN2Loss and
training_loop.py; configs/eg3d_gan*.py hold every number).

Schedules are functions of cur_nimg = step * batch (images shown before this step), so they are
traced values and one compiled step serves the whole run:
  blur_sigma   max(1 - nimg / (blur_fade_kimg 1e3), 0) * blur_init_sigma   (raw-image blur fade-in)
  swap_prob    (1 - a) + a * gpc_reg_prob, a = min(nimg / (gpc_reg_fade_kimg 1e3), 1)
  ema_beta     0.5 ** (batch / max(min(ema_kimg 1e3, nimg * ema_rampup), 1e-8))   (G_ema half-life ramp)
  density_noise_std  max(1 - nimg / (density_noise_fade_kimg 1e3), 0)   (PanoHead: std of the noise
               added to the raw densities while rendering; 0 when the fade is off)
except the neural rendering resolution, which sets array shapes: `rendering_resolution` is a host
function (numpy) of the step, and the step is compiled once per resolution (training/gan.py stages).
"""
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.ops.grid import sample_from_planes, sample_from_trigrid


def blur_sigma(nimg, init_sigma: float, fade_kimg: float):
    """The discriminator's blur sigma after `nimg` images (0 once faded; 0 when fade_kimg <= 0)."""
    if fade_kimg <= 0:
        return jnp.zeros([], jnp.float32)
    return jnp.maximum(1.0 - jnp.asarray(nimg, jnp.float32) / (fade_kimg * 1e3), 0.0) * init_sigma


def swap_prob(nimg, gpc_reg_prob: float, fade_kimg: float):
    """Probability of conditioning G on another sample's camera (generator pose conditioning)."""
    a = jnp.minimum(jnp.asarray(nimg, jnp.float32) / (fade_kimg * 1e3), 1.0) if fade_kimg > 0 else 1.0
    return (1.0 - a) * 1.0 + a * gpc_reg_prob


def ema_beta(nimg, batch: int, ema_kimg: float, ema_rampup):
    """G_ema decay for this step (0 at nimg 0: G_ema starts as a copy of G)."""
    ema_nimg = jnp.asarray(ema_kimg * 1e3, jnp.float32)
    if ema_rampup is not None and ema_rampup > 0:
        ema_nimg = jnp.minimum(ema_nimg, jnp.asarray(nimg, jnp.float32) * ema_rampup)
    return 0.5 ** (batch / jnp.maximum(ema_nimg, 1e-8))


def rendering_resolution(nimg: int, initial: int, final, fade_kimg: float) -> int:
    """The neural rendering resolution after `nimg` images (official loss.py): initial when final is
    None, else rint(lerp(initial, final, min(nimg / (fade_kimg 1e3), 1))) (numpy's rint: halves to
    even); fade_kimg <= 0 jumps to final at once."""
    if final is None:
        return int(initial)
    alpha = min(nimg / (fade_kimg * 1e3), 1.0) if fade_kimg > 0 else 1.0
    return int(np.rint(initial * (1 - alpha) + final * alpha))


def rendering_resolutions(initial: int, final, fade_kimg: float, batch: int, steps: int):
    """{resolution: first step} of every resolution `rendering_resolution` takes in steps 0..steps-1
    at this batch (step i shows nimg = i * batch): one compiled step (per lazy-regularisation
    variant) per entry. Walks the steps of the fade only (the resolution is final after it)."""
    fade_steps = 0 if final is None or fade_kimg <= 0 else int(np.ceil(fade_kimg * 1e3 / batch))
    first = {}
    for step in range(min(steps, fade_steps + 1)):
        first.setdefault(rendering_resolution(step * batch, initial, final, fade_kimg), step)
    return first


def density_noise_std(nimg, fade_kimg: float):
    """PanoHead's density noise std after `nimg` images: max(1 - nimg / (fade_kimg 1e3), 0); 0 when off."""
    if fade_kimg <= 0:
        return jnp.zeros([], jnp.float32)
    return jnp.maximum(1.0 - jnp.asarray(nimg, jnp.float32) / (fade_kimg * 1e3), 0.0)


def background_ws(rng, ws, prob: float):
    """PanoHead's background regularisation (bcg_reg_prob): per sample, with probability prob the
    background network sees another sample's ws (ws rolled by one row), else its own; None when off."""
    if prob <= 0:
        return None
    swap = jax.random.uniform(rng, (ws.shape[0], 1, 1)) < prob
    return jnp.where(swap, jnp.roll(ws, 1, axis=0), ws)


def conditioning_cameras(rng, c, prob, per_sample: bool = True):
    """c (N, 25) -> the cameras G's mapping sees: c rolled by one row (another sample's camera)
    with probability prob, per sample (run_G) or once for the batch (density regulariser)."""
    shape = (c.shape[0], 1) if per_sample else ()
    return jnp.where(jax.random.uniform(rng, shape) < prob, jnp.roll(c, 1, axis=0), c)


def style_mix(rng, ws, ws_other, prob: float):
    """With probability prob (per batch) ws[:, k:] <- ws_other[:, k:], k uniform in [1, num_ws)."""
    if prob <= 0:
        return ws
    k_cut, k_on = jax.random.split(rng)
    num_ws = ws.shape[1]
    cutoff = jax.random.randint(k_cut, (), 1, num_ws)
    cutoff = jnp.where(jax.random.uniform(k_on, ()) < prob, cutoff, num_ws)
    return jnp.where((jnp.arange(num_ws) >= cutoff)[None, :, None], ws_other, ws)


def density_l1(rng, planes, decode, render_cfg, num_points: int, p_dist: float):
    """EG3D density regulariser (reg_type 'l1'): mean |sigma(x) - sigma(x + eps)| over num_points
    points x ~ U[-1, 1]^3 per sample, eps ~ N(0, p_dist^2). planes (N, 3, H, W, C[*D]);
    decode(sampled (N, 3, P, C)) -> {'sigma': (N, P, 1)}. Returns the unweighted scalar."""
    k_x, k_e = jax.random.split(rng)
    n = planes.shape[0]
    x = jax.random.uniform(k_x, (n, num_points, 3), minval=-1.0, maxval=1.0)
    pts = jnp.concatenate([x, x + jax.random.normal(k_e, x.shape) * p_dist], axis=1)
    if render_cfg.plane_kind == "eg3d":
        feats = sample_from_planes(planes, pts, render_cfg.box_warp, "eg3d")
    else:
        feats = sample_from_trigrid(planes, pts, render_cfg.triplane_depth, render_cfg.box_warp)
    sigma = decode(feats)["sigma"]
    return jnp.mean(jnp.abs(sigma[:, :num_points] - sigma[:, num_points:]))


def camera_offset_reg(delta):
    """PanoHead's camera self-adaptation penalty sum_k (mean_n delta[n, k])^2 (weight: trans_reg)."""
    return jnp.sum(jnp.square(jnp.mean(delta, axis=0)))


def r1_dual(d_fn, inputs):
    """R1 on several real inputs at once: mean over the batch of sum |dD/dx|^2 summed over every
    array in `inputs` (a tuple: image, image_raw [, mask]); d_fn(*inputs) -> (N, 1) logits."""
    return sum(r1_per_input(d_fn, inputs))


def r1_per_input(d_fn, inputs):
    """R1 of each real input apart: (mean over the batch of sum |dD/dx_i|^2 for each x_i in `inputs`).
    PanoHead weighs the mask's with its own gamma (loss.py r1_gamma_seg, train.py --gamma_seg)."""
    grads = jax.grad(lambda xs: jnp.sum(d_fn(*xs)))(tuple(inputs))
    n = inputs[0].shape[0]
    return tuple(jnp.mean(jnp.sum(jnp.square(g).reshape(n, -1), axis=1)) for g in grads)
