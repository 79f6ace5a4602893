"""The `inversion3d` command (also `python -m inversion3d`).

  inversion3d demo --config configs/demo.py --out out/demo [--config.seed=3 ...]
  inversion3d render CKPT --seeds 0-3 --trunc 0.7 --orbit yaw|360|spiral --frames 60 --out DIR [--mesh]
  inversion3d convert SRC DST [--network G_ema|G|D] [--kind auto|eg3d|panohead|goae|psp|...]
  inversion3d info FILE
  inversion3d invert IMAGES... --method goae|psp|e4e|triplanenet|dual|e3dge --encoder CKPT --generator CKPT
                     --camera dataset.json|frontal --out DIR [--views N] [--afa CKPT] [--encoder2 CKPT]
  inversion3d invert IMAGES... --method wplus|pti --generator CKPT --camera dataset.json|frontal --out DIR
                     [--steps N] [--pose-opt] [--lpips DIR_OR_FILE] [--config.tune.lr=1e-4 ...]
  inversion3d invert DATASET --split test --method M ... --out DIR   (held-out views, timing, pairs.json)
  inversion3d invert tfds:NAME[/CONFIG]:SPLIT [--data-dir DIR] --method M ... --out DIR   (a prepared tfds split)
  inversion3d preprocess IMAGES_OR_DIR... --style eg3d|panohead --out DIR [--require-single]
  inversion3d eval --data DIR --out DIR [--method NAME ...]
  inversion3d eval --benchmark synthetic-multiview RUN_DIR_OR_PAIRS... --out DIR [--lpips-... --arcface ...]
  inversion3d edit --latent RESULT.npz --direction age.npy --strength -3:3:7 --out DIR [--layers 4-13]
  inversion3d edit --latent RESULT.npz --reference OTHER.npz --region hair --out DIR
  inversion3d train-direction --latents DIR --labels scores.csv --out age.npy
  inversion3d train-direction --classifier CKPT --attribute NAME --out age.npy
  inversion3d train-classifier --config configs/attribute_classifier.py --config.data.folder=DATA --out DIR
  inversion3d synth-data --config configs/synthetic_heads.py --config.split=train --config.num_scenes=N --out DIR
  inversion3d export WORKDIR --out DIR   (a training run's encoders, or a GAN run's G_ema generator)
  inversion3d depth-avg --config configs/goae_stage1.py|--generator CKPT --out depth_avg.json [--config.KEY=VALUE]

This module only parses the arguments and dispatches to one module per command (inversion3d/app/);
config values are overridden with ml_collections' syntax, `--config.KEY=VALUE` (app/loading.py).
Every error is one line on stderr, `inversion3d: error: ...`, with the exit codes of EPILOG; `--debug`
(anywhere on the line) shows the traceback instead.
"""
import argparse
import importlib
import os
import shutil
import sys

