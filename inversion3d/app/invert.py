"""`inversion3d invert`: photos -> reconstruction, novel views, depth and latent / tri-planes per image,
with a feed-forward encoder (goae, psp, e4e, triplanenet, dual, e3dge) or by optimisation (wplus, pti).

Both kinds share the input path of inputs.py (checks before any model is loaded, padded batches of
`batch` images, so one compilation serves all) and write the same files per image STEM (the file
name without extension):
  STEM_recon.png  the input and the reconstruction side by side
  STEM_views.png  novel views: a yaw sweep (EG3D) or a full turn (PanoHead)
  STEM_depth.png  colour-mapped depth of the reconstruction and the views (near = bright)
  STEM.npz        ws (num_ws, w_dim), planes (3, H, W, C), camera (25,), view cameras (V, 25)
                  [+ mask for goae / dual, afa_feature (32, 32, C) for goae: what `edit` carries]
                  and the generator reference `edit` reopens: generator (the --generator value),
                  generator_kind, generator_overrides (the --generator.KEY=VALUE strings)
The optimisation methods (inversion/wplus.py, pti.py; configs/wplus.py, pti.py, overridden with
`--config.KEY=VALUE`) need no encoder; their npz adds the loss curves (and for pti the tuning steps,
whether it stopped early) and, with --pose-opt, camera_initial (the input camera; `camera` is the
refined one). pti also writes STEM_generator.npz, the tuned generator variables (pti.load_variables
reads it back).
--encoder may also be a training run's workdir (methods/workdir.py: its latest checkpoint and the
generator the run used, so --generator is optional) or a file `inversion3d export` wrote from one; a
GOAE stage-2 run's file holds the encoder and AFA, so --afa defaults to --encoder; a Dual Encoder
run holds E1 and E2, so --encoder WORKDIR needs no --encoder2.
DATASET (app/dataset_inputs.py): a folder of photos, or a dataset folder (dataset.json; --split picks
a split, e.g. the synthetic `test` with its held-out views) whose cameras replace --camera, or a
prepared tfds split `tfds:NAME[/CONFIG]:SPLIT` (--data-dir; app/tfds_inputs.py: exported once into
OUT/dataset in the folder layout, then read as a dataset folder). `--method innout` on a dataset
inverts each image as a 1-frame clip (app/innout_dataset.py) into the same runner layout. Such a run
also writes the dataset runner's files (app/dataset_run.py): renders at the input and held-out
cameras, per-image records and timing, and the pairs.json `inversion3d eval` reads.
"""
import os
import sys
import time

import numpy as np

from inversion3d import camera, files, viz
from inversion3d.app import dataset_inputs, dataset_run, inputs, loading, tfds_inputs
from inversion3d.images import DEFAULT_MAX_PIXELS, check_max_pixels
from inversion3d.losses_api import load_lpips

YAW_RANGE = 0.35  # +-20 degrees, the `render --orbit yaw` sweep
OPT_METHODS = ("wplus", "pti")  # optimisation-based: no encoder (inversion/wplus.py, pti.py)


