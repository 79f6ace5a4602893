"""A training workdir as encoder files: what `inversion3d invert --encoder WORKDIR` and
`inversion3d export WORKDIR --out DIR` read.

A run's workdir (training/loop.py) holds `checkpoints/<step>/{state, config}`. `read_run` reads the
latest step's config (JSON: nothing is executed) and only the `params` / `batch_stats` of its
TrainState (Orbax, restored onto one device). The method's trainer (methods/registry.TRAINERS,
from config.method) is built from that config and says, through `Method.export(params,
batch_stats)`, which networks make up its encoder file and with which configs; the generator is the
one the run used (`Method.frozen` with the run's key: its checkpoint or its seeded random weights).
`export` writes that file in the layout `inversion3d convert` writes (converters/orbax_io.py), so
`--encoder DIR` reads the same arrays as `--encoder WORKDIR`.

| run (config.method) | invert --method | the file's networks |
|---|---|---|
| psp / e4e | psp / e4e | psp or e4e (+ latent_avg without start_from_latent_avg) |
| triplanenet | triplanenet | psp, triplanenet |
| goae_stage1 | goae-noafa | goae |
| goae_stage2 | goae, goae-noafa | goae (the frozen stage-1 encoder), afa |
| e3dge | e3dge | psp, e3dge_local (no latent_avg: the generator's w_avg, as in training) |
| dual | dual | two files: E1 (role e1) and E2 (role e2), each psp, triplanenet |

A trainer whose run makes several files (the Dual Encoder's E1 and E2) returns a list from
`Method.export`, each file with its 'role' (recorded as `inversion3d convert --role` records it);
`export` writes them to OUT/<role>, and `invert --encoder WORKDIR` takes all of them from the run.

A GAN run of the generator itself (GENERATOR_RUNS: configs/eg3d_gan.py, panohead_gan.py) exports a
generator instead: its trainer says `exports = "generator"` and its `Method.export(params, batch_stats,
ema_params)` gives G_ema with the generator buffers (w_avg ...), its init_kwargs and neural rendering
resolution; `export` writes the layout `convert` writes for an official G_ema, so `load_generator(DIR)`,
`render DIR` and `--generator DIR` read it. `--encoder WORKDIR` refuses such a run in one line.
"""
import json
import os
from typing import Any, List, Mapping, NamedTuple

import jax
import numpy as np

SERVES = {"psp": ("psp",), "e4e": ("e4e",), "triplanenet": ("triplanenet",), "goae_stage1": ("goae-noafa",),
          "goae_stage2": ("goae", "goae-noafa"), "e3dge": ("e3dge",),
          "dual": ("dual",)}  # run method -> the inference methods its file(s) serve
GENERATOR_RUNS = ("eg3d_gan", "panohead_gan")  # runs that train the generator: `export` writes G_ema


class Run(NamedTuple):
    """workdir, step, config (ConfigDict), params / batch_stats {net: tree of numpy arrays}."""

    workdir: str
    step: int
    config: Any
    params: Mapping[str, Any]
    batch_stats: Mapping[str, Any]
    ema_params: Mapping[str, Any] = {}  # read for GENERATOR_RUNS only (G_ema)


def is_workdir(path) -> bool:
    """True for a training run's folder (it has checkpoints/)."""
    return bool(path) and os.path.isdir(os.path.join(os.fspath(path), "checkpoints"))


def _latest_step(root: str) -> int:
    steps = [int(n) for n in os.listdir(root) if n.isdigit() and os.path.isdir(os.path.join(root, n))]
    if not steps:
        raise ValueError(f"--encoder: {os.path.dirname(root)} has no finished checkpoint (no checkpoints/<step>)")
    return max(steps)


def read_config(workdir, generator_runs=False):
    """(absolute workdir, latest step, its config as a ConfigDict) of an encoder training run (or, with
    `generator_runs`, of a GAN run of the generator too); the config is JSON (nothing is executed), no
    arrays are read."""
    import ml_collections

    workdir = os.path.abspath(os.fspath(workdir))
    root = os.path.join(workdir, "checkpoints")
    step = _latest_step(root)
    folder = os.path.join(root, str(step))
    try:
        with open(os.path.join(folder, "config", "metadata"), encoding="utf-8") as f:
            config = ml_collections.ConfigDict(json.load(f))
    except (OSError, ValueError) as err:
        raise ValueError(f"--encoder: {folder} has no readable config ({err})") from None
    if generator_runs and config.get("method") in GENERATOR_RUNS:
        return workdir, step, config
    if config.get("method") in GENERATOR_RUNS:
        raise ValueError(f"--encoder: {workdir} is a {config.get('method')} run, which trains a generator, not an "
                         f"encoder (`inversion3d export {workdir} --out DIR`, then --generator DIR)")
    if config.get("method") not in SERVES:
        raise ValueError(f"--encoder: {workdir} is a {config.get('method')!r} run; encoder runs are {sorted(SERVES)}")
    g = config.get("generator") or {}
    if "source" in g:  # a run saved before generator.source was renamed generator.checkpoint
        config.generator.checkpoint = g.source
        del config.generator["source"]
    return workdir, step, config


def generator_kind(workdir) -> str:
    """'eg3d' or 'panohead': the kind of generator the run trained against (from its config alone)."""
    from inversion3d.methods.registry import trainer

    config = read_config(workdir)[2]
    return trainer(config.method)(config, bn_axis_name=None).gen_cfg.kind


