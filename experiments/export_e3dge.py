"""Writes a trained E3DGE workdir's networks as an encoder directory `inversion3d invert --method e3dge` reads.

  .venv/bin/python -m experiments.export_e3dge --config=configs/e3dge.py --workdir=out/e3dge --out=out/e3dge-encoder
The config must be the one the run was trained with (the same overrides): the workdir's latest
checkpoint is restored into it (training/checkpoint.py), then DST gets `inversion3d.json` (kind
'e3dge', the two networks' configs) and `params/` (Orbax: 'psp' with its BatchNorm statistics,
'e3dge_local', and 'latent_avg' = the training generator's w_avg, the offset the codes were trained
around). There is no converter for the official E3DGE release: its networks drive StyleSDF (a
different generator with its own W spaces), so its weights do not fit an EG3D / PanoHead pipeline.
"""
import os
import sys

from absl import app, flags
from ml_collections import config_flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "The training configuration file of the run.", lock_config=True)
flags.DEFINE_string("workdir", None, "The trained run's workdir (its latest checkpoint is exported).")
flags.DEFINE_string("out", None, "Output directory (must not exist).")
flags.mark_flags_as_required(["config", "workdir", "out"])


def export(config, workdir: str, dst: str) -> str:
    """Restores `workdir`'s latest checkpoint of `config` and writes the encoder directory `dst`."""
    import jax

    from converters.orbax_io import write_converted
    from inversion3d.inversion.common import w_avg
    from inversion3d.methods.e3dge import pipeline
    from inversion3d.methods.e3dge.train import Method
    from inversion3d.training import loop, sharding

    if config.method != "e3dge":
        raise ValueError(f"config.method: expected 'e3dge', got {config.method!r}")
    if not os.path.isdir(os.path.join(workdir, "checkpoints")):
        raise ValueError(f"workdir: {workdir} has no checkpoints/ (train it first)")
    built = loop.build(config, workdir, Method)
    if built["source"] != "workdir":
        raise ValueError(f"workdir: no intact checkpoint in {workdir}")
    state, method = sharding.fetch(built["state"]), built["method"]
    built["ckpt"].close()
    gen = method.gen_cfg
    m = config.model
    networks = {"psp": dict(m.encoder.to_dict(), n_styles=gen.num_ws, style_dim=gen.w_dim),
                pipeline.LOCAL: dict(m.local.to_dict(), plane_channels=gen.plane_channels)}
    networks = jax.tree.map(lambda v: list(v) if isinstance(v, tuple) else v, networks,
                            is_leaf=lambda v: isinstance(v, tuple))
    tree = {"psp": state.variables("encoder"), pipeline.LOCAL: state.variables("local"),
            "latent_avg": w_avg(built["frozen"]["generator"])}
    meta = {"kind": "e3dge", "network": "encoder", "layout": "flax", "networks": networks,
            "extra": {"trained_steps": int(state.step), "workdir": os.path.abspath(workdir)}}
    return write_converted(dst, sharding.fetch(tree), meta)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        print(export(FLAGS.config, FLAGS.workdir, FLAGS.out))
    except ValueError as err:
        sys.exit(f"export_e3dge.py: error: {' '.join(str(err).split())}")


if __name__ == "__main__":
    app.run(main)
