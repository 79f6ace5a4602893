"""`inversion3d convert --kind goae|psp|e4e|triplanenet|arcface` and `load_encoder` (issue 6, deliverable 3).

Synthetic official files (random weights under the official names, small configs) -> convert ->
load: the Flax trees equal the weights written and the networks' outputs equal the module run
directly. The configs inferred from the real files' shapes (the goldens' key lists) are the
official ones, and their key sets are consumed exactly.
"""
import json
import re

import jax
import numpy as np
import pytest

from converters.encoder_convert import CONFIGS
from converters.encoder_keymaps import DERIVED, DROPPED, swin_derived_buffers
from converters.keymap import torch_key
from inversion3d import load_encoder, load_generator
from inversion3d.app import cli
from inversion3d.encoders.swin_v2 import SwinConfig
from inversion3d.networks import build, template
from tests.conftest import load_golden
from tests.converters import pickle_writer as pw
from tests.inversion import synthetic as syn

E4E = syn.e4e_config(style_dim=32)
ARCFACE = dict(input_size=112, num_layers=50, widths=syn.SMALL_WIDTHS, embedding=32)
CASES = {  # id: (kind, {network: config}, latent_avg)
    "goae-encoder": ("goae", {"goae": syn.goae_config(w_dim=32)}, None),
    "goae-afa": ("goae", {"afa": syn.afa_config()}, None),
    "goae-afa-narrow": ("goae", {"afa": dict(syn.afa_config(), widths=[16, 32, 32])}, None),  # widths inferred
    "psp": ("psp", {"psp": syn.psp_config(style_dim=32)}, np.full((1, 32), 0.5)),
    "e4e": ("e4e", {"e4e": E4E}, np.full((14, 32), 0.5)),
    "triplanenet": ("triplanenet", {"psp": syn.psp_config(), "triplanenet": syn.triplanenet_config()}, None),
    "triplanenet-pixelshuffle": ("triplanenet", {"psp": syn.psp_config(),
                                                 "triplanenet": syn.triplanenet_config(96, True)}, None),
    "arcface": ("arcface", {"arcface": ARCFACE}, None),
}


def _inputs(network, config, rng):
    return [rng.uniform(-1, 1, a.shape).astype(np.float32) for a in build(network, config)[1]]


@pytest.fixture(scope="module", params=list(CASES))
def converted(request, tmp_path_factory):
    kind, configs, avg = CASES[request.param]
    tmp = tmp_path_factory.mktemp(request.param)
    src = tmp / f"{request.param}.pt"
    written = syn.official_file(src, kind, configs, seed=7, latent_avg=avg)
    assert cli.main(["convert", str(src), str(tmp / "dir")] + (["--kind", kind] if kind == "arcface" else [])) == 0
    return kind, configs, avg, written, src, tmp / "dir"


def test_configs_and_weights_round_trip(converted):
    kind, configs, avg, written, src, dst = converted
    for source in (dst, src):  # the converted directory and the .pth converted in memory
        enc = load_encoder(source)
        assert enc.kind == kind and set(enc.networks) == set(configs)
        for name, cfg in configs.items():
            assert enc.configs[name] == json.loads(json.dumps(cfg)), name
            want, got = jax.tree_util.tree_leaves_with_path(written[name]), jax.tree.leaves(enc.variables[name])
            assert len(want) == len(got)
            for (path, a), b in zip(want, got):
                np.testing.assert_array_equal(np.asarray(b), a, err_msg=jax.tree_util.keystr(path))
        if avg is None:
            assert enc.latent_avg is None
        else:
            np.testing.assert_array_equal(enc.latent_avg, np.asarray(avg, np.float32).reshape(-1)
                                          if avg.shape[0] == 1 else avg)


def test_outputs_equal_the_module_run_directly(converted):
    _, configs, _, written, _, dst = converted
    enc = load_encoder(dst)
    rng = np.random.default_rng(0)
    for name, cfg in configs.items():
        module = enc.modules[name]
        args = _inputs(name, cfg, rng)
        apply = jax.jit(module.apply)
        want, got = apply(written[name], *args), apply(enc.variables[name], *args)
        for a, b in zip(jax.tree.leaves(want), jax.tree.leaves(got)):
            np.testing.assert_array_equal(np.asarray(b), np.asarray(a))


def test_meta_lists_what_was_left_out(converted):
    kind, _, _, _, _, dst = converted
    meta = json.loads((dst / "inversion3d.json").read_text())
    assert meta["layout"] == "flax" and meta["kind"] == kind
    if kind in ("psp", "e4e", "triplanenet"):
        assert meta["ignored"]["decoder."]["count"] == 2
        assert meta["extra"]["opts.encoder_type"]


OFFICIAL = {  # golden file -> (network, the official config, derived buffers)
    "goae_encoder_full_recipe": ("goae", dict(swin=SwinConfig()._asdict(), w_dim=512, dim_feedforward=1024)),
    "goae_afa_recipe": ("afa", dict(feature_dim=512, dim_feedforward=1024)),
    "psp_gradual_style_encoder_recipe": ("psp", dict(n_styles=14, input_nc=3, style_dim=512, style_hidden=None,
                                                     image_size=256, num_layers=50, widths=[64, 128, 256, 512])),
    "e4e_encoder4editing_recipe": ("e4e", dict(stylegan_size=256, style_dim=512, style_hidden=None, image_size=256,
                                               num_layers=50, widths=[64, 128, 256, 512])),
    "triplanenet_v2_encoder_upsample_recipe": ("triplanenet", dict(
        use_pixelshuffle=False, in_nc=9, up_widths=[512, 256, 128, 64], plane_channels=32, num_layers=50,
        widths=[64, 128, 256, 512])),
    "triplanenet_v2_encoder_pixelshuffle_recipe": ("triplanenet", dict(
        use_pixelshuffle=True, in_nc=9, up_widths=[512, 384, 256, 96], plane_channels=32, num_layers=50,
        widths=[64, 128, 256, 512])),
}


