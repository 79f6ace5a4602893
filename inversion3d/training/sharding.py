"""Device mesh, shardings and sharded initialisation (jit + NamedSharding, the successor of pmap).

One mesh axis, 'data': the batch is split over it; params are replicated, or FSDP-sharded over
the same axis (`config.mesh.fsdp`) for large encoders, where XLA gathers them per layer. Arrays
are created already sharded: `jax.eval_shape(init)` -> shardings -> `jax.jit(init, out_shardings)`.
Multi-host: each process feeds only its own rows (`host_to_global`); the mesh spans all devices.
"""
import os
from typing import Any, Callable, Optional

import jax
import numpy as np
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P

DATA = "data"


def maybe_initialize_distributed(cfg) -> None:
    """Calls `jax.distributed.initialize` for multi-host runs (before any other JAX call).

    cfg (config.distributed): enabled 'auto' | 'yes' | 'no'; coordinator_address, num_processes,
    process_id (optional, unset = '', 0, -1: on TPU pods and SLURM / Open MPI clusters JAX
    discovers them).
    'auto' initialises only when the cluster environment says there is more than one process.
    """
    mode = cfg.get("enabled", "auto")
    if mode not in ("auto", "yes", "no"):
        raise ValueError(f"distributed.enabled: expected auto|yes|no, got {mode!r}")
    if mode == "no" or jax.distributed.is_initialized():
        return
    explicit = {}  # unset values ('', 0, -1) are left to JAX's cluster auto-detection
    if cfg.get("coordinator_address"):
        explicit["coordinator_address"] = str(cfg.coordinator_address)
    if int(cfg.get("num_processes", 0) or 0) > 0:
        explicit["num_processes"] = int(cfg.num_processes)
    if int(cfg.get("process_id", -1)) >= 0:
        explicit["process_id"] = int(cfg.process_id)
    cluster = any(os.environ.get(v) for v in ("TPU_WORKER_HOSTNAMES", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE"))
    if mode == "yes" or explicit or cluster:
        jax.distributed.initialize(**explicit)


def make_mesh(num_devices: Optional[int] = None) -> jax.sharding.Mesh:
    """A 1-D ('data',) mesh over the first `num_devices` devices (all by default).

    Auto axis types: shardings of intermediates are propagated by XLA (GSPMD), as with pmap-era
    code; `jax.make_mesh`'s default Explicit types would put shardings into the array types.
    """
    devices = jax.devices()
    n = len(devices) if not num_devices else int(num_devices)
    if not 1 <= n <= len(devices):
        raise ValueError(f"mesh.num_devices: expected 1..{len(devices)}, got {n}")
    if n == len(devices):
        return jax.make_mesh((n,), (DATA,), axis_types=(AxisType.Auto,))
    return jax.sharding.Mesh(np.asarray(devices[:n]), (DATA,), axis_types=(AxisType.Auto,))


def replicated(mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def batch_sharding(mesh) -> NamedSharding:
    """Leading (batch) axis split over 'data'."""
    return NamedSharding(mesh, P(DATA))


def fsdp_spec(shape, num_shards: int, min_size: int) -> P:
    """Shards the largest axis divisible by num_shards when the array has >= min_size elements."""
    if num_shards == 1 or int(np.prod(shape, dtype=np.int64)) < min_size:
        return P()
    for axis in sorted(range(len(shape)), key=lambda a: -shape[a]):
        if shape[axis] % num_shards == 0:
            spec = [None] * len(shape)
            spec[axis] = DATA
            return P(*spec)
    return P()


def state_shardings(abstract_tree, mesh, fsdp: bool = False, fsdp_min_size: int = 2 ** 14):
    """NamedSharding per leaf: replicated, or FSDP (`fsdp_spec`) for params and optimiser moments.

    The same shape rule applies to every leaf, so Adam's mu / nu get their param's sharding.
    """
    n = mesh.shape[DATA]

    def leaf(x):
        return NamedSharding(mesh, fsdp_spec(x.shape, n, fsdp_min_size) if fsdp else P())

    return jax.tree.map(leaf, abstract_tree)


def sharded_init(init_fn: Callable[[], Any], mesh, fsdp: bool = False, fsdp_min_size: int = 2 ** 14):
    """-> (abstract, shardings, create) for the tree `init_fn()` makes, computing nothing yet.

    abstract: its ShapeDtypeStructs (`jax.eval_shape`); shardings: `state_shardings` of them;
    create(): runs `init_fn` under jit with its outputs placed on their shardings from the start,
    so no full copy of the state ever exists on one device. `create` is separate so a run that
    restores a checkpoint into (abstract, shardings) never initialises.
    """
    abstract = jax.eval_shape(init_fn)
    shardings = state_shardings(abstract, mesh, fsdp, fsdp_min_size)
    return abstract, shardings, lambda: jax.jit(init_fn, out_shardings=shardings)()


def abstract_with_shardings(abstract_tree, shardings):
    """ShapeDtypeStructs carrying target shardings (restore targets for Orbax)."""
    return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), abstract_tree, shardings)


def local_batch_size(global_batch: int, mesh) -> int:
    """Rows this process loads: global_batch / process_count (each host feeds its own devices)."""
    n_dev, n_proc = mesh.shape[DATA], jax.process_count()
    if global_batch % n_dev:
        raise ValueError(f"batch_size: expected a multiple of the {n_dev} devices on the mesh, got {global_batch}")
    return global_batch // n_proc


def host_to_global(local_batch, mesh):
    """Per-process numpy rows -> global jax.Arrays sharded on 'data' (rows of process p come
    p-th, matching a single-process run that loads the whole batch)."""
    sharding = batch_sharding(mesh)
    return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), local_batch)


def put_replicated(tree, mesh):
    """Host values (identical on every process) -> global replicated jax.Arrays on the mesh."""
    sharding = replicated(mesh)

    def put(x):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])

    return jax.tree.map(put, tree)


def fetch(tree):
    """Global jax.Arrays -> numpy on every process (replicated: the local copy; sharded across
    processes: an all-gather, so every process must call it)."""

    def get(x):
        if not isinstance(x, jax.Array) or x.is_fully_addressable:
            return np.asarray(x)
        if x.is_fully_replicated:
            return np.asarray(x.addressable_data(0))
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))

    return jax.tree.map(get, tree)
