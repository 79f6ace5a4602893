"""Edits of In-N-Out results (methods/innout/pipeline.edit_*, app/edit_innout.py) on the embedded tiny
generator (neural resolution 16, 8 coarse samples and no importance samples, so every OOD sample sits
at a depth the edit cannot move) with a tiny random OOD field: strength 0 is the stored reconstruction
exactly, an edit leaves the OOD part of the composite unchanged, and `inversion3d edit` on a 1-frame
In-N-Out result."""
import json

import jax
import numpy as np
import pytest

from inversion3d import camera
from inversion3d.app import cli, loading
from inversion3d.editing import directions
from inversion3d.methods.innout import pipeline, result
from inversion3d.methods.innout.field import init_field

OVERRIDES = ["--config.neural_rendering_resolution=16", "--config.init_kwargs.rendering_kwargs.depth_resolution=8",
             "--config.init_kwargs.rendering_kwargs.depth_resolution_importance=0"]
GEN_OVERRIDES = [a.replace("--config.", "--generator.", 1) for a in OVERRIDES]
STRENGTHS = np.array([0.0, 2.0], np.float32)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A 1-frame In-N-Out result written as `invert --method innout` writes it."""
    gen = loading.open_generator("default", overrides=OVERRIDES)
    cfg = gen.config
    c = camera.generator_frontal_label(gen)[None]
    z = np.random.RandomState(3).randn(1, cfg.z_dim).astype(np.float32)
    ws = np.asarray(gen.mapping(z, c, truncation_psi=0.7))
    field = init_field(jax.random.key(1), 8, cfg.plane_channels, 4, 8, 1)
    codes = np.asarray(field.pop("codes"))
    base = gen.params["params"]["superresolution"]
    sr_delta = jax.tree.map(lambda x: 1e-3 * np.ones_like(x), base)
    d = directions.layered(np.random.RandomState(0).randn(cfg.w_dim) / np.sqrt(cfg.w_dim), cfg.num_ws)
    folder = tmp_path_factory.mktemp("innout") / "clip"
    source = {"generator": np.asarray("default"), "generator_kind": np.asarray(gen.kind),
              "generator_overrides": np.asarray(GEN_OVERRIDES)}
    result.save(str(folder), {"ws": ws, "codes": codes, "cameras": c}, field, sr_delta, source)
    np.save(folder.parent / "age.npy", d)
    seq = {"field": field, "codes": codes, "ws": ws}
    sr = jax.tree.map(lambda a, b: a + b, base, sr_delta)
    edited = pipeline.edit_frames(cfg, gen.params, seq, sr, c, directions.as_layers(d, cfg.num_ws, cfg.w_dim),
                                  STRENGTHS)
    return gen, seq, sr, c, d, folder, edited


def test_strength_zero_is_the_stored_reconstruction(scene):
    gen, seq, sr, c, d, _, (ws_e, renders) = scene
    np.testing.assert_array_equal(ws_e[0, 0], seq["ws"][0])
    recon = pipeline.render_frames(gen.config, gen.params, seq, sr, c)
    for key in ("image", "image_raw", "image_depth", "blend_image"):
        np.testing.assert_array_equal(renders[key][0], recon[key], err_msg=key)
    w, planes = pipeline.edit_frame(gen.config, gen.params, seq, 0, directions.as_layers(d, gen.config.num_ws, gen.config.w_dim), STRENGTHS)
    np.testing.assert_array_equal(np.asarray(planes[0]), np.asarray(pipeline.frame_planes(gen.config, gen.params,
                                                                                         seq["ws"][0])))
    np.testing.assert_allclose(np.asarray(w[1] - w[0]), 2.0 * d[0], atol=1e-5)
    assert np.abs(renders["image_raw"][1] - recon["image_raw"]).max() > 1e-3  # the edit does move the render


def test_edit_keeps_the_ood_part(scene):
    """b on every sample and the OOD field's own render (colours, depth) are those of the unedited
    composite; only the in-distribution part (and how the two blend per pixel) changes."""
    _, _, _, _, _, _, (_, renders) = scene
    for key in ("blend_coarse", "ood_raw", "ood_depth"):
        np.testing.assert_array_equal(renders[key][1], renders[key][0], err_msg=key)
    assert np.ptp(renders["blend_coarse"][0]) > 0 and np.ptp(renders["ood_raw"][0]) > 0  # a non-trivial OOD part
    assert not np.array_equal(renders["image_depth"][1], renders["image_depth"][0])


def test_edit_cli_on_a_one_frame_result(scene, capsys):
    gen, seq, _, _, _, folder, (ws_e, _) = scene
    out = folder.parent / "ed"
    args = ["edit", "--latent", str(folder / "latents.npz"), "--direction", str(folder.parent / "age.npy"),
            "--strength", "0,2", "--frames", "2", "--out", str(out), "--config.outputs.shape_resolution=16",
            "--config.outputs.yaws_deg=(-20.0,20.0)"]
    assert cli.main(args) == 0, capsys.readouterr().err
    for suffix in ("_strip.png", "_depth.png", ".mp4", "_clip.mp4", ".mrc", ".npz", "_input.png", "_sp2.png"):
        assert (out / f"clip_age{suffix}").is_file(), suffix
    with np.load(out / "clip_age.npz") as npz:
        np.testing.assert_array_equal(npz["ws"], ws_e)  # the same program as the library call
        np.testing.assert_array_equal(npz["ws"][0, 0], seq["ws"][0])
        assert npz["planes"].shape[0] == 2 and str(npz["method"]) == "innout"
    pairs = json.loads((out / "pairs.json").read_text())
    assert [(p["method"], p["edit"], p["strength"]) for p in pairs] == [("innout", "age", 2.0)]
    assert cli.main(["edit", "--latent", str(folder / "latents.npz"), "--reference", str(folder / "latents.npz"),
                     "--region", "hair", "--out", str(out)]) != 0
    assert "--reference: In-N-Out results take --direction edits only" in capsys.readouterr().err
