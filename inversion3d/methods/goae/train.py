"""GOAE training, shared by both stages (GOAE paper §4.5; training.md §5; configs/goae_stage*.py).

Stage 1 (train_stage1.py): the GOAEncoder -> w+ against the canonical latent discriminator, with
L_rec, the background-depth and Δw+ regularisers and the progressive head schedule.
Stage 2 (train_stage2.py): the encoder frozen, AFA trained through the occlusion-aware mix.
Both run the inference pipeline's own pieces (methods/goae/pipeline.py: `encode`, `afa_inputs`,
`mix`), so training renders exactly what `invert` renders.

Here: the frozen generator (a checkpoint or seeded random weights), the pair source, the encoder
module, the frozen loss networks and the reconstruction loss L_rec (Eq. 10) on the input view.
Data: config.data.source 'generator' (pseudo-pairs of the frozen generator, data/pseudo_pairs.py)
or 'folder' (aligned photos with camera labels through the tfds / grain pipeline of training/loop.py,
mirrored with camera mirroring); a batch is {'image' (B, S, S, 3) in [-1, 1], 'c' (B, 25), ...}.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d import camera
from inversion3d.data import pseudo_pairs
from inversion3d.generators import eg3d
from inversion3d.generators.eg3d_config import EG3DConfig, with_triplane_resolution
from inversion3d.inversion.common import check_ws
from inversion3d.losses.reconstruction import at_resolution, reconstruction_terms
from inversion3d.methods import evaluation, frozen_generator
from inversion3d.networks import build, config_of
from inversion3d.nn import precision
from inversion3d.training import loss_networks

SOURCES = ("generator", "folder", "mixed")  # training/loop.make_input
REC_TERMS = ("l2", "lpips", "id")  # L_rec (Eq. 10); a term is left out when its network is ('' weights)


def load_generator(section, rng=None):
    """config.generator -> (EG3DConfig, variables, rendering_kwargs).

    section.checkpoint: an official .pkl / .pth or a converted directory (api.load_generator; the
    file carries init_kwargs); '' = random weights from section.init_kwargs, drawn from `rng`
    (variables None when rng is None: the loop draws them in `frozen`).
    section.neural_rendering_resolution (0 = the file's, else 64), section.ray_chunk,
    section.triplane_resolution (random weights only; 0 or absent = the kwargs' 256).
    """
    nrr = int(section.get("neural_rendering_resolution", 0) or 0) or None
    chunk = section.get("ray_chunk")
    path = frozen_generator.checkpoint_path(section)
    if path:
        from inversion3d.api import load_generator as load  # the top-level loader (converters)

        gen = load(path, neural_rendering_resolution=nrr, ray_chunk=chunk)
        if gen.kind != "eg3d":
            raise ValueError(f"generator.checkpoint: GOAE inverts EG3D generators, {path} is {gen.kind}")
        return gen.config, gen.params, dict(gen.init_kwargs.get("rendering_kwargs", {}))
    if not section.get("init_kwargs"):
        raise ValueError("generator: expected generator.checkpoint (a file) or generator.init_kwargs "
                         "(random weights), got neither")
    kwargs = section.init_kwargs
    cfg = EG3DConfig.from_official(kwargs, neural_rendering_resolution=nrr or 64, ray_chunk=chunk)
    # test-size runs only: smaller tri-planes (fewer ws; the encoder's fine head shrinks to match)
    cfg = with_triplane_resolution(cfg, int(section.get("triplane_resolution", 0) or 0))
    variables = None if rng is None else eg3d.init_variables(cfg, rng)
    return cfg, variables, dict(kwargs.get("rendering_kwargs", {}))


class GOAETraining:
    """The pieces both stages share; a stage subclasses it with `nets`, `init_variables`,
    `make_step` and `visualize` (the loop's Method interface, methods/README.md)."""

    nets = ()

    def __init__(self, config, bn_axis_name=None):
        del bn_axis_name  # GOAEncoder has no BatchNorm; AFA's is per device (see train_stage2.py)
        source = config.data.source
        if source not in SOURCES:
            raise ValueError(f"data.source: expected one of {SOURCES}, got {source!r}")
        self.config = config
        self.gen_cfg, self._gen_vars, rendering_kwargs = load_generator(config.generator)
        cfg = self.gen_cfg
        self.pair_fn = pseudo_pairs.make_generator_pairs(cfg, config.data)
        enc = dict(config.model.encoder.to_dict(), w_dim=cfg.w_dim, num_ws=cfg.num_ws)  # 14 at EG3D's 256 planes
        self.encoder, _ = build("goae", enc)
        # encoder.dtype: the encoder's (and AFA's) compute dtype (nn/precision.py); params stay float32
        self.encoder = precision.with_dtype(self.encoder, precision.config_dtype(config))
        check_ws(cfg, self.encoder.num_ws, self.encoder.w_dim, "model.encoder")
        self.rig = camera.rig("eg3d", rendering_kwargs)
        self.front = jnp.asarray(self.rig.frontal())
        nets = loss_networks.load(config.losses, jax.random.fold_in(jax.random.PRNGKey(int(config.seed)), 7))
        if jax.process_index() == 0:
            print(loss_networks.describe(nets), flush=True)
        self.loss_modules = {k: None if v is None else v[0] for k, v in nets.items()}
        self._loss_vars = {k: v[1] for k, v in nets.items() if v is not None}
        self.weights = {k: float(v) for k, v in config.losses.weights.items()}

    # --- frozen arrays ------------------------------------------------------------------------
    def frozen(self, rng):
        """{'generator': its variables, 'lpips' / 'arcface': the loss networks' (when used)}."""
        gen = self._gen_vars if self._gen_vars is not None else eg3d.init_variables(self.gen_cfg, rng)
        return {"generator": gen, **self._loss_vars}

    # --- shared loss pieces -------------------------------------------------------------------
    def front_cameras(self, n: int):
        """(n, 25) the canonical (frontal) camera of the generator's rig."""
        return jnp.broadcast_to(self.front, (n, self.front.shape[0]))

    def reconstruction(self, pred, target, frozen):
        """L_rec terms (Eq. 10) of a render pred (N, S', S', 3) against the input view target
        (N, S, S, 3): pred area-averaged to S, both compared at losses.resolution."""
        nets = {k: None if m is None else (m, frozen[k]) for k, m in self.loss_modules.items()}
        pred = at_resolution(pred, target.shape[1])
        return dict(reconstruction_terms(pred, target, lpips=nets["lpips"], arcface=nets["arcface"],
                                         resolution=int(self.config.losses.resolution)))

    def export_networks(self, params, batch_stats, nets):
        """{'kind': 'goae', 'networks', 'tree'} of state nets `nets` ('encoder' -> the file's 'goae'
        network at the inference stage, 'afa' -> 'afa'), one converted file (methods/workdir.py)."""
        modules = {"encoder": ("goae", self.encoder, ("stage",)), "afa": ("afa", getattr(self, "afa", None), ())}
        networks, tree = {}, {}
        for net in nets:
            name, module, drop = modules[net]
            networks[name] = config_of(precision.unwrap(module), drop=drop)
            tree[name] = {"params": params[net], **({"batch_stats": batch_stats[net]} if batch_stats.get(net) else {})}
        return {"kind": "goae", "networks": networks, "tree": tree}

    def evaluate(self, state, batch, frozen):
        """Held-out evaluation (methods/evaluation.py) of the stage's inference forward (`inference`)."""
        out = self.inference(state, batch["image"], batch["c"], frozen)
        return evaluation.score_views(self.config, self.gen_cfg, frozen, out, batch,
                                      evaluation.loss_nets(self.loss_modules, frozen))

    def uses(self, term: str) -> bool:
        return self.weights.get(term, 0.0) > 0

    # --- visualisation --------------------------------------------------------------------------
    def novel_cameras(self, n: int):
        """[(n, 25)] cameras at yaw pi/2 -+ data.vis_yaw (the image grid's novel views)."""
        yaw = float(self.config.data.vis_yaw)
        return [jnp.asarray(self.rig.labels(np.full(n, math.pi / 2 + s * yaw, np.float32),
                                            np.full(n, math.pi / 2, np.float32)))
                for s in (-1.0, 1.0)]
