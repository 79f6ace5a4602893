"""Orbax checkpoints of the whole TrainState + the input position + the config.

<workdir>/checkpoints/<step>/{state,data,config}: the last `keep` saves (async; a save
interrupted by a kill leaves only Orbax's `<step>.orbax-checkpoint-tmp-*` folder, never a
`<step>`, and that folder is removed when the next run opens the workdir).
<workdir>/best/<step>/...: the `keep_best` saves with the best `best_metric` (by `best_mode`).
A workdir checkpoint that cannot be restored (damaged files) is named in one line and, with
`checkpoint.on_corrupt='fallback'` (default), the previous intact one is restored instead; the
damaged ones are kept, renamed aside to `<step>.corrupt` (Orbax ignores them, and the step can be
saved again). With 'stop', or when none is intact, the run stops with `NoIntactCheckpoint`.
Restores go onto the shardings of the current mesh, whatever mesh saved them. Resume order
(`restore_or_init`): this workdir's latest checkpoint -> config.resume (another run: full state
and input position) -> config.init_from (another run: only the params / batch stats / EMA of the
listed nets, 'dst=src' to rename; fresh optimiser, step 0) -> scratch.
"""
import gc
import logging
import os
import sys
import time
from typing import Any, Callable, Mapping, Optional, Tuple

import jax
import numpy as np
import orbax.checkpoint as ocp
from flax import serialization

from inversion3d.training.sharding import replicated
from inversion3d.training.stopping import NoIntactCheckpoint

ON_CORRUPT = ("fallback", "stop")


def _to_tree(state):
    return serialization.to_state_dict(state)


def _from_tree(template, tree):
    return serialization.from_state_dict(template, tree)


def _manager(directory, max_to_keep, async_save, best=None):
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, enable_async_checkpointing=async_save, create=True,
                                           cleanup_tmp_directories=True)
    if best is not None:
        metric, mode = best
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, enable_async_checkpointing=async_save,
                                               create=True, best_fn=lambda m: float(m[metric]), best_mode=mode,
                                               keep_checkpoints_without_metrics=False)
    return ocp.CheckpointManager(os.path.abspath(directory), options=options)


def checkpoint_root(path: str) -> str:
    """A run's workdir or its checkpoints/ folder -> the folder that holds step directories."""
    sub = os.path.join(path, "checkpoints")
    return sub if os.path.isdir(sub) else path


