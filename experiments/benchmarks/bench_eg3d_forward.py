"""EG3D forward benchmark: mapping + synthesis of the real-size generator with random weights.

  .venv/bin/python experiments/benchmarks/bench_eg3d_forward.py --config configs/eg3d_ffhq512.py \
      [--batch 1[,4]] [--iters 3] [--ray-chunk N|none] [--dtype float32|bfloat16] [--profile DIR] [--json PATH]

Reports, per batch size: compile time (first call including compile; separately the AOT
`lower()` and `compile()` times of the same synthesis program), steady-state time per forward
(min / median over --iters, block_until_ready), peak RSS, XLA cost-analysis FLOPs, achieved
GFLOP/s and its fraction of a dense fp32 matmul measured in the same process (best of a measurement
before and after). One summary row per batch size under report['rows'] (_common.workload_row).
Works for PanoHead too (--config configs/panohead_khair.py). --profile DIR traces one steady forward
and writes DIR/summary.txt: the top XLA ops by self time and a backbone / renderer / SR split.
--dtype bfloat16 [--low-precision-blocks official|all] forwards to load_generator(compute_dtype=...).

FLOPs note: XLA's HloCostAnalysis counts the body of a while loop once, and the chunked renderer
is a `lax.map` (a while loop over ray chunks). So the compiled program's `flops` undercounts the
renderer by the number of chunks; `flops_full` (used for GFLOP/s) is the cost analysis of the
same forward lowered with ray_chunk=None and non-fused modconv (lowered only, never compiled or
run): XLA's cost analysis counts the fused path's grouped convolution once, not once per sample.

Nothing is asserted; these are measurements. On a 2-core CPU one ffhq512-128 forward takes tens
of seconds, so keep --iters small.
"""
import argparse
import dataclasses
import functools
import math
import os
import sys
import time

import _common as C


def parse_chunk(text):
    if text is None or text == "config":
        return "config"
    if text.lower() in ("none", "0", "full"):
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("--ray-chunk: expected a positive int or 'none'")
    return value


def parse_batches(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--batch: expected e.g. '1' or '1,4', got {text!r}")
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"--batch: expected positive ints, got {text!r}")
    return values


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="configs/eg3d_ffhq512.py", help="config file with get_config()")
    p.add_argument("--batch", type=parse_batches, default=[1], help="batch size(s), comma separated (e.g. 1,4)")
    p.add_argument("--iters", type=int, default=3, help="steady-state forwards per batch size")
    p.add_argument("--ray-chunk", type=parse_chunk, default="config",
                   help="rays per renderer chunk; 'none' = unchunked; default: the config's ray_chunk")
    p.add_argument("--neural-res", type=int, default=None,
                   help="neural rendering resolution override (default: the config's)")
    p.add_argument("--no-fused-modconv", action="store_true",
                   help="load_generator(fused_modconv=False): shared-kernel convs instead of grouped convs")
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                   help="load_generator(compute_dtype=...): bfloat16 runs the low-precision blocks in bf16")
    p.add_argument("--low-precision-blocks", choices=("official", "all"), default="official",
                   help="with --dtype bfloat16: the official fp16 blocks, or every block + the decoder")
    p.add_argument("--seed", type=int, default=None, help="weight / latent seed (default: the config's)")
    p.add_argument("--no-aot", action="store_true", help="skip the separate lower()/compile() timing")
    p.add_argument("--no-full-flops", action="store_true", help="skip the unchunked FLOP count")
    p.add_argument("--no-matmul", action="store_true", help="skip the matmul peak measurement")
    p.add_argument("--profile", default=None, metavar="DIR",
                   help="also trace one steady batch-1 forward into DIR and write DIR/summary.txt (top XLA ops by "
                        "self time; backbone / renderer / SR split, each jitted alone)")
    p.add_argument("--no-stages", action="store_true", help="--profile without the per-stage split (no compiles)")
    return C.add_run_flags(p)


