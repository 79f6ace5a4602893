"""`train_and_evaluate(config, workdir, method_cls)`: the shared training loop (flax imagenet example shape).

Mesh -> method -> sharded TrainState (restored: workdir -> resume -> init_from -> scratch) ->
input source (position restored with the state) -> compiled, donated step -> periodic metrics
(clu.metrics averages), image grids, checkpoints (last N + best), console progress with ETA.
Process 0 writes logs; every process runs the same steps and saves its shards.
The method comes in as a value (its `Method` class; methods/registry.trainer maps config.method to
it), so that training/ imports no method: a new method adds a folder under methods/, not a loop edit.
Long runs: SIGTERM / SIGINT finish the step, save it and raise stopping.Preempted (stopping.py);
NaN / Inf steps are skipped or stop the run (config.on_nonfinite, nonfinite.py); a damaged latest
checkpoint falls back to the previous one (checkpoint.py); metrics.jsonl semantics: writers.py.
"""
import os
import time

import jax
import jax.numpy as jnp
from clu import metrics as clu_metrics

from inversion3d import viz
from inversion3d.data import pipeline, tfds_builder
from inversion3d.training import checkpoint, gan, nonfinite, optim, sharding, state as state_lib, step as step_lib
from inversion3d.training import evaluation, stopping, writers
from inversion3d.training.inputs import DeviceIterator, MixedSource, PairSource, PhotosBesidePairs, check_pseudo_fraction


MIX_SALT = 0x313  # fold_in tag of the mixed source's row choice (apart from the pairs' own draws)


def make_input(config, method, frozen, key, mesh):
    """The method's pseudo-pair source ('generator'), a grain pipeline over an aligned folder
    ('folder', tfds), or both ('mixed'): rows mixed at data.pseudo_fraction (inputs.MixedSource), or,
    for a method with `num_real` whose pairs carry more than image + c (E3DGE), method.num_real folder
    rows beside batch - num_real pairs (inputs.PhotosBesidePairs)."""
    batch = int(config.batch_size)
    sharding.local_batch_size(batch, mesh)  # validates divisibility
    d = config.data
    pairs = lambda size: PairSource(method.pair_fn, frozen, key, size, mesh,  # noqa: E731
                                    num_pairs=int(d.get("num_pairs", 0)))
    if d.source in ("generator", "synthetic"):
        return pairs(batch)
    if d.source == "mixed":
        real = int(getattr(method, "num_real", 0))
        if real:
            sharding.local_batch_size(real, mesh)
            sharding.local_batch_size(batch - real, mesh)
            return PhotosBesidePairs(pairs(batch - real), _folder_input(config, real, mesh))
        fraction = float(d.get("pseudo_fraction", 0.5))
        check_pseudo_fraction(fraction)  # before the folder is read
        return MixedSource(_folder_input(config, batch, mesh), pairs(batch), fraction,
                           jax.random.fold_in(key, MIX_SALT), batch, mesh)
    return _folder_input(config, batch, mesh)


def _folder_input(config, batch, mesh):
    """Global batches of `batch` rows of an aligned folder / dataset_tool zip (mirrored with the camera
    at data.mirror_prob) on the mesh."""
    d = config.data
    # data.folder: an aligned folder or an EG3D dataset_tool .zip, read in place; larger images are
    # area-averaged down to data.resolution like the generator's renders.
    builder_config = tfds_builder.folder_config(d.folder, int(d.resolution), with_mask=bool(d.get("with_mask", False)),
                                                with_depth=bool(d.get("with_depth", False)), downscale=True,
                                                name=d.get("name", ""))
    if jax.process_index() == 0:
        tfds_builder.AlignedFolder(config=builder_config, data_dir=d.tfds_dir or None).download_and_prepare()
    _barrier("tfds_prepared")
    records = tfds_builder.AlignedFolder(config=builder_config, data_dir=d.tfds_dir or None).as_data_source(
        d.get("split", "train"))
    ds = pipeline.grain_dataset(records, batch // jax.process_count(), int(config.seed), shuffle=True,
                                mirror_prob=float(d.get("mirror_prob", 0.0)), process_index=jax.process_index(),
                                process_count=jax.process_count())
    return DeviceIterator(ds, mesh, prefetch=int(d.get("prefetch", 2)), read_threads=int(d.get("read_threads", 0)))


