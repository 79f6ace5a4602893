"""TF-free writers: JSONL rows, process-0-only output, console progress line with ETA."""
import io
import json

import numpy as np

from inversion3d import viz
from inversion3d.training import writers


def test_jsonl_and_non_main_writer(tmp_path):
    w = writers.create_writer(str(tmp_path / "main"), is_main=True, tensorboard=False)
    w.write_scalars(3, {"loss": np.float32(0.5)})
    w.close()
    row = json.loads((tmp_path / "main" / "metrics.jsonl").read_text().splitlines()[0])
    assert row["step"] == 3 and row["loss"] == 0.5
    other = writers.create_writer(str(tmp_path / "other"), is_main=False)
    other.write_scalars(1, {"loss": 1.0})
    other.close()
    assert not (tmp_path / "other").exists()


def test_progress_line():
    stream = io.StringIO()
    p = writers.Progress(100, start_step=10, stream=stream)
    p._t0 -= 2.0  # pretend 2 s have passed
    p.report(20, {"loss": 0.25})
    line = stream.getvalue()
    assert line.startswith("[20/100]") and "5 steps/s" in line and "ETA 00:00:16" in line and "loss=0.25" in line


def test_image_grid_layout():
    a = np.full((3, 4, 4, 3), -1.0)
    b = np.ones((3, 2, 2, 3))
    g = viz.batch_grid([a, b], max_rows=2)
    assert g.shape == (8, 8, 3) and g.dtype == np.uint8
    assert g[:, :4].max() == 0 and g[:, 4:].min() == 255


def test_jsonl_is_on_disk_per_line_and_merges_per_step(tmp_path):
    w = writers.JsonlWriter(str(tmp_path / "m.jsonl"))
    w.write_hparams({"a": {"b": 1}}, start_step=0)
    w.write_scalars(1, {"loss": 2.0})
    w.write_scalars(2, {"loss": 3.0})
    assert len((tmp_path / "m.jsonl").read_text().splitlines()) == 3  # before flush / close
    w.write_hparams({"a": {"b": 1}}, start_step=1)  # a resume from step 1 logs step 2 again
    w.write_scalars(2, {"loss": 4.0})
    w.write_scalars(2, {"checkpoint_blocking_sec": 0.5})
    w.close()
    with open(tmp_path / "m.jsonl", "a", encoding="utf-8") as f:
        f.write('{"step": 3, "lo')  # torn by a kill
    steps, starts = writers.read_jsonl(str(tmp_path / "m.jsonl"))
    assert steps == {1: {"loss": 2.0}, 2: {"loss": 4.0, "checkpoint_blocking_sec": 0.5}}
    assert [s["start_step"] for s in starts] == [0, 1] and starts[0]["hparams"] == {"a.b": "1"}
