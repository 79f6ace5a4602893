"""GOAE benchmark with random weights: the Swin-V2 encoder, AFA, and the full inversion.

  .venv/bin/python experiments/benchmarks/bench_encoders.py [--size real|tiny] [--parts encoder,afa,goae]
      [--batch 1] [--iters 2] [--config configs/eg3d_ffhq512.py] [--json PATH]

Parts (encoders.md §1): `encoder` = GOAEncoder (swinv2.yaml, 111 M parameters) on (B, 256, 256, 3);
`afa` = AFA on img / rec_img (B, 512, 512, 3) and F (B, 32, 32, 512); `goae` = the whole
inversion (inversion3d/methods/goae/pipeline.py: encoder, backbone split at b32, render 1 + SR, AFA,
render 2, visibility mix, final render) on the ffhq512-128 EG3D generator. --size tiny: the test-size
Swin (64² input), a 32-wide AFA and the tiny configs/tiny_eg3d.py generator (for `run_all.py --quick`).
For each: AOT lower and compile times (compile separated from running), the first call after
compiling, steady-state min / median over --iters (block_until_ready), XLA cost-analysis FLOPs and
achieved GFLOP/s (median), as a fraction of a dense fp32 matmul measured in the same process, and
peak RSS; one summary row per part under report['rows'] (_common.workload_row). The chunked
renderer is a `lax.map`, whose body XLA counts once, so the FLOPs of `goae`
come from the same program lowered with ray_chunk=None (lowered only, never run).
Nothing is asserted; these are measurements.
"""
import argparse
import dataclasses
import functools
import os
import sys
import time

import _common as C

PARTS = ("encoder", "afa", "goae")


def random_tree(shapes, seed):
    """numpy draws shaped like `shapes` (ShapeDtypeStructs): running_var 1 + |0.2 u|, the rest 0.05 u."""
    import jax
    import numpy as np

    rng = np.random.default_rng(seed)

    def draw(path, leaf):
        u = rng.standard_normal(leaf.shape, dtype=np.float32)
        return 1.0 + 0.2 * np.abs(u) if getattr(path[-1], "key", "") == "running_var" else 0.05 * u

    return jax.tree_util.tree_map_with_path(draw, shapes)


SIZES = ("tiny", "real")
# tiny: the test-size Swin (tests/encoders/test_goae.py) and an AFA as wide as the tiny generator's b32
TINY_SWIN = dict(img_size=64, patch_size=4, embed_dim=16, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4),
                 window_size=4, pretrained_window_sizes=(3, 3, 3, 2))
TINY_CONFIG = "configs/tiny_eg3d.py"


def encoder_configs(size):
    """{'goae': ..., 'afa': ...} constructor configs (inversion3d/networks.py) at `size` ('tiny' | 'real')."""
    from inversion3d.encoders.swin_v2 import SwinConfig

    if size == "tiny":
        return {"goae": dict(swin=SwinConfig(**TINY_SWIN)._asdict(), w_dim=512, dim_feedforward=64),
                "afa": dict(feature_dim=32, dim_feedforward=64)}
    return {"goae": dict(swin=SwinConfig()._asdict(), w_dim=512, dim_feedforward=1024),
            "afa": dict(feature_dim=512, dim_feedforward=1024)}


def goae_networks(seed, size="real"):
    """GOAE encoder and AFA as `Encoder`s with random weights (-> (encoder, afa, parameter counts))."""
    import jax

    from inversion3d.encoders_api import Encoder
    from inversion3d.networks import template

    configs = encoder_configs(size)
    out, counts = [], {}
    for i, (name, cfg) in enumerate(configs.items()):
        module, shapes = template(name, cfg)
        variables = random_tree(shapes, seed + i)
        counts[name] = sum(int(x.size) for x in jax.tree.leaves(variables))
        out.append(Encoder("goae", "random", {name: cfg}, {name: module}, {name: variables}))
    return out[0], out[1], counts