def dtype_kwargs(args, load_generator):
    """compute_dtype / low_precision_blocks for load_generator, if this version of it takes them."""
    import inspect

    params = inspect.signature(load_generator).parameters
    if "compute_dtype" not in params:
        if args.dtype != "float32":
            raise ValueError("--dtype: this load_generator has no compute_dtype keyword")
        return {}
    out = {"compute_dtype": args.dtype}
    if "low_precision_blocks" in params:
        out["low_precision_blocks"] = args.low_precision_blocks
    return out


def frontal_label(config, batch):
    import numpy as np

    from inversion3d import camera

    pivot = tuple(config.get("pivot", camera.FFHQ_PIVOT))
    radius = float(config.get("radius", camera.FFHQ_RADIUS))
    focal = float(config.get("focal", camera.FFHQ_FOCAL))
    label = camera.lookat_labels(camera.FRONT, camera.FRONT, pivot, radius, camera.intrinsics_matrix(focal))  # (1,25)
    return np.repeat(np.asarray(label, np.float32), batch, axis=0)


def bench_batch(gen, config, batch, iters, seed, aot, full_flops, peak):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from inversion3d.generators import eg3d

    cfg = gen.config
    res = cfg.neural_rendering_resolution
    rng = np.random.RandomState(seed)
    z = jnp.asarray(rng.randn(batch, cfg.z_dim).astype(np.float32))
    c = jnp.asarray(frontal_label(config, batch))
    psi = float(config.get("truncation_psi", 1.0))
    cutoff = config.get("truncation_cutoff", None)
    syn_kwargs = dict(noise_mode="const", rng=None, draws=None, neural_rendering_resolution=res, capture=False)
    result = {"batch": batch, "neural_rendering_resolution": res, "ray_chunk": cfg.render.ray_chunk,
              "num_rays_per_image": res * res,
              "num_chunks": None if cfg.render.ray_chunk is None else math.ceil(res * res / cfg.render.ray_chunk)}

    # --- mapping -----------------------------------------------------------------------------
    ws, t_map_first = C.timed(gen.mapping, z, c, psi, cutoff)
    map_times = C.repeat(lambda: gen.mapping(z, c, psi, cutoff), max(iters, 3))
    result["mapping"] = {"first_call_s": t_map_first, **C.summarize(map_times)}
    print(f"  [batch {batch}] mapping: first call {t_map_first:.3f} s, "
          f"steady median {result['mapping']['median_s'] * 1e3:.1f} ms")

    # --- synthesis: first call (trace + compile + run) ---------------------------------------
    out, t_first = C.timed(gen.synthesis, ws, c)
    shapes = {k: tuple(v.shape) for k, v in out.items()}
    finite = bool(jnp.all(jnp.isfinite(out["image"])))
    del out
    syn = {"first_call_s": t_first, "output_shapes": shapes, "image_finite": finite}
    print(f"  [batch {batch}] synthesis first call (incl. compile): {t_first:.1f} s  image {shapes['image']}")

    # --- synthesis: AOT lower / compile, cost + memory analysis ------------------------------
    if aot:
        # A fresh jit wrapper: the handle's own jit object would answer lower()/compile() from the
        # in-process caches filled by the first call (measured ~0 s), not compile again.
        syn_jit = jax.jit(functools.partial(eg3d.synthesize, cfg),
                          static_argnames=("noise_mode", "neural_rendering_resolution", "capture"))
        t0 = time.perf_counter()
        lowered = syn_jit.lower(gen.params, ws, c, **syn_kwargs)
        t_lower = time.perf_counter() - t0
        t0 = time.perf_counter()
        compiled = lowered.compile()
        t_compile = time.perf_counter() - t0
        flops_c, err_c = C.cost_flops(compiled)
        flops_l, _ = C.cost_flops(lowered)
        syn.update(lower_s=t_lower, compile_s=t_compile, flops_compiled=flops_c, flops_compiled_error=err_c,
                   flops_lowered=flops_l, memory=C.memory_stats(compiled))
        del compiled, lowered
        print(f"  [batch {batch}] AOT: lower {t_lower:.1f} s, compile {t_compile:.1f} s; "
              f"XLA flops (compiled, loop body once) {C.fmt(flops_c and flops_c / 1e9, '.1f')} GFLOP")
        if syn["memory"]:
            print(f"  [batch {batch}] compiled memory: temp {C.mib(syn['memory']['temp_size_in_bytes']):.0f} MiB, "
                  f"args {C.mib(syn['memory']['argument_size_in_bytes']):.0f} MiB, "
                  f"outputs {C.mib(syn['memory']['output_size_in_bytes']):.0f} MiB")
    if full_flops:
        # The same maths in a countable form: unchunked (XLA counts a lax.map body once) and non-fused
        # modconv (at batch > 1 XLA's cost analysis counted the fused path's grouped convs once, not once
        # per sample: 359 GFLOP at batch 4 vs 306 at batch 1 for ffhq512-128).
        full_cfg = dataclasses.replace(cfg, render=dataclasses.replace(cfg.render, ray_chunk=None),
                                       fused_modconv=False)
        full_jit = jax.jit(functools.partial(eg3d.synthesize, full_cfg),
                           static_argnames=("noise_mode", "neural_rendering_resolution", "capture"))
        flops_full, err = C.cost_flops(full_jit.lower(gen.params, ws, c, **syn_kwargs))
        syn["flops_full"], syn["flops_full_error"] = flops_full, err
        print(f"  [batch {batch}] XLA flops, unchunked lowering (whole forward): "
              f"{C.fmt(syn['flops_full'] and syn['flops_full'] / 1e9, '.1f')} GFLOP")

    # --- synthesis: steady state --------------------------------------------------------------
    times = C.repeat(lambda: gen.synthesis(ws, c), iters)
    syn.update(C.summarize(times))
    flops = syn.get("flops_full") or syn.get("flops_compiled")
    syn["flops_used"] = "flops_full" if syn.get("flops_full") else ("flops_compiled" if flops else None)
    if flops:
        syn["gflops_per_s"] = flops / syn["median_s"] / 1e9
        syn["gflops_per_s_best"] = flops / syn["min_s"] / 1e9
        if peak:
            syn["fraction_of_matmul_peak"] = syn["gflops_per_s"] / peak
    result["synthesis"] = syn
    result["forward_median_s"] = result["mapping"]["median_s"] + syn["median_s"]
    result["per_image_s"] = result["forward_median_s"] / batch
    result["peak_rss_mib_so_far"] = C.peak_rss_mib()
    print(f"  [batch {batch}] synthesis steady: min {syn['min_s']:.2f} s, median {syn['median_s']:.2f} s "
          f"({iters} iters); per image {result['per_image_s']:.2f} s; "
          f"{C.fmt(syn.get('gflops_per_s'), '.1f')} GFLOP/s"
          + (f" = {100 * syn['fraction_of_matmul_peak']:.0f}% of matmul" if syn.get("fraction_of_matmul_peak") else "")
          + f"; peak RSS so far {result['peak_rss_mib_so_far']:.0f} MiB")
    return result


