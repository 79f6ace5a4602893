"""E3DGE-style training on a frozen EG3D / PanoHead generator (e3dge.md §2, §4, §6; configs/e3dge*.py).

Two networks, each with its own optimiser (config.optim.encoder / config.optim.local):
  'encoder'  pSp GradualStyleEncoder: x -> w+ (+ the generator's w_avg) (the global code, §2.1);
  'local'    encoders/e3dge.LocalBranch: residual features, the 2D aligner, the per-point fusion.
Data (config.data.source): 'generator' = two-view pseudo-pairs (pairs.py: z, two cameras, both
renders, depths, ws); 'mixed' = those plus real aligned photos (config.data.folder) making up
round(data.real_fraction x batch) rows of every batch (the loop's PhotosBesidePairs; e3dge.md §6: pure
synthetic training generalises poorly). Every pair is used twice with reference and query swapped
(§2.3 cycle training): the rows are [view 1; view 2; real], their query views [view 2; view 1; -].
One step (as TriPlaneNet's): the encoder update on its loss, then the local branch's update on its
loss, which reads the just-updated encoder's codes held constant (stop_gradient). Phases by the
step index s: the encoder trains while s < phases.stop_global, the local branch once s >=
phases.add_local (E3DGE's stage 1 -> stage 2), each in a lax.cond (one compiled program).
  encoder loss (§4 stage 1): image terms of the global render at the input view (all rows) and at
    the query view (pair rows), latent L2 to the pair's ws, depth L1 at the input view, density L1
    at uniform points of the feature cube (vs the pair's own planes);
  local loss (§4 stage 2): image terms of the local render at the input view (all rows) and, with
    the aligner, at the query view (pair rows), plus the aligned-residual L1.
Weights: config.losses.encoder / config.losses.local; a weight of 0 drops the term.
Deviations: pSp's BatchNorm runs on batch statistics in both updates (only the encoder update
moves its running statistics); StyleSDF's SDF / eikonal terms have no EG3D counterpart (depth and
density stand in); no adversarial term (E3DGE stage 2.2's, weight 0.01); mesh mode 'jit' only.
"""
import dataclasses

import jax
import jax.numpy as jnp

from inversion3d.generators.eg3d_config import EG3DConfig
from inversion3d.inversion.common import generator_planes, render, resize_image, w_avg
from inversion3d.losses.reconstruction import reconstruction_terms, weighted_total
from inversion3d.methods.e3dge import losses, pairs, pipeline
from inversion3d.methods.psp import pipeline as psp_pipeline
from inversion3d.methods import frozen_generator
from inversion3d.networks import build as build_network, config_of
from inversion3d.training import loss_networks, step as step_lib

NETS = ("encoder", "local")
SOURCES = ("generator", "mixed")
DENSITY_SALT = 0xE3D  # fold_in salt of the density points' draw


def generator_config(g) -> EG3DConfig:
    """The frozen generator's config: generator.kind ('eg3d' | 'panohead'), official init_kwargs +
    render settings (ray_chunk, remat: recompute each chunk's forward in the backward pass, so the
    local branch's per-point features are held for one chunk, not all) (+ a smaller
    `triplane_resolution` for the tiny CPU config; 0 = the generator's own)."""
    cfg = EG3DConfig.from_official(g.init_kwargs, neural_rendering_resolution=int(g.neural_rendering_resolution),
                                   ray_chunk=g.get("ray_chunk"), kind=g.get("kind", "eg3d"))
    if g.get("remat", False):
        cfg = dataclasses.replace(cfg, render=dataclasses.replace(cfg.render, remat=True))
    res = int(g.get("triplane_resolution", 0))
    return dataclasses.replace(cfg, triplane_resolution=res) if res else cfg