@pytest.mark.parametrize("golden_name", list(OFFICIAL))
def test_real_files_infer_the_official_config_and_consume_every_key(golden_name):
    """Shapes only (no weights): the official key list of each real-size module (golden `sd_keys`)."""
    network, official = OFFICIAL[golden_name]
    golden = load_golden(f"encoders/{golden_name}.npz")
    derived = swin_derived_buffers(SwinConfig(), "swin_model.") if network == "goae" else {}
    shapes = {str(k): tuple(int(s) for s in str(sh).split(",") if s) for k, sh in zip(golden["sd_keys"],
                                                                                      golden["sd_shapes"])}
    fake = {k: derived.get(k, np.broadcast_to(np.float32(0), s)) for k, s in shapes.items()}
    config = CONFIGS[network](fake, "", golden_name)
    assert json.loads(json.dumps(config)) == json.loads(json.dumps(official))
    _, variables = template(network, config)
    mapped = {torch_key(path): tuple(leaf.shape) for path, leaf in _paths(variables)}
    kept = {k: s for k, s in shapes.items() if not re.fullmatch(DROPPED, k) and not re.fullmatch(DERIVED, k)}
    assert set(mapped) == set(kept)
    for key, shape in kept.items():
        n = len(shape)
        want = shape[::-1] if n == 2 else ((shape[2], shape[3], shape[1], shape[0]) if n == 4 else shape)
        assert mapped[key] == want, key


def _paths(variables):
    for collection, tree in variables.items():
        for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
            yield tuple(p.key for p in path), leaf


def test_unconsumed_and_missing_keys_are_reported(tmp_path):
    _, sd = syn.official_state_dict("afa", syn.afa_config())
    sd["cross_att_gamma.extra.weight"] = np.zeros((2, 2), np.float32)
    del sd["output_layer.0.bias"]
    src = pw.write_zip_pth(tmp_path / "afa.pt", sd)
    with pytest.raises(ValueError, match=r"cross_att_gamma\.extra\.weight.*output_layer_0/bias"):
        load_encoder(src)
    assert cli.main(["convert", str(src), str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_stray_top_level_keys_are_an_error(tmp_path):
    _, sd = syn.official_state_dict("psp", syn.psp_config())
    obj = {"state_dict": {"encoder." + k: v for k, v in sd.items()} | {"bogus.weight": np.zeros(2, np.float32)},
           "opts": {"encoder_type": "GradualStyleEncoder"}}
    with pytest.raises(ValueError, match="keys no psp network uses"):
        load_encoder(pw.write_zip_pth(tmp_path / "psp.pt", obj))


def test_kind_contradicting_the_file(tmp_path):
    src = tmp_path / "e4e.pt"
    syn.official_file(src, "e4e", {"e4e": E4E})
    with pytest.raises(ValueError, match="looks like a 'e4e' checkpoint, got kind='psp'"):
        load_encoder(src, kind="psp")
    assert cli.main(["convert", str(src), str(tmp_path / "dir")]) == 0
    with pytest.raises(ValueError, match="holds a 'e4e' encoder, got kind='goae'"):
        load_encoder(tmp_path / "dir", kind="goae")
    with pytest.raises(ValueError, match="holds a e4e encoder.*load_encoder"):
        load_generator(tmp_path / "dir")


def test_written_by_torch_save(tmp_path):
    torch = pytest.importorskip("torch")
    written, sd = syn.official_state_dict("afa", syn.afa_config(), seed=3)
    torch.save({k: torch.from_numpy(np.array(v)) for k, v in sd.items()}, tmp_path / "afa_FFHQ.pt")
    enc = load_encoder(tmp_path / "afa_FFHQ.pt")
    assert enc.kind == "goae" and enc.networks == ("afa",)
    for a, b in zip(jax.tree.leaves(written), jax.tree.leaves(enc.variables["afa"])):
        np.testing.assert_array_equal(np.asarray(b), a)


def test_e4e_training_checkpoint_keeps_its_latent_discriminator(tmp_path):
    _, enc_sd = syn.official_state_dict("e4e", E4E)
    disc, disc_sd = syn.official_state_dict("latent_discriminator", dict(style_dim=32, n_mlp=4), seed=2)
    obj = {"state_dict": {"encoder." + k: v for k, v in enc_sd.items()},
           "discriminator_state_dict": disc_sd, "opts": {"encoder_type": "Encoder4Editing"}}
    enc = load_encoder(pw.write_zip_pth(tmp_path / "e4e_train.pt", obj))
    assert set(enc.networks) == {"e4e", "latent_discriminator"}
    for a, b in zip(jax.tree.leaves(disc), jax.tree.leaves(enc.variables["latent_discriminator"])):
        np.testing.assert_array_equal(np.asarray(b), a)
