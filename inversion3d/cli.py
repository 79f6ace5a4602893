"""The `inversion3d` command (also `python -m inversion3d`).

  inversion3d demo --config configs/demo.py --out out/demo [--config.seed=3 ...]
  inversion3d render CKPT --seeds 0-3 --trunc 0.7 --orbit yaw|360|spiral --frames 60 --out DIR [--mesh]
  inversion3d convert SRC DST [--network G_ema|G|D] [--kind auto|eg3d|panohead|goae|psp|...]
  inversion3d info FILE
  inversion3d invert IMAGES... --method goae|psp|e4e|triplanenet|dual --encoder CKPT --generator CKPT
                     --camera dataset.json|frontal --out DIR [--views N] [--afa CKPT] [--encoder2 CKPT]
  inversion3d invert IMAGES... --method wplus|pti --generator CKPT --camera dataset.json|frontal --out DIR
                     [--steps N] [--pose-opt] [--lpips DIR_OR_FILE]
  inversion3d preprocess IMAGES_OR_DIR... --style eg3d|panohead --out DIR [--require-single]

Subcommands for conversion, rendering, inversion and evaluation are added by their own modules.
"""
import argparse
import ast
import importlib.util
import os
import sys
import time

import numpy as np


def load_config_file(path, overrides=()):
    """Loads `get_config()` from a Python file and applies `--config.a.b=value` overrides."""
    if not os.path.isfile(path):
        raise ValueError(f"--config: no such file: {path}")
    spec = importlib.util.spec_from_file_location("_inversion3d_config", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "get_config"):
        raise ValueError(f"--config: {path} defines no get_config()")
    config = module.get_config()
    for item in overrides:
        key, sep, raw = item[len("--config."):].partition("=")
        if not sep:
            raise ValueError(f"override {item!r}: expected --config.KEY=VALUE")
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        if leaf not in node:
            raise ValueError(f"override {item!r}: config has no key {key!r}")
        node[leaf] = value
    return config


def run_demo(config, out_dir):
    """Renders a seeded tiny generator at several yaws; writes grid.png, depth.png and per-view PNGs."""
    from inversion3d import camera, files, viz
    from inversion3d.api import load_generator

    files.ensure_writable_dir(out_dir)
    start = time.time()
    gen = load_generator(None, kind=config.kind, init_kwargs=config.init_kwargs, seed=config.seed,
                         neural_rendering_resolution=config.neural_rendering_resolution,
                         ray_chunk=config.ray_chunk)
    intr = camera.intrinsics_matrix(config.focal)
    cond = camera.make_label(camera.lookat_pose(np.pi / 2, np.pi / 2, config.pivot, config.radius), intr)
    yaws = np.deg2rad(np.asarray(config.yaws_deg, np.float64))
    pitch = np.pi / 2 + np.deg2rad(config.pitch_deg)
    cams = camera.make_label(camera.lookat_pose(np.pi / 2 + yaws, np.full_like(yaws, pitch),
                                                config.pivot, config.radius), intr)
    image_rows, depth_rows = [], []
    for sample in range(config.num_samples):
        z = np.random.RandomState(sample).randn(1, gen.config.z_dim).astype(np.float32)
        ws = gen.mapping(z, cond, config.truncation_psi, config.truncation_cutoff)
        out = gen.synthesis(np.repeat(np.asarray(ws), len(yaws), axis=0), cams)
        images = viz.to_uint8(out["image"])
        depth = np.asarray(out["image_depth"])
        lo, hi = float(depth.min()), float(depth.max())
        image_rows.append(list(images))
        depth_rows.append([viz.colorize_depth(d, lo, hi) for d in depth])
        for v in range(len(yaws)):
            viz.save_png(os.path.join(out_dir, f"seed{sample:02d}_yaw{config.yaws_deg[v]:+.1f}.png"), images[v])
        print(f"[demo] sample {sample + 1}/{config.num_samples} rendered ({time.time() - start:.1f}s)", flush=True)
    size = gen.config.img_resolution
    grid = viz.save_png(os.path.join(out_dir, "grid.png"), viz.make_grid(image_rows, size))
    depth = viz.save_png(os.path.join(out_dir, "depth.png"), viz.make_grid(depth_rows, size))
    print(f"[demo] images: {grid}\n[demo] depth maps: {depth}\n[demo] per-view PNGs in {out_dir}")
    return grid, depth


CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")
DEFAULT_GENERATORS = {"default": "demo.py", "default-panohead": "demo_panohead.py"}


def open_generator(source, kind="auto", overrides=(), compute_dtype="float32"):
    """A generator from 'default' / 'default-panohead', a config .py (random weights from its
    init_kwargs), or a checkpoint path handed to `load_generator` (with `compute_dtype`)."""
    from inversion3d.api import load_generator

    if source in DEFAULT_GENERATORS:
        source = os.path.join(CONFIG_DIR, DEFAULT_GENERATORS[source])
    if str(source).endswith(".py"):
        config = load_config_file(source, overrides)
        return load_generator(None, kind=config.kind, init_kwargs=config.init_kwargs, seed=config.seed,
                              neural_rendering_resolution=config.neural_rendering_resolution,
                              ray_chunk=config.ray_chunk, compute_dtype=compute_dtype)
    if not os.path.exists(source):
        raise ValueError(f"CKPT: no such file or directory: {source}")
    kwargs = {} if kind == "auto" else {"kind": kind}
    return load_generator(source, compute_dtype=compute_dtype, **kwargs)


