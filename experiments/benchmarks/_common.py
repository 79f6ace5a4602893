"""Shared helpers for the benchmark scripts (timing, peak RSS, matmul peak, JSON, cost analysis).

Every benchmark is a measurement: nothing here asserts a timing. The scripts are run as files
(`.venv/bin/python experiments/benchmarks/<name>.py`), so importing this module also puts the
repository root on sys.path (the package need not be pip-installed).
"""
import json
import os
import platform
import resource
import statistics
import sys
import time
from typing import Optional

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def configure_jax(compilation_cache: bool):
    """Turns JAX's persistent compilation cache off unless asked (cold compile times are the point).

    `make` exports JAX_COMPILATION_CACHE_DIR; with the cache on, a second run would report the
    cache-read time instead of the compile time.
    """
    import jax

    if not compilation_cache:
        jax.config.update("jax_enable_compilation_cache", False)
    return jax


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0


def block(tree):
    import jax

    return jax.block_until_ready(tree)


def timed(fn, *args, **kwargs):
    """(result, seconds) of one call, blocking on every output array."""
    t0 = time.perf_counter()
    out = block(fn(*args, **kwargs))
    return out, time.perf_counter() - t0


def repeat(fn, iters: int):
    """Times `fn()` `iters` times (blocking); -> list of seconds."""
    times = []
    for _ in range(max(1, iters)):
        _, dt = timed(fn)
        times.append(dt)
    return times


def summarize(times):
    return {"min_s": min(times), "median_s": statistics.median(times), "max_s": max(times),
            "times_s": list(times), "n": len(times)}


def matmul_peak(n: Optional[int] = None, reps: int = 5):
    """Best-of-`reps` jit'd n x n float32 matmul on the default device -> dict with GFLOP/s.

    n defaults to 2048 on CPU and 8192 on accelerators (a 2048^2 matmul does not fill a GPU).
    Default matmul precision is used, as in the workloads (TF32 on recent NVIDIA GPUs).
    """
    import jax
    import jax.numpy as jnp

    if n is None:
        n = 2048 if jax.default_backend() == "cpu" else 8192

    ka, kb = jax.random.split(jax.random.PRNGKey(0))
    a = jax.random.normal(ka, (n, n), jnp.float32)
    b = jax.random.normal(kb, (n, n), jnp.float32)
    mm = jax.jit(lambda x, y: x @ y)
    block(mm(a, b))  # compile + warm up
    times = repeat(lambda: mm(a, b), reps)
    best = min(times)
    flops = 2.0 * n ** 3
    return {"n": n, "reps": reps, "best_s": best, "median_s": statistics.median(times),
            "flops": flops, "gflops_per_s": flops / best / 1e9, "device_kind": device_kind()}


def cost_flops(stage):
    """FLOPs from `Lowered.cost_analysis()` / `Compiled.cost_analysis()` (dict or list of dicts)."""
    try:
        cost = stage.cost_analysis()
    except Exception as err:  # some backends do not implement it
        return None, f"{type(err).__name__}: {err}"
    if isinstance(cost, (list, tuple)):
        cost = cost[0] if cost else None
    if not cost or "flops" not in cost:
        return None, "no 'flops' in cost analysis"
    return float(cost["flops"]), None


def memory_stats(compiled):
    """`Compiled.memory_analysis()` as a plain dict of byte counts (None if unsupported)."""
    try:
        mem = compiled.memory_analysis()
    except Exception:
        return None
    if mem is None:
        return None
    keys = ("temp_size_in_bytes", "argument_size_in_bytes", "output_size_in_bytes",
            "alias_size_in_bytes", "generated_code_size_in_bytes")
    return {k: int(getattr(mem, k)) for k in keys if hasattr(mem, k)}