def run(args):
    jax = C.configure_jax(args.compilation_cache)
    import jax.numpy as jnp
    import numpy as np

    parts = [p for p in args.parts.split(",") if p]
    if not parts or any(p not in PARTS for p in parts):
        raise ValueError(f"--parts: expected a comma list of {PARTS}, got {args.parts!r}")
    report = {"benchmark": "encoders", "env": C.environment(),
              "settings": {"parts": parts, "size": args.size, "batch": args.batch, "iters": args.iters}}
    print(f"GOAE benchmark: parts {parts}, batch {args.batch}, iters {args.iters}, backend "
          f"{jax.default_backend()} ({report['env']['cpu_count']} CPUs)", flush=True)
    peak = None
    if not args.no_matmul:
        report["matmul"] = C.matmul_peak()
        peak = report["matmul"]["gflops_per_s"]
        print(f"matmul {report['matmul']['n']}^2 fp32: {peak:.1f} GFLOP/s", flush=True)
    t0 = time.perf_counter()
    enc, afa, counts = goae_networks(args.seed, args.size)
    report["parameters"] = counts
    print(f"random weights ({args.size}): encoder {counts['goae'] / 1e6:.2f} M, AFA {counts['afa'] / 1e6:.2f} M "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)
    config = args.config or (TINY_CONFIG if args.size == "tiny" else "configs/eg3d_ffhq512.py")
    report["settings"]["config"] = config
    from inversion3d.app.loading import load_config

    out_res = int(load_config(config).init_kwargs["img_resolution"])  # the generator's image size
    enc_res = enc.modules["goae"].swin.img_size
    feat_ch, feat_res = encoder_configs(args.size)["afa"]["feature_dim"], 32  # F: the backbone after b32
    rng = np.random.default_rng(args.seed)
    b = args.batch
    image = jnp.asarray(rng.uniform(-1, 1, (b, out_res, out_res, 3)), jnp.float32)
    results, rows = {}, []
    tag = f"{args.size}, batch {b}"
    if "encoder" in parts:
        module = enc.modules["goae"]
        x = jnp.asarray(rng.uniform(-1, 1, (b, enc_res, enc_res, 3)), jnp.float32)
        results["encoder"] = C.measure_jit(f"GOAE encoder (B,{enc_res},{enc_res},3)",
                                           lambda v, x: module.apply(v, x)[0], (enc.variables["goae"], x),
                                           args.iters, peak)
        rows.append(C.row_from_measure("GOAE encoder", f"{tag}, {enc_res}² in, {counts['goae'] / 1e6:.1f} M params",
                                       results["encoder"], peak))
    if "afa" in parts:
        module = afa.modules["afa"]
        rec = jnp.asarray(rng.uniform(-1, 1, image.shape), jnp.float32)
        feat = jnp.asarray(rng.standard_normal((b, feat_res, feat_res, feat_ch)), jnp.float32)
        results["afa"] = C.measure_jit(f"AFA ({out_res}² images, F {feat_res}²x{feat_ch})",
                                       lambda v, i, r, f: module.apply(v, i, r, f)[0],
                                       (afa.variables["afa"], image, rec, feat), args.iters, peak)
        rows.append(C.row_from_measure("AFA", f"{tag}, {out_res}² images, F {feat_res}²×{feat_ch}",
                                       results["afa"], peak))
    if "goae" in parts:
        results["goae"] = bench_inversion(args, config, enc, afa, image, peak)
        g = results["goae"]["generator"]
        rows.append(C.row_from_measure("GOAE inversion (full)", f"{tag}, {os.path.basename(config)} neural "
                                       f"{g['neural_rendering_resolution']}, chunk {g['ray_chunk']}",
                                       results["goae"], peak, note="FLOPs: unchunked lowering"))
    report["rows"] = rows
    if peak:
        C.refresh_peak(report)
    report["results"] = results
    report["peak_rss_mib"] = C.peak_rss_mib()
    report["loadavg_end"] = C.loadavg()
    print()
    print(markdown(report))
    C.write_json(args.json, report)
    return report


