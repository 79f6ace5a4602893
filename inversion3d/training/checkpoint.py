"""Orbax checkpoints of the whole TrainState + the input position + the config.

<workdir>/checkpoints/<step>/{state,data,config}: the last `keep` saves (async).
<workdir>/best/<step>/...: the `keep_best` saves with the best `best_metric` (by `best_mode`).
Restores go onto the shardings of the current mesh, whatever mesh saved them. Resume order
(`restore_or_init`): this workdir's latest checkpoint -> config.resume (another run: full state
and input position) -> config.init_from (another run: only the params / batch stats / EMA of the
listed nets; fresh optimiser, step 0) -> scratch.
"""
import os
from typing import Any, Callable, Mapping, Optional, Tuple

import jax
import orbax.checkpoint as ocp
from flax import serialization

from inversion3d.training.sharding import replicated


def _to_tree(state):
    return serialization.to_state_dict(state)


def _from_tree(template, tree):
    return serialization.from_state_dict(template, tree)


def _manager(directory, max_to_keep, async_save, best=None):
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, enable_async_checkpointing=async_save, create=True)
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
    keep, keep_best, best_metric, best_mode ('min' | 'max'), async_save."""

    def __init__(self, workdir: str, cfg):
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

    def restore_latest(self, abstract_state) -> Tuple[Any, dict]:
        """(state, input state) of this workdir's latest step onto `abstract_state`'s shardings."""
        out = self.last.restore(self.last.latest_step(), args=ocp.args.Composite(
            state=ocp.args.StandardRestore(_to_tree(abstract_state)), data=ocp.args.JsonRestore()))
        return _from_tree(abstract_state, out["state"]), dict(out["data"] or {})

    def wait(self) -> None:
        self.last.wait_until_finished()
        if self.best is not None:
            self.best.wait_until_finished()

    def close(self) -> None:
        self.last.close()
        if self.best is not None:
            self.best.close()


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


def restore_nets(directory: str, state, nets, mesh, shardings):
    """init_from: copies params, batch_stats and EMA of `nets` from a saved run into `state`."""
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
        for net in nets:
            if net in tree[key] and net not in saved[key]:
                raise ValueError(f"init_from: net {net!r} has no {key} in {directory}")
            if net in tree[key]:
                tree[key][net] = saved[key][net]
    restored = _from_tree(state, tree)
    return jax.device_put(restored, shardings)


def restore_or_init(ckpt: Checkpointer, config, init_fn: Callable[[], Any], abstract_state, shardings, mesh):
    """Resume order: the workdir (`ckpt`) -> config.resume -> config.init_from -> scratch.

    Every process takes the same branch (the managers agree on the latest step), which the
    collective restores need. Returns (state, input_state or None, source) with source one of
    'workdir', 'resume', 'init_from', 'scratch'.
    """
    if ckpt.latest_step() is not None:
        state, data = ckpt.restore_latest(abstract_state)
        return state, data, "workdir"
    if config.get("resume"):
        state, data, _ = restore(checkpoint_root(config.resume), abstract_state)
        return state, data, "resume"
    state = init_fn()
    if config.get("init_from"):
        nets = tuple(config.get("init_from_nets") or state.nets)
        return restore_nets(checkpoint_root(config.init_from), state, nets, mesh, shardings), None, "init_from"
    return state, None, "scratch"