def read_run(workdir, generator_runs=False) -> Run:
    """The latest checkpoint of a training workdir: its config and the nets' params / batch stats (and
    EMA params for a GAN run, accepted with `generator_runs`)."""
    import orbax.checkpoint as ocp

    workdir, step, config = read_config(workdir, generator_runs)
    keys = ("params", "batch_stats") + (("ema_params",) if config.method in GENERATOR_RUNS else ())
    path = os.path.join(workdir, "checkpoints", str(step), "state")
    meta = ocp.StandardCheckpointer().metadata(path)
    meta = getattr(meta, "item_metadata", None) or meta
    meta = getattr(meta, "tree", meta)
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    target = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device),
                          {key: meta[key] for key in keys})
    saved = ocp.PyTreeCheckpointer().restore(path, args=ocp.args.PyTreeRestore(
        item=target, restore_args=ocp.checkpoint_utils.construct_restore_args(target), partial_restore=True))
    saved = jax.tree.map(np.asarray, saved)
    return Run(workdir, step, config, saved["params"], saved.get("batch_stats") or {}, saved.get("ema_params") or {})


def method(run: Run):
    """The run's trainer `Method`, built from its saved config."""
    from inversion3d.methods.registry import trainer

    return trainer(run.config.method)(run.config, bn_axis_name=None)


def check_serves(run: Run, inference_method: str):
    """`invert --method` fits the run (SERVES); ValueError in one line otherwise."""
    ok = SERVES[run.config.method]
    if inference_method not in ok:
        raise ValueError(f"--method: {run.workdir} is a {run.config.method} run, which `invert` runs as "
                         f"--method {' | '.join(ok)}, got {inference_method}")


def exported(run: Run, trainer=None) -> List[Mapping[str, Any]]:
    """[{'kind', 'networks', 'tree'[, 'role']}]: the run's encoder file(s) (Method.export), in the
    order `invert` takes them."""
    trainer = trainer or method(run)
    files = trainer.export(run.params, run.batch_stats)
    return list(files) if isinstance(files, (list, tuple)) else [files]


def encoders(run: Run, inference_method: str, trainer=None):
    """The `Encoder`s of `invert --method inference_method` (registry.FILE_KINDS order) from the run."""
    from inversion3d.encoders_api import from_tree
    from inversion3d.methods.registry import FILE_KINDS

    check_serves(run, inference_method)
    files = exported(run, trainer)
    encs = [from_tree(f["kind"], f["tree"], f["networks"], run.workdir, f.get("role")) for f in files]
    if len(encs) == 1:
        return encs * len(FILE_KINDS[inference_method])  # GOAE: the encoder and AFA of one file
    return encs  # Dual: E1, E2


def generator(run: Run, trainer=None):
    """The frozen generator the run trained against, as an `inversion3d.Generator`."""
    from inversion3d.api import Generator
    from inversion3d.training.loop import run_keys

    trainer = trainer or method(run)
    variables = trainer.frozen(run_keys(run.config)[1])["generator"]
    init_kwargs = run.config.generator.get("init_kwargs") or {}
    init_kwargs = init_kwargs.to_dict() if hasattr(init_kwargs, "to_dict") else dict(init_kwargs)
    return Generator(trainer.gen_cfg, variables, init_kwargs=init_kwargs, kind=trainer.gen_cfg.kind)


def export_generator(run: Run, out, trainer=None, storage="float32") -> str:
    """Writes a GAN run's G_ema (Method.export of a trainer with exports = "generator") to a new
    directory `out` in the layout `convert` writes for an official G_ema; returns its path."""
    from converters.orbax_io import write_converted

    trainer = trainer or method(run)
    file = trainer.export(run.params, run.batch_stats, run.ema_params)
    meta = {"kind": file["kind"], "network": "G_ema", "class_name": "TriPlaneGenerator", "layout": "flax",
            "init_kwargs": file["init_kwargs"], "neural_rendering_resolution": file["neural_rendering_resolution"],
            "source": run.workdir, "step": run.step, "trained_by": run.config.method}
    return write_converted(out, jax.tree.map(np.asarray, file["tree"]), meta, storage=storage)


def export(workdir, out, storage="float32") -> List[str]:
    """Writes the latest checkpoint's encoder file to a new directory `out` (the `convert` layout), or
    a run's several files to out/<role> (Dual: out/e1, out/e2), or a GAN run's G_ema; returns their paths.
    storage: 'bfloat16' stores the float parameters at half size (converters/orbax_io.write_converted)."""
    from converters.orbax_io import check_dst, write_converted

    check_dst(out)
    run = read_run(workdir, generator_runs=True)
    if run.config.method in GENERATOR_RUNS:
        return [export_generator(run, out, storage=storage)]
    files = exported(run)
    paths = []
    for file in files:
        meta = {"kind": file["kind"], "network": "+".join(sorted(file["networks"])), "networks": file["networks"],
                "latent_avg": "latent_avg" in file["tree"], "source": run.workdir, "step": run.step,
                "trained_by": run.config.method, "layout": "flax"}
        if file.get("role"):
            meta["role"] = file["role"]
        dst = out if len(files) == 1 else os.path.join(out, file["role"])
        paths.append(write_converted(dst, jax.tree.map(np.asarray, file["tree"]), meta, storage=storage))
    return paths