def run(args):
    jax = C.configure_jax(args.compilation_cache)
    from inversion3d.api import load_generator
    from inversion3d.app.loading import load_config

    config = load_config(args.config)
    seed = int(config.get("seed", 0)) if args.seed is None else args.seed
    chunk = config.get("ray_chunk", None) if isinstance(args.ray_chunk, str) else args.ray_chunk
    res = int(args.neural_res or config.neural_rendering_resolution)
    report = {"benchmark": "eg3d_forward", "kind": config.get("kind", "eg3d"), "env": C.environment(),
              "settings": {"config": args.config, "batches": args.batch, "iters": args.iters, "ray_chunk": chunk,
                           "neural_rendering_resolution": res, "seed": seed,
                           "fused_modconv": not args.no_fused_modconv, "dtype": args.dtype,
                           "low_precision_blocks": args.low_precision_blocks}}
    print(f"EG3D forward benchmark: {args.config}, neural res {res}, ray_chunk {chunk}, "
          f"fused_modconv {not args.no_fused_modconv}, "
          f"batches {args.batch}, iters {args.iters}, backend {jax.default_backend()} "
          f"({report['env']['cpu_count']} CPUs)")
    rss_start = C.peak_rss_mib()

    peak = None
    if not args.no_matmul:
        mm = C.matmul_peak()
        report["matmul"] = mm
        peak = mm["gflops_per_s"]
        print(f"matmul {mm['n']}^2 fp32 (best of {mm['reps']}): {mm['best_s'] * 1e3:.1f} ms = {peak:.1f} GFLOP/s")

    t0 = time.perf_counter()
    gen = load_generator(None, kind=config.get("kind", "eg3d"), init_kwargs=config.init_kwargs,
                         neural_rendering_resolution=res, ray_chunk=chunk, seed=seed,
                         fused_modconv=not args.no_fused_modconv, **dtype_kwargs(args, load_generator))
    C.block(gen.params)
    n_params = sum(int(x.size) for x in jax.tree.leaves(gen.params))
    report["load"] = {"init_s": time.perf_counter() - t0, "num_parameters_and_buffers": n_params,
                      "peak_rss_mib_after_init": C.peak_rss_mib(), "peak_rss_mib_at_start": rss_start}
    print(f"random init: {report['load']['init_s']:.1f} s, {n_params / 1e6:.2f} M values; "
          f"peak RSS {report['load']['peak_rss_mib_after_init']:.0f} MiB")

    runs = []
    for batch in args.batch:
        runs.append(bench_batch(gen, config, batch, args.iters, seed, aot=not args.no_aot,
                                full_flops=not args.no_full_flops, peak=peak))
    report["runs"] = runs
    report["rows"] = [forward_row(report, r, peak) for r in runs]
    if args.profile:
        report["profile"] = profile(args, gen, config, seed, args.profile)
    if len(runs) > 1:
        base = runs[0]
        report["throughput_vs_batch%d" % base["batch"]] = {
            str(r["batch"]): base["per_image_s"] / r["per_image_s"] for r in runs}
    report["peak_rss_mib"] = C.peak_rss_mib()
    if peak:
        C.refresh_peak(report)
    report["loadavg_end"] = C.loadavg()
    print_summary(report)
    C.write_json(args.json, report)
    return report


