"""Training-loop inputs: global device batches with checkpointable positions.

`DeviceIterator` puts a grain pipeline's per-process batches onto the mesh (with prefetch);
`PairSource` renders pseudo-pairs on the devices (data/pseudo_pairs.py); `MixedSource` joins the
two (real photos beside pseudo-pairs, data.source 'mixed'). All give dicts of
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
    'data' (each device renders its own rows). State: {'position': k}."""

    def __init__(self, fn, frozen, key, global_batch: int, mesh, frozen_shardings=None):
        self._frozen, self._key, self._b, self._mesh = frozen, key, int(global_batch), mesh
        frozen_shardings = frozen_shardings or jax.tree.map(lambda _: replicated(mesh), frozen)

        def make(frozen, key, position):
            return fn(frozen, key, position * self._b + jnp.arange(self._b, dtype=jnp.int32))

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
    """Pseudo-pairs and real photos in one batch: next() = the pair batch plus 'real_image' /
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
