"""Dual Encoder training on PanoHead (paper Appendix A.2, Eq. 5-9; training.md §6; configs/dual.py,
configs/dual_full.py).

Three networks, each with its own optimiser (config.optim.<net>, Ranger lr 1e-4, paper Sec. 4.1):
  'e1'            E1 (visible): pSp GradualStyleEncoder -> w+, then the TriPlaneNet-v2-style tri-grid
                  encoder (Appendix A.1 "Encoder 1 and 2"); params / batch_stats {'psp', 'triplanenet'};
  'e2'            E2 (occluded): the same architecture;
  'discriminator' the occlusion-aware tri-plane D of Table 6 (discriminators/triplane.py), with its
                  BatchNorm running statistics in state.batch_stats['discriminator'].
One step: the E1 update, then E2 and D "jointly in a traditional adversarial fashion"
(training/gan.make_gan_step: E2 update -> D update -> every r1_every steps the lazy R1 update).
  E1 (Eq. 5):  0.8 LPIPS + 1.0 L2 + 0.5 ID of the input-view render I^sv against I;
  E2 (Eq. 6-7): the same + 0.001 softplus(-D(O * T_enc)), D in training mode (batch statistics;
               its running statistics are not moved by the encoder's pass);
  D (Eq. 8-9): 0.5 [softplus(-D(O * T_synth)) + softplus(D(O * T_enc))] (means over the batch), T_enc
               held constant; R1 (gamma 10, every 16 steps, scaled by 16) on O * T_synth.
  Eq. 8 writes L_adv(D(O T_enc), D(O T_synth)) with Eq. 9's L_adv(x, y) = softplus(-x) + softplus(y);
  taken literally that would train D to score the encoded tri-grids as real. The port uses the
  reading that makes D a discriminator (x = the real T_synth, y = the fake T_enc), i.e. StyleGAN2's
  logistic loss, as Eq. 4 (min over E2, max over D) and the joint training describe.
Each encoder's loss runs on both of its stages: the w+ render (pSp stage) and the refined tri-grid's
render (the tri-grid stage), with the pSp codes held constant in the second (TriPlaneNet v2 detaches
them, training.md §2), so the pSp encoder learns from its own render and the tri-grid encoder from the
final one, in one update per network. The adversarial term acts on the final tri-grid T_enc (the one
stitched at inference). The paper has no mirror loss; images and cameras are mirrored as data
augmentation (data.mirror_prob).
T_synth = G(M(z+, pi_front)): 14 (num_ws) independent z through the mapping at the canonical front
camera with psi 0.85, row i of w+ from z_i (Appendix A.2). O = the occlusion mask of Eq. 3 exactly
as inference stitches with it (methods/dual/pipeline.visible_part): from the depth of E1's render at
the input camera, E1 with its running BatchNorm statistics, post-processed with model.mask_sigma. The
paper names no encoder for the depth of Eq. 3 and stitches with "the occlusion masks derived in
Section 3.3" (Sec. 3.4), so training takes inference's; a row's O then does not depend on the other
rows of its batch. Fake and real of one row share it (Eq. 8). T_enc comes from E2's forward pass and
O from E1's, both at the start of the step (before any update, like a detached fake in PyTorch),
computed once and reused by the E2, D and R1 updates.
Z+ mixing (Table 4, "Real imgs. + Z+"): data.synthetic_ratio of every batch's rows (the first
round(ratio * B)) are replaced inside the step by PanoHead renders of fresh z+ codes at cameras from
data.synthetic_poses (a per-batch mix local to this method; the ratio is not given in the paper).
Only mesh.mode 'jit' (the IR-SE BatchNorm has no cross-device axis for 'shard_map').
"""
import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d import camera
from inversion3d.data import pseudo_pairs
from inversion3d.discriminators.triplane import TriplaneDiscriminator
from inversion3d.generators import eg3d
from inversion3d.generators.eg3d_config import EG3DConfig
from inversion3d.inversion.common import generator_planes, render, resize_image, w_avg
from inversion3d.losses.reconstruction import reconstruction_terms, weighted_total
from inversion3d.methods.dual import pipeline as dual
from inversion3d.methods.psp import pipeline as psp_pipeline
from inversion3d.methods.triplanenet.train import SOURCES, Method as TriPlaneNetMethod
from inversion3d.networks import build as build_network
from inversion3d.ops.resize import area_downsample
from inversion3d.training import gan, step as step_lib

