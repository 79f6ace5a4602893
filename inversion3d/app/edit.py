"""`inversion3d edit`: edits an `invert` result (STEM.npz of any method) along a W direction or by
transferring a region of another result, and writes pictures, a video, depth and a mesh.

  inversion3d edit --latent RESULT.npz --direction age.npy --strength -3:3:7 --out DIR [--layers 4-13]
  inversion3d edit --latent RESULT.npz --reference OTHER.npz --region hair|face|lower|box:x0,x1,y0,y1,z0,z1|
                   paint:MASK.png [--density-threshold 10] --out DIR

Per edit NAME (the direction file's stem, or ref-REGION) it writes, for the image STEM:
  STEM_NAME_strip.png   rows: strengths (reference: target, reference, result); columns: yaws
  STEM_NAME_depth.png   the same grid, colour-mapped depth (near = bright)
  STEM_NAME.mp4         orbit of the strongest edit (reference edits and PanoHead: a full turn)
  STEM_NAME.mrc (+ .ply / .obj when the density crosses the level): the shape of the strongest edit
  STEM_NAME.npz         ws (S, num_ws, w_dim), planes (S, 3, H, W, C), strengths (S,)
  STEM_NAME_input.png, STEM_NAME_s{strength}.png: the inverted and the edited result at the input
                        camera, listed in DIR/pairs.json (with "edit"), which `inversion3d eval --data DIR`
                        turns into the editability table (In-N-Out Table 2)
In-N-Out results (--latent OUT/latents.npz of `invert --method innout`) are edited per frame, the OOD
part kept and composited on top (app/edit_innout.py: its files, an edited clip among them).
The generator is the one the npz names (`invert` stores it), or --generator. PTI results edit their
tuned generator (STEM_generator.npz beside the npz); GOAE results carry AFA's feature F* (§2).
Constants: configs/editing.py (`--config.KEY=VALUE`).
"""
import functools
import os

import numpy as np

from inversion3d import files
from inversion3d.app import loading

REQUIRED = ("ws", "planes", "camera", "method")