def check_method_flags(args, overrides=()):
    """One-line errors for flags the method needs or does not use and for values out of range (before
    anything is read or loaded)."""
    inputs.check_counts(args)
    inputs.check_camera_spec(args.camera)
    check_max_pixels(args.max_pixels)
    if args.resume and args.overwrite:
        raise ValueError("--resume / --overwrite: pick one")
    if args.method in OPT_METHODS:
        if not args.generator:
            raise ValueError(f"--generator: --method {args.method} needs it (the generator to invert into)")
        for flag, value in (("--encoder", args.encoder), ("--afa", args.afa), ("--encoder2", args.encoder2)):
            if value:
                raise ValueError(f"{flag}: not used by --method {args.method} (optimisation needs no encoder)")
        if args.steps is not None and args.steps < 1:
            raise ValueError(f"--steps: expected >= 1, got {args.steps}")
        if args.method == "pti" and args.batch != 1:
            raise ValueError(f"--batch: --method pti tunes one generator per image, expected 1, got {args.batch}")
        if args.lpips and not os.path.exists(args.lpips):
            raise ValueError(f"--lpips: no such file or directory: {args.lpips}")
        return
    if not args.encoder:
        use_packaged_encoder(args)
    if args.method == "goae" and not args.afa and _holds_afa(args.encoder):
        args.afa = args.encoder  # a GOAE stage-2 run (or its export): encoder and AFA in one
    if not args.generator and not _is_workdir(args.encoder):
        raise ValueError(f"--generator: --method {args.method} needs it (only a training workdir as --encoder "
                         f"brings its own generator)")
    unused = [("--steps", args.steps), ("--pose-opt", args.pose_opt or None), ("--lpips", args.lpips),
              ("--config", args.config)]
    unused += [(a.split("=", 1)[0], a) for a in overrides if loading.is_override(a, "config")]  # --config.KEY
    for flag, value in unused:
        if value is not None:
            raise ValueError(f"{flag}: only used by --method {'|'.join(OPT_METHODS)}, got --method {args.method}")
    one_run = args.method == "dual" and _is_workdir(args.encoder)  # a Dual run's workdir holds E1 and E2
    if one_run and args.encoder2:
        raise ValueError(f"--encoder2: {args.encoder} is a Dual Encoder training workdir, which holds E1 and E2; "
                         f"drop --encoder2")
    extra = {"goae": ("--afa", args.afa), "dual": ("--encoder2", args.encoder2)}
    for method, (flag, value) in extra.items():
        if args.method == method and not value and not one_run:
            raise ValueError(f"{flag}: --method {method} needs it ({'the AFA file' if method == 'goae' else 'E2'})")
        if args.method != method and value:
            raise ValueError(f"{flag}: only used by --method {method}, got --method {args.method}")


def use_packaged_encoder(args):
    """No --encoder: the encoder the package ships for --method (loading.packaged_encoder), trained on the
    embedded generator, so --generator defaults to 'default'; one-line error when none is shipped."""
    packaged = loading.packaged_encoder(args.method)
    if packaged is None:
        raise ValueError(f"--encoder: --method {args.method} needs it (the encoder file); the package ships none "
                         f"for it (no {os.path.join(loading.ASSETS_DIR, 'encoders', args.method)})")
    args.encoder = packaged[0]
    if args.method == "dual" and not args.encoder2:
        args.encoder2 = packaged[1]
    if not args.generator:
        args.generator = "default"
    print(f"[invert] --encoder: the packaged {args.method} encoder {args.encoder} (generator {args.generator})",
          flush=True)


def run(args, overrides=()):
    """The `invert` subcommand: checks flags and inputs, loads the models, inverts every image.
    overrides: `--config.KEY=VALUE` (the wplus / pti config) and `--generator.KEY=VALUE` (a config
    .py generator)."""
    if args.method == "innout":  # one image or clip, its own stages (app/innout.py); a dataset: each image a clip
        from inversion3d.app import innout, innout_dataset

        if innout_dataset.is_dataset_input(args):
            expand_datasets(args)
            return innout_dataset.run(args, overrides, recorder(args), reference=generator_reference)
        return innout.run(args, overrides, reference=generator_reference)
    if getattr(args, "masks", None) or getattr(args, "depth", None):
        raise ValueError(f"--masks / --depth: only used by --method innout, got --method {args.method}")
    if getattr(args, "edit_direction", None) or getattr(args, "edit_strength", None) is not None:
        raise ValueError(f"--edit-direction / --edit-strength: only used by --method innout (other methods: "
                         f"`inversion3d edit`), got --method {args.method}")
    expand_datasets(args)
    check_method_flags(args, overrides)
    gen_overrides = [a for a in overrides if loading.is_override(a, "generator")]
    if args.method in OPT_METHODS:
        return run_optimization(args, [a for a in overrides if loading.is_override(a, "config")], gen_overrides)
    stems, labels = inputs.prepare(args, _alignment_kind(args, gen_overrides))
    if not stems:
        return {}
    start = time.time()
    if _is_workdir(args.encoder):
        encoders, gen = _open_workdir(args, gen_overrides)
    else:
        sources = [args.encoder] + [v for v in (args.afa, args.encoder2) if v]
        encoders = loading.open_encoders(args.method, sources)  # before the (slower) generator
        gen = loading.open_generator(args.generator, args.kind, gen_overrides, name="generator")
    from inversion3d.methods.registry import make_inverter

    inverter = make_inverter(args.method, gen, encoders)
    print(f"[invert] {args.method} on a {gen.kind} generator, {len(args.images)} image(s) at "
          f"{inverter.input_size}x{inverter.input_size}; models loaded in {time.time() - start:.1f}s", flush=True)
    return invert_images(inverter, gen, args.images, args.out, args.camera, views=args.views, batch=args.batch,
                         labels=labels, stems=stems, max_pixels=args.max_pixels,
                         source=generator_reference(args.generator, gen, gen_overrides), recorder=recorder(args))