def forward_row(report, r, peak):
    """The summary row (_common.workload_row) of one batch size: synthesis only (mapping is ms)."""
    s, st = r["synthesis"], report["settings"]
    kind = "PanoHead" if report.get("kind") == "panohead" else "EG3D"
    compile_s = (s["lower_s"] + s["compile_s"]) if "compile_s" in s else max(0.0, s["first_call_s"] - s["median_s"])
    name = os.path.splitext(os.path.basename(st["config"]))[0]
    size = (f"{name}, neural {r['neural_rendering_resolution']}, chunk {r['ray_chunk']}, batch {r['batch']}"
            + ("" if st.get("fused_modconv", True) else ", non-fused modconv")
            + ("" if st.get("dtype", "float32") == "float32" else f", {st['dtype']} ({st['low_precision_blocks']})"))
    return C.workload_row(f"{kind} forward (batch {r['batch']})", size, compile_s=compile_s, times=s["times_s"],
                          flops=s.get("flops_full") or s.get("flops_compiled"), peak_gflops=peak,
                          mem=s.get("memory"), rss_mib=r["peak_rss_mib_so_far"],
                          note="synthesis (mapping excluded); FLOPs: unchunked lowering")


def profile(args, gen, config, seed, out_dir):
    """--profile: trace one steady batch-1 forward, and time backbone / renderer / SR jitted alone."""
    import jax.numpy as jnp
    import numpy as np

    import _profile

    cfg = gen.config
    ws = jnp.asarray(0.5 * np.random.RandomState(seed).randn(1, cfg.num_ws, cfg.w_dim), np.float32)
    c = jnp.asarray(frontal_label(config, 1))
    return _profile.profile_forward(gen, ws, c, out_dir, f"{args.config}, batch 1", max(1, args.iters),
                                    stages=not args.no_stages)


