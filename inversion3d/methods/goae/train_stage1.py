"""GOAE stage 1: the geometry-aware encoder against the canonical latent discriminator
(GOAE paper §4.1, Eq. 2-4, 10-11; training.md §5; configs/goae_stage1.py).

One step (training/gan.make_gan_step): the encoder update, then the discriminator update, and
every losses.r1_every steps the lazy R1 update of the discriminator on real codes.
  encoder:  L_rec (1.0 L2 + 0.8 LPIPS + 0.25 ID on the input view, Eq. 10)
            + 0.05 L_adv^E (non-saturating, Eq. 3) + 5.0 L_BG (Eq. 4) + 0.001 ||Δw+||_2 (Eq. 11;
            losses.wplus_delta_norm)
  D_Wc:     logistic loss, real = mapping(z, c_front) (row 0 of fresh z at the canonical camera),
            fake = every row w_i of the encoder's w+ (Eq. 2); R1 gamma = 10 on real codes.
The encoder's w+ render at the input camera is `pipeline.encode`'s render 1 (inference's own).
L_BG renders the same tri-planes at the canonical camera: its depth over background pixels
(the generator's opacity mask, losses.opacity_background) is pulled toward D_avg
(losses.bg_depth_file from `inversion3d depth-avg`, or losses.bg_depth_avg).
The heads unlock progressively (coarse -> mid -> fine at model.stage_thresholds): the stage is a
traced function of the step, so one compiled step serves every stage.
"""
import jax
import jax.numpy as jnp

from inversion3d.discriminators.latent import CanonicalLatentDiscriminator
from inversion3d.generators import eg3d
from inversion3d.inversion.common import render, result
from inversion3d.losses import adversarial
from inversion3d.losses.reconstruction import weighted_total
from inversion3d.methods.goae import depth_avg, pipeline
from inversion3d.methods.goae.losses import front_background_depth, progressive_stage, wplus_delta_norm
from inversion3d.methods.goae.train import GOAETraining
from inversion3d.training import gan

REAL_STREAM = 0x5EA1  # fold_in tag of the real codes' z (apart from the step's g / d / r1 keys)


