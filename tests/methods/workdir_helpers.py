"""Training workdirs for the `invert --encoder WORKDIR` / `inversion3d export` tests without a train
step: the loop's initial state, optionally with every parameter and BatchNorm statistic moved away from
its initial value, saved as the run's step-0 checkpoint."""
import jax
import numpy as np

from inversion3d.training import loop


def perturbed(state, seed: int = 7, scale: float = 0.05):
    """state with params + scale * N(0, 1) noise and BatchNorm statistics moved (means + noise, variances
    x U(0.5, 1.5)): a state no initialiser gives (zero-initialised layers no longer zero). Host-side
    numpy noise: no per-shape compiles."""
    rs = np.random.default_rng(seed)

    def move(path, x):
        host = np.asarray(jax.device_get(x))
        if jax.tree_util.keystr(path).endswith("['var']"):
            new = host * rs.uniform(0.5, 1.5, host.shape)
        else:
            new = host + scale * rs.standard_normal(host.shape)
        return jax.device_put(new.astype(host.dtype), x.sharding)

    return state.replace(params=jax.tree_util.tree_map_with_path(move, state.params),
                         batch_stats=jax.tree_util.tree_map_with_path(move, state.batch_stats))


def save_initial(config, path, method_cls, transform=None):
    """loop.build of `config` in workdir `path`, its state (through `transform`) saved as step 0; the
    build with that state (checkpoint manager closed)."""
    b = loop.build(config, path, method_cls)
    state = transform(b["state"]) if transform else b["state"]
    b["ckpt"].save(0, state, {}, config)
    b["ckpt"].wait()
    b["ckpt"].close()
    return dict(b, state=state)
