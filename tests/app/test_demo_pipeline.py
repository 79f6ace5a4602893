"""`inversion3d demo` end to end on a tiny config: every picture the page references exists, and the
metrics table parsed back from index.html equals the metrics recomputed from the written files."""
import html.parser
import os

import numpy as np
import pytest
from PIL import Image

from inversion3d.app import cli, demo_pipeline, loading

# A 64 px generator like configs/eg3d_gan.py's (the packaged scenes are 64 px), smaller still: neural
# rendering 16 px, 4 + 4 depth samples, random weights (the test checks the pipeline, not the quality).
GENERATOR = '''
import ml_collections
from configs import generators


def get_config():
    kwargs = generators.eg3d_init_kwargs(image_resolution=64, depth_resolution=4, depth_resolution_importance=4,
                                         superresolution_module="training.superresolution.SuperresolutionHybrid2X64",
                                         triplane_size=32)
    kwargs["img_resolution"] = 64
    return ml_collections.ConfigDict(generators.generator_fields("eg3d", kwargs, neural_rendering_resolution=16))
'''
TINY = ["--config.scenes=1", "--config.photo=False", "--config.pivot_steps=2", "--config.tune_steps=2",
        "--config.w_avg_samples=16", "--config.orbit_frames=2", "--config.shape_resolution=16",
        "--config.shape_level=0.0", "--config.edit.enabled=False",
        "--config.num_samples=1", "--config.yaws_deg=(0.0, 30.0)"]


class _Page(html.parser.HTMLParser):
    """Every src / href, and the cells of the table with id 'metrics'."""

    def __init__(self):
        super().__init__()
        self.links, self.table, self._in, self._cell = [], [], False, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [attrs[k] for k in ("src", "href") if k in attrs]
        if tag == "table" and attrs.get("id") == "metrics":
            self._in = True
        elif self._in and tag == "tr":
            self.table.append([])
        elif self._in and tag in ("td", "th"):
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag == "table":
            self._in = False
        elif self._in and tag in ("td", "th"):
            self.table[-1].append(self._cell.strip())
            self._cell = None


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    gen = root / "gen64.py"
    gen.write_text(GENERATOR)
    out = root / "out"
    assert cli.main(["demo", "--out", str(out), f"--config.generator={gen}"] + TINY) == 0
    return out


def _png(path):
    return np.asarray(Image.open(path).convert("RGB"))


def test_page_references_existing_files(demo_out):
    page = _Page()
    page.feed((demo_out / "index.html").read_text(encoding="utf-8"))
    assert len(page.links) > 20
    missing = [p for p in page.links if not (demo_out / p).is_file()]
    assert not missing
    for kind in (".mp4", ".ply", "gt_v1.png", "pti_v6.png", "wplus_depth_v3.png", "samples/grid.png"):
        assert any(p.endswith(kind) for p in page.links), kind


def test_metrics_table_equals_recomputed(demo_out):
    from inversion3d.metrics.image import mse, ssim

    page = _Page()
    page.feed((demo_out / "index.html").read_text(encoding="utf-8"))
    head, rows = page.table[0], {r[0]: dict(zip(page.table[0], r)) for r in page.table[1:]}
    assert set(rows) == {"wplus", "pti"}
    scene = demo_pipeline.read_scenes(demo_pipeline.SCENES_DIR, 1)[0]
    folder = demo_out / scene["name"]
    for method, row in rows.items():
        depths = np.load(folder / f"{method}_depth.npy")
        per_view = {"MSE": [], "SSIM": [], "depth err.": []}
        for k, view in enumerate(scene["views"]):
            x = _png(folder / f"{method}_v{k}.png")[None].astype(np.float32) / 127.5 - 1
            y = view["image"][None].astype(np.float32) / 127.5 - 1
            assert np.array_equal(_png(folder / f"gt_v{k}.png"), view["image"])
            per_view["MSE"].append(float(mse(x, y)[0]))
            per_view["SSIM"].append(float(ssim(x, y)[0]))
            # numpy reference: bilinear upsampling (half-pixel centres) of the rendered depth to 64 px
            r, s = depths.shape[1], view["depth"].shape[0]
            pos = np.clip((np.arange(s) + 0.5) * r / s - 0.5, 0, r - 1)
            i0 = np.floor(pos).astype(int)
            i1, t = np.minimum(i0 + 1, r - 1), pos - np.floor(pos)
            d = depths[k]
            rows_i = d[i0] * (1 - t)[:, None] + d[i1] * t[:, None]
            up = rows_i[:, i0] * (1 - t)[None] + rows_i[:, i1] * t[None]
            inside = (view["mask"] > 127) & np.isfinite(view["depth"])
            per_view["depth err."].append(float(np.mean(np.abs(up[inside] - view["depth"][inside]))))
        for label, values in per_view.items():
            assert float(row[f"input {label}"]) == pytest.approx(values[0], abs=6e-5), (method, label)
            assert float(row[f"held-out {label}"]) == pytest.approx(np.mean(values[1:]), abs=6e-5), (method, label)
    assert head[0] == "method" and rows["pti"]["scenes"] == "1"


def test_packaged_encoder_lookup(monkeypatch, tmp_path):
    from converters.orbax_io import write_converted

    monkeypatch.setattr(loading, "ASSETS_DIR", str(tmp_path))
    assert loading.packaged_encoder("psp") is None
    write_converted(tmp_path / "encoders" / "goae", {"w": np.zeros(2, np.float32)}, {"kind": "goae", "layout": "flax"})
    assert loading.packaged_encoder("goae") == [str(tmp_path / "encoders" / "goae")]
    assert loading.packaged_encoder("goae-noafa") == [str(tmp_path / "encoders" / "goae")]  # a stage-2 file
    assert loading.packaged_encoder("psp") is None


def test_invert_without_encoder_names_the_missing_asset(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(loading, "ASSETS_DIR", str(tmp_path / "assets"))
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(image)
    assert cli.main(["invert", str(image), "--method", "psp", "--camera", "frontal", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--encoder: --method psp needs it" in err and os.path.join("assets", "encoders", "psp") in err