def environment():
    import jax
    import jaxlib

    return {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "device_kind": device_kind(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "compilation_cache": bool(jax.config.jax_enable_compilation_cache),
        "loadavg_1_5_15": loadavg(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def device_kind():
    """`device_kind` of the default device ('cpu', 'NVIDIA H100 80GB HBM3', 'TPU v4', ...)."""
    import jax

    return jax.devices()[0].device_kind


def device_peak_bytes():
    """Peak bytes in use on the default device where the backend reports it (GPU / TPU), else None."""
    import jax

    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:  # CPU raises or returns None
        return None
    return None if not stats else stats.get("peak_bytes_in_use")


def loadavg():
    """System load average at the time of the call: other processes on the machine skew timings."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def mib(num_bytes):
    return None if num_bytes is None else num_bytes / (1024.0 * 1024.0)


def write_json(path, payload):
    if not path:
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(payload, fh, indent=2, sort_keys=False, default=_json_default)
        fh.write("\n")
    print(f"wrote {path}")


def start_report(name, settings):
    """-> (report {'benchmark', 'env', 'settings', 'matmul'}, the matmul peak in GFLOP/s): the head every
    step / component benchmark opens with; the dense matmul is measured here, in the same process."""
    report = {"benchmark": name, "env": environment(), "settings": settings, "matmul": matmul_peak()}
    return report, report["matmul"]["gflops_per_s"]


def end_report(report, results, rows, markdown, json_path, peak_rows=None):
    """The tail of such a benchmark: stores results and rows, peak RSS, the peak measured again
    (refresh_peak over peak_rows, default all rows), then `finish`; returns the report."""
    report["results"], report["rows"] = results, rows
    report["peak_rss_mib"] = peak_rss_mib()
    refresh_peak(report, peak_rows)
    return finish(report, markdown, json_path)


def matmul_sentence(report) -> str:
    """The markdown's statement of the denominator of every fraction of peak."""
    mm = report["matmul"]
    return f"dense matmul {mm['n']}² fp32 in the same process: {mm['gflops_per_s']:.1f} GFLOP/s."


def steps_markdown(report, head=None, extra=()):
    """Markdown of a step benchmark: `head` (default: sizes and steady steps of report['settings'],
    donated state, one-device mesh), the matmul sentence, the summary table, then the `extra` lines."""
    s = report["settings"]
    if head is None:
        sizes = f"Sizes {s['sizes']}, " if "sizes" in s else ""
        head = f"{sizes}{s['iters']} steady steps after the first; donated state, one-device mesh;"
        head = head[0].upper() + head[1:]
    return "\n".join([f"{head} {matmul_sentence(report)}", "", summary_table(report["rows"]), *extra])


def finish(report, markdown, json_path):
    """Stamps the end load average, prints markdown(report) and writes the JSON; returns the report."""
    report["loadavg_end"] = loadavg()
    print()
    print(markdown(report))
    print()
    write_json(json_path, report)
    return report


def _json_default(obj):
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
    except ImportError:
        pass
    return str(obj)


def md_table(headers, rows):
    """A GitHub Markdown table from a header list and rows of already-formatted cells."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join("" if c is None else str(c) for c in row) + " |")
    return "\n".join(lines)


def fmt(value, spec=".2f", none="–"):
    return none if value is None else format(value, spec)


# --- one measured workload: the row schema every script emits under report['rows'] ------------------

ROW_KEYS = ("workload", "size", "status", "note", "backend", "device_kind", "compile_s", "min_s", "median_s", "n",
            "flops", "gflops_per_s", "peak_gflops_per_s", "fraction_of_peak", "temp_bytes", "argument_bytes",
            "output_bytes", "peak_rss_mib", "device_peak_bytes")
STATUSES = ("ok", "missing", "failed")


def workload_row(workload, size, compile_s=None, times=None, flops=None, peak_gflops=None, mem=None,
                 rss_mib=None, status="ok", note="", **extra):
    """One summary row (a flat dict with every ROW_KEYS key; `extra` keys are kept after them).

    compile_s: seconds to trace + lower + compile (not run); times: steady-state seconds per call;
    flops: XLA cost-analysis FLOPs of one call; peak_gflops: the dense-matmul peak of this process
    (`matmul_peak`); mem: `memory_stats(compiled)`; rss_mib: process peak RSS after the workload.
    GFLOP/s uses the median time; fraction_of_peak = GFLOP/s / peak_gflops.
    """
    if status not in STATUSES:
        raise ValueError(f"status: expected one of {STATUSES}, got {status!r}")
    times = list(times or [])
    med = statistics.median(times) if times else None
    gflops = flops / med / 1e9 if flops and med else None
    mem = mem or {}
    row = {"workload": workload, "size": size, "status": status, "note": note, "backend": None, "device_kind": None,
           "compile_s": compile_s, "min_s": min(times) if times else None, "median_s": med, "n": len(times),
           "flops": flops, "gflops_per_s": gflops, "peak_gflops_per_s": peak_gflops,
           "fraction_of_peak": gflops / peak_gflops if gflops and peak_gflops else None,
           "temp_bytes": mem.get("temp_size_in_bytes"), "argument_bytes": mem.get("argument_size_in_bytes"),
           "output_bytes": mem.get("output_size_in_bytes"), "peak_rss_mib": rss_mib, "device_peak_bytes": None}
    if status == "ok":
        import jax

        row.update(backend=jax.default_backend(), device_kind=device_kind(), device_peak_bytes=device_peak_bytes())
        if row["peak_rss_mib"] is None:
            row["peak_rss_mib"] = peak_rss_mib()
    row.update(extra)
    return row


def missing_row(workload, size, note, status="missing"):
    return workload_row(workload, size, status=status, note=note)


SUMMARY_HEADERS = ["workload", "size", "compile (s)", "steady min (s)", "steady median (s)", "N",
                   "XLA temp (MiB)", "XLA args (MiB)", "peak RSS (MiB)", "GFLOP / call", "GFLOP/s",
                   "matmul peak (GFLOP/s)", "of peak", "device"]


def summary_cells(row):
    """Formatted SUMMARY_HEADERS cells of one row; failed / missing rows carry their note instead."""
    if row.get("status", "ok") != "ok":
        return [row["workload"], row.get("size", ""), f"{row['status']}: {row.get('note', '')}"] + \
            [""] * (len(SUMMARY_HEADERS) - 3)
    frac = row.get("fraction_of_peak")
    flops = row.get("flops")
    return [row["workload"], row.get("size", ""), fmt(row.get("compile_s"), ".1f"), _fmt_s(row.get("min_s")),
            _fmt_s(row.get("median_s")), row.get("n", ""), fmt(mib(row.get("temp_bytes")), ".0f"),
            fmt(mib(row.get("argument_bytes")), ".0f"), fmt(row.get("peak_rss_mib"), ".0f"),
            fmt(flops and flops / 1e9, ".3g"), fmt(row.get("gflops_per_s"), ".3g"),
            fmt(row.get("peak_gflops_per_s"), ".0f"), fmt(frac and 100 * frac, ".1f") + ("%" if frac else ""),
            row.get("device_kind") or ""]


def _fmt_s(seconds):
    """Seconds with 3 significant digits (sub-millisecond steps and minute-long forwards in one column)."""
    return fmt(seconds, ".3g")


def summary_table(rows):
    """The Markdown summary table of workload rows (in the given order)."""
    return md_table(SUMMARY_HEADERS, [summary_cells(r) for r in rows])


def measure_jit(name, fn, args, iters, peak, flops_stage=None, static_argnums=()):
    """AOT lower + compile of jit(fn), one first call, `iters` steady calls, FLOPs and memory -> dict.

    flops_stage: optional callable -> a Lowered/Compiled whose cost analysis replaces the compiled
    program's (e.g. the unchunked lowering: XLA counts a `lax.map` body once). Also printed.
    """
    import jax

    jitted = jax.jit(fn, static_argnums=static_argnums)
    t0 = time.perf_counter()
    lowered = jitted.lower(*args)
    t_lower = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled = lowered.compile()
    t_compile = time.perf_counter() - t0
    flops, err = cost_flops(flops_stage() if flops_stage else compiled)
    dyn = [a for i, a in enumerate(args) if i not in static_argnums]
    _, t_first = timed(compiled, *dyn)
    times = repeat(lambda: compiled(*dyn), iters)
    res = {"lower_s": t_lower, "compile_s": t_compile, "first_call_s": t_first, **summarize(times),
           "flops": flops, "flops_error": err, "memory": memory_stats(compiled)}
    if flops:
        res["gflops_per_s"] = flops / res["median_s"] / 1e9
        res["fraction_of_matmul_peak"] = res["gflops_per_s"] / peak if peak else None
    res["peak_rss_mib_so_far"] = peak_rss_mib()
    res["peak_after"] = matmul_peak(reps=3)["gflops_per_s"]  # see refresh_peak
    print(f"  {name}: lower {t_lower:.1f} s, compile {t_compile:.1f} s, first call {t_first:.3g} s, steady median "
          f"{res['median_s']:.3g} s (min {res['min_s']:.3g}); {fmt(flops and flops / 1e9, '.3g')} GFLOP -> "
          f"{fmt(res.get('gflops_per_s'), '.3g')} GFLOP/s"
          + (f" ({100 * res['fraction_of_matmul_peak']:.1f}% of matmul)" if res.get("fraction_of_matmul_peak") else "")
          + f"; peak RSS {res['peak_rss_mib_so_far']:.0f} MiB", flush=True)
    return res


def measure_cells(res, peak=None):
    """Markdown cells of a `measure_jit` dict: lower, compile, first call, steady min / median (s),
    GFLOP / call, GFLOP/s, % of the matmul peak (res's own fraction, else against `peak`), peak RSS."""
    frac = res.get("fraction_of_matmul_peak")
    if frac is None and peak and res.get("gflops_per_s"):
        frac = res["gflops_per_s"] / peak
    return [fmt(res["lower_s"], ".1f"), fmt(res["compile_s"], ".1f"), fmt(res["first_call_s"], ".3g"),
            fmt(res["min_s"], ".3g"), fmt(res["median_s"], ".3g"), fmt(res["flops"] and res["flops"] / 1e9, ".3g"),
            fmt(res.get("gflops_per_s"), ".1f"), fmt(frac and 100 * frac, ".0f") + "%",
            fmt(res["peak_rss_mib_so_far"], ".0f")]


def row_from_measure(workload, size, res, peak, note="", **extra):
    """workload_row from a `measure_jit` dict (compile = lower + compile)."""
    return workload_row(workload, size, compile_s=res["lower_s"] + res["compile_s"], times=res["times_s"],
                        flops=res.get("flops"), peak_gflops=peak, mem=res.get("memory"),
                        rss_mib=res.get("peak_rss_mib_so_far"), note=note,
                        matmul_after_gflops_per_s=res.get("peak_after"), **extra)


def refresh_peak(report, rows=None):
    """Measures the matmul peak again and keeps the better of it and report['matmul'].

    Other processes on a shared machine depress a single measurement, which would push fractions
    of peak above 1; the best of the start and end measurements and of those taken right after each
    workload (rows' matmul_after_gflops_per_s) is the fairer denominator. Rows (default
    report['rows']) get the new peak and fraction.
    """
    rows = report.get("rows", []) if rows is None else rows
    again = matmul_peak(report.get("matmul", {}).get("n"))
    old = report.get("matmul")
    seen = [m["gflops_per_s"] for m in (old, again) if m] + \
        [r["matmul_after_gflops_per_s"] for r in rows if r.get("matmul_after_gflops_per_s")]
    best = again if not old or again["gflops_per_s"] > old["gflops_per_s"] else old
    peak = max(seen)
    report["matmul"] = dict(best, gflops_per_s=peak, best_s=best["flops"] / peak / 1e9, measurements_gflops_per_s=seen)
    for row in rows:
        if row.get("status") == "ok":
            row["peak_gflops_per_s"] = peak
            row["fraction_of_peak"] = row["gflops_per_s"] / peak if row.get("gflops_per_s") else None
    return peak


def add_run_flags(parser):
    """The flags every benchmark script shares: --compilation-cache and --json."""
    parser.add_argument("--compilation-cache", action="store_true",
                        help="leave JAX's persistent compilation cache on (default: off, for cold compile times)")
    parser.add_argument("--json", default=None, help="write the results as JSON here")
    return parser


def run_cli(name, run, args):
    """Runs `run(args)`; a ValueError becomes one line `NAME: error: ...` on stderr and exit status 2."""
    try:
        run(args)
    except ValueError as err:
        print(f"{name}: error: {err}", file=sys.stderr)
        return 2
    return 0
