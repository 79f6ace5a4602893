"""Renderer memory benchmark: XLA's compiled memory analysis of `render()` vs ray_chunk and resolution.

  .venv/bin/python experiments/benchmarks/bench_renderer_memory.py [--chunks none,16384,...]
      [--resolutions 64,128,256] [--res-chunk 4096] [--time-iters 1] [--json PATH]

Setup: EG3D-size random tri-planes (N=1, 3 planes of 256x256x32), the EG3D OSG decoder
(mean over planes -> FC 32->64 -> softplus -> FC 64->33) with random weights, a frontal FFHQ
camera, 48 coarse + 48 importance samples, ray range [2.25, 3.3].

For every setting the jitted render (planes, decoder params and rays are arguments, never closure
constants) is lowered and compiled once; `compiled.memory_analysis()` gives XLA's temp buffer
size (the working memory the chunking is meant to bound) and the argument / output sizes
(outputs scale with the number of rays, as they must). With --time-iters > 0 the same compiled
executable is also timed. Nothing is asserted.

Sweeps: (1) ray_chunk at 128x128 (M=16384); (2) resolution with a fixed chunk; (3) for contrast,
resolution unchunked (memory analysis only, never run).
"""
import argparse
import math
import sys
import time

import _common as C

PLANE_RES, PLANE_CH = 256, 32
DEPTH, DEPTH_IMP = 48, 48
RAY_START, RAY_END = 2.25, 3.3


def parse_list(text, allow_none=False):
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        if allow_none and item.lower() in ("none", "full"):
            out.append(None)
        else:
            out.append(int(item))
    return out


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chunks", default="none,16384,8192,4096,2048,1024",
                   help="ray_chunk values for the 128x128 sweep ('none' = unchunked)")
    p.add_argument("--chunk-res", type=int, default=128, help="output resolution of the chunk sweep")
    p.add_argument("--resolutions", default="64,128,256", help="output resolutions of the resolution sweep")
    p.add_argument("--res-chunk", type=int, default=4096, help="ray_chunk of the resolution sweep")
    p.add_argument("--no-contrast", action="store_true",
                   help="skip the unchunked resolution sweep (memory analysis only)")
    p.add_argument("--time-iters", type=int, default=1,
                   help="timed renders per setting after one warm-up (0: memory analysis only)")
    p.add_argument("--max-time-rays", type=int, default=65536,
                   help="only time settings with at most this many rays")
    p.add_argument("--seed", type=int, default=0)
    return C.add_run_flags(p)


def make_inputs(seed):
    import jax
    import jax.numpy as jnp

    from inversion3d.generators.eg3d import OSGDecoder

    k_planes, k_dec = jax.random.split(jax.random.PRNGKey(seed))
    planes = jax.random.normal(k_planes, (1, 3, PLANE_RES, PLANE_RES, PLANE_CH), jnp.float32)
    decoder = OSGDecoder(out_features=PLANE_CH)
    params = decoder.init(k_dec, jnp.zeros((1, 3, 1, PLANE_CH), jnp.float32))
    return planes, decoder, params


def rays_for(resolution):
    import jax.numpy as jnp

    from inversion3d import camera
    from inversion3d.rendering.rays import sample_rays

    pose, k = camera.split_label(camera.frontal_label("eg3d")[None])
    return sample_rays(jnp.asarray(pose), jnp.asarray(k), resolution)


def measure(resolution, chunk, planes, decoder, params, time_iters, max_time_rays, label):
    import jax

    from inversion3d.rendering.renderer import RenderConfig, render

    cfg = RenderConfig(depth_resolution=DEPTH, depth_resolution_importance=DEPTH_IMP, ray_start=RAY_START,
                       ray_end=RAY_END, box_warp=1.0, ray_chunk=chunk)
    origins, dirs = rays_for(resolution)
    num_rays = resolution * resolution

    def fn(planes, params, origins, dirs):
        decode_fn = lambda feats, coords, d: decoder.apply(params, feats)
        return render(planes, decode_fn, origins, dirs, cfg)

    t0 = time.perf_counter()
    lowered = jax.jit(fn).lower(planes, params, origins, dirs)
    t_lower = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled = lowered.compile()
    t_compile = time.perf_counter() - t0
    mem = C.memory_stats(compiled)
    flops_c, _ = C.cost_flops(compiled)
    flops_l, _ = C.cost_flops(lowered)
    effective = chunk if chunk is not None and chunk < num_rays else None
    row = {"sweep": label, "resolution": resolution, "num_rays": num_rays, "ray_chunk": chunk,
           "effective_chunk": effective,
           "num_chunks": 1 if effective is None else math.ceil(num_rays / effective),
           "samples_per_ray": DEPTH + DEPTH_IMP, "lower_s": t_lower, "compile_s": t_compile,
           "memory": mem, "flops_compiled": flops_c, "flops_lowered": flops_l}
    if mem:
        rays_in_flight = effective or num_rays
        row["temp_bytes_per_ray_in_flight"] = mem["temp_size_in_bytes"] / rays_in_flight
    if time_iters > 0 and num_rays <= max_time_rays:
        C.block(compiled(planes, params, origins, dirs))  # warm-up
        times = C.repeat(lambda: compiled(planes, params, origins, dirs), time_iters)
        row["time"] = C.summarize(times)
    del compiled, lowered
    tm = row.get("time")
    print(f"  [{label}] res {resolution:4d} (M={num_rays:6d}) chunk {str(chunk):>6s}: "
          f"temp {C.fmt(mem and C.mib(mem['temp_size_in_bytes']), '8.1f')} MiB, "
          f"args {C.fmt(mem and C.mib(mem['argument_size_in_bytes']), '6.1f')} MiB, "
          f"out {C.fmt(mem and C.mib(mem['output_size_in_bytes']), '6.1f')} MiB; compile {t_compile:.1f} s"
          + (f"; render median {tm['median_s']:.2f} s" if tm else ""))
    return row