def expand_datasets(args):
    """Folders among IMAGES (a dataset or photos) -> their images, the dataset's cameras (args.camera)
    and held-out views; sets args.bench (write the dataset runner's files) when there was a folder."""
    split = getattr(args, "split", None)
    if any(tfds_inputs.is_spec(p) for p in args.images):  # a tfds split: exported to OUT/dataset, then a folder
        if len(args.images) != 1:
            raise ValueError(f"IMAGES: a tfds split must be the only input, got {len(args.images)} inputs")
        if args.camera is not None:
            raise ValueError(f"--camera: {args.images[0]} brings its own cameras; drop --camera")
        root, split = tfds_inputs.materialise(args.images[0], split, getattr(args, "data_dir", None), args.out)
        args.images, args.split = [root], split
    elif getattr(args, "data_dir", None):
        raise ValueError("--data-dir: only used with a tfds:NAME[/CONFIG]:SPLIT input")
    args.bench = split is not None or any(os.path.isdir(p) for p in args.images)
    if not args.bench:
        if args.camera is None:
            raise ValueError("--camera: required (a dataset.json with a label per image, 'frontal' or 'photo')")
        return
    if args.camera == inputs.PHOTO:
        raise ValueError("--camera photo: not supported with a folder / dataset input (align the photos with "
                         "`inversion3d preprocess` first, then pass its output folder)")
    args.images, args.camera, args.held_out, args.dataset_root = dataset_inputs.expand(
        args.images, args.camera, split, getattr(args, "limit", None))
    dataset_inputs.check_split_for(args.method, args.dataset_root, split)


def recorder(args):
    """The dataset runner's writer (app/dataset_run.py) for a folder / dataset run, else None."""
    if not getattr(args, "bench", False):
        return None
    return dataset_run.Recorder(args.out, args.method, args.held_out, args.dataset_root)


def _is_workdir(path):
    from inversion3d.methods.workdir import is_workdir

    return is_workdir(path)


def _holds_afa(path):
    """A training workdir (its run decides) or a converted file with an 'afa' network."""
    if _is_workdir(path):
        return True
    from converters.orbax_io import is_converted_dir, read_meta

    return is_converted_dir(path) and "afa" in (read_meta(path).get("networks") or {})


def _open_workdir(args, gen_overrides):
    """(encoders, generator) of `--encoder WORKDIR`: the latest checkpoint's networks and the run's
    generator (or --generator when given)."""
    from inversion3d.methods import workdir

    run = workdir.read_run(args.encoder)
    workdir.check_serves(run, args.method)
    trainer = workdir.method(run)
    encoders = workdir.encoders(run, args.method, trainer)
    if args.generator:
        return encoders, loading.open_generator(args.generator, args.kind, gen_overrides, name="generator")
    print(f"[invert] {args.encoder}: {run.config.method} run, step {run.step}, its generator", flush=True)
    return encoders, workdir.generator(run, trainer)


