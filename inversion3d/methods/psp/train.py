"""pSp and e4e training on a frozen EG3D generator (training.md §4; encoders.md §2, §3, §5.1).

One module serves registry.TRAINERS 'psp' and 'e4e'; `Method(config)` picks the class by config:

pSp (`PSP`, a single-network method: `loss_fn`): encoder(x) + latent average (config.model.
  start_from_latent_avg: the generator's mapping w_avg) -> w+ -> the frozen generator renders it at
  the input camera with inversion's own forward (psp/pipeline.encode / decode) -> reconstruction
  terms vs the input (losses/reconstruction.py: l2, lpips, id) + pSp's w_norm, weighted by
  config.losses.
e4e (`E4E`, `make_step`): pSp's loss on the Encoder4Editing encoder plus
  - progressive training: delta i is switched on at step progressive.start + (i - 1) *
    progressive.every, as a mask in the batch (no recompilation, losses.progressive_delta_mask);
  - the delta regulariser (losses.delta_reg, 2e-4: sum of ||w_i - w_0||_2 over the active deltas);
  - with losses.w_discriminator > 0, the latent discriminator (discriminators/latent.
    LatentCodesDiscriminator, Adam): the encoder adds w_discriminator * mean over the active rows of
    softplus(-D(w_i)); D takes softplus(-D(real w)) + softplus(D(w_0)) (e4e discriminates row 0
    only: coach.py's `fake_w[:, 0, :]`) and a lazy R1 (gamma discriminator.r1_gamma on the real w,
    every discriminator.r1_every steps, scaled by it). Real w = the mapping of fresh z ~ N(0, I)
    without truncation (e4e's `decoder.get_latent`), conditioned for EG3D on the canonical frontal
    camera (yaw = pitch = pi/2), as GOAE's canonical latent discriminator does.
  One step = encoder update -> discriminator update [-> R1 update] (training/gan.make_gan_step).
  The official coach runs D [+ R1] before the encoder; the sequences differ only by the encoder
  update the very first step adds.

Known differences from the official trainers: a newly activated delta's style block starts from the
optimiser's shared step count (torch's Ranger starts a fresh per-parameter count); the D step's
encoder forward uses batch statistics but does not update the running ones a second time; e4e's
optional w pool (use_w_pool) is not implemented. BatchNorm is the global batch's ('jit' mesh mode).
"""
import logging

import jax
import jax.numpy as jnp

from inversion3d import camera
from inversion3d.data import pseudo_pairs
from inversion3d.discriminators.latent import LatentCodesDiscriminator
from inversion3d.encoders.e4e import Encoder4Editing
from inversion3d.encoders.psp import GradualStyleEncoder
from inversion3d.generators import eg3d
from inversion3d.generators.eg3d_config import EG3DConfig, with_triplane_resolution
from inversion3d.inversion.common import w_avg
from inversion3d.losses.reconstruction import at_resolution, reconstruction_terms, weighted_total
from inversion3d.methods import evaluation, frozen_generator
from inversion3d.methods.psp import losses, pipeline
from inversion3d.networks import config_of
from inversion3d.nn import precision
from inversion3d.training import gan, loss_networks, step as step_lib

ENCODERS = ("psp", "e4e")
SOURCES = ("generator", "folder", "mixed")  # training/loop.make_input
REAL_W_SALT = 0x4E4  # fold_in salt: the real-w draws never reuse the update keys
TERMS = ("l2", "lpips", "id", "w_norm", "delta_reg", "w_discriminator")  # config.losses weights


def uses_e4e_extras(config) -> bool:
    """True when config asks for anything beyond pSp: progressive deltas, delta regulariser or latent D."""
    lw = config.losses
    return (int(config.get("progressive", {}).get("every", 0)) > 0 or float(lw.get("delta_reg", 0.0)) > 0
            or float(lw.get("w_discriminator", 0.0)) > 0)


def Method(config, bn_axis_name=None):  # noqa: N802  (the loop builds `Method(config, bn_axis_name=...)`)
    """The training loop's method for config: `E4E` if it uses e4e's extras, else `PSP`."""
    return (E4E if uses_e4e_extras(config) else PSP)(config, bn_axis_name)