def run(args):
    jax = C.configure_jax(args.compilation_cache)
    chunks = parse_list(args.chunks, allow_none=True)
    resolutions = parse_list(args.resolutions)
    report = {"benchmark": "renderer_memory", "env": C.environment(),
              "settings": {"planes": [1, 3, PLANE_RES, PLANE_RES, PLANE_CH], "depth_resolution": DEPTH,
                           "depth_resolution_importance": DEPTH_IMP, "chunks": chunks,
                           "chunk_resolution": args.chunk_res, "resolutions": resolutions,
                           "res_chunk": args.res_chunk, "time_iters": args.time_iters,
                           "contrast_unchunked": not args.no_contrast}}
    print(f"Renderer memory benchmark: planes 1x3x{PLANE_RES}x{PLANE_RES}x{PLANE_CH}, "
          f"{DEPTH}+{DEPTH_IMP} samples/ray, OSG decoder, backend {jax.default_backend()}")
    planes, decoder, params = make_inputs(args.seed)
    rows = []
    for chunk in chunks:
        rows.append(measure(args.chunk_res, chunk, planes, decoder, params, args.time_iters,
                            args.max_time_rays, "chunk"))
    for res in resolutions:
        rows.append(measure(res, args.res_chunk, planes, decoder, params, args.time_iters,
                            args.max_time_rays, "resolution"))
    if not args.no_contrast:
        for res in resolutions:
            rows.append(measure(res, None, planes, decoder, params, 0, 0, "resolution-unchunked"))
    report["rows"] = rows
    report["peak_rss_mib"] = C.peak_rss_mib()
    return C.finish(report, markdown, args.json)


HEADERS = ["out res", "rays M", "ray_chunk", "chunks", "temp (MiB)", "temp / ray in flight (KiB)",
           "arguments (MiB)", "outputs (MiB)", "compile (s)", "render median (s)"]


def table_rows(report, sweep):
    out = []
    for r in report["rows"]:
        if r["sweep"] != sweep:
            continue
        mem = r.get("memory") or {}
        chunk = "none" if r["ray_chunk"] is None else str(r["ray_chunk"])
        if r["ray_chunk"] is not None and r["effective_chunk"] is None:
            chunk += " (≥ M: unchunked)"
        tm = r.get("time")
        out.append([r["resolution"], r["num_rays"], chunk, r["num_chunks"],
                    C.fmt(C.mib(mem.get("temp_size_in_bytes")), ".1f"),
                    C.fmt(r.get("temp_bytes_per_ray_in_flight") and r["temp_bytes_per_ray_in_flight"] / 1024, ".1f"),
                    C.fmt(C.mib(mem.get("argument_size_in_bytes")), ".1f"),
                    C.fmt(C.mib(mem.get("output_size_in_bytes")), ".1f"),
                    C.fmt(r["compile_s"], ".1f"), C.fmt(tm and tm["median_s"], ".2f")])
    return out


def markdown(report):
    s = report["settings"]
    lines = [f"Planes {'x'.join(map(str, s['planes']))} (random), {s['depth_resolution']}+"
             f"{s['depth_resolution_importance']} samples/ray, OSG decoder (32→64 softplus→33), frontal camera; "
             f"XLA `compiled.memory_analysis()` on {report['env']['backend']}.", ""]
    for sweep, title in (("chunk", f"ray_chunk sweep at {s['chunk_resolution']}×{s['chunk_resolution']}"),
                         ("resolution", f"resolution sweep, ray_chunk {s['res_chunk']}"),
                         ("resolution-unchunked", "resolution sweep, unchunked (contrast; not run)")):
        rows = table_rows(report, sweep)
        if rows:
            lines += [f"**{title}**", "", C.md_table(HEADERS, rows), ""]
    lines.append("temp = XLA temp buffers (working memory); outputs (rgb 32 ch + depth + weights_sum) and "
                 "arguments (planes 24 MiB + rays) scale with the number of rays by construction.")
    return "\n".join(lines)


def main(argv=None):
    args = build_parser().parse_args(argv)
    return C.run_cli("bench_renderer_memory", run, args)


if __name__ == "__main__":
    sys.exit(main())
