"""experiments/gan_report.py's arithmetic on a hand-written metrics.jsonl (no model): the training time
sums each launch's span up to its last log row not redone by the next launch, and the fid curve keeps
a redone step's last value; the curve PNG is drawn."""
import importlib.util
import json
import pathlib

from PIL import Image

SPEC = importlib.util.spec_from_file_location(
    "gan_report", pathlib.Path(__file__).resolve().parents[2] / "experiments" / "gan_report.py")
gan_report = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(gan_report)


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_training_time_skips_stops_and_redone_steps(tmp_path):
    rows = [{"start_step": 0, "time": 100.0},
            {"step": 50, "time": 150.0, "steps_per_sec": 1.0}, {"step": 100, "time": 200.0, "steps_per_sec": 1.0},
            {"step": 100, "time": 201.0, "fid_random": 3.0},
            {"step": 150, "time": 250.0, "steps_per_sec": 1.0},  # lost: the next launch resumes from 100
            {"start_step": 100, "time": 1000.0},  # a stop of 750 s
            {"step": 150, "time": 1040.0, "steps_per_sec": 1.25}, {"step": 200, "time": 1080.0, "steps_per_sec": 1.25},
            {"step": 200, "time": 1081.0, "fid_random": 2.0}]
    launches, fid = gan_report.read_metrics(_write(tmp_path / "metrics.jsonl", rows))
    assert gan_report.training_time(launches) == (100.0 + 80.0, 200)
    assert gan_report.training_time(launches, upto=150) == (100.0 + 40.0, 150)
    assert fid == {100: 3.0, 200: 2.0}
    png = gan_report.plot_curve(sorted(fid.items()), tmp_path / "fid.png")
    assert Image.open(png).size == (480, 260)


def test_readme_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"a\n{gan_report.MARK_START}\nold\n{gan_report.MARK_END}\nb\n")
    gan_report.replace_between_markers(readme, "new")
    assert readme.read_text() == f"a\n{gan_report.MARK_START}\nnew\n{gan_report.MARK_END}\nb\n"
