"""PyTorch `.pth` / `.pt` files (zip and legacy) read without torch; with torch installed, also
files written by the real `torch.save`."""
import collections
import json
import zipfile

import numpy as np
import pytest

from converters.load import split_arrays
from converters.modules import guess_state_dict_kind
from converters.orbax_io import META_FILE, read_converted
from converters.torch_format import read_checkpoint_object
from inversion3d import load_generator
from inversion3d.app import cli
from tests.conftest import load_golden
from tests.converters import pickle_writer as pw
from tests.generators.test_eg3d_parity import TINY_INIT_KWARGS

RNG = np.random.RandomState(0)
CHECKPOINT = {  # pSp / e4e style: a state_dict, the latent average and the options
    "state_dict": {"encoder.input_layer.0.weight": RNG.randn(64, 3, 3, 3).astype(np.float32),
                   "encoder.input_layer.1.num_batches_tracked": np.array(7, np.int64),
                   "encoder.styles.0.linear.bias": RNG.randn(512).astype(np.float16)},
    "latent_avg": RNG.randn(14, 512).astype(np.float32),
    "opts": {"encoder_type": "Encoder4Editing", "lr": 0.0001, "stylegan_size": 512},
}


def _flat(tree):
    return {f"state_dict.{k}": v for k, v in tree["state_dict"].items()} | {"latent_avg": tree["latent_avg"]}


@pytest.mark.parametrize("writer", [pw.write_zip_pth, pw.write_legacy_pth], ids=["zip", "legacy"])
def test_torch_free_files_read_exactly(writer, tmp_path):
    obj = read_checkpoint_object(writer(tmp_path / "e4e.pt", CHECKPOINT))
    arrays, extra = split_arrays(obj)
    want = _flat(CHECKPOINT)
    assert arrays.keys() == want.keys()
    for key, value in want.items():
        assert arrays[key].dtype == value.dtype and np.array_equal(arrays[key], value), key
    assert extra == {f"opts.{k}": v for k, v in CHECKPOINT["opts"].items()}
    assert guess_state_dict_kind(arrays, obj) == "e4e"


def test_strided_view_with_offset(tmp_path):
    base = np.arange(24, dtype=np.float32)
    view = collections.OrderedDict(v=pw.Reduce(pw.REBUILD_TENSOR, (
        pw.PersistentId(("storage", pw.storage_tag(base.dtype), "0", "cpu", 24)), 2, (3, 4), (1, 5), False,
        collections.OrderedDict())))
    path = tmp_path / "view.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pw.dumps(view, 2))
        zf.writestr("archive/data/0", base.tobytes())
    got = read_checkpoint_object(path)["v"]
    np.testing.assert_array_equal(got, np.lib.stride_tricks.as_strided(base[2:], (3, 4), (4, 20)))


def test_convert_raw_kind_keeps_pytorch_names(tmp_path, capsys):
    src = pw.write_zip_pth(tmp_path / "e4e.pt", CHECKPOINT)
    assert cli.main(["info", str(src)]) == 0
    assert "kind e4e" in capsys.readouterr().out
    # e4e has a Flax port (tests/inversion): a fragment of an encoder is refused with one line ...
    assert cli.main(["convert", str(src), str(tmp_path / "e4e")]) == 2
    assert "missing styles.0.linear.weight" in capsys.readouterr().err
    dst = tmp_path / "raw"  # ... while kinds without a port keep the PyTorch names
    assert cli.main(["convert", str(src), str(dst), "--kind", "lpips"]) == 0
    meta, tree = read_converted(dst)
    assert (meta["kind"], meta["layout"]) == ("lpips", "state_dict")
    assert meta["extra"]["opts.encoder_type"] == "Encoder4Editing"
    want = _flat(CHECKPOINT)
    assert all(np.array_equal(tree["state_dict"][k], v) for k, v in want.items())
    with pytest.raises(ValueError, match="no Flax port of it yet"):
        load_generator(dst)
    assert json.loads((dst / META_FILE).read_text())["num_arrays"] == 4


