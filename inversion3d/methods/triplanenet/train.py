"""TriPlaneNet v2 training (training.md §2; configs/triplanenet.py, configs/triplanenet_full.py).

Two networks, each with its own optimiser (config.optim.psp / config.optim.triplanenet):
  'psp'         pSp GradualStyleEncoder: x -> w+ (+ the generator's w_avg);
  'triplanenet' TriPlaneEncoder: (y0, x - y0, flip(x) - y0_mirror), T0 -> T = T0 + offsets,
                fed with the pSp codes held constant (stop_gradient: the official detaches them).
One step (as the official coach): the pSp update on its own loss, then the tri-plane encoder's update
on its loss (which runs the just-updated pSp encoder). Both losses are `losses.branch_loss`: the input
view plus mirror_lambda x the mirror loss against flip(x) rendered at `camera.mirror_label(c)`.
The forward passes are the inference pipeline's (`psp.pipeline.encode`, `triplanenet.pipeline.
encoder_inputs`, `inversion.common.render`); BatchNorm runs on batch statistics as in the official
`net.train()`.

Phases (config.phases, by the step index s): s < add_triplanenet: pSp only; then both; pSp stops at
s >= stop_psp. Each update sits in a `lax.cond` on the step counter inside the one compiled step, so
crossing a phase boundary does not recompile; a skipped update leaves params, optimiser state and
batch statistics untouched and reports zeros with '<net>/active' = 0. The scalar 'loss' is the
tri-plane branch's loss once it trains, else the pSp branch's (the official validation's choice).

Deviations from the official code (say so where results are compared):
- Confidence map: the official divides the mirror pixel loss by (conf + 1) with conf from an
  unsup3d network; the port has none, so conf = 0 (uniform) unless the data gives a 'conf' key
  (N, H, W, 1), aligned with the flipped image like the official dataset's conf_map_mirror.
- The optional image discriminator (a StyleGAN2 resnet D on 512 renders) is not available: the
  project has no image discriminator network, so phases.use_discriminator must be False.
- The official tri-plane step runs the pSp encoder in train mode, which also moves pSp's BatchNorm
  running statistics a second time per step (and after stop_psp); here only the pSp update moves them.
- Encoders start from random weights (the official initialises both from IR-SE-50 ArcFace weights);
  use config.init_from for a warm start.
- Only mesh.mode 'jit' (the IR-SE BatchNorm has no cross-device axis for 'shard_map').
"""
import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d import camera
from inversion3d.data import pseudo_pairs
from inversion3d.generators.eg3d_config import EG3DConfig
from inversion3d.inversion.common import generator_planes, render, resize_image, w_avg
from inversion3d.methods import evaluation
from inversion3d.methods.psp import pipeline as psp_pipeline
from inversion3d.methods.triplanenet import pipeline as tpn_pipeline
from inversion3d.methods.triplanenet.losses import branch_loss
from inversion3d.methods import frozen_generator
from inversion3d.networks import build as build_network, config_of
from inversion3d.nn import precision
from inversion3d.training import loss_networks, step as step_lib

NETS = ("psp", "triplanenet")
SOURCES = ("generator", "folder", "mixed")  # training/loop.make_input


def generator_config(g) -> EG3DConfig:
    """The frozen generator's config from config.generator: official init_kwargs + render settings,
    and `triplane_resolution` (0 = EG3D's 256; smaller only for the tiny CPU config, where the
    tri-plane encoder runs at the planes' resolution and 256 would cost minutes a step)."""
    cfg = EG3DConfig.from_official(g.init_kwargs, neural_rendering_resolution=int(g.neural_rendering_resolution),
                                   ray_chunk=g.get("ray_chunk"))
    res = int(g.get("triplane_resolution", 0))
    return dataclasses.replace(cfg, triplane_resolution=res) if res else cfg


def _when(on, update, state, *args):
    """update(state, *args) if `on` (a traced bool) else (state, zeros like its metrics): one
    compiled program for every phase (lax.cond runs only the taken branch)."""
    shapes = jax.eval_shape(lambda s: update(s, *args)[1], state)
    skip = lambda s: (s, jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), shapes))
    return jax.lax.cond(on, lambda s: update(s, *args), skip, state)