# command -> (module of inversion3d.app with its run function, flags whose `--FLAG.KEY=VALUE` it takes)
COMMANDS = {
    "demo": ("demo", "run", ("config",)),
    "render": ("render", "run", ("config",)),
    "convert": ("convert", "run", ()),
    "info": ("convert", "run_info", ()),
    "invert": ("invert", "run", ("config", "generator")),
    "preprocess": ("preprocess", "run", ()),
    "eval": ("benchmark", "run", ("config",)),  # --benchmark there, else app/eval.py
    "edit": ("edit", "run", ("config", "generator")),
    "train-direction": ("train_direction", "run", ("config", "generator")),
    "train-classifier": ("train_classifier", "run", ("config",)),
    "synth-data": ("synth_data", "run", ("config",)),
    "export": ("export", "run", ()),
    "depth-avg": ("depth_avg", "run", ("config",)),
}
OVERRIDE_FLAGS = ("config", "generator")
DASH_VALUE_FLAGS = ("--strength", "--density-threshold")  # values may start with "-" (-3:3:7, -1e9): argparse reads a flag
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EPILOG = """exit codes: 0 done; 2 bad input or usage (a missing / unreadable / unsafe file, a value out of
range, an unknown flag or config key; checked before any model loads); 1 a failure while running
(out of memory, a full disk, a bug); 130 interrupted (Ctrl-C). Errors are one line on stderr; add
--debug anywhere to see the traceback. Outputs are written atomically; render / invert / preprocess
refuse to replace earlier outputs unless --resume (skip finished items) or --overwrite (replace them)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2) and the exit codes in every --help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("epilog", EPILOG)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _add_rerun_flags(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="skip items whose outputs are already complete in --out")
    group.add_argument("--overwrite", action="store_true", help="replace earlier outputs in --out")


def _add_max_pixels(parser):
    from inversion3d.images import DEFAULT_MAX_PIXELS

    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help=f"refuse images declaring more pixels (checked from the header before decoding; "
                             f"default {DEFAULT_MAX_PIXELS:,})")


def _add_demo(sub):
    demo = sub.add_parser("demo", help="the main job end to end: invert packaged test scenes and a photo, novel views beside "
                                           "the ground truth, depth, videos, a mesh, an edit, metrics -> OUT/index.html")
    demo.add_argument("--config", default=None, help="config file with get_config() (default: configs/demo.py)")
    demo.add_argument("--out", default="out/demo", help="output directory")


def _add_render(sub):
    render = sub.add_parser("render", help="orbit videos, PNG grids, depth maps and meshes for latent seeds")
    render.add_argument("ckpt", help="checkpoint, a config .py, 'default' (the tiny EG3D trained by this "
                                              "project, shipped in the package) or 'default-panohead' (tiny PanoHead, "
                                              "random weights: no trained PanoHead ships)")
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
    _add_rerun_flags(render)


def _add_convert_and_info(sub):
    from converters.load import CONVERT_KINDS, NETWORKS  # light: no jax, no orbax

    convert = sub.add_parser("convert", help="official .pkl / .pth -> a directory load_generator reads "
                                             "(Orbax arrays + JSON); never runs code from the file")
    convert.add_argument("src", help="EG3D / PanoHead .pkl, or a PyTorch .pth / .pt")
    convert.add_argument("dst", help="output directory (must not exist)")
    convert.add_argument("--network", default="G_ema", choices=NETWORKS, help="network of a .pkl snapshot")
    convert.add_argument("--kind", default="auto", choices=CONVERT_KINDS, help="model family (auto: detect)")
    convert.add_argument("--role", default=None, choices=["e1", "visible", "e2", "occluded"],
                         help="Dual Encoder file (kind triplanenet): its role, either name (e1 = visible, "
                              "e2 = occluded); invert --method dual then checks E1 is --encoder, E2 --encoder2")
    convert.add_argument("--input-size", type=int, default=None, help="kind classifier: input side in pixels")
    convert.add_argument("--mean", default=None, help="kind classifier: normalisation mean, 'r,g,b' on [0, 1]")
    convert.add_argument("--std", default=None, help="kind classifier: normalisation std, 'r,g,b'")
    convert.add_argument("--attributes", default=None, help="kind classifier: logit names 'a,b,...' (default 0,1,..)")
    info = sub.add_parser("info", help="what a checkpoint holds (networks, kwargs, parameter count, dtype)")
    info.add_argument("file", help=".pkl, .pth / .pt, or a converted directory")


def _add_invert(sub):
    inv = sub.add_parser("invert", help="photos -> 3D heads with a feed-forward encoder or by optimisation (W+, PTI): "
                                        "reconstruction, novel views, depth, latent / tri-planes npz")
    inv.add_argument("images", nargs="+", metavar="IMAGES", help="square face crops (PNG / JPEG ...), a folder of "
                                                                 "them, a dataset folder (dataset.json; its "
                                                                 "cameras; writes pairs.json for eval) or a "
                                                                 "prepared tfds split tfds:NAME[/CONFIG]:SPLIT")
    inv.add_argument("--split", default=None, help="a dataset's split (its SPLIT.txt / SPLIT_input.txt lists; "
                                                   "e.g. the synthetic 'test' with held-out views)")
    inv.add_argument("--limit", type=int, default=None, help="a folder / dataset input: only its first N images "
                                                             "(in the split list's order), e.g. a quick benchmark")
    inv.add_argument("--data-dir", default=None, help="IMAGES tfds:NAME[/CONFIG]:SPLIT (a prepared tfds split, e.g. "
                                                      "tfds:aligned_folder/synth_test_r64_..._views_DIGEST:test): "
                                                      "where it is prepared (default $TFDS_DATA_DIR or "
                                                      "~/tensorflow_datasets); exported to OUT/dataset, then run "
                                                      "as a dataset folder")
    inv.add_argument("--method", required=True, choices=["goae", "goae-noafa", "psp", "e4e", "triplanenet", "dual", "e3dge",
                                                         "wplus", "pti", "innout"],
                     help="an encoder, or optimisation: wplus (the EG3D W+ projector, configs/wplus.py), pti "
                          "(W+ pivot + generator fine-tuning, configs/pti.py), innout (In-N-Out on one image or "
                          "clip .mp4, configs/innout.py)")
    inv.add_argument("--encoder", default=None, help="encoder methods: encoder .pth / .pt or converted directory "
                                                     "(goae: the encoder; dual: E1, the visible-region encoder); "
                                                     "default: the package's inversion3d/assets/encoders/METHOD "
                                                     "(with --generator default) when shipped")
    inv.add_argument("--afa", default=None, help="goae: the AFA .pth / .pt or converted directory")
    inv.add_argument("--encoder2", default=None, help="dual: E2, the occluded-region encoder (trained with the "
                                                      "occlusion-aware tri-plane discriminator); not with a Dual "
                                                      "training workdir as --encoder (it holds E1 and E2)")
    inv.add_argument("--generator", default=None, help="checkpoint, config .py, 'default' (the trained tiny EG3D) or "
                                                       "'default-panohead' (random weights) (a config's values: --generator.KEY=VALUE); required "
                                                       "unless --encoder is a training workdir (its run's)")
    inv.add_argument("--kind", default="auto", choices=["auto", "eg3d", "panohead"], help="generator kind")
    inv.add_argument("--camera", default=None, help="dataset.json with a label per image, 'frontal', or "
                                                     "'photo': raw photos, detected, aligned and given cameras "
                                                     "first (as `inversion3d preprocess`, into OUT/aligned); "
                                                     "required unless IMAGES is a dataset folder")
    inv.add_argument("--views", type=int, default=8, help="novel views per image (yaw sweep; 360 deg for PanoHead)")
    inv.add_argument("--batch", type=int, default=1, help="images per compiled call (pti: 1, one tuned generator "
                                                            "per image)")
    inv.add_argument("--config", default=None, help="wplus / pti: the method's config file (default: configs/wplus.py "
                                                    "or configs/pti.py); its values: --config.KEY=VALUE, e.g. "
                                                    "--config.tune.lr=1e-4")
    inv.add_argument("--steps", type=int, default=None, help="wplus / pti: optimisation steps (wplus: W+ steps; pti: "
                                                             "pivot steps and the most tuning steps); default: config")
    inv.add_argument("--pose-opt", action="store_true", help="wplus / pti: refine the camera jointly (axis-angle + "
                                                             "translation delta; the npz keeps camera_initial)")
    inv.add_argument("--lpips", default=None, help="wplus / pti: LPIPS weights, a folder with vgg.pth + vgg16*.pth "
                                                   "and/or alex.pth + alexnet*.pth, or one file with trunk and heads; "
                                                   "without it the loss is MSE only")
    inv.add_argument("--masks", default=None, help="innout: a folder of per-frame PNG masks (white = face, black = "
                                                   "the OOD object) or one PNG")
    inv.add_argument("--depth", default=None, help="innout: a (T, H, W) .npy of monocular depth per frame")
    inv.add_argument("--edit-direction", default=None, help="innout: a W direction .npy; also writes edited.mp4 "
                                                            "(the in-distribution part edited, the OOD part kept)")
    inv.add_argument("--edit-strength", type=float, default=None, help="innout: strength of --edit-direction "
                                                                       "(default: config inference.edit_strength)")
    inv.add_argument("--out", required=True, help="output directory")
    _add_rerun_flags(inv)
    _add_max_pixels(inv)


def _add_preprocess(sub):
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
    _add_rerun_flags(prep)
    _add_max_pixels(prep)


def _add_export(sub):
    ex = sub.add_parser("export", help="a training workdir's latest encoder(s) -> a directory `invert --encoder` "
                                       "reads (the `convert` layout); a GAN run's G_ema -> a generator "
                                       "directory (`render DIR`, `--generator DIR`)")
    ex.add_argument("workdir", help="a training run's workdir (experiments/train.py --workdir)")
    ex.add_argument("--out", required=True, help="new output directory")
    ex.add_argument("--storage", choices=("float32", "bfloat16"), default="float32",  # converters.orbax_io.STORAGE
                    help="dtype of the stored float parameters (bfloat16: half the size, for shipping; "
                         "loading casts them back to float32)")


def _add_eval(sub):
    ev = sub.add_parser("eval", help="pairs.json of targets / results -> GOAE / Dual Encoder tables "
                                     "(CSV, Markdown, HTML with grids, JSON)")
    ev.add_argument("runs", nargs="*", metavar="RUN", help="--benchmark: `invert DATASET` output folders (or their "
                                                           "pairs.json), one per method")
    ev.add_argument("--benchmark", default=None, choices=["synthetic-multiview"],
                    help="one table over RUNs: input / held-out views by yaw bin, depth error, time per image")
    ev.add_argument("--config", default=None, help="--benchmark: its config (default configs/benchmark.py; "
                                                   "--config.KEY=VALUE)")
    ev.add_argument("--data", default=None, help="folder with pairs.json and the PNGs it names (without --benchmark)")
    ev.add_argument("--out", required=True, help="output directory for report.{csv,md,html,json}")
    ev.add_argument("--method", nargs="+", default=None, help="evaluate only these methods (default: all)")
    ev.add_argument("--lpips-backbone", default=None, help="torchvision AlexNet / VGG16 state dict .pth")
    ev.add_argument("--lpips-heads", default=None, help="official LPIPS v0.1 linear heads .pth")
    ev.add_argument("--lpips-net", default="alex", choices=["alex", "vgg"])
    ev.add_argument("--arcface", default=None, help="ArcFace IR-SE50 model_ir_se50.pth or converted directory")
    ev.add_argument("--inception", default=None, help="FID Inception-v3 weights (.pth state dict, torchvision layout)")
    ev.add_argument("--classifier", default=None, help="attribute classifier directory: the editability table's "
                                                       "attribute change (convert --kind classifier, train-classifier)")
    ev.add_argument("--attribute", default=None, help="with --classifier: the logit scored (default: the edit's name)")
    _add_max_pixels(ev)


def _add_edit(sub):
    ed = sub.add_parser("edit", help="edit an `invert` result along a W direction or with a region of another "
                                     "result: strips over strength x yaw, orbit video, depth, mesh")
    ed.add_argument("--latent", required=True, help="STEM.npz written by `inversion3d invert` (any method; "
                                                    "In-N-Out: its OUT/latents.npz)")
    ed.add_argument("--direction", default=None, help="direction .npy (released layouts, or train-direction's)")
    ed.add_argument("--strength", default=None, help="LOW:HIGH:COUNT, a number or a comma list (default: config)")
    ed.add_argument("--layers", default=None, help="ws rows the direction edits, e.g. 4-13 (default: all)")
    ed.add_argument("--reference", default=None, help="another result's npz: copy its --region into --latent")
    ed.add_argument("--region", default=None, help="hair|face|lower (configs/editing.py), box:x0,x1,y0,y1,z0,z1 "
                                                   "(cube units in [-1, 1]) or paint:MASK.png (frontal, white = in)")
    ed.add_argument("--density-threshold", type=float, default=None,
                    help="keep only region points where the reference's raw density exceeds this (e.g. 10)")
    ed.add_argument("--generator", default=None, help="override the generator the npz names (checkpoint, config "
                                                      ".py, 'default'; --generator.KEY=VALUE)")
    ed.add_argument("--config", default=None, help="editing config (default configs/editing.py; --config.KEY=VALUE)")
    ed.add_argument("--frames", type=int, default=None, help="orbit video frames (default: config)")
    ed.add_argument("--out", required=True, help="output directory")
    td = sub.add_parser("train-direction", help="InterFaceGAN-style W direction from scored latents -> .npy")
    td.add_argument("--latents", default=None, help="folder of `invert` npz files (ws) or .npy latents")
    td.add_argument("--labels", default=None, help="CSV: latent file name, score (header optional)")
    td.add_argument("--classifier", default=None, help="instead of --latents/--labels: a converted attribute "
                                                       "classifier scoring generator samples (InterFaceGAN)")
    td.add_argument("--attribute", default=None, help="with --classifier: attribute name or 0-based logit index; "
                                                      "a comma list scores one sample set for all (--out DIR)")
    td.add_argument("--generator", default=None, help="with --classifier: the generator sampled (default 'default')")
    td.add_argument("--out", required=True, help="output .npy, (1, num_ws, w_dim) as the released files")
    td.add_argument("--layers", default="", help="ws rows the saved direction fills (default: all)")
    td.add_argument("--config", default=None, help="editing config (default configs/editing.py; --config.KEY=VALUE)")
    tc = sub.add_parser("train-classifier", help="the small attribute classifier of the synthetic heads -> a directory")
    tc.add_argument("--config", default=None, help="default configs/attribute_classifier.py (--config.KEY=VALUE)")
    tc.add_argument("--out", required=True, help="output classifier directory (must not exist)")


def _add_synth_data(sub):
    synth = sub.add_parser("synth-data", help="render a split of the procedural head dataset (images, cameras; "
                                              "depth and masks for test splits) into an aligned folder")
    synth.add_argument("--config", default=None, help="config file (default: configs/synthetic_heads.py); its "
                                                      "values: --config.split=test --config.num_scenes=200 ...")
    synth.add_argument("--out", required=True, help="dataset root (splits add to it; reruns resume)")


def _add_depth_avg(sub):
    dav = sub.add_parser("depth-avg", help="GOAE's D_avg: mean background depth of canonical generator samples "
                                           "-> the JSON losses.bg_depth_file reads")
    src = dav.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", default=None, help="a GOAE training config (its generator section); its values: "
                                                    "--config.KEY=VALUE, e.g. --config.generator.checkpoint=PKL")
    src.add_argument("--generator", default=None, help="a generator checkpoint (official .pkl / .pth or a converted "
                                                       "directory)")
    dav.add_argument("--out", required=True, help="JSON file to write (config.losses.bg_depth_file)")
    dav.add_argument("--num", type=int, default=1000, help="canonical samples (the paper: 100000)")
    dav.add_argument("--batch", type=int, default=8, help="samples per compiled call")
    dav.add_argument("--threshold", type=float, default=0.5, help="accumulated opacity below this = background")
    dav.add_argument("--truncation-psi", type=float, default=1.0)
    dav.add_argument("--seed", type=int, default=0)
    dav.add_argument("--face-parsing", default="", help="a face-parsing network (none in this project: refused)")


def build_parser():
    parser = _Parser(prog="inversion3d", description=__doc__.split("\n\n")[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks (also accepted after the command)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (_add_demo, _add_render, _add_convert_and_info, _add_invert, _add_preprocess, _add_eval,
                _add_edit, _add_synth_data, _add_export, _add_depth_avg):
        add(sub)
    return parser


def _is_override(arg):
    return any(arg.startswith((f"--{flag}.", f"--no{flag}.")) for flag in OVERRIDE_FLAGS)


def _join_dash_values(argv):
    """`--strength -3:3:7` -> `--strength=-3:3:7` (argparse would read '-3:3:7' as an unknown flag)."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in DASH_VALUE_FLAGS and i + 1 < len(argv):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def _one_line(err):
    return " ".join(str(err).split()) or type(err).__name__


