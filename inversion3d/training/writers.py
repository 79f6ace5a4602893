"""Metric writers without TensorFlow: TensorBoard event files (tensorboardX), JSONL and a console
progress line with ETA.

The writers have clu.metric_writers' method names (write_scalars / write_images /
write_hparams / flush / close), so with the `[tensorboard]` extra installed
`clu.metric_writers.create_default_writer` can be swapped in. Only process 0 writes
(`create_writer` gives the other processes a no-op writer).
"""
import json
import os
import sys
import time
from typing import Mapping

import numpy as np
from flax import traverse_util


def _scalar(v) -> float:
    return float(np.asarray(v))


class JsonlWriter:
    """metrics.jsonl: one JSON object per write_scalars call, {"step": s, "time": t, name: value, ...},
    and one {"hparams": {...}, "start_step": s, "time": t} per (re)start of the run.

    Each line reaches the OS when written (line-buffered; survives a kill of the process) and
    `flush` also fsyncs (the loop calls it with every checkpoint; survives a machine crash).
    After a resume from step c, the steps after c that a killed run had already logged are
    logged again: for each step and name, the last value in the file is the one of the run that
    continued (`read_jsonl` merges the records that way).
    """

    def __init__(self, path: str):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._f = open(path, "a", encoding="utf-8", buffering=1)

    def write_scalars(self, step: int, scalars: Mapping):
        record = {"step": int(step), "time": time.time(), **{k: _scalar(v) for k, v in scalars.items()}}
        self._f.write(json.dumps(record) + "\n")

    def write_images(self, step, images):
        pass

    def write_hparams(self, hparams: Mapping, start_step: int = 0):
        flat = traverse_util.flatten_dict(dict(hparams), sep=".")  # {'a': {'b': 1}} -> {'a.b': 1}
        record = {"hparams": {k: str(v) for k, v in flat.items()}, "start_step": int(start_step), "time": time.time()}
        self._f.write(json.dumps(record) + "\n")

    def flush(self):
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self):
        self._f.close()


def read_jsonl(path: str):
    """metrics.jsonl -> ({step: {name: value}} with the last value per step and name, [hparams records]).

    A torn last line (the process was killed while writing it) is skipped.
    """
    steps, starts = {}, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if "hparams" in record:
                starts.append(record)
            elif "step" in record:
                steps.setdefault(int(record["step"]), {}).update(
                    {k: v for k, v in record.items() if k not in ("step", "time")})
    return steps, starts


class TensorBoardWriter:
    """tfevents files TensorBoard reads: scalars and uint8 / [0, 1] float images (HWC or NHWC)."""

    def __init__(self, logdir: str):
        from tensorboardX import SummaryWriter  # light (protobuf + numpy), no TensorFlow

        self._w = SummaryWriter(logdir, flush_secs=30)

    def write_scalars(self, step, scalars):
        for k, v in scalars.items():
            self._w.add_scalar(k, _scalar(v), int(step))

    def write_images(self, step, images):
        for k, v in images.items():
            v = np.asarray(v)
            if v.dtype != np.uint8:
                v = (np.clip(v, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
            if v.ndim == 4:
                self._w.add_images(k, v, int(step), dataformats="NHWC")
            else:
                self._w.add_image(k, v, int(step), dataformats="HWC")

    def write_hparams(self, hparams, start_step: int = 0):
        flat = traverse_util.flatten_dict(dict(hparams), sep=".")
        text = "\n".join(f"    {k}: {v}" for k, v in sorted(flat.items()))
        self._w.add_text("hparams", text, int(start_step))

    def flush(self):
        self._w.flush()

    def close(self):
        self._w.close()


class MultiWriter:
    def __init__(self, writers):
        self._writers = list(writers)

    def __getattr__(self, name):
        def call(*args, **kwargs):
            for w in self._writers:
                getattr(w, name)(*args, **kwargs)
        return call


def create_writer(logdir: str, is_main: bool, tensorboard: bool = True) -> MultiWriter:
    """TensorBoard + JSONL (<logdir>/metrics.jsonl) on the main process; nothing elsewhere."""
    if not is_main:
        return MultiWriter([])
    writers = [JsonlWriter(os.path.join(logdir, "metrics.jsonl"))]
    if tensorboard:
        writers.append(TensorBoardWriter(logdir))
    return MultiWriter(writers)


class Progress:
    """Console line: step, steps/s, ETA and a few scalars (clu's ReportProgress, TF-free)."""

    def __init__(self, total_steps: int, start_step: int = 0, stream=None):
        self.total, self._stream = int(total_steps), stream or sys.stderr
        self._t0, self._s0 = time.time(), int(start_step)

    def rate(self, step: int) -> float:
        dt = time.time() - self._t0
        return (step - self._s0) / dt if dt > 0 and step > self._s0 else 0.0

    def line(self, step: int, scalars: Mapping = ()) -> str:
        rate = self.rate(step)
        eta = (self.total - step) / rate if rate > 0 else float("nan")
        shown = " ".join(f"{k}={_scalar(v):.4g}" for k, v in sorted(dict(scalars).items())[:6])
        eta_txt = time.strftime("%H:%M:%S", time.gmtime(eta)) if np.isfinite(eta) else "?"
        return f"[{step}/{self.total}] {100.0 * step / max(self.total, 1):5.1f}% {rate:.3g} steps/s ETA {eta_txt} {shown}"

    def report(self, step: int, scalars: Mapping = ()):
        self._stream.write(self.line(step, scalars) + "\n")
        self._stream.flush()
