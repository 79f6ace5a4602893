"""GAN training of an EG3D / PanoHead generator from scratch (EG3D paper §4; official train.py,
training/loss.py StyleGAN2Loss, training_loop.py; PanoHead's loss.py for its extras;
configs/eg3d_gan.py, eg3d_gan_full.py, panohead_gan.py).

One step = the official phases in order, each its own optimiser update (step.net_update):
  Gmain  non-saturating logistic loss softplus(-D(G(z, c))) [+ PanoHead trans_reg]
  Greg   every losses.g_reg_every steps: density regulariser l1 |sigma(x) - sigma(x + eps)| * density_reg,
         times the interval (lazy regularisation)
  Dmain  logistic loss softplus(D(fake)) + softplus(-D(real)) on the dual input (image + raw)
  Dreg   every losses.r1_every steps: R1 gamma / 2 on the real image and raw image, times the interval
then G_ema <- beta G_ema + (1 - beta) G with the official half-life ramp (losses.ema_beta).
G's mapping sees the rendering camera swapped with another sample's with probability swap_prob
(generator pose conditioning, fading from 1 to gpc_reg_prob); the D sees blurred images with sigma
fading from blur_init_sigma to 0 (the real raw target blurred as well, the official blur_raw_target).
Style mixing with losses.style_mixing_prob. Noise is random in training (official noise_mode
default), the renderer's depths are jittered.
Neural rendering resolution: generator.neural_rendering_resolution, or, with
generator.neural_rendering_resolution_final set, the official fade from it to the final one over
neural_rendering_resolution_fade_kimg (losses.rendering_resolution, an integer per step): the
resolution is an array shape, so `static_stage` gives it to training/gan.LazyRegularizedStep, which
compiles the step once per resolution (x its lazy-regularisation variants) and drops the executables
of a resolution once the run has left it. The real raw target is resized to the step's resolution.
PanoHead's extras (its loss.py): losses.bcg_reg_prob (the background network sees another sample's
ws with this probability, per sample, in Gmain and Dmain's generator runs) and
losses.density_noise_fade_kimg (N(0, std^2) noise on the raw densities of every training render,
std fading 1 -> 0; not in the density regulariser, which PanoHead runs with weight 0, nor in the
G_ema samples / monitor, which render without noise). The mapping's w_avg (the truncation centre) is tracked
in batch_stats['generator'] (with the other generator buffers) from Gmain's ws with beta 0.998.
Data: config.data a folder with dataset.json (training/loop.make_input); batch {'image' (B, S, S, 3)
in [-1, 1], 'c' (B, 25)[, 'mask' (B, S, S, 1)]}; the fake cameras are the batch's cameras shuffled.
"""
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d import camera
from inversion3d.discriminators.stylegan2 import DualDiscriminator, blur_images
from inversion3d.generators import eg3d
from inversion3d.generators.eg3d_config import EG3DConfig
from inversion3d.losses import adversarial
from inversion3d.methods.eg3d_gan import losses as L
from inversion3d.ops.resize import resize_bilinear
from inversion3d.training import step as step_lib

W_AVG_BETA = 0.998  # official MappingNetwork w_avg_beta (eg3d.md §2)
PHASES = ("Gmain", "Greg", "Dmain", "Dreg")  # official training_loop phase order


