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


def matmul_peak(n: int = 2048, reps: int = 5):
    """Best-of-`reps` jit'd n x n float32 matmul in this process -> dict with GFLOP/s."""
    import jax
    import jax.numpy as jnp

    ka, kb = jax.random.split(jax.random.PRNGKey(0))
    a = jax.random.normal(ka, (n, n), jnp.float32)
    b = jax.random.normal(kb, (n, n), jnp.float32)
    mm = jax.jit(lambda x, y: x @ y)
    block(mm(a, b))  # compile + warm up
    times = repeat(lambda: mm(a, b), reps)
    best = min(times)
    flops = 2.0 * n ** 3
    return {"n": n, "reps": reps, "best_s": best, "median_s": statistics.median(times),
            "flops": flops, "gflops_per_s": flops / best / 1e9}


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
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "compilation_cache": bool(jax.config.jax_enable_compilation_cache),
        "loadavg_1_5_15": loadavg(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


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