class Checkpointer:
    """Saves / restores (state, input state, config); cfg = config.checkpoint section:
    keep, keep_best, best_metric, best_mode ('min' | 'max'), async_save, on_corrupt."""

    def __init__(self, workdir: str, cfg):
        self.on_corrupt = cfg.get("on_corrupt", "fallback")
        if self.on_corrupt not in ON_CORRUPT:
            raise ValueError(f"checkpoint.on_corrupt: expected one of {ON_CORRUPT}, got {self.on_corrupt!r}")
        self.async_save = bool(cfg.get("async_save", True))
        self.last = _manager(os.path.join(workdir, "checkpoints"), int(cfg.get("keep", 2)), self.async_save)
        self.best = None
        if int(cfg.get("keep_best", 0)) > 0:
            mode = cfg.get("best_mode", "min")
            if mode not in ("min", "max"):
                raise ValueError(f"checkpoint.best_mode: expected 'min' or 'max', got {mode!r}")
            self.best = _manager(os.path.join(workdir, "best"), int(cfg.keep_best), self.async_save,
                                 best=(cfg.best_metric, mode))

    @staticmethod
    def _args(state, data_state, config):
        return ocp.args.Composite(state=ocp.args.StandardSave(_to_tree(state)),
                                  data=ocp.args.JsonSave(dict(data_state or {})),
                                  config=ocp.args.JsonSave(config.to_dict() if hasattr(config, "to_dict") else dict(config)))

    def save(self, step: int, state, data_state: Optional[Mapping], config) -> None:
        """Starts an (async) save of step `step`; returns once the arrays are copied off device."""
        self.last.save(int(step), args=self._args(state, data_state, config), force=True)

    def save_best(self, step: int, state, data_state, config, metrics: Mapping[str, float]) -> None:
        """Offers step `step` to the keep-best set (kept only if among the best `keep_best`)."""
        if self.best is not None:
            self.best.save(int(step), args=self._args(state, data_state, config),
                           metrics={k: float(v) for k, v in metrics.items()}, force=True)

    def latest_step(self) -> Optional[int]:
        return self.last.latest_step()

    def path(self, step: int) -> str:
        return os.path.join(str(self.last.directory), str(int(step)))

    def _restore(self, step, abstract_state):
        out = self.last.restore(int(step), args=ocp.args.Composite(
            state=ocp.args.StandardRestore(_to_tree(abstract_state)), data=ocp.args.JsonRestore()))
        return _from_tree(abstract_state, out["state"]), dict(out["data"] or {})

    def restore_latest(self, abstract_state, report=None) -> Tuple[Any, dict, int]:
        """(state, input state, step) of this workdir's newest intact step onto `abstract_state`'s shardings.

        With on_corrupt 'fallback', a step that fails to restore makes it try the next older one;
        once one restores, each failed newer one is renamed aside to `<step>.corrupt` and reported
        in one line (path, reason, the step restored instead). Raises NoIntactCheckpoint (naming
        the bad ones and why) with 'stop' or when none restores; nothing is renamed then. Every
        process takes the same decision (an all-gather per attempt in multi-host runs).
        """
        report = report or (lambda line: print(line, file=sys.stderr, flush=True))
        steps = sorted(self.last.all_steps(), reverse=True)
        bad = []  # (path, reason) of the newer steps that failed
        for i, step in enumerate(steps):
            result = self._try_restore(step, abstract_state)
            if _all_ok(isinstance(result, tuple)):
                break
            bad.append((self.path(step), result if isinstance(result, str) else "failed on another process"))
            if self.on_corrupt == "stop":
                raise NoIntactCheckpoint(f"checkpoint: the latest checkpoint {bad[0][0]} cannot be restored "
                                         f"({bad[0][1]}); repair or move it aside, or set checkpoint.on_corrupt=fallback")
            if i + 1 == len(steps):
                raise NoIntactCheckpoint("checkpoint: no checkpoint of the workdir can be restored: "
                                         + "; ".join(f"{p} ({r})" for p, r in bad))
        for path, reason in bad:  # renamed by process 0 once every process restored an older step
            aside = _aside_name(path)
            if jax.process_index() == 0:
                os.rename(path, aside)
            report(f"checkpoint {path} cannot be restored ({reason}); restored step {step} instead and "
                   f"moved the bad one to {aside}")
        if bad:
            _barrier("checkpoint_renamed_aside")
            self.last.reload()
        state, data = result
        return state, data, step

    def _try_restore(self, step, abstract_state):
        """(state, data), or the reason (one line) why step `step` cannot be restored."""
        # A failed TensorStore read leaves futures and callbacks that print pages of "Exception
        # ignored" / "Future exception was never retrieved" after the fact; the reason says it all.
        hook, asyncio_log = sys.unraisablehook, logging.getLogger("asyncio")
        sys.unraisablehook, disabled, asyncio_log.disabled = (lambda unraisable: None), asyncio_log.disabled, True
        failed = False
        try:
            return self._restore(step, abstract_state)
        except Exception as e:  # noqa: BLE001  (any damage: missing / truncated / garbled files)
            failed = True
            return _reason(e)
        finally:
            if failed:  # `e` and its frames are gone here: collect the orphans while still muted
                time.sleep(0.2)
                gc.collect()
            sys.unraisablehook, asyncio_log.disabled = hook, disabled

    def wait(self) -> None:
        self.last.wait_until_finished()
        if self.best is not None:
            self.best.wait_until_finished()

    def close(self) -> None:
        self.last.close()
        if self.best is not None:
            self.best.close()


def _all_ok(ok: bool) -> bool:
    """True only when `ok` on every process (one all-gather in multi-host runs)."""
    if jax.process_count() == 1:
        return bool(ok)
    from jax.experimental import multihost_utils

    return bool(multihost_utils.process_allgather(np.int32(ok)).all())


def _barrier(name):
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def _reason(error: BaseException) -> str:
    """One line: the innermost cause of a failed restore, without TensorStore's spec dump."""
    for _ in range(8):
        inner = error.__cause__ or error.__context__
        if inner is None:
            break
        error = inner
    text = (str(error).strip().splitlines() or [""])[0].split(" [tensorstore_spec")[0].split(" See full TensorStore")[0]
    return f"{type(error).__name__}: {text[:200]}"


