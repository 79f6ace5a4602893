"""GOAE stage 2: AFA trained in F space through the occlusion-aware mix, the encoder frozen
(GOAE paper §4.2-4.3, §4.5; training.md §5; configs/goae_stage2.py).

  AFA:  L_rec (1.0 L2 + 0.8 LPIPS + 0.25 ID) of the mixed tri-planes' render at the input camera
        + 1e-4 ||ΔF|| with ΔF = F* - F (regularisers.triplane_delta; the paper's λ7).
The discriminator, both adversarial terms and L_w+ are dropped (§4.5). The forward pass is the
inference pipeline's (pipeline.encode -> AFA -> pipeline.mix with the same visibility sigma), with
AFA's BatchNorm in training mode (batch statistics, running averages updated).

The state holds two nets: 'afa' (trained) and 'encoder' (frozen: only the AFA update runs, its
optimiser is never applied). The encoder comes from the stage-1 run through `config.init_from`
(init_from_nets = ('encoder',)), so a stage-2 workdir holds both networks `invert` needs.
AFA's BatchNorm statistics are per device under mesh.mode 'shard_map' (use 'jit', the default).
"""
import jax

from inversion3d.inversion.common import render
from inversion3d.losses import regularisers
from inversion3d.losses.reconstruction import weighted_total
from inversion3d.methods.goae import pipeline
from inversion3d.methods.goae.train import GOAETraining
from inversion3d.networks import build
from inversion3d.nn import precision
from inversion3d.training import step as step_lib


class Method(GOAETraining):
    """Stage 2: nets 'afa' (AFA, trained) and 'encoder' (GOAEncoder, frozen)."""

    nets = ("afa", "encoder")

    def __init__(self, config, bn_axis_name=None):
        super().__init__(config, bn_axis_name)
        cfg = self.gen_cfg
        if cfg.triplane_resolution <= pipeline.SPLIT:
            raise ValueError(f"generator: AFA refines the b32 feature, the tri-planes are only {cfg.triplane_resolution}")
        afa = dict(config.model.afa.to_dict(), feature_dim=pipeline.feature_channels(cfg))
        self.afa, self._afa_example = build("afa", afa)
        self.afa = precision.with_dtype(self.afa, precision.config_dtype(config))
        self.sigma = float(config.model.mix_sigma)
        if not (config.get("init_from") or config.get("resume")) and jax.process_index() == 0:
            print("goae stage 2: no config.init_from (the stage-1 workdir): the frozen encoder is random "
                  "unless this workdir already has a checkpoint", flush=True)

    def init_variables(self, rng):
        k_e, k_a = jax.random.split(rng)
        s = self.encoder.swin.img_size
        return {"encoder": dict(self.encoder.init(k_e, jax.numpy.zeros((1, s, s, 3), jax.numpy.float32))),
                "afa": dict(self.afa.init(k_a, *self._afa_example))}

    def export(self, params, batch_stats):
        """The frozen stage-1 encoder and the trained AFA as one file (`invert --method goae`)."""
        return self.export_networks(params, batch_stats, ("encoder", "afa"))

    def inference(self, state, image, c, frozen):
        """The result dict of `pipeline.invert` (AFA with running statistics, the occlusion-aware mix)."""
        params = {"generator": frozen["generator"], "goae": state.variables("encoder"), "afa": state.variables("afa")}
        return pipeline.invert(self.gen_cfg, self.encoder, self.afa, params, image, c, self.sigma)

    def afa_loss(self, params, batch_stats, batch, rng, ctx):
        """-> (loss, (terms, new AFA batch stats)); the encoder's params come from ctx (constants)."""
        del rng
        frozen = ctx["frozen"]
        gen = frozen["generator"]
        image, c = batch["image"], batch["c"]
        w = pipeline.encode(self.gen_cfg, self.encoder, {"params": ctx["params"]["encoder"]}, gen, image, c)
        (refined, _, _), updates = self.afa.apply({"params": params, "batch_stats": batch_stats},
                                                  *pipeline.afa_inputs(image, w["render_w"]), w["feature"],
                                                  train=True, mutable=["batch_stats"])
        mixed = pipeline.mix(self.gen_cfg, gen, w, refined, c, self.sigma)
        terms = self.reconstruction(mixed["final"]["image"], image, frozen)
        if self.uses("f_delta"):
            terms["f_delta"] = regularisers.triplane_delta(refined - w["feature"])
        return weighted_total(terms, self.weights), (terms, updates["batch_stats"])

    def make_step(self, mode, mesh, skip_nonfinite=False):
        """One AFA update a step; the encoder rides along in the state unchanged. r1_every = 1:
        the loop compiles (and calls) one variant only. skip_nonfinite: training/nonfinite.py."""
        update = step_lib.net_update(self.afa_loss, "afa", mode, mesh, skip_nonfinite=skip_nonfinite)

        def step(state, batch, frozen, regularize=False):
            del regularize
            ctx = {"frozen": frozen, "params": state.params, "batch_stats": state.batch_stats}
            state, metrics = update(state, batch, jax.random.fold_in(state.rng, state.step), ctx)
            return state.next_step(), metrics

        return step, 1

    def visualize(self, state, batch, frozen, num: int = 4):
        """-> [input, render 1 (w+), the mixed render (the output), novel views of the mix at yaw
        -+ data.vis_yaw]: `pipeline.invert` itself, AFA with running statistics."""
        image, c = batch["image"][:num], batch["c"][:num]
        gen = frozen["generator"]
        params = {"generator": gen, "goae": state.variables("encoder"), "afa": state.variables("afa")}
        out = pipeline.invert(self.gen_cfg, self.encoder, self.afa, params, image, c, self.sigma)
        views = [render(self.gen_cfg, gen, out["planes"], out["ws"], cam)["image"]
                 for cam in self.novel_cameras(image.shape[0])]
        return [image, out["image_w"], out["image"], *views]