class Method:
    """Everything the loop needs: nets, frozen arrays, init, the two-network step, pairs, images."""

    nets = NETS

    def __init__(self, config, bn_axis_name=None):
        del bn_axis_name  # the IR-SE BatchNorm has no cross-device axis; make_step rejects shard_map
        self.config = config
        if config.data.source not in SOURCES:
            raise ValueError(f"data.source: expected one of {SOURCES}, got {config.data.source!r}")
        ph = config.phases
        if bool(ph.get("use_discriminator", False)):
            raise ValueError("phases.use_discriminator: inversion3d has no image discriminator (StyleGAN2 resnet D) "
                             "yet, expected False")
        self.add_triplanenet, self.stop_psp = int(ph.add_triplanenet), int(ph.stop_psp)
        if self.stop_psp < self.add_triplanenet:
            raise ValueError(f"phases.stop_psp: expected >= add_triplanenet ({self.add_triplanenet}), "
                             f"got {self.stop_psp}")
        self.gen_cfg = generator_config(config.generator)
        self.pair_fn = pseudo_pairs.make_generator_pairs(self.gen_cfg, config.data)
        m = config.model
        self.psp_size = int(m.psp.image_size)
        self.psp, _ = build_network("psp", dict(m.psp.to_dict(), n_styles=self.gen_cfg.num_ws,
                                                style_dim=self.gen_cfg.w_dim))
        want = self.gen_cfg.plane_channels * self.gen_cfg.triplane_depth
        self.tri, _ = build_network("triplanenet", dict(m.triplanenet.to_dict(), plane_channels=want))
        dtype = precision.config_dtype(config)  # encoder.dtype: both encoders' compute dtype (nn/precision.py)
        self.psp, self.tri = precision.with_dtype(self.psp, dtype), precision.with_dtype(self.tri, dtype)
        self.loss_modules = None  # set by frozen(): the LPIPS / ArcFace modules (static)

    # --- frozen networks and initial variables -------------------------------------------------
    def frozen(self, rng):
        """{'generator': EG3D variables, 'lpips' / 'arcface': loss-net variables (when configured)}."""
        k_gen, k_loss = jax.random.split(rng)
        nets = loss_networks.load(self.config.losses, k_loss)
        self.loss_modules = {k: None if v is None else v[0] for k, v in nets.items()}
        out = {"generator": frozen_generator.checkpoint_variables(self.config.generator, self.gen_cfg, k_gen)}
        out.update({k: v[1] for k, v in nets.items() if v is not None})
        return out

    def init_variables(self, rng):
        k_psp, k_tri = jax.random.split(rng)
        s, r = self.psp_size, self.gen_cfg.triplane_resolution
        c = self.gen_cfg.plane_channels * self.gen_cfg.triplane_depth
        zeros = lambda *shape: jnp.zeros(shape, jnp.float32)
        return {"psp": dict(self.psp.init(k_psp, zeros(1, s, s, 3))),
                "triplanenet": dict(self.tri.init(k_tri, zeros(1, r, r, self.tri.in_nc), zeros(1, 3, r, r, c)))}

    # --- the two branches -----------------------------------------------------------------------
    def _nets(self, frozen):
        if self.loss_modules is None:
            raise ValueError("frozen: call Method.frozen(rng) first (it loads the LPIPS / ArcFace modules)")
        return {k: None if mod is None else (mod, frozen[k]) for k, mod in self.loss_modules.items()}

    def _encode(self, params, batch_stats, image, gen):
        """pSp in training mode -> (ws, new batch stats) (the inference pipeline's encode)."""
        ws, updates = psp_pipeline.encode(self.psp, {"params": params, "batch_stats": batch_stats}, image,
                                          self.psp_size, w_avg(gen), train=True, mutable=["batch_stats"])
        return ws, updates["batch_stats"]

    def _loss(self, branch, planes, ws, batch, frozen, pixel):
        """Renders planes at c (and at the mirrored camera) and returns branch_loss's (loss, terms)."""
        cfg, gen, losses = self.gen_cfg, frozen["generator"], self.config.losses
        image, c = batch["image"], batch["c"]
        size = image.shape[1]
        pred = resize_image(render(cfg, gen, planes, ws, c)["image"], size)
        lam = float(losses.mirror_lambda)
        pred_mirror = resize_image(render(cfg, gen, planes, ws, camera.mirror_label(c))["image"], size) if lam else None
        mirror_weights = losses[branch + "_mirror"].to_dict() if lam else None
        return branch_loss(pred, image, losses[branch].to_dict(), pred_mirror=pred_mirror,
                           mirror_weights=mirror_weights, mirror_lambda=lam,
                           confidence=batch.get("conf"), pixel=pixel, resolution=int(losses.resolution),
                           **self._nets(frozen))

    def psp_loss(self, params, batch_stats, batch, rng, ctx):
        """pSp branch (net_update signature): 0.1 ID + 1.0 L2 + 0.8 LPIPS (+ mirror), config.losses.psp."""
        del rng  # the generator runs with constant noise
        gen = ctx["frozen"]["generator"]
        ws, stats = self._encode(params, batch_stats, batch["image"], gen)
        loss, terms = self._loss("psp", generator_planes(self.gen_cfg, gen, ws), ws, batch, ctx["frozen"], "l2")
        return loss, (terms, stats)

    def triplane_loss(self, params, batch_stats, batch, rng, ctx):
        """Tri-plane branch: 0.1 ID + 1.0 smooth-L1 + 0.8 LPIPS (+ mirror), config.losses.triplanenet.
        The pSp codes come from the current pSp params in ctx, held constant."""
        del rng
        gen = ctx["frozen"]["generator"]
        ws, _ = self._encode(ctx["params"]["psp"], ctx["batch_stats"]["psp"], batch["image"], gen)
        ws = jax.lax.stop_gradient(ws)
        t0, inputs = tpn_pipeline.encoder_inputs(self.gen_cfg, gen, ws, batch["image"], batch["c"])
        planes, updates = self.tri.apply({"params": params, "batch_stats": batch_stats}, inputs, t0, train=True,
                                         mutable=["batch_stats"])
        loss, terms = self._loss("triplanenet", planes, ws, batch, ctx["frozen"], "smooth_l1")
        return loss, (terms, updates["batch_stats"])

    def make_step(self, mode, mesh, skip_nonfinite=False):
        """-> (step(state, batch, frozen, regularize) -> (state, metrics), None): pSp update, then
        tri-plane update, each gated by the phase of state.step; no R1 (no discriminator).
        skip_nonfinite: config.on_nonfinite == 'skip' (training/nonfinite.py)."""
        if mode != "jit":
            raise ValueError(f"mesh.mode: triplanenet trains with 'jit' only (IR-SE BatchNorm has no "
                             f"cross-device axis), got {mode!r}")
        psp_update = step_lib.net_update(self.psp_loss, "psp", mode, mesh, prefix="psp/", skip_nonfinite=skip_nonfinite)
        tri_update = step_lib.net_update(self.triplane_loss, "triplanenet", mode, mesh, prefix="triplanenet/",
                                         skip_nonfinite=skip_nonfinite)
        ctx = lambda state, frozen: {"frozen": frozen, "params": state.params, "batch_stats": state.batch_stats}

        def step(state, batch, frozen, regularize=False):
            del regularize
            k_psp, k_tri = jax.random.split(jax.random.fold_in(state.rng, state.step))
            psp_on = state.step < self.stop_psp
            tri_on = state.step >= self.add_triplanenet
            state, metrics = _when(psp_on, lambda s: psp_update(s, batch, k_psp, ctx(s, frozen)), state)
            state, m_tri = _when(tri_on, lambda s: tri_update(s, batch, k_tri, ctx(s, frozen)), state)
            metrics.update(m_tri)
            metrics.update({"psp/active": psp_on.astype(jnp.float32), "triplanenet/active": tri_on.astype(jnp.float32),
                            "loss": jnp.where(tri_on, m_tri["triplanenet/loss"], metrics["psp/loss"])})
            return state.next_step(), metrics

        return step, None

    def export(self, params, batch_stats):
        """Both encoders as one TriPlaneNet v2 file ({'kind', 'networks', 'tree'}, methods/workdir.py)."""
        want = self.gen_cfg.plane_channels * self.gen_cfg.triplane_depth
        networks = {"psp": config_of(precision.unwrap(self.psp), image_size=self.psp_size),
                    "triplanenet": config_of(precision.unwrap(self.tri), plane_channels=want)}
        tree = {n: {"params": params[n], "batch_stats": batch_stats[n]} for n in NETS}
        return {"kind": "triplanenet", "networks": networks, "tree": tree}

    def evaluate(self, state, batch, frozen):
        """Held-out evaluation (methods/evaluation.py) of `triplanenet.pipeline.invert` (running statistics)."""
        params = {"generator": frozen["generator"], "psp": state.variables("psp"),
                  "triplanenet": state.variables("triplanenet"), "latent_avg": None}
        out = tpn_pipeline.invert(self.gen_cfg, self.psp, self.psp_size, self.tri, params, batch["image"], batch["c"])
        return evaluation.score_views(self.config, self.gen_cfg, frozen, out, batch,
                                      evaluation.loss_nets(self.loss_modules, frozen))

    # --- images ---------------------------------------------------------------------------------
    def visualize(self, state, batch, frozen, num: int = 4):
        """-> columns [input, pSp render, TriPlaneNet render, TriPlaneNet at the mirrored camera,
        novel views at yaw pi/2 -+ data.vis_yaw], each (num, R, R, 3) in [-1, 1], with running
        BatchNorm statistics: exactly the inference pipeline (triplanenet.pipeline.refine)."""
        cfg, gen = self.gen_cfg, frozen["generator"]
        images, c = batch["image"][:num], batch["c"][:num]
        params = {"generator": gen, "psp": state.variables("psp"), "triplanenet": state.variables("triplanenet"),
                  "latent_avg": None}
        ws, t0, planes, out = tpn_pipeline.refine(cfg, self.psp, self.psp_size, self.tri, params, images, c)
        size = images.shape[1]
        shot = lambda p, cam: resize_image(render(cfg, gen, p, ws, cam)["image"], size)
        cols = [images, shot(t0, c), resize_image(out["image"], size), shot(planes, camera.mirror_label(c))]
        p = self.config.data.poses
        intr = camera.intrinsics_matrix(float(p.focal))
        n = images.shape[0]
        for yaw in (-float(self.config.data.vis_yaw), float(self.config.data.vis_yaw)):
            c_yaw = camera.lookat_labels(np.full(n, math.pi / 2 + yaw), np.full(n, math.pi / 2),
                                         np.asarray(p.pivot, np.float32), float(p.radius), intr)
            cols.append(shot(planes, jnp.asarray(c_yaw)))
        return cols
