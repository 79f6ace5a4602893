"""Stopping a run early and on purpose: SIGTERM / SIGINT (preemption) and the errors the loop stops with.

A preempted job gets SIGTERM (SLURM, Kubernetes, spot VMs; SIGINT for Ctrl-C). `StopRequest`
turns it into a flag the loop reads after each step, so the step in flight finishes, a checkpoint
of the step reached is saved and waited for, and the run ends with `Preempted` (exit code
EXIT_PREEMPTED). A second signal restores the previous handler and re-delivers the signal
(an impatient second Ctrl-C kills at once, as before).

Several processes (jax.distributed) must stop at the same step, since saving is collective: with
JAX's preemption service (on by default) its C++ SIGTERM notifier agrees on the step
(`CheckpointManager.reached_preemption`, i.e. multihost_utils.reached_preemption_sync_point),
so SIGTERM is left to it and SIGINT is forwarded to it as SIGTERM; without the service every
process's flag is all-gathered at the steps that already sync (the logging steps).

Exit codes of experiments/train.py: 0 done; EXIT_PREEMPTED (75, sysexits' EX_TEMPFAIL: run the
same command again to resume) saved and stopped on a signal; EXIT_NONFINITE (65) stopped on a
NaN / Inf with on_nonfinite='stop'; EXIT_NO_INTACT_CHECKPOINT (74) no checkpoint of the workdir
could be restored.
"""
import os
import signal
import threading

import jax
import numpy as np

EXIT_PREEMPTED = 75
EXIT_NONFINITE = 65
EXIT_NO_INTACT_CHECKPOINT = 74


class TrainingStopped(Exception):
    """The run stopped on purpose; str() is the one line to print, `exit_code` the process status."""

    exit_code = 1


class Preempted(TrainingStopped):
    exit_code = EXIT_PREEMPTED


class NonFinite(TrainingStopped):
    exit_code = EXIT_NONFINITE


class NoIntactCheckpoint(TrainingStopped):
    exit_code = EXIT_NO_INTACT_CHECKPOINT


def _preemption_service() -> bool:
    """True when JAX's multi-host preemption sync manager runs (it owns SIGTERM then)."""
    from jax._src import distributed  # the only place the manager is visible

    return jax.process_count() > 1 and distributed.global_state.preemption_sync_manager is not None


class StopRequest:
    """Context manager: SIGTERM / SIGINT set a flag instead of killing; `reached(step, ckpt, sync)`
    says (identically on every process) whether to save and stop after `step`."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.signum = None
        self._previous = {}
        self._service = False

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self  # signal handlers can only be set from the main thread
        self._service = _preemption_service()
        for sig in self.SIGNALS:
            if self._service and sig == signal.SIGTERM:
                continue  # JAX's notifier handles it and agrees on the step across processes
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
        return False

    def _handle(self, signum, frame):
        if self._service:  # forwarded: the notifier makes every process stop at one step
            os.kill(os.getpid(), signal.SIGTERM)
            return
        if self.signum is not None:  # second signal: behave as without us
            signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))
            os.kill(os.getpid(), signum)
            return
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else "SIGTERM"

    def reached(self, step: int, ckpt, sync: bool) -> bool:
        """Save and stop after `step`? `sync`: a step where every process may all-gather (logging)."""
        if jax.process_count() == 1:
            return self.signum is not None
        if self._service:
            return bool(ckpt.last.reached_preemption(int(step)))
        if not sync:
            return False
        from jax.experimental import multihost_utils

        flags = multihost_utils.process_allgather(np.int32(self.signum is not None))
        return bool(np.any(flags))