def _barrier(name: str):
    """All processes wait here (multi-host); a no-op for one process."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


class MetricAverager:
    """Averages each step's scalars per key with clu.metrics.Average. A key some steps lack (the lazy
    R1 terms of a GAN step) is averaged over the steps that have it."""

    def __init__(self):
        self._acc = {}

    def add(self, scalars):
        for k, v in scalars.items():
            single = clu_metrics.Average.from_model_output(jnp.asarray(v))
            self._acc[k] = self._acc[k].merge(single) if k in self._acc else single

    def compute_and_reset(self):
        out = {k: float(v) for k, v in sharding.fetch({k: a.compute() for k, a in self._acc.items()}).items()}
        self._acc = {}
        return out


def run_keys(config):
    """(init, frozen, data, state) keys of a run, from config.seed: methods/workdir.py rebuilds the
    frozen arrays (a seeded random generator) of a finished run with the same `frozen` key."""
    return tuple(jax.random.split(jax.random.PRNGKey(int(config.seed)), 4))


def _jit_visualize(method, rep):
    """-> vis(state, batch, frozen, rows, step): the method's jitted image grid. A method with a
    `static_stage(step)` (a shape that changes over the run, e.g. EG3D's rendering resolution) gets it as
    its visualize's static fifth argument: under jit the step is traced and cannot pick a shape."""
    stage = getattr(method, "static_stage", None)
    if stage is None:
        vis = jax.jit(method.visualize, out_shardings=rep, static_argnums=3)
        return lambda state, batch, frozen, rows, step: vis(state, batch, frozen, rows)
    vis = jax.jit(method.visualize, out_shardings=rep, static_argnums=(3, 4))
    return lambda state, batch, frozen, rows, step: vis(state, batch, frozen, rows, stage(step))


def build(config, workdir, method_cls):
    """Mesh, method, frozen arrays, state (restored or fresh), input, compiled step: a dict.
    method_cls: a method's `Method` class (e.g. methods/toy_psp/train.py), built here as
    method_cls(config, bn_axis_name=...) because the BatchNorm axis depends on the mesh mode."""
    mesh = sharding.make_mesh(config.mesh.get("num_devices"))
    mode = config.mesh.get("mode", "jit")
    fsdp = bool(config.mesh.get("fsdp", False))
    if fsdp and mode == "shard_map":
        raise ValueError("mesh.fsdp: FSDP needs mode='jit' (shard_map steps take replicated params)")
    method = method_cls(config, bn_axis_name=sharding.DATA if mode == "shard_map" else None)
    k_init, k_frozen, k_data, k_state = run_keys(config)
    frozen = sharding.put_replicated(sharding.fetch(method.frozen(k_frozen)), mesh)
    txs = {n: optim.make_optimizer(config.optim[n]) for n in method.nets}
    ema = {n: float(config.optim[n].get("ema_decay", 0.0)) for n in method.nets}
    manual_ema = tuple(getattr(method, "manual_ema", ()))  # EMA the method updates itself (GAN G_ema)
    init_fn = lambda: state_lib.create_train_state(k_state, method.init_variables(k_init), txs, ema, manual_ema)
    fsdp_min_size = int(config.mesh.get("fsdp_min_size", 2 ** 14))
    abstract, shardings, init = sharding.sharded_init(init_fn, mesh, fsdp, fsdp_min_size)
    ckpt = checkpoint.Checkpointer(workdir, config.checkpoint)  # collective: same order on every process
    state, data_state, source = checkpoint.restore_or_init(
        ckpt, config, init, sharding.abstract_with_shardings(abstract, shardings), shardings, mesh)
    data = make_input(config, method, frozen, k_data, mesh)
    if data_state:
        data.set_state(data_state)
    rep = sharding.replicated(mesh)
    skip = config.get("on_nonfinite", "stop") == "skip"
    poison_at = int(config.get("debug", {}).get("nonfinite_at", 0))
    train_step = compile_method_step(method, mode, mesh, shardings, sharding.batch_sharding(mesh), rep, skip, poison_at)
    vis = _jit_visualize(method, rep)
    schedules = {n: optim.make_schedule(config.optim[n]) for n in method.nets}
    evaluate = held = None
    if evaluation.enabled(config, method):  # held-out pairs, drawn once (training/evaluation.py)
        evaluate = jax.jit(method.evaluate)
        held = evaluation.held_out(config, method, frozen, jax.random.fold_in(k_data, 1))
    return dict(mesh=mesh, method=method, frozen=frozen, state=state, source=source, data=data, ckpt=ckpt,
                train_step=train_step, visualize=vis, shardings=shardings, schedules=schedules,
                evaluate=evaluate, held_out=held)


def compile_method_step(method, mode, mesh, state_shardings, batch_shardings, frozen_shardings,
                        skip_nonfinite: bool = False, poison_at: int = 0):
    """-> step(state, batch, frozen, step_index) -> (state, metrics), compiled and donated.

    A single-network method gives `loss_fn` (one update of `nets[0]` a step). A method with several
    networks (encoder + discriminators) gives `make_step(mode, mesh, skip_nonfinite) -> (step,
    r1_every)`, where step(state, batch, frozen, regularize) runs its fixed schedule of updates
    (training/gan.py); the variant with the lazy R1 update runs every `r1_every` steps. A method
    with `static_stage(step_index)` (a shape that changes over the run, e.g. EG3D's rendering
    resolution fade) gets step(..., regularize, stage) compiled once per stage.
    poison_at: the NaN test hook (nonfinite.poison), for both kinds.
    """
    if hasattr(method, "make_step"):
        step, r1_every = method.make_step(mode, mesh, skip_nonfinite=skip_nonfinite)
        poisoned = lambda state, batch, frozen, regularize, *stage: step(  # noqa: E731
            state, nonfinite.poison(batch, state.step, poison_at), frozen, regularize, *stage)
        return gan.LazyRegularizedStep(poisoned, r1_every, mesh, state_shardings, batch_shardings, frozen_shardings,
                                       stage=getattr(method, "static_stage", None))
    compiled = step_lib.compile_step(step_lib.make_train_step(method.loss_fn, method.nets[0], mode, mesh,
                                                              skip_nonfinite, poison_at),
                                     mesh, state_shardings, batch_shardings, frozen_shardings)
    return lambda state, batch, frozen, step_index: compiled(state, batch, frozen)


def train_and_evaluate(config, workdir: str, method_cls):
    """Trains config.total_steps steps of method_cls (resuming if workdir has a checkpoint); returns the state.

    Raises stopping.Preempted after saving on SIGTERM / SIGINT, stopping.NonFinite (on_nonfinite
    'stop') and stopping.NoIntactCheckpoint; experiments/train.py turns them into one line and
    their exit codes.
    """
    sharding.maybe_initialize_distributed(config.get("distributed", {}))
    with stopping.StopRequest() as stop:  # from here on a signal only sets a flag
        return _train(config, workdir, method_cls, stop)


def _train(config, workdir, method_cls, stop):
    is_main = jax.process_index() == 0
    if is_main:
        os.makedirs(workdir, exist_ok=True)
    guard = nonfinite.Guard(config.get("on_nonfinite", "stop"))
    b = build(config, workdir, method_cls)
    state, data, frozen = b["state"], b["data"], b["frozen"]
    log = config.logging
    writer = writers.create_writer(workdir, is_main, bool(log.get("tensorboard", True)))
    ckpt = b["ckpt"]
    start, total = int(sharding.fetch(state.step)), int(config.total_steps)
    if is_main:  # every (re)start, so the log says where each run began (writers.JsonlWriter)
        writer.write_hparams(config.to_dict() if hasattr(config, "to_dict") else dict(config), start_step=start)
    progress = writers.Progress(total, start)
    if is_main:
        progress._stream.write(f"start at step {start} ({b['source']}); {jax.device_count()} devices, "
                               f"{jax.process_count()} processes; workdir {workdir}\n")
    averager = MetricAverager()
    every = lambda n, s: n > 0 and (s % n == 0 or s == total)
    last_saved = lambda: ckpt.latest_step() is not None and ckpt.path(ckpt.latest_step())
    profile_at, profiling = int(log.get("profile_at", 0)), False
    try:
        for step in range(start, total):
            if is_main and profile_at > 0 and step + 1 == profile_at:  # clu's Profile action, TF-free
                jax.profiler.start_trace(os.path.join(workdir, "profile"))
                profiling = True
            batch = next(data)
            state, metrics = b["train_step"](state, batch, frozen, step)
            s = step + 1
            averager.add(guard.split(s, metrics))
            logging_step, saving = every(int(log.log_every), s), every(int(config.checkpoint.every), s)
            if logging_step or saving:  # these steps wait for the device anyway: read the NaN flags now
                guard.check(last_saved)
            if logging_step:
                scalars = averager.compute_and_reset()
                scalars.update({f"lr/{n}": float(f(step)) for n, f in b["schedules"].items()},
                               steps_per_sec=progress.rate(s), nonfinite_steps=guard.window_bad)
                guard.window_bad = 0
                writer.write_scalars(s, scalars)
                if is_main:
                    progress.report(s, {k: v for k, v in scalars.items() if k in ("loss", "grad_norm")})
                if ckpt.best is not None and saving:
                    ckpt.save_best(s, state, data.get_state(), config, scalars)
            if every(int(log.get("image_every", 0)), s):
                cols = sharding.fetch(b["visualize"](state, batch, frozen, int(log.get("image_rows", 4)), s))
                writer.write_images(s, {"input_recon_views": viz.batch_grid(cols)})
            monitor = config.get("monitor", {})  # a host-side progress score, e.g. the GAN's FID-like one
            if hasattr(b["method"], "monitor") and every(int(monitor.get("every", 0)), s):
                writer.write_scalars(s, b["method"].monitor(state, frozen))
            if b["evaluate"] is not None and s % int(config.eval.every) == 0:
                scalars, grid = evaluation.run(b["evaluate"], state, frozen, b["held_out"], int(log.get("image_rows", 4)))
                writer.write_scalars(s, scalars)
                writer.write_images(s, {"eval/input_recon_novel_gt": grid})
            if profiling and s >= profile_at + int(log.get("profile_steps", 3)) - 1:
                jax.block_until_ready(state)
                jax.profiler.stop_trace()
                profiling = False
            if saving:
                t0 = time.time()
                ckpt.save(s, state, data.get_state(), config)
                writer.write_scalars(s, {"checkpoint_blocking_sec": time.time() - t0})
                writer.flush()
            if s < total and stop.reached(s, ckpt, sync=logging_step):
                guard.check(last_saved)  # a poisoned state is never saved
                if not saving:
                    ckpt.save(s, state, data.get_state(), config)
                ckpt.wait()
                raise stopping.Preempted(f"{stop.name}: stopped after step {s} and saved it to {ckpt.path(s)}; "
                                         f"run the same command to resume")
        guard.check(last_saved)
    finally:  # also on a stop: finish the saves in flight, keep what was logged
        if profiling:
            jax.profiler.stop_trace()
        ckpt.wait()
        ckpt.close()
        writer.flush()
        writer.close()
    return state
