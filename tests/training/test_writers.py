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