class Method:
    """nets 'generator' (TriPlaneGenerator params, G_ema in ema_params) and 'discriminator'."""

    nets = ("generator", "discriminator")
    manual_ema = ("generator",)  # G_ema: the step-dependent ramp, not a fixed decay
    exports = "generator"  # `inversion3d export` writes G_ema as a generator file (methods/workdir.py)

    def __init__(self, config, bn_axis_name=None):
        del bn_axis_name  # no BatchNorm
        g = config.generator
        self.config = config
        self.kind = g.get("kind", "eg3d")
        self.cfg = EG3DConfig.from_official(g.init_kwargs, neural_rendering_resolution=int(g.neural_rendering_resolution),
                                            ray_chunk=g.get("ray_chunk"), kind=self.kind,
                                            compute_dtype=g.get("compute_dtype", "float32"))
        if self.kind == "eg3d" and g.init_kwargs.rendering_kwargs.get("c_gen_conditioning_zero"):
            raise ValueError("generator.init_kwargs: c_gen_conditioning_zero is set; turn off generator pose "
                             "conditioning with losses.gpc_reg_prob = -1 instead")
        d = config.model.discriminator
        self.disc = DualDiscriminator(self.cfg.img_resolution, c_dim=self.cfg.c_dim, channel_base=int(d.channel_base),
                                      channel_max=int(d.channel_max), mbstd_group_size=int(d.mbstd_group_size),
                                      mbstd_num_channels=int(d.mbstd_num_channels),
                                      mapping_layers=int(d.mapping_layers), conv_clamp=d.get("conv_clamp"),
                                      with_mask=bool(d.get("with_mask", False)))
        self.losses = config.losses
        self.batch = int(config.batch_size)
        if self.batch % min(int(d.mbstd_group_size), self.batch):
            raise ValueError(f"batch_size: expected a multiple of model.discriminator.mbstd_group_size, got {self.batch}")
        self.pair_fn = None  # folder data only
        self.rig = camera.rig(self.kind, dict(g.init_kwargs.rendering_kwargs))
        self.gen_key = jax.random.PRNGKey(int(g.get("seed", 0)))
        self.res_initial = int(g.neural_rendering_resolution)
        final = g.get("neural_rendering_resolution_final")
        self.res_final = None if final is None else int(final)
        self.res_fade_kimg = float(g.get("neural_rendering_resolution_fade_kimg", 1000.0))
        if min(self.res_initial, self.res_final or 1) < 1:
            raise ValueError(f"generator.neural_rendering_resolution(_final): expected >= 1, got "
                             f"{self.res_initial}, {self.res_final}")
        self.bcg_reg_prob = float(self.losses.get("bcg_reg_prob", 0.0))
        if self.bcg_reg_prob > 0 and not self.cfg.use_background:
            raise ValueError(f"losses.bcg_reg_prob: {self.bcg_reg_prob} needs a generator with a background "
                             f"network (PanoHead use_background)")
        self.noise_fade_kimg = float(self.losses.get("density_noise_fade_kimg", 0.0))

    def static_stage(self, step_index: int) -> int:
        """The neural rendering resolution of step `step_index` (losses.rendering_resolution at
        nimg = step_index * batch): the static part of the step (training/gan.LazyRegularizedStep)."""
        return L.rendering_resolution(int(step_index) * self.batch, self.res_initial, self.res_final,
                                      self.res_fade_kimg)

    # --- variables --------------------------------------------------------------------------------
    def frozen(self, rng):
        del rng
        return {}

    def init_variables(self, rng):
        """Generator params (official init) with its buffers as batch_stats; the discriminator's
        params with its (unused) mapping w_avg buffer as batch_stats."""
        k_d = jax.random.fold_in(rng, 1)
        gen = eg3d.init_variables(self.cfg, self.gen_key)
        s, r = self.cfg.img_resolution, self.cfg.neural_rendering_resolution
        args = [jnp.zeros((1, s, s, 3)), jnp.zeros((1, r, r, 3)), jnp.zeros((1, self.cfg.c_dim))]
        if self.disc.with_mask:
            args.append(jnp.zeros((1, r, r, 1)))
        dv = self.disc.init(k_d, *args)
        return {"generator": {"params": gen["params"], "batch_stats": gen["buffers"]},
                "discriminator": {"params": dv["params"], "batch_stats": dv.get("buffers", {})}}

    def export(self, params, batch_stats, ema_params):
        """The trained generator as one file (methods/workdir.export_generator): {'kind', 'tree':
        {'params': G_ema, 'buffers': the generator buffers incl. the tracked w_avg}, 'init_kwargs',
        'neural_rendering_resolution'} (the rendering settings trained with are in init_kwargs; the
        resolution is the fade's final one when a fade is configured: the official G_ema carries G's
        current one, which is the final one once the fade is over)."""
        del params  # G, not G_ema
        g = self.config.generator
        init_kwargs = g.init_kwargs.to_dict() if hasattr(g.init_kwargs, "to_dict") else dict(g.init_kwargs)
        tree = {"params": ema_params["generator"], "buffers": batch_stats["generator"]}
        return {"kind": self.kind, "tree": tree, "init_kwargs": init_kwargs,
                "neural_rendering_resolution": self.res_final or self.res_initial}

    # --- network applications ---------------------------------------------------------------------
    def _gvars(self, params, buffers):
        return {"params": params, "buffers": buffers}

    def d_apply(self, params, buffers, image, raw, c, mask=None, sigma=0.0):
        """Logits (N, 1); `image` blurred by sigma first (official run_D)."""
        image = blur_images(image, sigma, float(self.losses.blur_init_sigma))
        return self.disc.apply({"params": params, "buffers": buffers}, image, raw, c, mask)

    def mapping(self, gvars, rng, c_render, prob):
        """z ~ N(0, 1) -> ws with pose-conditioning swap and style mixing: (ws, z)."""
        k_z, k_swap, k_z2, k_mix = jax.random.split(rng, 4)
        n = c_render.shape[0]
        z = jax.random.normal(k_z, (n, self.cfg.z_dim))
        c_cond = self._conditioning(k_swap, c_render, prob, per_sample=True)
        ws = eg3d.mapping(self.cfg, gvars, z, c_cond)
        mix = float(self.losses.style_mixing_prob)
        if mix > 0:  # the official second mapping sees the rendering camera itself
            other = eg3d.mapping(self.cfg, gvars, jax.random.normal(k_z2, z.shape), c_render)
            ws = L.style_mix(k_mix, ws, other, mix)
        return ws, z

    def _conditioning(self, rng, c, prob, per_sample):
        if float(self.losses.gpc_reg_prob) < 0:  # generator pose conditioning off: zeros (official)
            return jnp.zeros_like(c)
        return L.conditioning_cameras(rng, c, prob, per_sample)

    def generate(self, gvars, rng, c, sched):
        """-> (render dict, ws, camera offset delta or None) for cameras c (N, 25) at the schedule's
        swap probability, rendering resolution and density noise (official run_G)."""
        k_map, k_syn = jax.random.split(rng)
        ws, z = self.mapping(gvars, k_map, c, sched["swap"])
        ws_bcg = L.background_ws(jax.random.fold_in(k_map, 2), ws, self.bcg_reg_prob)
        delta = None
        if self.kind == "panohead" and self.cfg.camera_offset:
            c, delta = eg3d.apply_delta_c(self.cfg, gvars, z, c)
        out = eg3d.synthesize(self.cfg, gvars, ws, c, noise_mode="random", rng=k_syn,
                              neural_rendering_resolution=sched["resolution"], ws_bcg=ws_bcg,
                              density_noise=sched["density_noise"] if self.noise_fade_kimg > 0 else None)
        return out, ws, delta

    def _fake_inputs(self, out):
        mask = out.get("image_mask") if self.disc.with_mask else None
        return out["image"], out["image_raw_render"], mask

    def real_inputs(self, batch, sigma, r):
        """(image, raw target, mask): the raw target is the image resized to the rendering
        resolution r (antialiased) and blurred by sigma (official blur_raw_target); the mask resized to r."""
        raw = blur_images(resize_bilinear(batch["image"], (r, r), antialias=True), sigma,
                          float(self.losses.blur_init_sigma))
        mask = None
        if self.disc.with_mask:
            if "mask" not in batch:
                raise ValueError("data: model.discriminator.with_mask needs masks (data.with_mask = True)")
            mask = batch["mask"] if batch["mask"].ndim == 4 else batch["mask"][..., None]
            mask = resize_bilinear(mask, (r, r), antialias=True)
        return batch["image"], raw, mask

    def schedules(self, step, resolution=None):
        """The traced schedules of step `step` and the static rendering resolution (default: the initial)."""
        nimg = step * self.batch
        lo = self.losses
        return {"resolution": int(resolution or self.res_initial),
                "density_noise": L.density_noise_std(nimg, self.noise_fade_kimg),
                "sigma": L.blur_sigma(nimg, float(lo.blur_init_sigma), float(lo.blur_fade_kimg)),
                "swap": L.swap_prob(nimg, max(float(lo.gpc_reg_prob), 0.0), float(lo.gpc_reg_fade_kimg)),
                "ema_beta": L.ema_beta(nimg, self.batch, float(lo.ema_kimg), lo.get("ema_rampup"))}

    def fake_cameras(self, rng, c):
        return c[jax.random.permutation(rng, c.shape[0])]

    # --- loss functions (step.net_update signature; ctx = {'params', 'batch_stats', 'sched'}) ---------
    def g_main_loss(self, params, buffers, batch, rng, ctx):
        k_c, k_g = jax.random.split(rng)
        sched = ctx["sched"]
        gvars = self._gvars(params, buffers)
        c_fake = self.fake_cameras(k_c, batch["c"])
        out, ws, delta = self.generate(gvars, k_g, c_fake, sched)
        image, raw, mask = self._fake_inputs(out)
        logits = self.d_apply(ctx["params"]["discriminator"], ctx["batch_stats"]["discriminator"], image, raw,
                              c_fake, mask, sched["sigma"])
        terms = {"adv": adversarial.generator_nonsaturating(logits), "fake_logit": jnp.mean(logits)}
        loss = terms["adv"]
        if delta is not None and float(self.losses.trans_reg) > 0:
            terms["trans_reg"] = L.camera_offset_reg(delta)
            loss = loss + float(self.losses.trans_reg) * terms["trans_reg"]
        new_buffers = _track_w_avg(buffers, jax.lax.stop_gradient(ws[:, 0]))
        return loss, (terms, new_buffers)

    def g_reg_loss(self, params, buffers, batch, rng, ctx):
        k_c, k_swap, k_map, k_noise, k_pts = jax.random.split(rng, 5)
        gvars = self._gvars(params, buffers)
        c = self.fake_cameras(k_c, batch["c"])
        n = c.shape[0]
        z = jax.random.normal(k_map, (n, self.cfg.z_dim))
        ws = eg3d.mapping(self.cfg, gvars, z, self._conditioning(k_swap, c, ctx["sched"]["swap"], per_sample=False))
        mix = float(self.losses.style_mixing_prob)
        if mix > 0:
            k_z2, k_mix = jax.random.split(jax.random.fold_in(k_map, 1))
            ws = L.style_mix(k_mix, ws, eg3d.mapping(self.cfg, gvars, jax.random.normal(k_z2, z.shape), c), mix)
        module = eg3d.TriPlaneGenerator(self.cfg)
        planes = module.apply(gvars, ws, "random", method=eg3d.TriPlaneGenerator.planes, rngs={"noise": k_noise})
        decode = functools.partial(module.apply, gvars, method=eg3d.TriPlaneGenerator.decode)
        tv = L.density_l1(k_pts, planes, decode, self.cfg.render, int(self.losses.density_reg_points),
                          float(self.losses.density_reg_p_dist))
        every = int(self.losses.g_reg_every)
        return tv * float(self.losses.density_reg) * every, ({"density_l1": tv}, buffers)

    def d_main_loss(self, params, buffers, batch, rng, ctx):
        k_c, k_g = jax.random.split(rng)
        sched = ctx["sched"]
        g = "generator"
        gvars = self._gvars(jax.lax.stop_gradient(ctx["params"][g]), ctx["batch_stats"][g])
        c_fake = self.fake_cameras(k_c, batch["c"])
        out, _, _ = self.generate(gvars, k_g, c_fake, sched)
        fake = jax.lax.stop_gradient(self._fake_inputs(out))
        fake_logits = self.d_apply(params, buffers, fake[0], fake[1], c_fake, fake[2], sched["sigma"])
        image, raw, mask = self.real_inputs(batch, sched["sigma"], sched["resolution"])
        real_logits = self.d_apply(params, buffers, image, raw, batch["c"], mask, sched["sigma"])
        terms = {"real_logit": jnp.mean(real_logits), "fake_logit": jnp.mean(fake_logits),
                 "blur_sigma": sched["sigma"], "swap_prob": jnp.asarray(sched["swap"], jnp.float32),
                 "render_resolution": jnp.asarray(sched["resolution"], jnp.float32)}
        if self.noise_fade_kimg > 0:
            terms["density_noise"] = sched["density_noise"]
        return adversarial.discriminator_logistic(real_logits, fake_logits), (terms, buffers)

    def d_reg_loss(self, params, buffers, batch, rng, ctx):
        del rng
        sigma = ctx["sched"]["sigma"]
        image, raw, mask = self.real_inputs(batch, sigma, ctx["sched"]["resolution"])
        inputs = (image, raw) if mask is None else (image, raw, mask)

        def d_fn(image, raw, mask=None):
            return self.d_apply(params, buffers, image, raw, batch["c"], mask, sigma)

        every, gamma = int(self.losses.r1_every), float(self.losses.r1_gamma)
        parts = L.r1_per_input(d_fn, inputs)
        penalty = parts[0] + parts[1]  # the image and the raw image (official r1_penalty)
        terms = {"r1_penalty": penalty}
        loss = gamma * penalty
        if mask is not None:  # PanoHead: the mask's R1 with its own gamma (--gamma_seg)
            terms["r1_penalty_seg"] = parts[2]
            loss = loss + float(self.losses.get("r1_gamma_seg", gamma)) * parts[2]
        return 0.5 * loss * every, (terms, buffers)

    # --- the step ---------------------------------------------------------------------------------
    def make_step(self, mode, mesh, skip_nonfinite=False, phases=PHASES):
        """-> (step(state, batch, frozen, (g_reg, r1), resolution=None), (g_reg_every, r1_every) or None
        for a regulariser that is off) for
        training/gan.LazyRegularizedStep (which passes `static_stage`'s resolution; None: the initial
        one). Only mode 'jit' (minibatch std and the camera shuffle see the global batch).
        phases: the official phases the step runs, a subset of PHASES (benchmarks time the G and D
        updates alone); G_ema follows G when 'Gmain' runs."""
        if mode != "jit":
            raise ValueError(f"mesh.mode: eg3d_gan needs 'jit' (minibatch std over the global batch), got {mode!r}")
        if not phases or set(phases) - set(PHASES):
            raise ValueError(f"phases: expected a non-empty subset of {PHASES}, got {phases}")
        upd = functools.partial(step_lib.net_update, mode=mode, mesh=mesh, skip_nonfinite=skip_nonfinite)
        g_main = upd(self.g_main_loss, "generator", prefix="g/")
        g_reg = upd(self.g_reg_loss, "generator", prefix="greg/")
        d_main = upd(self.d_main_loss, "discriminator", prefix="d/")
        d_reg = upd(self.d_reg_loss, "discriminator", prefix="r1/")
        do_greg = float(self.losses.density_reg) > 0 and "Greg" in phases
        do_r1 = float(self.losses.r1_gamma) > 0 and "Dreg" in phases

        def step(state, batch, frozen, regularize=(False, False), resolution=None):
            del frozen
            sched = self.schedules(state.step, resolution)
            keys = jax.random.split(jax.random.fold_in(state.rng, state.step), 4)

            def ctx(s):
                return {"params": s.params, "batch_stats": s.batch_stats, "sched": sched}

            metrics = {}
            if "Gmain" in phases:
                state, metrics = g_main(state, batch, keys[0], ctx(state))
            if regularize[0] and do_greg:
                state, m = g_reg(state, batch, keys[1], ctx(state))
                metrics.update(m)
            if "Dmain" in phases:
                state, m = d_main(state, batch, keys[2], ctx(state))
                metrics.update(m)
            if regularize[1] and do_r1:
                state, m = d_reg(state, batch, keys[3], ctx(state))
                metrics.update(m)
            if "Gmain" in phases:
                state = state.update_ema("generator", sched["ema_beta"])
            loss = metrics.get("g/loss", metrics.get("d/loss"))
            return state.next_step(), dict(metrics, loss=loss, ema_beta=sched["ema_beta"])

        # a regulariser that is off (PanoHead: density_reg 0) has no interval: no variant compiles for it
        return step, (int(self.losses.g_reg_every) if do_greg else None, int(self.losses.r1_every) if do_r1 else None)

    # --- visualisation ----------------------------------------------------------------------------
    def view_cameras(self, n: int):
        """[(n, 25)] cameras at yaw pi/2 + each of data.vis_yaws, pitch pi/2."""
        return [jnp.asarray(self.rig.labels(np.full(n, math.pi / 2 + y, np.float32), np.full(n, math.pi / 2, np.float32)))
                for y in self.config.data.vis_yaws]

    def samples(self, params, buffers, n: int, resolution=None):
        """G_ema samples of the fixed seeds (data.vis_seed) at every view: ([images], [depths]),
        each (n, S, S, 3) in [-1, 1] (depth mapped from [ray_start, ray_end], near = white), rendered
        at `resolution` (default the initial neural rendering resolution)."""
        gvars = self._gvars(params, buffers)
        z = jax.random.normal(jax.random.PRNGKey(int(self.config.data.vis_seed)), (n, self.cfg.z_dim))
        front = jnp.broadcast_to(jnp.asarray(self.rig.frontal()), (n, self.cfg.c_dim))
        c_cond = jnp.zeros_like(front) if float(self.losses.gpc_reg_prob) < 0 else front
        ws = eg3d.mapping(self.cfg, gvars, z, c_cond, float(self.config.data.vis_truncation_psi))
        images, depths = [], []
        r = self.cfg.render
        s = self.cfg.img_resolution
        for c in self.view_cameras(n):
            out = eg3d.synthesize(self.cfg, gvars, ws, c, neural_rendering_resolution=resolution)
            images.append(out["image"])
            d = 1.0 - 2.0 * (out["image_depth"] - r.ray_start) / (r.ray_end - r.ray_start)
            depths.append(jnp.repeat(resize_bilinear(jnp.clip(d, -1, 1), (s, s)), 3, axis=-1))
        return images, depths

    # --- FID-like tracking (config.monitor.fid; training/loop.py calls `monitor`) --------------------
    def monitor(self, state, frozen):
        """{'fid_random': Fréchet distance of random-CNN features} between monitor.fid.num G_ema samples
        (random z, the reference images' cameras) and monitor.fid.num real images of monitor.fid.split
        (metrics/random_features.py: a progress tracker, not FID), plus `diversity`'s four spreads of
        G_ema over monitor.diversity_num seeds / reference cameras (fid_random alone cannot see a generator
        whose samples differ only through the conditioning camera: its samples use the reference cameras)."""
        del frozen
        ev = self.config.monitor.fid
        res = self.static_stage(int(state.step))  # G_ema renders at G's current resolution (official)
        if not hasattr(self, "_fid"):
            self._fid, self._fid_c = _reference(self.config.data, ev, self.cfg.img_resolution)
            self._gen = jax.jit(lambda p, b, z, c, r: eg3d.synthesize(
                self.cfg, self._gvars(p, b), eg3d.mapping(self.cfg, self._gvars(p, b), z, self._fid_cond(c)), c,
                neural_rendering_resolution=r)["image"], static_argnums=4)
        key = jax.random.PRNGKey(int(ev.seed))
        g_ema, g_buffers = state.ema_params["generator"], state.batch_stats["generator"]
        fakes = []
        for i in range(0, len(self._fid_c), int(ev.batch)):
            c = jnp.asarray(self._fid_c[i:i + int(ev.batch)])
            z = jax.random.normal(jax.random.fold_in(key, i), (c.shape[0], self.cfg.z_dim))
            fakes.append(np.asarray(self._gen(g_ema, g_buffers, z, c, res)))
        n = min(len(self._fid_c), int(self.config.monitor.get("diversity_num", 16)))
        if n < 2:
            raise ValueError(f"monitor: diversity needs >= 2 samples (monitor.diversity_num, monitor.fid.num), got {n}")
        if not hasattr(self, "_div"):
            self._div = jax.jit(self.diversity, static_argnames="resolution")
        z = jax.random.normal(jax.random.fold_in(key, 1 << 30), (n, self.cfg.z_dim))
        div = self._div(g_ema, g_buffers, z, jnp.asarray(self._fid_c[:n]), resolution=res)
        return {"fid_random": self._fid.score(np.concatenate(fakes)), **{k: float(v) for k, v in div.items()}}

    def diversity(self, params, buffers, z, c_cond, resolution=None):
        """How G's samples vary with z against the conditioning camera, at the frontal rendering camera:
        {'seed_std': mean over pixels of the std over z (N, z_dim) of the images with the frontal
        conditioning camera (what `samples` and `render` show), 'cond_std': the same over the N
        conditioning cameras c_cond (N, 25) with z[0] for every sample, 'seed_depth_std' /
        'cond_depth_std': the same for the rendered depth (the shape, not the background colour)}.
        A generator that keeps its identity in z has the seed numbers well above the cond ones; the tiny
        run that collapsed (configs/eg3d_gan.py, z_dim) had cond_depth_std > seed_depth_std.
        Rendered at `resolution` (default the initial neural rendering resolution)."""
        n = z.shape[0]
        if z.ndim != 2 or c_cond.shape != (n, self.cfg.c_dim):
            raise ValueError(f"diversity: expected z (N, {self.cfg.z_dim}) and c_cond (N, {self.cfg.c_dim}), "
                             f"got {tuple(z.shape)} and {tuple(c_cond.shape)}")
        gvars = self._gvars(params, buffers)
        front = jnp.broadcast_to(jnp.asarray(self.rig.frontal()), (n, self.cfg.c_dim))
        by_seed = eg3d.mapping(self.cfg, gvars, z, self._fid_cond(front))
        by_cond = eg3d.mapping(self.cfg, gvars, jnp.broadcast_to(z[:1], z.shape), self._fid_cond(c_cond))
        out = eg3d.synthesize(self.cfg, gvars, jnp.concatenate([by_seed, by_cond]), jnp.concatenate([front, front]),
                              neural_rendering_resolution=resolution)
        spread = lambda x: jnp.mean(jnp.std(x, axis=0))  # noqa: E731
        image, depth = out["image"], out["image_depth"]
        return {"seed_std": spread(image[:n]), "cond_std": spread(image[n:]),
                "seed_depth_std": spread(depth[:n]), "cond_depth_std": spread(depth[n:])}

    def _fid_cond(self, c):
        return jnp.zeros_like(c) if float(self.losses.gpc_reg_prob) < 0 else c

    def visualize(self, state, batch, frozen, num: int = 4, resolution=None):
        """-> [real images, G_ema samples at each view ..., their depths ...], each (num, S, S, 3), rendered
        at `resolution` (static: the loop passes static_stage of the step; None: the initial one)."""
        del frozen
        images, depths = self.samples(state.ema_params["generator"], state.batch_stats["generator"], num,
                                      resolution)
        return [batch["image"][:num], *images, *depths]


def _reference(data, ev, resolution):
    """(RandomFeatureFID on up to ev.num real images of ev.split, their (n, 25) cameras)."""
    from inversion3d.data import folder
    from inversion3d.metrics.random_features import RandomFeatureFID

    root = ev.get("folder") or data.folder
    labels = folder.read_labels(root)
    names = folder.split_names(root, ev.split, labels)[:int(ev.num)]
    examples = [folder.area_resize(folder.load_example(root, n, labels[n]), resolution) for n in names]
    images = np.stack([folder.to_float(e)["image"] for e in examples])
    return RandomFeatureFID(images, seed=int(ev.seed)), np.stack([e["c"] for e in examples])


def _track_w_avg(buffers, w):
    """buffers with backbone mapping w_avg <- lerp(mean(w), w_avg, W_AVG_BETA) (official update_emas)."""
    mapping = buffers["backbone"]["mapping"]
    new = jnp.mean(w, axis=0) + W_AVG_BETA * (mapping["w_avg"] - jnp.mean(w, axis=0))
    return {**buffers, "backbone": {**buffers["backbone"], "mapping": {**mapping, "w_avg": new}}}