def run_render(args, overrides):
    from inversion3d.orbit_render import parse_seeds, render_orbit
    from inversion3d.files import ensure_writable_dir

    seeds = parse_seeds(args.seeds)
    ensure_writable_dir(args.out)  # fail before any loading or rendering
    gen = open_generator(args.ckpt, args.kind, overrides, compute_dtype=args.dtype)
    render_orbit(gen, seeds, args.out, truncation_psi=args.trunc, truncation_cutoff=args.trunc_cutoff,
                 orbit=args.orbit, frames=args.frames, batch=args.batch, video_format=args.format,
                 mesh=args.mesh, shape_resolution=args.shape_res, fps=args.fps, level=args.level)


def build_parser():
    parser = argparse.ArgumentParser(prog="inversion3d", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="render the embedded default generator at several yaws (PNG grid + depth)")
    demo.add_argument("--config", default="configs/demo.py", help="config file with get_config()")
    demo.add_argument("--out", default="out/demo", help="output directory")
    render = sub.add_parser("render", help="orbit videos, PNG grids, depth maps and meshes for latent seeds")
    render.add_argument("ckpt", help="checkpoint, a config .py, 'default' (tiny EG3D) or 'default-panohead'")
    render.add_argument("--kind", default="auto", choices=["auto", "eg3d", "panohead"])
    render.add_argument("--seeds", default="0", help="latent seeds, e.g. 0-3,7")
    render.add_argument("--trunc", type=float, default=0.7, help="truncation psi")
    render.add_argument("--trunc-cutoff", type=int, default=14, help="truncate the first ws")
    render.add_argument("--orbit", default="yaw", choices=["yaw", "360", "spiral"])
    render.add_argument("--frames", type=int, default=60)
    render.add_argument("--batch", type=int, default=4, help="frames rendered per compiled call")
    render.add_argument("--format", default="mp4", choices=["mp4", "gif"])
    render.add_argument("--fps", type=int, default=30)
    render.add_argument("--mesh", action="store_true", help="also export .ply/.obj/.mrc shapes")
    render.add_argument("--shape-res", type=int, default=128, help="density grid resolution for --mesh")
    render.add_argument("--level", type=float, default=None, help="iso-level of the raw density (default 10)")
    render.add_argument("--out", required=True, help="output directory")
    render.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"],
                        help="compute dtype; bfloat16 = mixed precision for TPU / GPU (README 'Mixed precision')")
    from converters.load import CONVERT_KINDS, NETWORKS  # light: no jax, no orbax

    convert = sub.add_parser("convert", help="official .pkl / .pth -> a directory load_generator reads "
                                             "(Orbax arrays + JSON); never runs code from the file")
    convert.add_argument("src", help="EG3D / PanoHead .pkl, or a PyTorch .pth / .pt")
    convert.add_argument("dst", help="output directory (must not exist)")
    convert.add_argument("--network", default="G_ema", choices=NETWORKS, help="network of a .pkl snapshot")
    convert.add_argument("--kind", default="auto", choices=CONVERT_KINDS, help="model family (auto: detect)")
    info = sub.add_parser("info", help="what a checkpoint holds (networks, kwargs, parameter count, dtype)")
    info.add_argument("file", help=".pkl, .pth / .pt, or a converted directory")
    inv = sub.add_parser("invert", help="photos -> 3D heads with a feed-forward encoder or by optimisation (W+, PTI): "
                                        "reconstruction, novel views, depth, latent / tri-planes npz")
    inv.add_argument("images", nargs="+", metavar="IMAGES", help="square face crops (PNG / JPEG ...)")
    inv.add_argument("--method", required=True, choices=["goae", "psp", "e4e", "triplanenet", "dual", "wplus", "pti"],
                     help="an encoder, or optimisation: wplus (the EG3D W+ projector, configs/wplus.py), pti "
                          "(W+ pivot + generator fine-tuning, configs/pti.py)")
    inv.add_argument("--encoder", default=None, help="encoder methods (required for them): encoder .pth / .pt or "
                                                     "converted directory (goae: the encoder; dual: E1, the "
                                                     "occluded-region encoder)")
    inv.add_argument("--afa", default=None, help="goae: the AFA .pth / .pt or converted directory")
    inv.add_argument("--encoder2", default=None, help="dual: E2, the visible-region encoder")
    inv.add_argument("--generator", required=True, help="checkpoint, config .py, 'default' or 'default-panohead'")
    inv.add_argument("--kind", default="auto", choices=["auto", "eg3d", "panohead"], help="generator kind")
    inv.add_argument("--camera", required=True, help="dataset.json with a label per image, 'frontal', or "
                                                     "'photo': raw photos, detected, aligned and given cameras "
                                                     "first (as `inversion3d preprocess`, into OUT/aligned)")
    inv.add_argument("--views", type=int, default=8, help="novel views per image (yaw sweep; 360 deg for PanoHead)")
    inv.add_argument("--batch", type=int, default=1, help="images per compiled call (pti: 1, one tuned generator "
                                                            "per image)")
    inv.add_argument("--steps", type=int, default=None, help="wplus / pti: optimisation steps (wplus: W+ steps; pti: "
                                                             "pivot steps and the most tuning steps); default: config")
    inv.add_argument("--pose-opt", action="store_true", help="wplus / pti: refine the camera jointly (axis-angle + "
                                                             "translation delta; the npz keeps camera_initial)")
    inv.add_argument("--lpips", default=None, help="wplus / pti: LPIPS weights, a folder with vgg.pth + vgg16*.pth "
                                                   "and/or alex.pth + alexnet*.pth, or one file with trunk and heads; "
                                                   "without it the loss is MSE only")
    inv.add_argument("--out", required=True, help="output directory")
    prep = sub.add_parser("preprocess", help="photos -> aligned EG3D / PanoHead crops + dataset.json cameras "
                                             "(offline MTCNN; lists every photo it could not use)")
    prep.add_argument("inputs", nargs="+", metavar="IMAGES_OR_DIR", help="photos and/or folders of photos")
    prep.add_argument("--style", default="eg3d", choices=["eg3d", "panohead"], help="crop and camera convention")
    prep.add_argument("--out", required=True, help="output directory (crops, dataset.json, preprocess_report.json)")
    prep.add_argument("--size", type=int, default=512, help="crop size in pixels (PanoHead: 563 keeps its raw crop)")
    prep.add_argument("--min-size", type=float, default=128, help="smallest face region in photo pixels "
                                                                  "(PanoHead's own limit is 256)")
    prep.add_argument("--require-single", action="store_true", help="skip photos with several faces "
                                                                    "(default: use the largest)")
    prep.add_argument("--camera", default="pnp", choices=["pnp", "frontal"],
                      help="estimate the camera from the landmarks, or use the frontal default")
    prep.add_argument("--weights", default=None, help="folder with MTCNN pnet.pt / rnet.pt / onet.pt "
                                                      "(default: the installed facenet-pytorch package)")
    from inversion3d.eval_cli import add_parser as add_eval_parser

    add_eval_parser(sub)
    return parser


