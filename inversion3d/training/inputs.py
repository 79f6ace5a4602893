"""Training-loop inputs: global device batches with checkpointable positions.

`DeviceIterator` puts a grain pipeline's per-process batches onto the mesh (with prefetch);
`PairSource` renders pseudo-pairs on the devices (data/pseudo_pairs.py); `MixedSource` mixes the
two row by row and `PhotosBesidePairs` puts photos beside pairs (data.source 'mixed'). All give dicts of
jax.Arrays sharded on 'data' and `get_state()` / `set_state()` JSON dicts that restore the exact
next batch.
"""
import collections

import grain
import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.training.sharding import batch_sharding, host_to_global, put_replicated, replicated


class DeviceIterator:
    """Host batches -> global device batches with `prefetch` batches in flight.

    The state of each prefetched batch is recorded when it is read, so `get_state()` describes
    exactly the batches handed out so far (not the ones waiting in the buffer).
    """

    def __init__(self, dataset, mesh, prefetch: int = 2, read_threads: int = 0):
        if read_threads > 0:
            dataset = dataset.to_iter_dataset(grain.ReadOptions(num_threads=read_threads,
                                                                prefetch_buffer_size=2 * prefetch))
        self._it = iter(dataset)
        self._mesh = mesh
        self._prefetch = max(int(prefetch), 1)
        self._buffer = collections.deque()
        self._state = self._it.get_state()

    def _fill(self):
        while len(self._buffer) < self._prefetch:
            batch = next(self._it)
            self._buffer.append((self._it.get_state(), host_to_global(batch, self._mesh)))

    def __iter__(self):
        return self

    def __next__(self):
        self._fill()
        self._state, batch = self._buffer.popleft()
        return batch

    def get_state(self):
        return self._state

    def set_state(self, state):
        self._buffer.clear()
        self._it.set_state(state)
        self._state = self._it.get_state()


class PairSource:
    """Device-side source: batch k = fn(frozen, key, indices k*B .. k*B + B - 1), rows sharded on
    'data' (each device renders its own rows). State: {'position': k}.
    num_pairs > 0: a finite pool, indices taken modulo num_pairs (num_pairs = B: the same batch every
    step, an overfitting check); 0: a new pair for every index."""

    def __init__(self, fn, frozen, key, global_batch: int, mesh, frozen_shardings=None, num_pairs: int = 0):
        self._frozen, self._key, self._b, self._mesh = frozen, key, int(global_batch), mesh
        if num_pairs < 0:
            raise ValueError(f"data.num_pairs: expected >= 0 (0 = endless), got {num_pairs}")
        frozen_shardings = frozen_shardings or jax.tree.map(lambda _: replicated(mesh), frozen)

        def make(frozen, key, position):
            indices = position * self._b + jnp.arange(self._b, dtype=jnp.int32)
            return fn(frozen, key, indices % num_pairs if num_pairs else indices)

        self._fn = jax.jit(make, in_shardings=(frozen_shardings, replicated(mesh), replicated(mesh)),
                           out_shardings=batch_sharding(mesh))
        self.position = 0

    def __iter__(self):
        return self

    def __next__(self):
        position = put_replicated(np.int32(self.position), self._mesh)
        batch = self._fn(self._frozen, self._key, position)
        self.position += 1
        return batch

    def get_state(self):
        return {"position": int(self.position)}

    def set_state(self, state):
        self.position = int(state["position"])


class MixedSource:
    """Aligned-folder rows mixed with generator pseudo-pairs (config.data.source = 'mixed').

    Batch k takes n_k rows from `pairs` (a PairSource) and the others from `folder` (a DeviceIterator
    whose rows keep their camera mirroring), with n_k = floor(f B) + [u_k < frac(f B)] for
    f = pseudo_fraction, so each batch holds f B pseudo rows up to rounding and the long-run share is
    f; which rows are pseudo is a random permutation. u_k and the permutation come from
    fold_in(key, k): a pure function of the position, so a resumed run mixes exactly as a straight
    one. Only the keys both sources give are kept ('image', 'c'). State: {'position': k, 'folder': ...}.
    """

    KEYS = ("image", "c")

    def __init__(self, folder, pairs, pseudo_fraction: float, key, global_batch: int, mesh):
        check_pseudo_fraction(pseudo_fraction)
        self._folder, self._pairs, self._key, self._mesh = folder, pairs, key, mesh
        b, f = int(global_batch), float(pseudo_fraction)

        def mix(folder_batch, pair_batch, key, position):
            rows = pseudo_rows(key, position, b, f)
            pick = lambda p, q: jnp.where(rows.reshape((b,) + (1,) * (p.ndim - 1)), p, q)  # noqa: E731
            return {k: pick(pair_batch[k], folder_batch[k]) for k in self.KEYS}

        self._rows = jax.jit(lambda key, position: pseudo_rows(key, position, b, f))
        self._mix = jax.jit(mix, out_shardings=batch_sharding(mesh))

    def pseudo_rows(self, position: int):
        """(B,) bool: the rows of batch `position` that are pseudo-pairs."""
        return self._rows(self._key, jnp.int32(position))

    def __iter__(self):
        return self

    def __next__(self):
        position = put_replicated(np.int32(self._pairs.position), self._mesh)
        folder_batch = next(self._folder)
        return self._mix(folder_batch, next(self._pairs), self._key, position)

    def get_state(self):
        return {"position": int(self._pairs.position), "folder": self._folder.get_state()}

    def set_state(self, state):
        self._pairs.set_state({"position": state["position"]})
        self._folder.set_state(state["folder"])


def check_pseudo_fraction(fraction: float) -> None:
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"data.pseudo_fraction: expected a fraction in [0, 1], got {fraction}")


def pseudo_rows(key, position, batch: int, fraction: float):
    """(batch,) bool, True for the pseudo-pair rows of batch `position` (MixedSource): floor(f B)
    rows, one more with probability frac(f B), at random positions; a pure function of (key, position)."""
    k_count, k_perm = jax.random.split(jax.random.fold_in(key, position))
    whole = int(np.floor(fraction * batch))
    extra = jax.random.uniform(k_count) < fraction * batch - whole
    count = whole + extra.astype(jnp.int32)
    return jax.random.permutation(k_perm, batch) < count


class PhotosBesidePairs:
    """Pseudo-pairs and real photos side by side (data.source = 'mixed' for a method with `num_real`,
    E3DGE, whose pairs carry more than image + c): next() = the pair batch plus 'real_image' /
    'real_c' (and any other folder keys, prefixed 'real_') from the folder source. State: both
    sources' states, so a resume restores both positions."""

    def __init__(self, pairs, real):
        self._pairs, self._real = pairs, real

    def __iter__(self):
        return self

    def __next__(self):
        batch = dict(next(self._pairs))
        batch.update({"real_" + k: v for k, v in next(self._real).items()})
        return batch

    def get_state(self):
        return {"pairs": self._pairs.get_state(), "real": self._real.get_state()}

    def set_state(self, state):
        self._pairs.set_state(state["pairs"])
        self._real.set_state(state["real"])