def _alignment_kind(args, gen_overrides):
    """The generator kind --camera photo aligns for, resolved before alignment (and before the
    generator is loaded); other cameras need none."""
    if args.camera != inputs.PHOTO:
        return args.kind
    if not args.generator:  # a training workdir: the generator its run trained against
        from inversion3d.methods.workdir import generator_kind

        return generator_kind(args.encoder)
    return loading.resolve_kind(args.generator, args.kind, gen_overrides, name="generator")


def run_optimization(args, overrides=(), gen_overrides=()):
    """`invert --method wplus|pti`: the method's config (--config, default configs/<method>.py, with
    `overrides`, then --steps / --pose-opt applied), the user's LPIPS weights (or the MSE fallback, with
    a warning), then every image."""
    path = args.config or os.path.join(loading.CONFIG_DIR, f"{args.method}.py")
    config = loading.load_config(path, overrides)
    stage = config if args.method == "wplus" else config.pivot
    if args.steps is not None:
        stage.num_steps = args.steps
        if args.method == "pti":
            config.tune.max_steps = args.steps
    if args.pose_opt:
        config.pose_opt.enabled = True
    stems, labels = inputs.prepare(args, _alignment_kind(args, gen_overrides))
    if not stems:
        return {}
    start = time.time()
    lpips = load_lpips(args.lpips) if args.lpips else None
    if lpips is None:
        print("[invert] warning: no --lpips weights given: the loss is MSE only (no LPIPS term, no PTI early stop)",
              file=sys.stderr, flush=True)
    gen = loading.open_generator(args.generator, args.kind, gen_overrides, name="generator")
    size = gen.config.img_resolution
    print(f"[invert] {args.method} on a {gen.kind} generator, {len(args.images)} image(s) at {size}x{size}; "
          f"models loaded in {time.time() - start:.1f}s", flush=True)
    return invert_images_optimized(args.method, gen, config, args.images, args.out, labels, stems, views=args.views,
                                   batch=args.batch, lpips=lpips, max_pixels=args.max_pixels,
                                   source=generator_reference(args.generator, gen, gen_overrides),
                                   recorder=recorder(args))


def generator_reference(source, gen, overrides=()):
    """The npz entries that let `inversion3d edit` reopen the generator: the --generator value (an
    absolute path when it is a file or folder), its kind and the --generator.KEY=VALUE overrides. None
    (a training workdir's own generator, which no file holds): the kind alone; `edit` then asks for
    --generator."""
    if source is None:
        return {"generator_kind": np.asarray(gen.kind)}
    if os.path.exists(source) and source not in loading.DEFAULT_GENERATORS:
        source = os.path.abspath(source)
    return {"generator": np.asarray(str(source)), "generator_kind": np.asarray(gen.kind),
            "generator_overrides": np.asarray(list(overrides), dtype=str).reshape(-1)}


def view_cameras(gen, intrinsics, views):
    """(V, 25) novel-view labels: a yaw sweep (EG3D) or a full turn (PanoHead) around the pivot."""
    rig = camera.generator_rig(gen)
    yaw = camera.novel_view_yaws(gen.kind, views, YAW_RANGE)
    return camera.lookat_labels(yaw, np.full_like(yaw, np.pi / 2), rig.pivot, rig.radius, intrinsics.reshape(3, 3))


def _progress(total):
    from tqdm import tqdm

    return tqdm(total=total, desc="invert", unit="image", leave=False)


