"""NaN / Inf in a training step: detected inside the jitted step, reported and handled by the loop.

Inside the step (`flags`, `keep_if_finite`): every loss term, the total loss and the gradient norm
are tested with jnp.isfinite; the step returns `nonfinite/<name>` (1.0 when not finite) and
`nonfinite` (any) among its metrics, and with config.on_nonfinite='skip' it keeps the old params,
optimiser state, batch stats and EMA (the step counter still advances, so the input and rngs stay
where an uninterrupted run has them). Outside (`Guard`): the loop keeps those flags as device
scalars and reads them only at steps that already wait for the device (logging, checkpointing),
so no step adds a host sync. 'skip' logs `nonfinite_steps` per logging window and one line per
window; 'stop' ends the run with `NonFinite` before any later checkpoint is written, so the last
checkpoint on disk is from before the bad step.
"""
import sys

import jax
import jax.numpy as jnp

from inversion3d.training.stopping import NonFinite

MODES = ("stop", "skip")
PREFIX = "nonfinite"


def flags(terms, grad_norm):
    """{'nonfinite/<name>': 0. | 1., ..., 'nonfinite/grads': .., 'nonfinite': any} (float32 scalars)."""
    bad = {f"{PREFIX}/{k}": ~jnp.all(jnp.isfinite(v)) for k, v in terms.items()}
    bad[f"{PREFIX}/grads"] = ~jnp.isfinite(grad_norm)
    out = {k: v.astype(jnp.float32) for k, v in bad.items()}
    out[PREFIX] = jnp.any(jnp.stack(list(bad.values()))).astype(jnp.float32)
    return out


def keep_if_finite(any_bad, new, old):
    """`new` where the step was finite, else `old` (leafwise; same pytree structure)."""
    return jax.tree.map(lambda n, o: jnp.where(any_bad > 0, o, n), new, old)


def poison(batch, step, at: int):
    """Test hook (config.debug.nonfinite_at): the float inputs of step `at` (1-based) become NaN."""
    if not at:
        return batch
    hit = step + 1 == at
    return jax.tree.map(lambda x: jnp.where(hit, jnp.nan, x) if jnp.issubdtype(x.dtype, jnp.floating) else x, batch)


class Guard:
    """Host side: collects each step's flags (device scalars, not fetched), checks them in one fetch."""

    def __init__(self, mode: str, report=None):
        if mode not in MODES:
            raise ValueError(f"on_nonfinite: expected one of {MODES}, got {mode!r}")
        self.mode = mode
        self.report = report or (lambda line: print(line, file=sys.stderr, flush=True))
        self._pending = []
        self.window_bad = 0

    def split(self, step: int, metrics):
        """Removes the flags from `metrics` (kept for `check`); returns the other metrics."""
        marks = {k: v for k, v in metrics.items() if k.split("/")[-1] == PREFIX or f"{PREFIX}/" in k}
        self._pending.append((int(step), marks))
        return {k: v for k, v in metrics.items() if k not in marks}

    def check(self, last_checkpoint=lambda: None) -> int:
        """Reads the pending flags; returns how many steps were non-finite since the last call
        (also added to `window_bad`). 'stop' raises NonFinite at the first one."""
        pending, self._pending = jax.device_get(self._pending), []
        bad = [(s, m) for s, m in pending if any(v > 0 for k, v in m.items() if k.split("/")[-1] == PREFIX)]
        if not bad:
            return 0
        step, marks = bad[0]
        names = [k.split(f"{PREFIX}/", 1)[1] for k, v in marks.items() if f"{PREFIX}/" in k and v > 0]
        last = lambda n: (n.split("/")[-1] == "grads", n.split("/")[-1] == "loss", n)  # terms, then loss, grads
        names = ", ".join(sorted(names, key=last))
        if self.mode == "stop":
            raise NonFinite(f"step {step}: non-finite {names}; stopped (on_nonfinite=stop); last good checkpoint: "
                            f"{last_checkpoint() or 'none'}")
        self.report(f"step {step}: non-finite {names}; update skipped (on_nonfinite=skip)"
                    + (f", {len(bad)} steps skipped in steps {pending[0][0]}-{pending[-1][0]}" if len(bad) > 1 else ""))
        self.window_bad += len(bad)
        return len(bad)