def build_encoder(model_cfg, num_ws: int, w_dim: int):
    """GradualStyleEncoder ('psp') or Encoder4Editing ('e4e') from config.model, sized for the generator."""
    name = model_cfg.name
    if name not in ENCODERS:
        raise ValueError(f"model.name: expected one of {ENCODERS}, got {name!r}")
    kwargs = dict(num_layers=int(model_cfg.num_layers), widths=tuple(model_cfg.widths), style_dim=w_dim,
                  style_hidden=model_cfg.get("style_hidden"))
    if name == "psp":
        return GradualStyleEncoder(n_styles=num_ws, **kwargs)
    module = Encoder4Editing(stylegan_size=2 ** ((num_ws + 2) // 2), **kwargs)
    if module.style_count != num_ws:
        raise ValueError(f"model.name: e4e gives 2 log2(size) - 2 rows, the generator has num_ws={num_ws}")
    return module


def generator_config(config):
    """The frozen generator's EG3DConfig: config.generator's official init_kwargs + render settings,
    and `triplane_resolution` (0 or absent = the kwargs' 256; smaller only for test-size runs)."""
    g = config.generator
    cfg = EG3DConfig.from_official(g.init_kwargs, neural_rendering_resolution=int(g.neural_rendering_resolution),
                                   ray_chunk=g.get("ray_chunk"))
    return with_triplane_resolution(cfg, int(g.get("triplane_resolution", 0)))


class PSP:
    """pSp: one network ('encoder'), trained by the loop's single-network step on `loss_fn`."""

    def __init__(self, config, bn_axis_name=None):
        self.config = config
        if config.data.source not in SOURCES:
            raise ValueError(f"data.source: expected one of {SOURCES}, got {config.data.source!r}")
        if bn_axis_name is not None:  # the IR-SE BatchNorm layers have no cross-device axis
            raise ValueError("mesh.mode: pSp / e4e need 'jit' (BatchNorm over the global batch), got 'shard_map'")
        self.gen_cfg = generator_config(config)
        self.pair_fn = pseudo_pairs.make_generator_pairs(self.gen_cfg, config.data)
        self.num_ws, self.w_dim = self.gen_cfg.num_ws, self.gen_cfg.w_dim
        # encoder.dtype: the encoder's compute dtype (nn/precision.py); params stay float32
        self.model = precision.with_dtype(build_encoder(config.model, self.num_ws, self.w_dim),
                                          precision.config_dtype(config))
        self.input_size = int(config.model.input_size)
        self.nets = ("encoder",)
        self._loss_modules = None

    # --- frozen networks and initial variables -------------------------------------------------
    def frozen(self, rng):
        """{'generator', and 'lpips' / 'arcface' variables when config.losses names them}."""
        k_gen, k_loss = jax.random.split(rng)
        nets = loss_networks.load(self.config.losses, k_loss)
        logging.info(loss_networks.describe(nets))
        self._loss_modules = {k: v[0] for k, v in nets.items() if v is not None}
        out = {"generator": frozen_generator.checkpoint_variables(self.config.generator, self.gen_cfg, k_gen)}
        out.update({k: v[1] for k, v in nets.items() if v is not None})
        return out

    def init_variables(self, rng):
        s = self.input_size
        return {"encoder": dict(self.model.init(rng, jnp.zeros((1, s, s, 3), jnp.float32)))}

    # --- forward pieces (inference's, psp/pipeline.py) ------------------------------------------
    def offset(self, frozen):
        """The w offset the encoder starts from: the generator's w_avg (start_from_latent_avg), or None."""
        return w_avg(frozen["generator"]) if self.config.model.get("start_from_latent_avg", True) else None

    def encode(self, variables, image, frozen, delta_mask=None, train=False):
        """image (N, S, S, 3) -> ws (N, num_ws, w_dim) [, new batch stats when train]."""
        kwargs = {} if delta_mask is None else {"delta_mask": delta_mask}
        if train:
            kwargs["mutable"] = ["batch_stats"]
        out = pipeline.encode(self.model, variables, image, self.input_size, self.offset(frozen), train=train, **kwargs)
        return (out[0], out[1]["batch_stats"]) if train else out

    def render(self, frozen, ws, c):
        """The frozen generator's image of ws at cameras c (config.data.image_key, its own resolution)."""
        return pipeline.decode(self.gen_cfg, frozen["generator"], ws, c)[self.config.data.get("image_key", "image")]

    def reconstruction(self, ws, batch, frozen):
        """{'l2', 'lpips', 'id'} of the render of ws at the input camera vs the input image."""
        if self._loss_modules is None:
            raise ValueError("frozen: call Method.frozen(rng) before the loss (it loads the loss networks)")
        nets = {k: (self._loss_modules[k], frozen[k]) if k in frozen else None for k in ("lpips", "arcface")}
        target = batch["image"]  # the render is area-averaged to the input's size (official: 512 -> 256)
        pred = at_resolution(self.render(frozen, ws, batch["c"]), target.shape[1])
        return reconstruction_terms(pred, target, lpips=nets["lpips"],
                                    arcface=nets["arcface"], resolution=int(self.config.losses.resolution))

    def encoder_terms(self, params, batch_stats, batch, frozen, delta_mask=None):
        """-> (terms, ws, new batch stats): reconstruction + w_norm (when weighted)."""
        ws, stats = self.encode({"params": params, "batch_stats": batch_stats}, batch["image"], frozen,
                                delta_mask, train=True)
        terms = dict(self.reconstruction(ws, batch, frozen))
        if float(self.config.losses.get("w_norm", 0.0)) > 0:
            terms["w_norm"] = losses.w_norm(ws, self.offset(frozen))
        return terms, ws, stats

    def weights(self):
        return {k: float(self.config.losses.get(k, 0.0)) for k in TERMS}

    def loss_fn(self, params, batch_stats, batch, rng, frozen):
        """-> (loss, (terms, new batch stats)); weights from config.losses."""
        del rng
        terms, _, stats = self.encoder_terms(params, batch_stats, batch, frozen)
        return weighted_total(terms, self.weights()), (terms, stats)

    def export(self, params, batch_stats):
        """The trained encoder as one converted file ({'kind', 'networks', 'tree'}, methods/workdir.py):
        the pSp / e4e network and, without start_from_latent_avg, a zero latent_avg (inference adds the
        generator's w_avg when a file has none)."""
        name = self.config.model.name
        tree = {name: {"params": params["encoder"], "batch_stats": batch_stats["encoder"]}}
        if not self.config.model.get("start_from_latent_avg", True):
            tree["latent_avg"] = jnp.zeros((self.w_dim,), jnp.float32)
        networks = {name: config_of(precision.unwrap(self.model), image_size=self.input_size)}
        return {"kind": name, "networks": networks, "tree": tree}

    def evaluate(self, state, batch, frozen):
        """Held-out evaluation (methods/evaluation.py) of the inference forward (running BatchNorm statistics)."""
        ws = self.encode(state.variables("encoder"), batch["image"], frozen)
        out = pipeline.decode(self.gen_cfg, frozen["generator"], ws, batch["c"])
        return evaluation.score_views(self.config, self.gen_cfg, frozen, out, batch,
                                      evaluation.loss_nets(self._loss_modules, frozen))

    def visualize(self, state, batch, frozen, num: int = 4):
        """-> columns [input, reconstruction, novel views at yaw pi/2 -+ data.vis_yaw], each (num, R, R, 3)
        in [-1, 1] at the input's resolution (inference mode: BatchNorm running statistics)."""
        images, c = batch["image"][:num], batch["c"][:num]
        ws = self.encode(state.variables("encoder"), images, frozen)
        down = lambda x: at_resolution(x, images.shape[1])  # noqa: E731
        cols = [images, down(self.render(frozen, ws, c))]
        for yaw in (-float(self.config.data.vis_yaw), float(self.config.data.vis_yaw)):
            c_yaw = pseudo_pairs.side_view_labels(self.config.data.poses, images.shape[0], yaw)
            cols.append(down(self.render(frozen, ws, c_yaw)))
        return cols


class E4E(PSP):
    """e4e: pSp plus progressive deltas, the delta regulariser and (optionally) the latent discriminator."""

    def __init__(self, config, bn_axis_name=None):
        super().__init__(config, bn_axis_name)
        prog = config.get("progressive", {})
        self.start, self.every = int(prog.get("start", 0)), int(prog.get("every", 0))
        if self.every > 0 and config.model.name != "e4e":
            raise ValueError(f"progressive.every: progressive deltas need model.name 'e4e', got {config.model.name!r}")
        self.adversarial = float(config.losses.get("w_discriminator", 0.0)) > 0
        if self.adversarial:
            d = config.discriminator
            self.discriminator = LatentCodesDiscriminator(style_dim=self.w_dim, n_mlp=int(d.n_mlp))
            self.nets = ("encoder", "discriminator")
            rk = config.generator.init_kwargs.get("rendering_kwargs", {})
            self.c_front = camera.frontal_label("eg3d", rk)  # GOAE's canonical camera (see module doc)

    def init_variables(self, rng):
        k_enc, k_d = jax.random.split(rng)
        out = super().init_variables(k_enc)
        if self.adversarial:
            out["discriminator"] = dict(self.discriminator.init(k_d, jnp.zeros((1, self.w_dim), jnp.float32)))
        return out

    def delta_mask(self, step):
        return losses.progressive_delta_mask(step, self.num_ws, self.start, self.every)

    def d_apply(self, params, batch_stats, w):
        del batch_stats
        return self.discriminator.apply({"params": params}, w)

    def real_w(self, key, n: int, frozen):
        """(n, w_dim) real samples: mapping(z, frontal camera) of z ~ N(0, I), psi 1 (e4e get_latent)."""
        z = jax.random.normal(key, (n, self.gen_cfg.z_dim), jnp.float32)
        c = jnp.broadcast_to(jnp.asarray(self.c_front), (n, self.c_front.shape[-1]))
        return eg3d.mapping(self.gen_cfg, frozen["generator"], z, c)[:, 0]

    def encoder_loss(self, params, batch_stats, batch, frozen, d_params):
        """-> (loss, (terms, new batch stats)) of the encoder update (module doc)."""
        mask = batch["delta_mask"]
        terms, ws, stats = self.encoder_terms(params, batch_stats, batch, frozen, mask)
        if float(self.config.losses.get("delta_reg", 0.0)) > 0:
            terms["delta_reg"] = losses.delta_norm(ws, mask)
        if d_params is not None:
            terms["w_discriminator"] = losses.encoder_adversarial(lambda w: self.d_apply(d_params, None, w), ws, mask)
        return weighted_total(terms, self.weights()), (terms, stats)

    def d_loss(self, params, batch_stats, batch, rng, ctx):
        """Discriminator update: real w vs the (current) encoder's row 0 plus the latent average."""
        del rng
        enc = {"params": ctx["params"]["encoder"], "batch_stats": ctx["batch_stats"]["encoder"]}
        fake, _ = self.encode(enc, batch["image"], ctx["frozen"], batch["delta_mask"], train=True)
        fake = jax.lax.stop_gradient(fake[:, 0])
        loss, parts = losses.discriminator_loss(self.d_apply(params, None, batch["real_w"]),
                                                self.d_apply(params, None, fake))
        return loss, (parts, batch_stats)

    def make_step(self, mode, mesh, skip_nonfinite=False):
        """-> (step(state, batch, frozen, regularize), r1_every) for training/gan.LazyRegularizedStep;
        skip_nonfinite: config.on_nonfinite == 'skip' (training/nonfinite.py)."""
        if mode != "jit":
            raise ValueError(f"mesh.mode: pSp / e4e need 'jit' (BatchNorm over the global batch), got {mode!r}")
        if self.adversarial:
            d = self.config.discriminator
            g_loss = lambda p, s, b, rng, ctx: self.encoder_loss(p, s, b, ctx["frozen"], ctx["params"]["discriminator"])  # noqa: E731
            r1 = gan.r1_penalty(self.d_apply, float(d.r1_gamma), int(d.r1_every), real_key="real_w")
            inner = gan.make_gan_step(g_loss, self.d_loss, r1, "encoder", "discriminator", mode, mesh,
                                      skip_nonfinite=skip_nonfinite)
            r1_every = int(d.r1_every)
        else:
            one = step_lib.make_train_step(lambda p, s, b, rng, f: self.encoder_loss(p, s, b, f, None), "encoder",
                                           mode, mesh, skip_nonfinite)
            inner = lambda state, batch, frozen, regularize: one(state, batch, frozen)  # noqa: E731
            r1_every = 1  # one variant only (no regulariser): LazyRegularizedStep compiles what it calls

        def step(state, batch, frozen, regularize=False):
            n = batch["image"].shape[0]
            batch = dict(batch, delta_mask=jnp.broadcast_to(self.delta_mask(state.step), (n, self.num_ws)))
            if self.adversarial:
                key = jax.random.fold_in(jax.random.fold_in(state.rng, state.step), REAL_W_SALT)
                batch["real_w"] = self.real_w(key, n, frozen)
            state, metrics = inner(state, batch, frozen, regularize)
            if self.adversarial:  # the encoder's objective is the run's 'loss' (progress line, best checkpoint)
                metrics = dict(metrics, loss=metrics["g/loss"], grad_norm=metrics["g/grad_norm"])
            metrics["stage"] = jnp.sum(batch["delta_mask"][0]) - 1.0  # number of active deltas
            return state, metrics

        return step, r1_every
