"""Toy method's training: a small pSp-style CNN encoder -> W+ trained on pseudo-pairs (configs/toy_psp.py).

It exercises the whole stack (sharded steps, checkpoints, logs, resume) at CPU-test size. The
pairs come from the frozen embedded tiny EG3D generator (data.source='generator') or from the
cheap synthetic linear target (data.source='synthetic'). Losses (config.losses, weights):
  latent_l2: mean squared error between predicted and true w+ (the pairs know their w+);
  image_l2: mean squared error between the pair image and the frozen target's render of the
    predicted w+ at the pair camera (training.md §1.1).
"""

import jax.numpy as jnp

from inversion3d.data import pseudo_pairs
from inversion3d.encoders import toy
from inversion3d.generators import eg3d
from inversion3d.generators.eg3d_config import EG3DConfig
from inversion3d.ops.resize import area_downsample

NETS = ("encoder",)
SOURCES = ("generator", "synthetic", "folder")


class Method:
    """Everything the loop needs from a method: nets, init, loss, pair source, visualisation."""

    nets = NETS

    def __init__(self, config, bn_axis_name=None):
        self.config = config
        source = config.data.source
        if source not in SOURCES:
            raise ValueError(f"data.source: expected one of {SOURCES}, got {source!r}")
        self.gen_cfg = None
        if source in ("generator", "folder"):  # folder images are reconstructed by the generator
            g = config.generator
            self.gen_cfg = EG3DConfig.from_official(g.init_kwargs, neural_rendering_resolution=int(g.neural_rendering_resolution),
                                                    ray_chunk=g.get("ray_chunk"))
            num_ws, w_dim = self.gen_cfg.num_ws, self.gen_cfg.w_dim
            self.pair_fn = pseudo_pairs.make_generator_pairs(self.gen_cfg, config.data)
        else:
            num_ws, w_dim = int(config.model.num_ws), int(config.model.w_dim)
            self.pair_fn = pseudo_pairs.make_synthetic_pairs(config.data, num_ws, w_dim)
        self.num_ws, self.w_dim = num_ws, w_dim
        model_cfg = dict(config.model.to_dict(), num_ws=num_ws, w_dim=w_dim)
        self.model = toy.Model(num_ws=num_ws, w_dim=w_dim, widths=tuple(model_cfg["widths"]),
                               batch_norm=bool(model_cfg.get("batch_norm", False)), bn_axis_name=bn_axis_name)
        self.eval_model = self.model.clone(bn_axis_name=None)

    # --- frozen networks and initial variables -------------------------------------------------
    def frozen(self, rng):
        """Frozen pieces (host or device arrays), replicated on the mesh by the loop."""
        if self.gen_cfg is not None:
            return {"generator": eg3d.init_variables(self.gen_cfg, rng)}
        return {"synthetic": pseudo_pairs.init_synthetic(rng, self.num_ws, self.w_dim, int(self.config.data.resolution))}

    def init_variables(self, rng):
        r = int(self.config.data.resolution)
        variables = self.model.init(rng, jnp.zeros((1, r, r, 3), jnp.float32), train=False)
        return {"encoder": dict(variables)}

    # --- forward pieces -------------------------------------------------------------------------
    def latent_avg(self, frozen):
        if self.gen_cfg is not None and self.config.model.get("start_from_latent_avg", True):
            return frozen["generator"]["buffers"]["backbone"]["mapping"]["w_avg"]
        return None

    def render(self, frozen, ws, c):
        """Frozen target's image of ws at camera c, at data.resolution (same kind as the pairs)."""
        if self.gen_cfg is None:
            a = frozen["synthetic"]["A"]
            r = int(self.config.data.resolution)
            return jnp.tanh(ws.reshape(ws.shape[0], -1) @ a).reshape(-1, r, r, 3)
        out = eg3d.synthesize(self.gen_cfg, frozen["generator"], ws, c, noise_mode="const")
        r = int(self.config.data.resolution)
        return area_downsample(out[self.config.data.get("image_key", "image")], (r, r))

    def loss_fn(self, params, batch_stats, batch, rng, frozen):
        """-> (loss, (metrics, new batch stats)); weights from config.losses."""
        del rng
        variables = {"params": params, **({"batch_stats": batch_stats} if batch_stats else {})}
        mutable = ["batch_stats"] if batch_stats else False
        out = self.model.apply(variables, batch["image"], train=True, latent_avg=self.latent_avg(frozen),
                               mutable=mutable)
        ws, updates = out if mutable else (out, {})
        weights = self.config.losses
        terms = {}
        if weights.get("latent_l2", 0.0) > 0:
            if "ws" not in batch:
                raise ValueError("losses.latent_l2: needs pseudo-pairs with their w+ (data.source generator|synthetic)")
            terms["latent_l2"] = jnp.mean(jnp.square(ws - batch["ws"]))
        if weights.get("image_l2", 0.0) > 0:
            terms["image_l2"] = jnp.mean(jnp.square(self.render(frozen, ws, batch["c"]) - batch["image"]))
        if not terms:
            raise ValueError("losses: expected a positive weight for latent_l2 and/or image_l2")
        loss = sum(float(weights[k]) * v for k, v in terms.items())
        return loss, (terms, updates.get("batch_stats", batch_stats))

    def visualize(self, state, batch, frozen, num: int = 4):
        """-> columns [input, reconstruction, novel views at -+data.vis_yaw (generator)], each
        (num, R, R, 3) in [-1, 1]. Jit it with replicated outputs (every process calls it)."""
        images = batch["image"][:num]
        c = batch["c"][:num]
        ws = self.eval_model.apply(state.variables("encoder"), images, train=False, latent_avg=self.latent_avg(frozen))
        cols = [images, self.render(frozen, ws, c)]
        if self.gen_cfg is not None:
            for yaw in (-float(self.config.data.vis_yaw), float(self.config.data.vis_yaw)):
                c_yaw = pseudo_pairs.side_view_labels(self.config.data.poses, images.shape[0], yaw)
                cols.append(self.render(frozen, ws, c_yaw))
        return cols