def _new_dirs(args):
    """Output folders that do not exist yet: removed again when the run fails before writing into them."""
    paths = [getattr(args, name, None) for name in ("out", "dst")]
    return [os.path.abspath(p) for p in paths if isinstance(p, str) and not os.path.lexists(p)]


def _remove_if_empty(paths):
    for path in paths:
        if os.path.isdir(path) and not any(files for _, _, files in os.walk(path)):
            shutil.rmtree(path, ignore_errors=True)


def main(argv=None):
    """Runs one command; returns its exit code (EPILOG)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = _join_dash_values(argv)
    overrides = [a for a in argv if _is_override(a)]
    try:
        args = build_parser().parse_args([a for a in argv if not _is_override(a) and a != "--debug"])
    except SystemExit as exit_:  # usage errors (one line, _Parser.error) and --help
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    module, function, accepted = COMMANDS[args.command]
    created = _new_dirs(args)
    try:
        for arg in overrides:
            flag = arg.split(".", 1)[0].lstrip("-")
            if flag.removeprefix("no") not in accepted:
                raise ValueError(f"{arg.split('=', 1)[0]}: `{args.command}` takes no --{flag.removeprefix('no')}.KEY "
                                 f"overrides")
        run = getattr(importlib.import_module(f"inversion3d.app.{module}"), function)
        run(args, overrides)
    except BaseException as err:
        _remove_if_empty(created)
        if debug or isinstance(err, SystemExit):
            raise
        if isinstance(err, KeyboardInterrupt):
            print("inversion3d: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        if isinstance(err, ValueError):
            print(f"inversion3d: error: {_one_line(err)}", file=sys.stderr)
            return EXIT_USAGE
        print(f"inversion3d: error: {type(err).__name__}: {_one_line(err)} (a failure while running; "
              f"rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
