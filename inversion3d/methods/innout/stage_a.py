"""In-N-Out stage A: pre-inversion of a sequence into per-frame W+ (in-n-out.md §1).

Nearest-LPIPS initialisation (sampled w, psi 1, frontal conditioning camera, rendered at each
frame's camera; the mean of the LPIPS-Alex map, else MSE), then {w_cano (1, num_ws, w_dim),
r (T, num_ws, w_dim)} with w_t = w_cano + rho r_t optimised by Adam under the projector's lr schedule
evaluated per epoch, one frame per step in shuffled order; pass A2 restarts from A1's w_cano with zero
residuals. Loss per frame, at the generator's image resolution (targets bilinear, masks nearest):
MSE (masked when a mask is given) + lpips * LPIPS-VGG + delta * sum_{i=1..12} ||w_t[i] - w_t[0]||.
The LPIPS term is the official masked one: the spatial LPIPS map of the full synthesis against the
full target, weighted by the mask and divided by its sum (the plain map mean when there is no mask).
"""
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.generators import eg3d
from inversion3d.inversion import optimization as opt
from inversion3d.losses.lpips import LPIPS
from inversion3d.methods.innout import losses
from inversion3d.ops.resize import resize_bilinear

NOISE_MODE = "const"


def _distance(lpips_net, lpips_vars, x, y):
    """Per-image distance (K,) of x (K, S, S, 3) to y (K, S, S, 3): LPIPS map mean, else MSE."""
    if lpips_net is None:
        return jnp.mean(jnp.square(x - y), axis=(1, 2, 3))
    return jnp.mean(LPIPS(lpips_net, spatial=True).apply(lpips_vars, x, y), axis=(1, 2, 3))


@functools.partial(jax.jit, static_argnums=(0, 1))
def _chunk_distances(cfg, lpips_net, gen_vars, lpips_vars, z, cond, cams, targets):
    """ws (K, num_ws, w_dim) of z (K, z_dim) and their distances (K, T) to every frame."""
    ws = eg3d.mapping(cfg, gen_vars, z, jnp.broadcast_to(cond, (z.shape[0], 25)))

    def frame(args):
        cam, target = args
        k = z.shape[0]
        img = eg3d.synthesize(cfg, gen_vars, ws, jnp.broadcast_to(cam, (k, 25)), noise_mode=NOISE_MODE)["image"]
        return _distance(lpips_net, lpips_vars, img, jnp.broadcast_to(target, img.shape))

    return ws, jax.lax.map(frame, (cams, targets)).T


def nearest_init(cfg, gen_vars, targets, cams, cond, z, chunk, lpips_net=None, lpips_vars=None):
    """Per frame the sampled w+ nearest to it (§1 A1 init) -> (T, num_ws, w_dim).

    targets (T, S, S, 3) in [-1, 1], cams (T, 25), cond (25,) conditioning camera, z (K, z_dim).
    """
    best_d = np.full(targets.shape[0], np.inf)
    best_w = np.zeros((targets.shape[0], cfg.num_ws, cfg.w_dim), np.float32)
    for i in range(0, z.shape[0], chunk):
        zc = z[i:i + chunk]
        if zc.shape[0] < chunk:  # pad: one compiled shape for every chunk
            zc = np.concatenate([zc, np.repeat(zc[-1:], chunk - zc.shape[0], 0)])
        ws, d = _chunk_distances(cfg, lpips_net, gen_vars, lpips_vars or {}, zc, cond, cams, targets)
        ws, d = np.asarray(ws), np.asarray(d)
        j = np.argmin(d, axis=0)
        better = d[j, np.arange(d.shape[1])] < best_d
        best_d = np.where(better, d[j, np.arange(d.shape[1])], best_d)
        best_w[better] = ws[j[better]]
    return best_w


def frame_loss(cfg, lpips_net, weights, gen_vars, lpips_vars, w, cam, target, mask, rng):
    """§1 per-frame loss of w (1, num_ws, w_dim) at cam (1, 25) -> (loss, metrics); target (1, S, S, 3)
    and mask (1, S, S, 1) at the generator's image resolution S, or None: the plain MSE and LPIPS mean
    (the official example without masks; its masked variant sums the squared error over the channels)."""
    synth = eg3d.synthesize(cfg, gen_vars, w, cam, noise_mode=NOISE_MODE, rng=rng)["image"]
    if mask is None:
        err, mask = losses.mse(synth, target), jnp.ones(synth.shape[:3] + (1,), synth.dtype)
    else:
        err = losses.masked_mse(synth, target, mask)
    loss = weights["mse"] * err + weights["delta"] * losses.layer_delta(w, weights["last"])
    metrics = {"mse": err}
    if lpips_net is not None:
        dist = losses.masked_lpips(lpips_net, lpips_vars, synth, target, mask)
        loss = loss + weights["lpips"] * dist
        metrics["lpips"] = dist
    metrics["loss"] = loss
    return loss, metrics


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _step(cfg, lpips_net, last, params, opt_state, lr, hp, gen_vars, lpips_vars, t, cams, targets, masks, rng):
    weights = dict(hp, last=last)

    def fn(p):
        w = p["w_cano"] + hp["rho"] * p["r"][t][None]
        return frame_loss(cfg, lpips_net, weights, gen_vars, lpips_vars, w, cams[t][None], targets[t][None],
                          None if masks is None else masks[t][None], rng)

    (_, metrics), grads = jax.value_and_grad(fn, has_aux=True)(params)
    params, opt_state = opt.adam_update(params, grads, opt_state, lr, 0.9, 0.999, 1e-8)
    return params, opt_state, metrics