def invert_images(inverter, gen, paths, out_dir, camera_spec=inputs.FRONTAL, views=8, batch=1, labels=None,
                  stems=None, max_pixels=DEFAULT_MAX_PIXELS, source=None, recorder=None):
    """Runs `inverter` (methods/registry.py) on every image; returns {path: [written files]}.
    source: more npz entries for every image (`generator_reference`); recorder: the dataset runner's
    writer (app/dataset_run.py), called after each image's own files."""
    import jax

    from inversion3d.inversion.common import view_renderer

    if views < 1 or batch < 1:
        raise ValueError(f"--views / --batch: expected >= 1, got {views} / {batch}")
    if stems is None:
        stems, labels = inputs.check_inputs(paths, camera_spec, max_pixels)
    files.ensure_writable_dir(out_dir)
    front = camera.generator_frontal_label(gen) if labels is None else None
    render_views = view_renderer(inverter.config)
    written, bar = {}, _progress(len(paths))
    log = bar.write if hasattr(bar, "write") else print
    for chunk, images, cams in inputs.batches(paths, labels, front, inverter.input_size, batch, log=log,
                                              max_pixels=max_pixels):
        start = time.time()
        if not written:
            log(loading.COMPILING.format(command="invert"))
        out = jax.device_get(inverter(images, cams))
        seconds = (time.time() - start) / len(chunk)

        def render(view_cams):
            if inverter.views_fn is not None:  # e3dge: local features re-aligned per view
                return inverter.views(images, cams, view_cams)
            return render_views(inverter.params["generator"], out["planes"], out["ws"], view_cams)

        view_cams = np.stack([view_cameras(gen, c[16:], views) for c in cams], axis=1)  # (V, B, 25)
        sweep = render(view_cams)
        held = recorder.cameras(paths, chunk, cams) if recorder else None
        held_views = None if held is None else jax.device_get(render(held))
        for j, i in enumerate(chunk):
            result = {k: np.asarray(v[j]) for k, v in out.items()}
            written[paths[i]] = write_outputs(out_dir, stems[i], images[j], result, cams[j], view_cams[:, j],
                                              np.asarray(sweep["image"][:, j]), np.asarray(sweep["image_depth"][:, j]),
                                              inverter.method, extra=source)
            if recorder:
                written[paths[i]] += _record(recorder, paths[i], stems[i], cams[j], result, held_views, j, seconds,
                                             compiled=chunk[0] == 0)
        bar.update(len(chunk))
        bar.write(f"[invert] {', '.join(stems[i] for i in chunk)}: {time.time() - start:.1f}s -> {out_dir}")
    bar.close()
    return written


def _record(recorder, path, stem, cam, result, held_views, j, seconds, compiled):
    """recorder.write for batch row j (held_views: (V, B, ...) renders or None)."""
    views = None if held_views is None else {k: np.asarray(held_views[k][:, j]) for k in ("image", "image_depth")}
    return recorder.write(path, stem, cam, result, seconds, compiled, views)


def _angles(label):
    from inversion3d.preprocess.pose import angles_from_label

    a = angles_from_label(label)
    return a["yaw"], a["elevation"]