def run_preprocess(args):
    """`inversion3d preprocess`: crops + dataset.json; prints every skipped photo with its reason."""
    from inversion3d.preprocess.pipeline import preprocess_photos

    if args.size < 16:
        raise ValueError(f"--size: expected >= 16, got {args.size}")
    summary = preprocess_photos(args.inputs, args.out, style=args.style, size=args.size, min_size=args.min_size,
                                require_single=args.require_single, camera_mode=args.camera,
                                weights_dir=args.weights)
    for item in summary["used"]:
        cam = item["camera"]
        print(f"[preprocess] {item['source']} -> {os.path.join(args.out, item['image'])}: yaw {cam['yaw']:+.1f} deg, "
              f"elevation {cam['elevation']:+.1f} deg" + (f" ({item['note']})" if item["note"] else ""))
    for item in summary["skipped"]:
        print(f"[preprocess] NOT USED {item['source']}: {item['reason']}")
    print(f"[preprocess] {len(summary['used'])} used, {len(summary['skipped'])} not used; "
          f"report: {os.path.join(args.out, 'preprocess_report.json')}")
    if not summary["used"]:
        raise ValueError("IMAGES_OR_DIR: no usable photo (reasons above); no dataset.json written")
    print(f"[preprocess] cameras: {summary['dataset_json']}")
    return summary


def run_convert(src, dst, network="G_ema", kind="auto"):
    """Converts one official file (converters/convert.py) and prints a one-line summary."""
    from converters.convert import convert

    summary = convert(src, dst, network=network, kind=kind)
    print(f"[convert] {src} -> {summary['dst']}: kind {summary['kind']}, network {summary['network']}, "
          f"layout {summary['layout']}, {summary['num_arrays']} arrays, {summary['num_elements']:,} values, "
          f"{summary['seconds']:.1f}s")
    return summary


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    overrides = [a for a in argv if a.startswith("--config.")]
    args = build_parser().parse_args([a for a in argv if not a.startswith("--config.")])
    try:
        if args.command == "demo":
            run_demo(load_config_file(args.config, overrides), args.out)
        elif args.command == "render":
            run_render(args, overrides)
        elif args.command == "convert":
            run_convert(args.src, args.dst, args.network, args.kind)
        elif args.command == "preprocess":
            run_preprocess(args)
        elif args.command == "eval":
            from inversion3d.eval_cli import run_eval

            run_eval(args)
        elif args.command == "invert":
            from inversion3d.invert_images import run_invert

            run_invert(args, overrides)
        elif args.command == "info":
            from converters.convert import info

            print("\n".join(info(args.file)))
    except ValueError as err:
        print(f"inversion3d: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