def run(gen, targets, cams, masks, config, lpips=None, rng=None, z=None, log=print):
    """Stage A on a sequence -> {'ws' (T, num_ws, w_dim) = w_cano + rho r, 'w_cano', 'residual',
    'losses' (steps,)}.

    gen: a Generator; targets (T, H, W, 3) in [-1, 1] (resized bilinearly to the generator's image
    size); cams (T, 25); masks (T, H', W', 1) (1 = face; resized nearest) or None; config:
    configs/innout.py; lpips: {net: variables} or None (MSE only); z: the init samples (default:
    config.stage_a.init_samples draws of the seed).
    """
    from inversion3d import camera

    a = config.stage_a
    cfg = gen.config
    targets = jnp.asarray(targets, jnp.float32)
    if targets.ndim != 4 or targets.shape[-1] != 3:
        raise ValueError(f"targets: expected (T, H, W, 3), got {targets.shape}")
    num, size = targets.shape[0], cfg.img_resolution
    if cams.shape != (num, 25):
        raise ValueError(f"cams: expected shape ({num}, 25), got {cams.shape}")
    if targets.shape[1:3] != (size, size):  # §0 / §1: targets bilinear to 512 (torch default, no antialias)
        targets = resize_bilinear(targets, (size, size), antialias=False)
    if masks is not None:  # None: the plain (unmasked) losses of frame_loss
        masks = np.asarray(masks, np.float32)
        if masks.ndim != 4 or masks.shape[0] != num or masks.shape[-1] != 1:
            raise ValueError(f"masks: expected ({num}, H, W, 1), got {masks.shape}")
        masks = losses.nearest(masks, size)
    rng = jax.random.PRNGKey(config.seed) if rng is None else rng
    alex, alex_vars = opt.pick_lpips(lpips, "alex", log, "innout A")
    z = opt.sample_z(config.seed, int(a.init_samples), cfg.z_dim) if z is None else z
    start = time.time()
    init = nearest_init(cfg, gen.params, targets, jnp.asarray(cams), camera.generator_frontal_label(gen), z,
                        int(a.init_chunk), alex, alex_vars)
    log(f"[innout A] nearest init from {z.shape[0]} samples: {time.time() - start:.1f}s")
    net, lpips_vars = opt.pick_lpips(lpips, "vgg", log, "innout A")
    hp = {k: jnp.asarray(v, jnp.float32) for k, v in
          dict(mse=a.mse, lpips=a.lpips, delta=a.delta, rho=a.rho).items()}
    w_cano = jnp.mean(jnp.asarray(init), axis=0, keepdims=True)
    order_rng = np.random.RandomState(config.seed)
    history, steps_total, step = [], int(a.passes) * int(a.epochs) * num, 0
    for _ in range(int(a.passes)):
        params = {"w_cano": w_cano, "r": jnp.zeros_like(jnp.asarray(init))}
        opt_state = opt.adam_init(params)
        for epoch in range(int(a.epochs)):
            lr = opt.learning_rate(epoch, int(a.epochs), a.lr, a.lr_rampdown_length, a.lr_rampup_length)
            for t in order_rng.permutation(num):
                params, opt_state, metrics = _step(cfg, net, int(a.delta_last_layer), params, opt_state, lr, hp,
                                                   gen.params, lpips_vars, int(t), jnp.asarray(cams), targets,
                                                   masks, jax.random.fold_in(rng, step))
                history.append(metrics["loss"])
                step += 1
                if step % max(1, int(config.log_every)) == 0 or step == steps_total:
                    _progress(log, "A", step, steps_total, start, metrics)
        w_cano = params["w_cano"]
    ws = params["w_cano"] + a.rho * params["r"]
    return {"ws": ws, "w_cano": params["w_cano"], "residual": params["r"],
            "losses": np.asarray(jnp.stack(history)) if history else np.zeros(0, np.float32)}


def _progress(log, stage, step, total, start, metrics):
    elapsed = time.time() - start
    eta = elapsed / step * (total - step)
    values = " ".join(f"{k} {float(v):.4g}" for k, v in metrics.items())
    log(f"[innout {stage}] step {step}/{total}: {values} ({elapsed:.0f}s, ETA {eta:.0f}s)")