def test_unknown_kind_needs_flag(tmp_path, capsys):
    src = pw.write_zip_pth(tmp_path / "mystery.pth", {"layer.weight": np.ones((2, 2), np.float32)})
    assert cli.main(["convert", str(src), str(tmp_path / "x")]) == 2
    assert "cannot tell which model" in capsys.readouterr().err
    assert cli.main(["convert", str(src), str(tmp_path / "x"), "--kind", "lpips"]) == 0


@pytest.mark.parametrize("keys,kind", [
    (["swin_model.patch_embed.proj.weight"], "goae"),
    (["input_layer.0.weight", "body.0.res_layer.1.weight", "cross_att_gamma.q.weight"], "goae"),
    (["psp_encoder.styles.0.linear.weight", "triplanenet_encoder.input_layer.0.weight"], "triplanenet"),
    (["input_layer.0.weight", "body.0.res_layer.1.weight", "output_layer.3.weight"], "arcface"),
    (["lin0.model.1.weight", "lin4.model.1.weight"], "lpips"),
    (["backbone.synthesis.b4.const", "bcg_synthesis.b4.const"], "panohead"),
])
def test_kind_guess(keys, kind):
    assert guess_state_dict_kind(dict.fromkeys(keys), {}) == kind


def test_generator_pth_needs_kwargs(tmp_path):
    weights = load_golden("eg3d/tiny_sr2x_weights.npz")
    src = pw.write_zip_pth(tmp_path / "G_ema.pth", weights)
    gen = load_generator(src, init_kwargs=TINY_INIT_KWARGS, neural_rendering_resolution=32)
    np.testing.assert_array_equal(np.asarray(gen.params["params"]["decoder"]["net_2"]["weight"]),
                                  weights["decoder.net.2.weight"].T)
    with pytest.raises(ValueError, match="without constructor kwargs"):
        from converters.convert import convert

        convert(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _torch_state():
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(6, 8, generator=gen)
    return torch, collections.OrderedDict(
        weight=torch.randn(4, 3, 3, 3, generator=gen), half=torch.randn(5, generator=gen).half(),
        bf16=torch.randn(5, generator=gen).bfloat16(), ints=torch.arange(7), flags=torch.tensor([True, False]),
        scalar=torch.tensor(2.5), view=base[1:, ::2], transposed=base.t(), shared=base,
        param=torch.nn.Parameter(torch.ones(3)), nested={"list": [torch.zeros(2), 3, "text"]})


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_real_torch_save(zip_format, tmp_path):
    torch, state = _torch_state()
    path = tmp_path / "real.pth"
    torch.save(state, path, _use_new_zipfile_serialization=zip_format)
    got = read_checkpoint_object(path)
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            want = value.detach().float().numpy() if value.dtype == torch.bfloat16 else value.detach().numpy()
            have = got[key].astype(np.float32) if value.dtype == torch.bfloat16 else got[key]
            assert have.shape == want.shape and np.array_equal(have, want), key
    assert got["nested"]["list"][1:] == [3, "text"]


def test_real_torch_module_pickle(tmp_path):
    """torch.save(module) pickles nn classes by reference: read as inert modules -> the state_dict."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.PReLU(4))
    path = tmp_path / "model.pt"
    torch.save(model, path)
    arrays, _ = split_arrays(read_checkpoint_object(path))
    want = model.state_dict()
    assert list(arrays) == list(want)
    assert all(np.array_equal(arrays[k], v.numpy()) for k, v in want.items())


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_real_module_state_dict(zip_format, tmp_path):
    """torch.save(module.state_dict()): an OrderedDict whose `_metadata` arrives as BUILD state."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.PReLU(4))
    path = tmp_path / "state.pt"
    torch.save(model.state_dict(), path, _use_new_zipfile_serialization=zip_format)
    got = read_checkpoint_object(path)
    want = model.state_dict()
    assert list(got) == list(want)
    assert all(np.array_equal(got[k], v.numpy()) for k, v in want.items())