def _aside_name(path: str) -> str:
    """`<step>.corrupt`, or `<step>.corrupt-2`, ... (no '_': Orbax would parse `x_2` as step 2)."""
    aside, n = path + ".corrupt", 1
    while os.path.exists(aside):
        n += 1
        aside = f"{path}.corrupt-{n}"
    return aside


def restore(directory: str, abstract_state, step: Optional[int] = None) -> Tuple[Any, dict, int]:
    """Restores (state, input state, step) from a folder of step directories onto the shardings in
    `abstract_state` (a TrainState of ShapeDtypeStructs with shardings; sharding.abstract_with_shardings)."""
    mgr = ocp.CheckpointManager(os.path.abspath(directory), options=ocp.CheckpointManagerOptions(read_only=True))
    step = mgr.latest_step() if step is None else int(step)
    if step is None:
        raise ValueError(f"checkpoint: no checkpoint steps in {directory}")
    out = mgr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(_to_tree(abstract_state)),
                                                    data=ocp.args.JsonRestore()))
    mgr.close()
    return _from_tree(abstract_state, out["state"]), dict(out["data"] or {}), step


def net_pairs(nets):
    """config.init_from_nets -> ((this run's net, the saved run's net), ...). An entry 'dst=src' takes
    this run's `dst` from the saved run's `src` (TriPlaneNet's 'psp' from a pSp run's 'encoder');
    a plain name maps to itself."""
    pairs = []
    for entry in nets:
        dst, sep, src = str(entry).partition("=")
        if not dst or (sep and not src):
            raise ValueError(f"init_from_nets: expected 'net' or 'net=saved_net', got {entry!r}")
        pairs.append((dst, src or dst))
    return tuple(pairs)


def restore_nets(directory: str, state, nets, mesh, shardings):
    """init_from: copies params, batch_stats and EMA of `nets` (names or 'dst=src', `net_pairs`) from a
    saved run into `state`."""
    pairs = net_pairs(nets)
    unknown = [dst for dst, _ in pairs if dst not in state.nets]
    if unknown:
        raise ValueError(f"init_from_nets: {unknown[0]!r} is not a net of this run (its nets: {tuple(state.nets)})")
    mgr = ocp.CheckpointManager(os.path.abspath(directory), options=ocp.CheckpointManagerOptions(read_only=True))
    step = mgr.latest_step()
    mgr.close()
    if step is None:
        raise ValueError(f"init_from: no checkpoint steps in {directory}")
    path = os.path.join(os.path.abspath(directory), str(step), "state")
    meta = ocp.StandardCheckpointer().metadata(path)
    meta = getattr(meta, "item_metadata", None) or meta
    meta = getattr(meta, "tree", meta)
    target = {key: meta[key] for key in ("params", "batch_stats", "ema_params")}
    target = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=replicated(mesh)), target)
    saved = ocp.PyTreeCheckpointer().restore(path, args=ocp.args.PyTreeRestore(
        item=target, restore_args=ocp.checkpoint_utils.construct_restore_args(target), partial_restore=True))
    tree = _to_tree(state)
    for key in ("params", "batch_stats", "ema_params"):
        for dst, src in pairs:
            if dst in tree[key] and src not in saved[key]:
                raise ValueError(f"init_from: net {src!r} has no {key} in {directory}")
            if dst in tree[key]:
                tree[key][dst] = saved[key][src]
    restored = _from_tree(state, tree)
    return jax.device_put(restored, shardings)


def restore_or_init(ckpt: Checkpointer, config, init_fn: Callable[[], Any], abstract_state, shardings, mesh):
    """Resume order: the workdir (`ckpt`) -> config.resume -> config.init_from -> scratch.

    Every process takes the same branch (the managers agree on the latest step), which the
    collective restores need. Returns (state, input_state or None, source) with source one of
    'workdir', 'resume', 'init_from', 'scratch'.
    """
    if ckpt.latest_step() is not None:
        state, data, _ = ckpt.restore_latest(abstract_state)
        return state, data, "workdir"
    if config.get("resume"):
        state, data, _ = restore(checkpoint_root(config.resume), abstract_state)
        return state, data, "resume"
    state = init_fn()
    if config.get("init_from"):
        nets = tuple(config.get("init_from_nets") or state.nets)
        return restore_nets(checkpoint_root(config.init_from), state, nets, mesh, shardings), None, "init_from"
    return state, None, "scratch"