def bench_inversion(args, config_path, enc, afa, image, peak):
    import jax

    from inversion3d import camera
    from inversion3d.api import load_generator
    from inversion3d.app.loading import load_config
    from inversion3d.methods.goae import pipeline as goae
    from inversion3d.methods.registry import make_inverter

    config = load_config(config_path)
    t0 = time.perf_counter()
    gen = load_generator(None, kind="eg3d", init_kwargs=config.init_kwargs, seed=args.seed,
                         neural_rendering_resolution=config.neural_rendering_resolution, ray_chunk=config.ray_chunk)
    C.block(gen.params)
    print(f"  generator random init: {time.perf_counter() - t0:.1f} s", flush=True)
    inv = make_inverter("goae", gen, [enc, afa])
    c = jax.numpy.repeat(camera.frontal_label("eg3d")[None], image.shape[0], axis=0)
    cfg = gen.config
    full = dataclasses.replace(cfg, render=dataclasses.replace(cfg.render, ray_chunk=None))
    unchunked = functools.partial(goae.invert, full, enc.modules["goae"], afa.modules["afa"])
    flops_stage = lambda: jax.jit(unchunked).lower(inv.params, image, c)  # noqa: E731
    fn = functools.partial(goae.invert, cfg, enc.modules["goae"], afa.modules["afa"])
    res = C.measure_jit(f"full GOAE inversion (EG3D {cfg.img_resolution}, neural {cfg.neural_rendering_resolution}, "
                  f"ray_chunk {cfg.render.ray_chunk})", fn, (inv.params, image, c), args.iters, peak, flops_stage)
    res["generator"] = {"config": config_path, "neural_rendering_resolution": cfg.neural_rendering_resolution,
                        "ray_chunk": cfg.render.ray_chunk}
    return res


HEADERS = ["part", "lower (s)", "compile (s)", "first call (s)", "steady min (s)", "steady median (s)",
           "GFLOP / call", "GFLOP/s", "of matmul peak", "peak RSS so far (MiB)"]


def markdown(report):
    mm = report.get("matmul")
    env, s = report["env"], report["settings"]
    lines = [f"Backend {env['backend']}, {env['cpu_count']} CPUs ({env['processor']}), jax {env['jax']}; "
             f"{s.get('size', 'real')} sizes, batch {s['batch']}, {s['iters']} steady iters; random weights (encoder "
             f"{report['parameters']['goae'] / 1e6:.1f} M, AFA {report['parameters']['afa'] / 1e6:.1f} M parameters)."]
    if mm:
        lines.append(f"Dense matmul peak ({mm['n']}² fp32, same process): **{mm['gflops_per_s']:.1f} GFLOP/s**.")
    rows = []
    for name, r in report["results"].items():
        rows.append([name] + C.measure_cells(r, mm and mm["gflops_per_s"]))
    lines += ["", C.md_table(HEADERS, rows), "",
              "GFLOP / call: XLA cost analysis (the full inversion: lowered without ray chunking, since XLA counts "
              "the chunk loop body once). GFLOP/s uses the median steady time."]
    return "\n".join(lines)


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default="encoder,afa,goae", help=f"comma list of {PARTS}")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--iters", type=int, default=2, help="steady-state calls per part")
    p.add_argument("--size", choices=SIZES, default="real",
                   help="real: swinv2.yaml encoder, 512-wide AFA, ffhq512-128 generator; tiny: test-size networks "
                        "and configs/tiny_eg3d.py")
    p.add_argument("--config", default=None, help="generator config for the full inversion (default: by --size)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-matmul", action="store_true", help="skip the matmul peak measurement")
    return C.add_run_flags(p)


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.batch < 1 or args.iters < 1:
        print("bench_encoders: error: --batch / --iters: expected >= 1", file=sys.stderr)
        return 2
    return C.run_cli("bench_encoders", run, args)


if __name__ == "__main__":
    sys.exit(main())