def real_rows(config) -> int:
    """Rows of each batch that are real photos: round(real_fraction x batch) for 'mixed' (at least 2), else 0."""
    if config.data.source != "mixed":
        return 0
    n = int(round(float(config.data.real_fraction) * int(config.batch_size)))
    # >= 2: grain's endless pipeline cannot batch single rows (its length overflows; data/pipeline.py)
    if not 2 <= n < int(config.batch_size):
        raise ValueError(f"data.real_fraction: expected a fraction giving 2 .. batch_size - 1 real rows, got "
                         f"{config.data.real_fraction} of {config.batch_size}")
    return n


def _when(on, update, state):
    """update(state) if `on` (traced) else (state, zeros like its metrics), as a lax.cond."""
    shapes = jax.eval_shape(lambda s: update(s)[1], state)
    skip = lambda s: (s, jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), shapes))  # noqa: E731
    return jax.lax.cond(on, update, skip, state)


class Method:
    """Everything the loop needs: nets, frozen arrays, init, the two-network step, pairs, images."""

    nets = NETS

    def __init__(self, config, bn_axis_name=None):
        del bn_axis_name  # pSp's BatchNorm has no cross-device axis; make_step rejects shard_map
        self.config = config
        if config.data.source not in SOURCES:
            raise ValueError(f"data.source: expected one of {SOURCES}, got {config.data.source!r}")
        self.num_real = real_rows(config)
        ph = config.phases
        self.add_local, self.stop_global = int(ph.add_local), int(ph.stop_global)
        self.gen_cfg = generator_config(config.generator)
        self.pair_fn = pairs.make_two_view_pairs(self.gen_cfg, config.data)
        m = config.model
        self.input_size = int(m.encoder.image_size)
        self.encoder, _ = build_network("psp", dict(m.encoder.to_dict(), n_styles=self.gen_cfg.num_ws,
                                                    style_dim=self.gen_cfg.w_dim))
        self.local, _ = build_network(pipeline.LOCAL, dict(m.local.to_dict(), plane_channels=self.gen_cfg.plane_channels))
        r, deep = self.local.resolution, 2 ** max(1, len(self.local.align_widths) - 1)
        if r % deep:
            raise ValueError(f"model.local.resolution: expected a multiple of {deep} (hourglass / aligner "
                             f"downsampling), got {r}")
        self.loss_modules = None

    # --- frozen networks and initial variables -------------------------------------------------
    def frozen(self, rng):
        """{'generator': variables, 'lpips' / 'arcface': loss-net variables (when configured)}."""
        k_gen, k_loss = jax.random.split(rng)
        nets = loss_networks.load(self.config.losses, k_loss)
        self.loss_modules = {k: None if v is None else v[0] for k, v in nets.items()}
        out = {"generator": frozen_generator.checkpoint_variables(self.config.generator, self.gen_cfg, k_gen)}
        out.update({k: v[1] for k, v in nets.items() if v is not None})
        return out

    def init_variables(self, rng):
        k_enc, k_loc = jax.random.split(rng)
        s, r = self.input_size, self.local.resolution
        zeros = lambda *shape: jnp.zeros(shape, jnp.float32)  # noqa: E731
        return {"encoder": dict(self.encoder.init(k_enc, zeros(1, s, s, 3))),
                "local": dict(self.local.init(k_loc, zeros(1, r, r, 3), zeros(1, r, r, 1), zeros(1, r, r, 3)))}

    # --- rows and terms -------------------------------------------------------------------------
    def rows(self, batch):
        """The step's rows (module doc): x, c (all rows), and for the first m = 2B pair rows the
        query camera, query target and the pair's ws / depth / own-view image."""
        x = [batch["image"], batch["image2"]]
        c = [batch["c"], batch["c2"]]
        if self.num_real:
            x.append(batch["real_image"])
            c.append(batch["real_c"])
        return {"x": jnp.concatenate(x), "c": jnp.concatenate(c), "c_q": jnp.concatenate([batch["c2"], batch["c"]]),
                "x_q": jnp.concatenate([batch["image2"], batch["image"]]),
                "ws": jnp.concatenate([batch["ws"], batch["ws"]]),
                "depth": jnp.concatenate([batch["depth"], batch["depth2"]])}

    def _image_terms(self, pred, target, frozen, prefix=""):
        if self.loss_modules is None:
            raise ValueError("frozen: call Method.frozen(rng) first (it loads the LPIPS / ArcFace modules)")
        nets = {k: None if mod is None else (mod, frozen[k]) for k, mod in self.loss_modules.items()}
        terms = reconstruction_terms(resize_image(pred, target.shape[1]), target, resolution=int(self.config.losses.resolution),
                                     **nets)
        return {prefix + k: v for k, v in terms.items()}

    def _weighted(self, terms, branch):
        w = self.config.losses[branch].to_dict()
        return weighted_total(terms, w)

    def _encode(self, params, batch_stats, x, gen):
        ws, upd = psp_pipeline.encode(self.encoder, {"params": params, "batch_stats": batch_stats}, x,
                                      self.input_size, w_avg(gen), train=True, mutable=["batch_stats"])
        return ws, upd["batch_stats"]

    def encoder_loss(self, params, batch_stats, batch, rng, ctx):
        """Global branch (module doc) -> (loss, (terms, new batch stats))."""
        frozen, cfg, w = ctx["frozen"], self.gen_cfg, self.config.losses.encoder
        gen, rows = frozen["generator"], self.rows(batch)
        m = rows["ws"].shape[0]
        ws, stats = self._encode(params, batch_stats, rows["x"], gen)
        planes = generator_planes(cfg, gen, ws)
        out = render(cfg, gen, planes, ws, rows["c"])
        terms = self._image_terms(out["image"], rows["x"], frozen)
        if float(w.get("novel_l2", 0.0)) or float(w.get("novel_lpips", 0.0)):
            novel = render(cfg, gen, planes[:m], ws[:m], rows["c_q"])
            terms.update(self._image_terms(novel["image"], rows["x_q"], frozen, "novel_"))
        terms["latent"] = losses.latent_l2(ws[:m], rows["ws"])
        terms["depth"] = losses.depth_l1(out["image_depth"][:m], rows["depth"])
        if float(w.get("density", 0.0)):
            pts = losses.uniform_points(jax.random.fold_in(rng, DENSITY_SALT), m, int(self.config.losses.density_points),
                                        cfg.render.box_warp)
            target = generator_planes(cfg, gen, rows["ws"])
            terms["density"] = losses.density_l1(cfg, gen, planes[:m], target, pts)
        return self._weighted(terms, "encoder"), (terms, stats)

    def local_loss(self, params, batch_stats, batch, rng, ctx):
        """Local branch (module doc): codes of the current encoder held constant -> (loss, (terms, stats))."""
        del rng
        frozen, cfg = ctx["frozen"], self.gen_cfg
        gen, rows = frozen["generator"], self.rows(batch)
        m = rows["ws"].shape[0]
        ws, _ = self._encode(ctx["params"]["encoder"], ctx["batch_stats"]["encoder"], rows["x"], gen)
        ws = jax.lax.stop_gradient(ws)
        planes = jax.lax.stop_gradient(generator_planes(cfg, gen, ws))
        lv = {"params": params}
        ref, _ = pipeline.reference(cfg, self.local, lv, gen, planes, ws, rows["x"], rows["c"])
        out = pipeline.render_local(cfg, self.local, lv, gen, planes, ws, ref)
        terms = self._image_terms(out["image"], rows["x"], frozen)
        ref_m = jax.tree.map(lambda a: a[:m], ref)
        qry, glob_q = pipeline.query(cfg, self.local, lv, gen, planes[:m], ws[:m], ref_m, rows["c_q"])
        novel = pipeline.render_local(cfg, self.local, lv, gen, planes[:m], ws[:m], ref_m, qry)
        terms.update(self._image_terms(novel["image"], rows["x_q"], frozen, "novel_"))
        r = self.local.resolution
        target = resize_image(rows["x_q"], r) - resize_image(glob_q["image"], r)
        terms["residual"] = losses.residual_l1(qry["residual"], jax.lax.stop_gradient(target))
        return self._weighted(terms, "local"), (terms, batch_stats)

    def make_step(self, mode, mesh, skip_nonfinite=False):
        """-> (step(state, batch, frozen, regularize) -> (state, metrics), 1): encoder update, then
        local update, each gated by the phase of state.step; no regulariser."""
        if mode != "jit":
            raise ValueError(f"mesh.mode: e3dge trains with 'jit' only (pSp BatchNorm has no cross-device axis), "
                             f"got {mode!r}")
        enc_update = step_lib.net_update(self.encoder_loss, "encoder", mode, mesh, prefix="encoder/",
                                         skip_nonfinite=skip_nonfinite)
        loc_update = step_lib.net_update(self.local_loss, "local", mode, mesh, prefix="local/",
                                         skip_nonfinite=skip_nonfinite)
        ctx = lambda s, frozen: {"frozen": frozen, "params": s.params, "batch_stats": s.batch_stats}  # noqa: E731

        def step(state, batch, frozen, regularize=False):
            del regularize
            k_enc, k_loc = jax.random.split(jax.random.fold_in(state.rng, state.step))
            enc_on, loc_on = state.step < self.stop_global, state.step >= self.add_local
            state, metrics = _when(enc_on, lambda s: enc_update(s, batch, k_enc, ctx(s, frozen)), state)
            state, m_loc = _when(loc_on, lambda s: loc_update(s, batch, k_loc, ctx(s, frozen)), state)
            metrics.update(m_loc)
            on = lambda b: b.astype(jnp.float32)  # noqa: E731
            metrics.update({"encoder/active": on(enc_on), "local/active": on(loc_on),
                            "loss": on(enc_on) * metrics["encoder/loss"] + on(loc_on) * metrics["local/loss"]})
            return state.next_step(), metrics

        return step, 1

    # --- the trained encoder as a file ------------------------------------------------------------
    def export(self, params, batch_stats):
        """The pSp encoder (with its BatchNorm statistics) and the local branch as one 'e3dge' file
        ({'kind', 'networks', 'tree'}, methods/workdir.py). No latent_avg: the codes were trained around
        the generator's w_avg, which inference adds when a file has none (inversion/common.latent_offset)."""
        networks = {"psp": config_of(self.encoder, image_size=self.input_size), pipeline.LOCAL: config_of(self.local)}
        tree = {name: {"params": params[net], **({"batch_stats": batch_stats[net]} if batch_stats.get(net) else {})}
                for name, net in (("psp", "encoder"), (pipeline.LOCAL, "local"))}
        return {"kind": "e3dge", "networks": networks, "tree": tree}

    # --- images ---------------------------------------------------------------------------------
    def visualize(self, state, batch, frozen, num: int = 4):
        """-> columns [input, global render, E3DGE render, the pair's other view, its E3DGE novel view]
        (num, S, S, 3) in [-1, 1], in inference mode (the inference pipeline's functions)."""
        cfg, gen = self.gen_cfg, frozen["generator"]
        x, c, x2, c2 = batch["image"][:num], batch["c"][:num], batch["image2"][:num], batch["c2"][:num]
        params = {"generator": gen, "psp": state.variables("encoder"), pipeline.LOCAL: state.variables("local"),
                  "latent_avg": None}
        out = pipeline.invert(cfg, self.encoder, self.input_size, self.local, params, x, c)
        novel = pipeline.views(cfg, self.encoder, self.input_size, self.local, params, x, c, c2[None])
        size = x.shape[1]
        return [x, resize_image(out["image_global"], size), resize_image(out["image"], size), x2,
                resize_image(novel["image"][0], size)]
