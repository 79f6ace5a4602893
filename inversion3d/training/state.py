"""TrainState: every trainable network's params / optimiser state / batch stats as one pytree.

Networks are named ('encoder', 'discriminator', 'generator' for PTI-style tuning, ...); each has
its own optax optimiser. The optimisers and the EMA decay are static (not pytree leaves), so a
TrainState flattens to arrays only and is saved / sharded / donated as a whole.
"""
from typing import Any, Dict, Mapping, Optional, Tuple

import jax
import jax.numpy as jnp
import optax
from flax import struct


@struct.dataclass
class TrainState:
    """step (int32 scalar), rng (uint32[2] root key), and per-network dicts keyed by net name.

    params[name]: the network's 'params' collection; batch_stats[name]: its 'batch_stats'
    collection ({} if none); opt_state[name]: optax state; ema_params[name]: exponential moving
    average of params (only for nets listed with a non-zero decay).
    """
    step: jax.Array
    rng: jax.Array
    params: Dict[str, Any]
    opt_state: Dict[str, Any]
    batch_stats: Dict[str, Any]
    ema_params: Dict[str, Any]
    txs: Tuple[Tuple[str, optax.GradientTransformation], ...] = struct.field(pytree_node=False, default=())
    ema_decays: Tuple[Tuple[str, float], ...] = struct.field(pytree_node=False, default=())

    @property
    def nets(self) -> Tuple[str, ...]:
        return tuple(name for name, _ in self.txs)

    def tx(self, name: str) -> optax.GradientTransformation:
        for key, tx in self.txs:
            if key == name:
                return tx
        raise ValueError(f"net: expected one of {self.nets}, got {name!r}")

    def variables(self, name: str) -> Dict[str, Any]:
        """{'params': ..., 'batch_stats': ...} for `module.apply` of network `name`."""
        out = {"params": self.params[name]}
        if self.batch_stats.get(name):
            out["batch_stats"] = self.batch_stats[name]
        return out

    def apply_gradients(self, name: str, grads, batch_stats: Optional[Mapping] = None) -> "TrainState":
        """One optimiser update of network `name` (does not advance `step`; see `next_step`)."""
        updates, new_opt = self.tx(name).update(grads, self.opt_state[name], self.params[name])
        new_params = optax.apply_updates(self.params[name], updates)
        params = dict(self.params, **{name: new_params})
        opt_state = dict(self.opt_state, **{name: new_opt})
        stats = self.batch_stats if batch_stats is None else dict(self.batch_stats, **{name: batch_stats})
        ema = self.ema_params
        decay = dict(self.ema_decays).get(name, 0.0)
        if decay > 0:
            new_ema = jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, ema[name], new_params)
            ema = dict(ema, **{name: new_ema})
        return self.replace(params=params, opt_state=opt_state, batch_stats=stats, ema_params=ema)

    def update_ema(self, name: str, decay) -> "TrainState":
        """ema_params[name] <- decay * ema + (1 - decay) * params[name], with a decay the caller
        computes (e.g. EG3D's step-dependent G_ema ramp); for nets created with `manual_ema`."""
        if name not in self.ema_params:
            raise ValueError(f"name: {name!r} has no EMA params (expected one of {sorted(self.ema_params)})")
        new = jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, self.ema_params[name], self.params[name])
        return self.replace(ema_params=dict(self.ema_params, **{name: new}))

    def next_step(self) -> "TrainState":
        return self.replace(step=self.step + 1)


def create_train_state(rng, variables: Mapping[str, Mapping], txs: Mapping[str, optax.GradientTransformation],
                       ema_decays: Optional[Mapping[str, float]] = None, manual_ema=()) -> TrainState:
    """Builds a TrainState from each net's initial variables ({'params', ['batch_stats']}).

    Pure and jittable: call it inside `jax.jit(..., out_shardings=...)` so the state is created
    already sharded (see sharding.sharded_init). manual_ema: nets that keep EMA params updated only
    by `update_ema` (no fixed decay per optimiser update).
    """
    if set(variables) != set(txs):
        raise ValueError(f"txs: expected one optimiser per net {sorted(variables)}, got {sorted(txs)}")
    ema_decays = dict(ema_decays or {})
    names = tuple(sorted(variables))
    params = {n: variables[n]["params"] for n in names}
    return TrainState(
        step=jnp.zeros([], jnp.int32),
        rng=jnp.asarray(rng, jnp.uint32),
        params=params,
        opt_state={n: txs[n].init(params[n]) for n in names},
        batch_stats={n: variables[n].get("batch_stats", {}) for n in names},
        ema_params={n: jax.tree.map(jnp.asarray, params[n]) for n in names
                    if ema_decays.get(n, 0.0) > 0 or n in manual_ema},
        txs=tuple((n, txs[n]) for n in names),
        ema_decays=tuple(sorted((n, float(d)) for n, d in ema_decays.items() if d > 0)),
    )