def summary_rows(report):
    peak = (report.get("matmul") or {}).get("gflops_per_s")
    rows = []
    base = report["runs"][0] if report.get("runs") else None
    for r in report.get("runs", []):
        s = r["synthesis"]
        flops = s.get("flops_full") or s.get("flops_compiled")
        rows.append([
            r["batch"], r["neural_rendering_resolution"], r["ray_chunk"],
            C.fmt(s["first_call_s"], ".1f"), C.fmt(s.get("compile_s"), ".1f"),
            C.fmt(r["mapping"]["median_s"] * 1e3, ".1f"),
            C.fmt(s["min_s"], ".2f"), C.fmt(s["median_s"], ".2f"), C.fmt(r["per_image_s"], ".2f"),
            C.fmt(base["per_image_s"] / r["per_image_s"], ".2f") + "x",
            C.fmt(flops and flops / 1e9, ".1f"), C.fmt(s.get("gflops_per_s"), ".1f"),
            C.fmt(s.get("gflops_per_s") and peak and 100 * s["gflops_per_s"] / peak, ".0f") + "%",
            C.fmt(s.get("memory") and C.mib(s["memory"]["temp_size_in_bytes"]), ".0f"),
            C.fmt(r["peak_rss_mib_so_far"], ".0f"),
        ])
    return rows


SUMMARY_HEADERS = ["batch", "neural res", "ray_chunk", "first call incl. compile (s)", "AOT compile (s)",
                   "mapping median (ms)", "synthesis min (s)", "synthesis median (s)", "per image (s)",
                   "per-image throughput vs first", "GFLOP / forward", "GFLOP/s", "of matmul peak",
                   "XLA temp (MiB)", "peak RSS so far (MiB)"]


def markdown(report):
    lines = []
    mm = report.get("matmul")
    env = report["env"]
    lines.append(f"Backend {env['backend']}, {env['cpu_count']} CPUs ({env['processor']}), jax {env['jax']}; "
                 f"config `{report['settings']['config']}`, {report['settings']['iters']} steady iters, "
                 f"fused_modconv={report['settings'].get('fused_modconv', True)}.")
    if mm:
        lines.append(f"Dense matmul peak ({mm['n']}² fp32, best of {mm['reps']}, same process): "
                     f"{mm['best_s'] * 1e3:.1f} ms = **{mm['gflops_per_s']:.1f} GFLOP/s**.")
    ld = report.get("load", {})
    if ld:
        lines.append(f"Random init: {ld['init_s']:.1f} s, {ld['num_parameters_and_buffers'] / 1e6:.2f} M values.")
    lines.append("")
    lines.append(C.md_table(SUMMARY_HEADERS, summary_rows(report)))
    lines.append("")
    lines.append("GFLOP / forward: XLA cost analysis of the synthesis lowered without ray chunking (the chunked "
                 "program's `lax.map` loop body is counted once by XLA; see `flops_compiled` in the JSON). "
                 "GFLOP/s uses the median synthesis time. Peak RSS is `ru_maxrss` of the process, cumulative "
                 "over the rows above it.")
    return "\n".join(lines)


def print_summary(report):
    print()
    print(markdown(report))
    print()


def main(argv=None):
    args = build_parser().parse_args(argv)
    return C.run_cli("bench_eg3d_forward", run, args)


if __name__ == "__main__":
    sys.exit(main())