class Method(GOAETraining):
    """Stage 1: nets 'encoder' (GOAEncoder) and 'discriminator' (CanonicalLatentDiscriminator)."""

    nets = ("encoder", "discriminator")

    def __init__(self, config, bn_axis_name=None):
        super().__init__(config, bn_axis_name)
        self.disc = CanonicalLatentDiscriminator(style_dim=self.gen_cfg.w_dim,
                                                 n_mlp=int(config.model.discriminator.n_mlp))
        self.thresholds = tuple(int(t) for t in config.model.stage_thresholds)
        progressive_stage(0, self.thresholds)  # validates them now, not at the first trace
        losses = config.losses
        if losses.get("bg_depth_file"):
            self.depth_avg, self.bg_threshold = depth_avg.read(losses.bg_depth_file)
        else:
            self.depth_avg, self.bg_threshold = float(losses.bg_depth_avg), float(losses.bg_mask_threshold)
        r = self.gen_cfg.render
        if self.uses("bg_depth") and not r.ray_start <= self.depth_avg <= r.ray_end:
            raise ValueError(f"losses.bg_depth_avg: D_avg {self.depth_avg} is outside the generator's ray range "
                             f"[{r.ray_start}, {r.ray_end}]; estimate it with `inversion3d "
                             "depth-avg` and set losses.bg_depth_file")

    def init_variables(self, rng):
        k_e, k_d = jax.random.split(rng)
        s = self.encoder.swin.img_size
        return {"encoder": dict(self.encoder.init(k_e, jnp.zeros((1, s, s, 3), jnp.float32))),
                "discriminator": dict(self.disc.init(k_d, jnp.zeros((1, self.gen_cfg.w_dim), jnp.float32)))}

    def export(self, params, batch_stats):
        """The trained encoder as a GOAE encoder file (`invert --method goae-noafa`; stage 2 adds AFA)."""
        return self.export_networks(params, batch_stats, ("encoder",))

    # --- step inputs derived from the step --------------------------------------------------------
    def stage_at(self, step):
        return progressive_stage(step, self.thresholds)

    def step_inputs(self, state, frozen, n: int):
        """Real canonical codes (n, w_dim) from fresh z, and the progressive stage per row (n,)
        (per row so that shard_map splits it like the batch)."""
        key = jax.random.fold_in(jax.random.fold_in(state.rng, state.step), REAL_STREAM)
        z = jax.random.normal(key, (n, self.gen_cfg.z_dim))
        d = self.config.data
        ws = eg3d.mapping(self.gen_cfg, frozen["generator"], z, self.front_cameras(n),
                          float(self.config.losses.real_truncation_psi), d.get("truncation_cutoff"))
        return {"w_real": ws[:, 0], "progressive_stage": jnp.full((n,), self.stage_at(state.step), jnp.int32)}

    # --- losses ---------------------------------------------------------------------------------
    def d_apply(self, params, batch_stats, ws):
        del batch_stats
        return self.disc.apply({"params": params}, ws)

    def encoder_loss(self, params, batch_stats, batch, rng, ctx):
        """Eq. 10-11 for the encoder (D fixed): -> (loss, (terms, batch_stats))."""
        del rng
        frozen = ctx["frozen"]
        gen = frozen["generator"]
        image, c = batch["image"], batch["c"]
        w = pipeline.encode(self.gen_cfg, self.encoder, {"params": params}, gen, image, c,
                            stage=batch["progressive_stage"][0])
        terms = self.reconstruction(w["render_w"]["image"], image, frozen)
        if self.uses("adv"):
            terms["adv"] = adversarial.generator_nonsaturating(
                self.d_apply(ctx["params"]["discriminator"], None, w["ws"]))
        if self.uses("bg_depth"):
            terms["bg_depth"] = front_background_depth(self.gen_cfg, gen, w["w_planes"], w["ws"],
                                                       self.front_cameras(image.shape[0]), self.depth_avg,
                                                       self.bg_threshold)
        if self.uses("wplus_delta"):
            terms["wplus_delta"] = wplus_delta_norm(w["ws"])
        return weighted_total(terms, self.weights), (terms, batch_stats)

    def disc_loss(self, params, batch_stats, batch, rng, ctx):
        """Eq. 2 without R1: real canonical codes vs every row of the (just updated) encoder's w+."""
        del rng
        ws = pipeline.codes(self.encoder, {"params": ctx["params"]["encoder"]}, ctx["frozen"]["generator"],
                            batch["image"], batch["progressive_stage"][0])
        real = self.d_apply(params, None, batch["w_real"])
        fake = self.d_apply(params, None, jax.lax.stop_gradient(ws))
        terms = {"real_logit": jnp.mean(real), "fake_logit": jnp.mean(fake)}
        return adversarial.discriminator_logistic(real, fake), (terms, batch_stats)

    def make_step(self, mode, mesh, skip_nonfinite=False):
        """-> (step(state, batch, frozen, regularize), r1_every) for training/gan.LazyRegularizedStep;
        skip_nonfinite: config.on_nonfinite == 'skip' (training/nonfinite.py)."""
        losses = self.config.losses
        every = int(losses.r1_every)
        gamma = float(losses.r1_gamma)
        r1 = gan.r1_penalty(self.d_apply, gamma, every, real_key="w_real") if gamma > 0 else None
        gan_step = gan.make_gan_step(self.encoder_loss, self.disc_loss, r1, "encoder", "discriminator", mode, mesh,
                                     skip_nonfinite=skip_nonfinite)

        def step(state, batch, frozen, regularize=False):
            extra = self.step_inputs(state, frozen, batch["c"].shape[0])
            new_state, metrics = gan_step(state, dict(batch, **extra), frozen, regularize)
            # 'loss' is the encoder's total (the progress line and the best checkpoint follow it)
            return new_state, dict(metrics, loss=metrics["g/loss"],
                                   progressive_stage=extra["progressive_stage"][0].astype(jnp.float32))

        return step, every

    def inference(self, state, image, c, frozen):
        """The result dict of `pipeline.invert_w` (render 1 of the W tri-planes) at the current head stage."""
        w = pipeline.encode(self.gen_cfg, self.encoder, state.variables("encoder"), frozen["generator"], image, c,
                            stage=self.stage_at(state.step))
        return result(w["ws"], w["render_w"], w["w_planes"])

    # --- visualisation --------------------------------------------------------------------------
    def visualize(self, state, batch, frozen, num: int = 4):
        """-> [input, render 1 at the input camera, novel views at yaw -+ data.vis_yaw], each (num, S, S, 3)."""
        image, c = batch["image"][:num], batch["c"][:num]
        gen = frozen["generator"]
        w = pipeline.encode(self.gen_cfg, self.encoder, state.variables("encoder"), gen, image, c,
                            stage=self.stage_at(state.step))
        views = [render(self.gen_cfg, gen, w["w_planes"], w["ws"], cam)["image"]
                 for cam in self.novel_cameras(image.shape[0])]
        return [image, w["render_w"]["image"], *views]