NETS = ("discriminator", "e1", "e2")
ENCODERS = ("e1", "e2")
REAL_STREAM = 0x5EA1  # fold_in tags of the step's z+ draws (apart from the update keys)
MIX_STREAM = 0x313C


def generator_config(g) -> EG3DConfig:
    """The frozen PanoHead's config from config.generator: official init_kwargs + render settings (ray_chunk;
    remat: recompute each ray chunk in the backward pass, same gradients, less memory), and
    `triplane_resolution` (0 = the kwargs' triplane_size; smaller only for the tiny CPU config)."""
    cfg = EG3DConfig.from_official(g.init_kwargs, neural_rendering_resolution=int(g.neural_rendering_resolution),
                                   ray_chunk=g.get("ray_chunk"), kind="panohead", remat=bool(g.get("remat", False)))
    res = int(g.get("triplane_resolution", 0))
    return dataclasses.replace(cfg, triplane_resolution=res) if res else cfg


def split_net(variables):
    """{'params': {'psp', 'triplanenet'}, 'batch_stats': {...}} -> {'psp': {...}, 'triplanenet': {...}}."""
    stats = variables.get("batch_stats", {})
    return {k: {"params": v, "batch_stats": stats.get(k, {})} for k, v in variables["params"].items()}


def zplus_codes(cfg, gen, key, c, psi):
    """w+ (N, num_ws, w_dim) of z+: num_ws independent z per row through the mapping at cameras c
    (N, 25) with truncation psi; row i of w+ is the mapping of z_i (Appendix A.2, Table 4)."""
    n, k = c.shape[0], cfg.num_ws
    z = jax.random.normal(key, (n * k, cfg.z_dim))
    ws = eg3d.mapping(cfg, gen, z, jnp.repeat(c, k, axis=0), psi)  # (N * k, k, w_dim), rows alike
    return ws[:, 0].reshape(n, k, cfg.w_dim)