def invert_images_optimized(method, gen, config, paths, out_dir, labels=None, stems=None, views=8, batch=1,
                            lpips=None, log=None, max_pixels=DEFAULT_MAX_PIXELS, source=None, recorder=None):
    """Runs W+ optimisation or PTI (with config.pose_opt) on every image; returns {path: [written files]}.
    source: more npz entries for every image (`generator_reference`); recorder: the dataset runner's
    writer (app/dataset_run.py)."""
    import jax
    from inversion3d.inversion import optimization, pti, wplus
    from inversion3d.inversion.common import view_renderer

    log = log or (lambda *a, **k: print(*a, **k, flush=True))
    if stems is None:
        stems, labels = inputs.check_inputs(paths, inputs.FRONTAL, max_pixels)
    files.ensure_writable_dir(out_dir)
    front = camera.generator_frontal_label(gen) if labels is None else None
    written = {}
    stats = config if method == "wplus" else config.pivot
    w_stats = optimization.compute_w_statistics(gen, camera.generator_frontal_label(gen), stats.w_avg_samples,
                                                stats.w_avg_seed)  # once for all images
    for chunk, images, cams in inputs.batches(paths, labels, front, gen.config.img_resolution, batch, log=log,
                                              max_pixels=max_pixels):
        start = time.time()
        log(f"[invert] {method}: {', '.join(stems[i] for i in chunk)} ({chunk[-1] + 1}/{len(paths)})")
        if not written:
            log(loading.COMPILING.format(command="invert"))
        if method == "wplus":
            res = wplus.run(gen, images, cams, config, lpips, w_stats=w_stats, log=log)
            variables = gen.params
            extra = {"losses": res["losses"]}
        else:
            res = pti.run(gen, images, cams, config, lpips, w_stats=w_stats, log=log)
            variables = res["variables"]
            extra = {"pivot_losses": res["pivot_losses"], "tune_losses": res["tune_losses"],
                     "tune_steps": np.asarray(res["tune_steps"]), "stopped_early": np.asarray(res["stopped_early"])}
        cfg, final_cams = res["config"], np.asarray(res["camera"])
        out = jax.device_get(optimization.result_renderer(cfg)(variables, res["ws"], final_cams))
        seconds = (time.time() - start) / len(chunk)
        view_cams = np.stack([view_cameras(gen, c[16:], views) for c in final_cams], axis=1)  # (V, B, 25)
        sweep = view_renderer(cfg)(variables, out["planes"], out["ws"], view_cams)
        held = recorder.cameras(paths, chunk, cams) if recorder else None  # the dataset's cameras, not refined ones
        held_views = None if held is None else jax.device_get(view_renderer(cfg)(variables, out["planes"], out["ws"],
                                                                                 held))
        for j, i in enumerate(chunk):
            result = {k: np.asarray(v[j]) for k, v in out.items()}
            more = dict(extra, **(source or {}))
            if method == "pti":
                more["generator_variables"] = np.asarray(f"{stems[i]}_generator.npz")  # beside the npz
            if config.pose_opt.enabled:
                more["camera_initial"] = cams[j]
                (y0, p0), (y1, p1) = _angles(cams[j]), _angles(final_cams[j])
                log(f"[invert] {stems[i]}: --pose-opt camera yaw {y0:+.2f} -> {y1:+.2f} deg, pitch {p0:+.2f} -> "
                    f"{p1:+.2f} deg")
            written[paths[i]] = write_outputs(out_dir, stems[i], images[j], result, final_cams[j], view_cams[:, j],
                                              np.asarray(sweep["image"][:, j]), np.asarray(sweep["image_depth"][:, j]),
                                              method, extra=more)
            if method == "pti":
                target = os.path.join(out_dir, f"{stems[i]}_generator.npz")
                written[paths[i]].append(files.atomic_write(target, lambda tmp: pti.save_variables(
                    tmp, jax.device_get(variables))))
            if recorder:
                written[paths[i]] += _record(recorder, paths[i], stems[i], cams[j], result, held_views, j,
                                             seconds, compiled=chunk[0] == 0)
        log(f"[invert] {', '.join(stems[i] for i in chunk)}: {time.time() - start:.1f}s -> {out_dir}")
    return written


def write_outputs(out_dir, stem, image, result, cam, view_cams, view_images, view_depths, method, extra=None):
    """Writes the four files of one image (`extra`: more arrays for the npz); returns their paths."""
    base = os.path.join(out_dir, stem)
    size = result["image"].shape[0]
    recon = viz.to_uint8(result["image"])
    views = list(viz.to_uint8(view_images))
    depths = [result["image_depth"]] + list(view_depths)
    lo, hi = float(np.min(depths)), float(np.max(depths))
    arrays = {"ws": result["ws"], "planes": result["planes"], "camera": cam, "view_cameras": view_cams,
              "method": np.asarray(method)}
    for key in ("mask", "afa_feature"):
        if key in result:
            arrays[key] = result[key]
    arrays.update(extra or {})
    return [
        viz.save_png(f"{base}_recon.png", viz.make_grid([[viz.to_uint8(image), recon]], size)),
        viz.save_png(f"{base}_views.png", viz.make_grid([views], size)),
        viz.save_png(f"{base}_depth.png", viz.make_grid([[viz.colorize_depth(d, lo, hi) for d in depths]], size)),
        files.atomic_write(f"{base}.npz", lambda tmp: np.savez(tmp, **arrays)),
    ]