def read_result(path, flag="--latent"):
    """An `invert` npz -> {key: array}; one-line errors for a missing file or missing entries."""
    if not os.path.isfile(path):
        raise ValueError(f"{flag}: no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            result = {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise ValueError(f"{flag}: {path} is not an `inversion3d invert` npz ({' '.join(str(err).split())})") from None
    from inversion3d.methods.innout import result as innout_result

    if innout_result.is_innout(result):
        innout_result.check(result, flag)
        result["method"], result["path"] = np.asarray(innout_result.METHOD), os.path.abspath(path)
        return result
    missing = [k for k in REQUIRED if k not in result]
    if missing:
        raise ValueError(f"{flag}: {path} lacks {', '.join(missing)} (expected the STEM.npz `inversion3d invert` writes)")
    if str(result["method"]) == "goae" and "afa_feature" not in result:
        raise ValueError(f"{flag}: {path} is a GOAE result without afa_feature (written before editing existed); "
                         f"invert the image again")
    result["path"] = os.path.abspath(path)
    return result


def read_direction(path, flag="--direction"):
    """A direction file: .npy (released shapes, directions.DIRECTION_SHAPES) or a torch.save archive
    (GOAE's cat_*.npy are those), read without running code (converters' restricted reader)."""
    if not os.path.isfile(path):
        raise ValueError(f"{flag}: no such file: {path}")
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(b"\x93NUMPY"):
        return np.load(path, allow_pickle=False)
    from converters.torch_format import CheckpointError, read_checkpoint_object

    try:
        obj = read_checkpoint_object(path)
    except CheckpointError as err:
        raise ValueError(f"{flag}: {err}") from None
    if not isinstance(obj, np.ndarray):
        raise ValueError(f"{flag}: {path} holds a {type(obj).__name__}, expected one array")
    return obj


def parse_region(text, regions):
    """--region -> ('box', (6,)) or ('paint', path, box-or-None)."""
    if text in regions:
        return ("box", tuple(regions[text]))
    kind, sep, rest = str(text).partition(":")
    if kind == "box" and sep:
        from inversion3d.editing.reference import check_box

        try:
            return ("box", tuple(check_box([float(v) for v in rest.split(",")])))
        except ValueError:
            raise ValueError(f"--region: expected box:x0,x1,y0,y1,z0,z1 (cube units in [-1, 1]), got {text!r}") from None
    if kind == "paint" and sep:
        if not os.path.isfile(rest):
            raise ValueError(f"--region: no such mask image: {rest}")
        return ("paint", rest)
    raise ValueError(f"--region: expected one of {sorted(regions)}, box:x0,x1,y0,y1,z0,z1 or paint:MASK.png, got {text!r}")


def check_args(args, config):
    """Everything checkable before a model loads; returns (result, edit spec dict)."""
    from inversion3d.editing import directions

    if bool(args.direction) == bool(args.reference):
        raise ValueError("--direction / --reference: give exactly one")
    if args.region and not args.reference:
        raise ValueError("--region: only used with --reference")
    result = read_result(args.latent)
    files.check_writable_dir(args.out)
    if args.direction:
        spec = {"kind": "direction", "array": read_direction(args.direction),
                "name": os.path.splitext(os.path.basename(args.direction))[0],
                "strengths": directions.parse_strengths(args.strength or config.apply.strengths),
                "layers": args.layers if args.layers is not None else config.apply.layers}
    else:
        if not args.region:
            raise ValueError("--region: --reference needs it (a region name, box:... or paint:MASK.png)")
        spec = {"kind": "reference", "result": read_result(args.reference, "--reference"),
                "region": parse_region(args.region, dict(config.reference.regions)),
                "name": "ref-" + (args.region if args.region in config.reference.regions else args.region.split(":")[0])}
    return result, spec


def reopen_generator(args, overrides, result):
    """--generator (with --generator.KEY=VALUE), else the generator the npz names."""
    if args.generator:
        gen = loading.open_generator(args.generator, "auto", overrides, name="generator")
    elif "generator" in result:
        gen_overrides = [str(a) for a in np.atleast_1d(result.get("generator_overrides", np.zeros(0, str)))]
        gen = loading.open_generator(str(result["generator"]), str(result.get("generator_kind", "auto")),
                                     gen_overrides, name="generator")
    else:
        raise ValueError(f"--generator: {result['path']} names no generator (an older npz); pass --generator")
    return gen


def open_generator(args, overrides, result):
    """`reopen_generator`; PTI: its tuned variables. -> (gen, variables)."""
    gen = reopen_generator(args, overrides, result)
    variables = gen.params
    if str(result["method"]) == "pti":
        from inversion3d.inversion import pti

        name = str(result.get("generator_variables", os.path.basename(result["path"])[:-4] + "_generator.npz"))
        tuned = os.path.join(os.path.dirname(result["path"]), name)
        if not os.path.isfile(tuned):
            raise ValueError(f"--latent: a PTI result needs its tuned generator {tuned}")
        variables = pti.load_variables(tuned, gen)
    cfg = gen.config
    want = (3, cfg.triplane_resolution, cfg.triplane_resolution, cfg.plane_channels * cfg.triplane_depth)
    if result["ws"].shape != (cfg.num_ws, cfg.w_dim) or result["planes"].shape != want:
        raise ValueError(f"--latent: ws {result['ws'].shape} / planes {result['planes'].shape} do not fit the "
                         f"generator's ({cfg.num_ws}, {cfg.w_dim}) / {want}")
    return gen, variables


def sweep_fn(method, cfg):
    """jit of the method's edit over strengths: (variables, planes (1, ...), ws (1, ...), direction
    (num_ws, w_dim), strengths (S,), c (1, 25), f_star or None) -> (ws (S, 1, ...), planes (S, 1, ...)).
    GOAE edits its AFA feature (§2); every other method edits its tri-planes by the generator's delta
    (psp, e4e, wplus, triplanenet, dual; pti with its tuned variables)."""
    return _sweep_fn("goae" if method == "goae" else "planes", cfg)


@functools.lru_cache(maxsize=None)
def _sweep_fn(kind, cfg):
    import jax

    from inversion3d.editing import triplane

    def fn(variables, planes, ws, direction, strengths, c, f_star):
        if kind == "goae":
            def one(ws_edit):
                return triplane.goae_edit(cfg, variables, planes, ws, ws_edit, f_star, c)
        else:
            def one(ws_edit):
                return triplane.planes_edit(cfg, variables, planes, ws, ws_edit)
        return triplane.sweep(one, ws, direction, strengths)

    return jax.jit(fn)


def direction_edit(cfg, variables, result, spec):
    """-> (ws (S, num_ws, w_dim), planes (S, 3, H, W, C)) for every strength."""
    from inversion3d.editing import directions

    method = str(result["method"])
    d = directions.as_layers(spec["array"], cfg.num_ws, cfg.w_dim, "--direction")
    d = directions.restrict(d, directions.parse_layers(spec["layers"], cfg.num_ws))
    f_star = result["afa_feature"][None] if method == "goae" else None
    ws, planes = sweep_fn(method, cfg)(variables, result["planes"][None], result["ws"][None], d,
                                       spec["strengths"], result["camera"][None], f_star)
    return np.asarray(ws)[:, 0], np.asarray(planes)[:, 0]


def region_mask(gen, variables, spec, reference, config):
    """The plane-cell mask (3, D, H, W) of the --region (and --density-threshold) on the reference."""
    from PIL import Image

    from inversion3d.editing import reference as ref
    from inversion3d.generators import eg3d
    from inversion3d.rendering.shapes import density_grid

    cfg, rc = gen.config, config.reference
    points = ref.grid_centres(rc.grid)
    kind = spec["region"][0]
    if kind == "box":
        inside = ref.in_box(points, spec["region"][1])
    else:
        painting = np.asarray(Image.open(spec["region"][1]).convert("L"), np.float32) / 255.0
        inside = ref.in_painting(points, painting)
    if spec.get("density_threshold") is not None:  # the shape export's grid: the same voxel centres, x fastest
        sigma = density_grid(reference["planes"][None], variables, eg3d.decode_apply(cfg), cfg.render, rc.grid)
        inside &= ref.density_inside(sigma.reshape(-1), spec["density_threshold"])
    size = reference["planes"].shape[1]
    axes = "eg3d" if cfg.render.plane_kind == "eg3d" else "panohead"
    return ref.plane_mask(inside, points, size, cfg.render.triplane_depth, axes, rc.grid, rc.feather_sigma)


def run(args, overrides=()):
    """`inversion3d edit`: `--config.KEY=VALUE` (configs/editing.py), `--generator.KEY=VALUE`."""
    config = loading.load_config(args.config or os.path.join(loading.CONFIG_DIR, "editing.py"),
                                 [a for a in overrides if loading.is_override(a, "config")])
    gen_overrides = [a for a in overrides if loading.is_override(a, "generator")]
    if gen_overrides and not args.generator:
        raise ValueError(f"{gen_overrides[0].split('=', 1)[0]}: needs --generator")
    for flag, value, low in (("--frames", args.frames, 1),):
        if value is not None and value < low:
            raise ValueError(f"{flag}: expected >= {low}, got {value}")
    result, spec = check_args(args, config)
    spec["density_threshold"] = args.density_threshold
    if str(result["method"]) == "innout":  # per-frame edits, the OOD part composited on top
        from inversion3d.app import edit_innout

        if spec["kind"] != "direction":
            raise ValueError("--reference: In-N-Out results take --direction edits only (the OOD field has no "
                             "region transfer)")

        gen = reopen_generator(args, gen_overrides, result)
        print(loading.COMPILING.format(command="edit"), flush=True)
        files.ensure_writable_dir(args.out)
        written = edit_innout.run(gen, args, config, result, spec)
        for path in written:
            print(f"[edit] {path}", flush=True)
        return written
    gen, variables = open_generator(args, gen_overrides, result)
    cfg = gen.config
    stem = os.path.splitext(os.path.basename(args.latent))[0]
    files.ensure_writable_dir(args.out)
    print(loading.COMPILING.format(command="edit"), flush=True)
    if spec["kind"] == "direction":
        ws, planes = direction_edit(cfg, variables, result, spec)
        strengths = spec["strengths"]
        rows = [f"{s:+g}" for s in strengths]
        strongest = int(np.argmax(np.abs(strengths)))
    else:
        from inversion3d.editing.reference import transfer

        other = spec["result"]
        if other["planes"].shape != result["planes"].shape:
            raise ValueError(f"--reference: tri-planes {other['planes'].shape} do not match the target's "
                             f"{result['planes'].shape} (invert both with the same generator)")
        mask = region_mask(gen, variables, spec, other, config)
        mixed = np.asarray(transfer(result["planes"][None], other["planes"][None], mask))[0]
        ws = np.stack([result["ws"], other["ws"], result["ws"]])
        planes = np.stack([result["planes"], other["planes"], mixed])
        strengths, rows, strongest = np.zeros(3, np.float32), ["target", "reference", "result"], 2
    from inversion3d.app.edit_outputs import write_edit

    written = write_edit(gen, variables, config, args, stem, spec, result, ws, planes, strengths, rows, strongest)
    for path in written:
        print(f"[edit] {path}", flush=True)
    return written