class Method(TriPlaneNetMethod):
    """E1, E2 and the tri-plane D on the shared loop (methods/README.md). Inherits TriPlaneNet v2's
    frozen arrays (`frozen`: the generator, random or config.generator.checkpoint, and the LPIPS / ArcFace
    networks) and its per-encoder init; everything else is this method's."""

    nets = NETS

    def __init__(self, config, bn_axis_name=None):
        del bn_axis_name  # the IR-SE BatchNorm has no cross-device axis; make_step rejects shard_map
        self.config = config
        if config.data.source not in SOURCES:
            raise ValueError(f"data.source: expected one of {SOURCES}, got {config.data.source!r}")
        self.gen_cfg = generator_config(config.generator)
        cfg = self.gen_cfg
        if cfg.triplane_depth != 3 or not cfg.use_background:
            raise ValueError(f"generator: the Dual Encoder inverts PanoHead (tri-grid depth 3 with background), "
                             f"got triplane_depth {cfg.triplane_depth}, use_background {cfg.use_background}")
        self.pair_fn = pseudo_pairs.make_generator_pairs(cfg, config.data)
        m = config.model
        self.psp_size = int(m.psp.image_size)
        self.psp, _ = build_network("psp", dict(m.psp.to_dict(), n_styles=cfg.num_ws, style_dim=cfg.w_dim))
        self.tri, _ = build_network("triplanenet", dict(m.triplanenet.to_dict(),
                                                        plane_channels=cfg.plane_channels * cfg.triplane_depth))
        self.loss_modules = None  # set by frozen(): the LPIPS / ArcFace modules (static)
        self.disc = TriplaneDiscriminator(resolution=cfg.triplane_resolution,
                                          in_channels=3 * cfg.plane_channels * cfg.triplane_depth,
                                          widths=tuple(m.discriminator.widths))
        self.sigma = float(m.mask_sigma)
        self.weights = {k: float(v) for k, v in config.losses.weights.items()}
        kwargs = config.generator.init_kwargs
        kwargs = kwargs.to_dict() if hasattr(kwargs, "to_dict") else dict(kwargs)
        self.front = jnp.asarray(camera.rig("panohead", kwargs.get("rendering_kwargs")).frontal())
        ratio = float(config.data.get("synthetic_ratio", 0.0))
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"data.synthetic_ratio: expected in [0, 1], got {ratio}")
        self.n_synthetic = int(round(ratio * int(config.batch_size)))

    def init_variables(self, rng):
        k1, k2, k_d = jax.random.split(rng, 3)
        r, c = self.gen_cfg.triplane_resolution, self.gen_cfg.plane_channels * 3
        out = {}
        for name, key in zip(ENCODERS, (k1, k2)):
            tpn = super().init_variables(key)  # {'psp': vars, 'triplanenet': vars}
            out[name] = {"params": {k: v["params"] for k, v in tpn.items()},
                         "batch_stats": {k: v.get("batch_stats", {}) for k, v in tpn.items()}}
        out["discriminator"] = dict(self.disc.init(k_d, jnp.zeros((1, 3, r, r, c), jnp.float32)))
        return out

    # --- forward passes -----------------------------------------------------------------------------
    def encoder_forward(self, params, batch_stats, image, c, gen):
        """One encoder in training mode -> (dict ws, t0, planes, render_w, render, new batch stats).

        pSp stage: ws = pSp(x) + w_avg, T0 = G(ws), render_w = R(T0, ws, c). Tri-grid stage, with ws and
        T0 held constant: T = TriPlaneEncoder(concat(y0, x - y0, flip(x) - y0_mirror), T0), render = R(T, ws, c)."""
        cfg = self.gen_cfg
        ws, psp_stats = psp_pipeline.encode(self.psp, {"params": params["psp"], "batch_stats": batch_stats["psp"]},
                                            image, self.psp_size, w_avg(gen), train=True, mutable=["batch_stats"])
        t0 = generator_planes(cfg, gen, ws)
        render_w = render(cfg, gen, t0, ws, c)
        ws_c, t0_c = jax.lax.stop_gradient(ws), jax.lax.stop_gradient(t0)
        res = t0.shape[2]
        y0 = jax.lax.stop_gradient(resize_image(render_w["image"], res))
        y0_mirror = resize_image(render(cfg, gen, t0_c, ws_c, camera.mirror_label(c))["image"], res)
        x = resize_image(image, res)
        inputs = jnp.concatenate([y0, x - y0, x[:, :, ::-1] - y0_mirror], axis=-1)
        tri_vars = {"params": params["triplanenet"], "batch_stats": batch_stats["triplanenet"]}
        planes, tri_updates = self.tri.apply(tri_vars, inputs, t0_c, train=True, mutable=["batch_stats"])
        out = render(cfg, gen, planes, ws_c, c)
        stats = {"psp": psp_stats["batch_stats"], "triplanenet": tri_updates["batch_stats"]}
        return dict(ws=ws, t0=t0, planes=planes, render_w=render_w, render=out), stats

    def d_apply(self, params, batch_stats, planes, occluded=None, update_stats=False):
        """D in training mode (batch statistics) -> logits (N, 1) and, with update_stats, the moved
        running statistics (else the given ones)."""
        variables = {"params": params, "batch_stats": batch_stats}
        logits, updates = self.disc.apply(variables, planes, occluded, train=True, mutable=["batch_stats"])
        return logits, (updates["batch_stats"] if update_stats else batch_stats)

    # --- losses ---------------------------------------------------------------------------------------
    def _reconstruction(self, fwd, image, frozen, prefix):
        """Eq. 5 terms of both stages: '<term>' on the final render, 'w_<term>' on the w+ render."""
        nets = self._nets(frozen)
        size = image.shape[1]
        res = int(self.config.losses.resolution)
        final = reconstruction_terms(resize_image(fwd["render"]["image"], size), image, resolution=res, **nets)
        w_stage = reconstruction_terms(resize_image(fwd["render_w"]["image"], size), image, resolution=res, **nets)
        terms = {**{prefix + k: v for k, v in final.items()}, **{prefix + "w_" + k: v for k, v in w_stage.items()}}
        loss = weighted_total(final, self.weights) + weighted_total(w_stage, self.weights)
        return loss, terms

    def e1_loss(self, params, batch_stats, batch, rng, ctx):
        """Eq. 5 on both stages of E1."""
        del rng
        fwd, stats = self.encoder_forward(params, batch_stats, batch["image"], batch["c"], ctx["frozen"]["generator"])
        loss, terms = self._reconstruction(fwd, batch["image"], ctx["frozen"], "")
        return loss, (terms, stats)

    def e2_loss(self, params, batch_stats, batch, rng, ctx):
        """Eq. 6: Eq. 5 on both stages of E2 + adv * softplus(-D(O * T_enc)) (Eq. 7), D's params constant."""
        del rng
        fwd, stats = self.encoder_forward(params, batch_stats, batch["image"], batch["c"], ctx["frozen"]["generator"])
        loss, terms = self._reconstruction(fwd, batch["image"], ctx["frozen"], "")
        logits, _ = self.d_apply(ctx["params"]["discriminator"], ctx["batch_stats"]["discriminator"], fwd["planes"],
                                 batch["occluded"])
        terms["adv"] = jnp.mean(jax.nn.softplus(-logits))
        return loss + self.weights["adv"] * terms["adv"], (terms, stats)

    def disc_loss(self, params, batch_stats, batch, rng, ctx):
        """Eq. 8-9: lambda [softplus(-D(O T_synth)) + softplus(D(O T_enc))]; running statistics move on
        the fake pass, then on the real pass (two calls, each normalised by its own batch)."""
        del rng, ctx
        fake, stats = self.d_apply(params, batch_stats, batch["fake_planes"], batch["occluded"], update_stats=True)
        real, stats = self.d_apply(params, stats, batch["real_planes"], batch["occluded"], update_stats=True)
        terms = {"real_logit": jnp.mean(real), "fake_logit": jnp.mean(fake),
                 "adv": jnp.mean(jax.nn.softplus(-real)) + jnp.mean(jax.nn.softplus(fake))}
        return float(self.config.losses.d_lambda) * terms["adv"], (terms, stats)

    def r1_loss(self, params, batch_stats, batch, rng, ctx):
        """Lazy R1: gamma / 2 * E[|d sum D(x) / dx|^2] * r1_every on x = O * T_synth (batch statistics;
        the running statistics do not move)."""
        del rng, ctx
        losses = self.config.losses
        x = batch["real_planes"]
        occ = batch["occluded"]
        grads = jax.grad(lambda p: jnp.sum(self.d_apply(params, batch_stats, p, occ)[0]))(x)
        penalty = jnp.mean(jnp.sum(jnp.square(grads).reshape(x.shape[0], -1), axis=1))
        return 0.5 * float(losses.r1_gamma) * penalty * int(losses.r1_every), ({"r1_penalty": penalty}, batch_stats)

    # --- the step -------------------------------------------------------------------------------------
    def synthetic_rows(self, gen, key, n):
        """n Z+ images (Table 4): z+ codes at the front camera (psi data.synthetic_psi), rendered at
        cameras from data.synthetic_poses -> {'image' (n, S, S, 3), 'c' (n, 25)}."""
        d = self.config.data
        k_z, k_c = jax.random.split(key)
        c = jax.vmap(lambda k: pseudo_pairs.sample_pose(k, d.synthetic_poses))(jax.random.split(k_c, n))
        ws = zplus_codes(self.gen_cfg, gen, k_z, jnp.broadcast_to(self.front, (n, self.front.shape[0])),
                         float(d.synthetic_psi))
        out = eg3d.synthesize(self.gen_cfg, gen, ws, c, noise_mode="const")
        r = int(d.resolution)
        return {"image": area_downsample(out["image"], (r, r)), "c": c}

    def step_inputs(self, state, batch, frozen):
        """The batch with the Z+ rows mixed in, and what E2's and D's updates share: E2's tri-grids,
        O from E1 as at inference (both before the step's updates; held constant) and the real
        tri-grids T_synth."""
        gen = frozen["generator"]
        key = jax.random.fold_in(state.rng, state.step)
        image, c = batch["image"], batch["c"]
        if self.n_synthetic:
            syn = self.synthetic_rows(gen, jax.random.fold_in(key, MIX_STREAM), self.n_synthetic)
            image = image.at[:self.n_synthetic].set(syn["image"].astype(image.dtype))
            c = c.at[:self.n_synthetic].set(syn["c"])
        fwd, _ = self.encoder_forward(state.params["e2"], state.batch_stats["e2"], image, c, gen)
        e1 = dict(split_net(state.variables("e1")), generator=gen, latent_avg=None)
        _, _, _, occluded = dual.visible_part(self.gen_cfg, (self.psp, self.psp_size, self.tri), e1, image, c,
                                              self.sigma)
        n = c.shape[0]
        ws_real = zplus_codes(self.gen_cfg, gen, jax.random.fold_in(key, REAL_STREAM),
                              jnp.broadcast_to(self.front, (n, self.front.shape[0])),
                              float(self.config.losses.real_truncation_psi))
        extra = {"image": image, "c": c, "occluded": occluded, "fake_planes": fwd["planes"],
                 "real_planes": generator_planes(self.gen_cfg, gen, ws_real)}
        return dict(batch, **jax.lax.stop_gradient(extra))

    def make_step(self, mode, mesh, skip_nonfinite=False):
        """-> (step(state, batch, frozen, regularize) -> (state, metrics), r1_every) for
        training/gan.LazyRegularizedStep: E1 update, then E2 -> D (-> R1) (gan.make_gan_step)."""
        if mode != "jit":
            raise ValueError(f"mesh.mode: dual trains with 'jit' only (IR-SE BatchNorm has no cross-device "
                             f"axis), got {mode!r}")
        losses = self.config.losses
        every = int(losses.r1_every)
        r1 = self.r1_loss if float(losses.r1_gamma) > 0 else None
        e1_update = step_lib.net_update(self.e1_loss, "e1", mode, mesh, prefix="e1/", skip_nonfinite=skip_nonfinite)
        gan_step = gan.make_gan_step(self.e2_loss, self.disc_loss, r1, "e2", "discriminator", mode, mesh,
                                     skip_nonfinite=skip_nonfinite)

        def step(state, batch, frozen, regularize=False):
            batch = self.step_inputs(state, batch, frozen)
            k1 = jax.random.fold_in(jax.random.fold_in(state.rng, state.step), 1)
            ctx = {"frozen": frozen, "params": state.params, "batch_stats": state.batch_stats}
            state, metrics = e1_update(state, batch, k1, ctx)
            new_state, m_gan = gan_step(state, batch, frozen, regularize)  # advances the step
            metrics.update({k.replace("g/", "e2/", 1) if k.startswith("g/") else k: v for k, v in m_gan.items()})
            # 'loss' (progress line, best checkpoint): E1's + E2's totals
            return new_state, dict(metrics, loss=metrics["e1/loss"] + metrics["e2/loss"])

        return step, (every if r1 is not None else None)

    # --- the trained encoders as files -------------------------------------------------------------
    def export(self, params, batch_stats):
        """[E1, E2]: each a TriPlaneNet v2 file ({'kind', 'networks', 'tree'}, methods/workdir.py, as
        TriPlaneNet's export) with its Dual Encoder role 'e1' / 'e2' (as `inversion3d convert --role`
        records it); the discriminator is training-only."""
        return [dict(super(Method, self).export(params[name], batch_stats[name]), role=name) for name in ENCODERS]

    # --- images ---------------------------------------------------------------------------------------
    def visualize(self, state, batch, frozen, num: int = 4):
        """-> [input, E1 alone, E2 alone, the stitched Dual result, O (plane 0, summed over slices, as
        grey), stitched novel views at yaw pi/2 -+ data.vis_yaw and the back (yaw -pi/2)], each (num,
        S, S, 3) in [-1, 1], with running BatchNorm statistics: exactly the inference pipeline."""
        cfg, gen = self.gen_cfg, frozen["generator"]
        images, c = batch["image"][:num], batch["c"][:num]
        params = {"generator": gen}
        for name in ENCODERS:
            v = split_net(state.variables(name))
            params[name] = {"psp": v["psp"], "triplanenet": v["triplanenet"], "latent_avg": None}
        mods = (self.psp, self.psp_size, self.tri)
        out = dual.invert(cfg, mods, mods, params, images, c, self.sigma)
        size = images.shape[1]
        occ = 1.0 - out["mask"][:, 0].mean(axis=1)  # (num, R, R)
        cols = [images, resize_image(out["image_e1"], size), resize_image(out["image_e2"], size),
                resize_image(out["image"], size),
                resize_image(jnp.repeat(2.0 * occ[..., None] - 1.0, 3, axis=-1), size)]
        p = self.config.data.poses
        n = images.shape[0]
        for yaw in (-float(self.config.data.vis_yaw), float(self.config.data.vis_yaw), math.pi):
            cam = jnp.asarray(camera.lookat_labels(np.full(n, math.pi / 2 + yaw), np.full(n, math.pi / 2),
                                                   np.asarray(p.pivot, np.float32), float(p.radius),
                                                   camera.intrinsics_matrix(float(p.focal))))
            cols.append(resize_image(render(cfg, gen, out["planes"], out["ws"], cam)["image"], size))
        return cols

