"""Runs every benchmark and writes DIR/bench.json and DIR/bench.md (one summary table, then details).

  .venv/bin/python experiments/benchmarks/run_all.py --out out/bench [--quick] [--profile DIR]

Each benchmark runs in its own Python process (so peak RSS, the matmul peak and JAX caches are per
benchmark) with `--json DIR/raw/<name>.json`. Every script reports its workloads as rows of one
schema (`_common.workload_row`: compile time, steady min / median of N, XLA temp / argument bytes,
peak RSS, XLA FLOPs, GFLOP/s and its fraction of the dense-matmul peak of the same process and
device); this script puts all rows in one summary table at the top of bench.md (and bench.json
'rows'), followed by the per-script tables. A script that fails, or does not exist yet, gives
'failed' / 'missing' rows for the workloads it should have measured.

Full (`make bench`): EG3D ffhq512-128 forward at batch 1 and 4, PanoHead (configs/panohead_khair.py)
at batch 1, the generator pieces alone (backbone, renderer 64² / 128² forward and forward+backward,
SR 128->512), GOAE encoder / AFA / full inversion, one W+ and one PTI step (bench_optimization.py),
one train step per method (tiny and real), the renderer memory sweep and the op micro-benchmarks.
--quick (`make bench-quick`): the same summary table with tiny networks and 1 iteration, without the
detail-only memory sweep and op micro-benchmarks (5-10 minutes on a 2-core CPU, most of it
compiling). Nothing is asserted; a failing benchmark makes the exit status 1.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import _common as C

HERE = os.path.dirname(os.path.abspath(__file__))
TINY_GEN, TINY_PANO = "configs/tiny_eg3d.py", "configs/demo_panohead.py"
COMPONENTS = ["generator backbone", "renderer forward 64²", "renderer fwd+bwd (d/d planes) 64²",
              "renderer forward 128²", "renderer fwd+bwd (d/d planes) 128²", "super-resolution"]
TRAIN = ["train step: toy pSp", "train step: encoder + render + MSE/LPIPS", "train step: latent GAN",
         "train step: latent GAN + R1", "train step: Dual E2+D"]
GAN = [f"train step: EG3D GAN {step}" for step in ("G step", "D step", "G + D + density reg + R1")]


METHOD_TRAIN = [f"train step: {m}" for m in ("psp", "e4e", "triplanenet", "goae_stage1", "goae_stage2")]
DETAIL_ONLY = ("renderer_memory", "upfirdn2d", "modconv")


def plans(args):
    """[(name, script, cli args, expected workload names)] in summary-table order."""
    q = args.quick
    it = lambda full, quick=1: ["--iters", str(args.iters or (quick if q else full))]  # noqa: E731
    batches = args.batch or ("1" if q else "1,4")
    out = [
        ("eg3d_forward", "bench_eg3d_forward.py",
         ["--config", args.config or (TINY_GEN if q else "configs/eg3d_ffhq512.py"), "--batch", batches] + it(3)
         + (["--profile", args.profile] if args.profile else []),
         [f"EG3D forward (batch {b})" for b in batches.split(",")]),
        ("panohead_forward", "bench_eg3d_forward.py",
         ["--config", TINY_PANO if q else "configs/panohead_khair.py", "--batch", "1"] + it(2),
         ["PanoHead forward (batch 1)"]),
        ("components", "bench_components.py", ["--config", TINY_GEN if q else "configs/eg3d_ffhq512.py"] + it(3),
         COMPONENTS),
        ("encoders", "bench_encoders.py", ["--size", "tiny" if q else "real"] + it(2),
         ["GOAE encoder", "AFA", "GOAE inversion (full)"]),
        ("optimization", "bench_optimization.py", (["--quick"] if q else []) + it(2),
         ["W+ optimisation step", "PTI step"]),
        ("innout", "bench_innout.py", ["--sizes", "tiny" if q else "tiny,real"] + it(2),
         ["In-N-Out stage-B step", "In-N-Out SR step (stage C)",
          "In-N-Out full 1-frame run (stages A-C, spec step counts)"]),
        ("train", "bench_train.py", ["--sizes", "tiny" if q else "tiny,real"] + it(2), TRAIN),
        # the real (ffhq512-64 / -128) GAN rows at batch 1 (the official 4 per device takes > 17 GiB on a CPU)
        ("gan", "bench_gan.py", ["--sizes", "tiny" if q else "tiny,real,real128", "--batch", "1"] + it(2), GAN),
        ("e3dge_train", "bench_e3dge.py", ["--sizes", "tiny" if q else "tiny,real"] + it(2),
         ["train step: E3DGE (encoder + local)"]),
        ("methods", "bench_methods.py", ["--sizes", "tiny" if q else "tiny,real"] + it(2)
         + (["--profile", os.path.join(args.profile, "methods")] if args.profile else []), METHOD_TRAIN),
        ("renderer_memory", "bench_renderer_memory.py", ["--time-iters", "2"], []),
        ("upfirdn2d", "bench_upfirdn2d.py", it(3), []),
        ("modconv", "bench_modconv.py", it(2), []),
    ]
    if q:  # detail tables only (no summary rows): not worth the minutes of a quick run unless asked for
        out = [p for p in out if p[0] not in DETAIL_ONLY or (args.only and p[0] in args.only.split(","))]
    skip = set(args.skip.split(",")) if args.skip else set()
    only = set(args.only.split(",")) if args.only else None
    extra = ["--compilation-cache"] if args.compilation_cache else []
    return [(n, s, cli + extra, exp) for n, s, cli, exp in out if n not in skip and (only is None or n in only)]


def run_one(name, script, extra, raw_dir):
    json_path = os.path.join(raw_dir, f"{name}.json")
    if os.path.exists(json_path):
        os.remove(json_path)
    path = os.path.join(HERE, script)
    cmd = [sys.executable, path, *extra, "--json", json_path]
    if not os.path.exists(path):
        print(f"\n=== {name}: {script} does not exist (yet); reported as missing", flush=True)
        return {"command": cmd, "returncode": None, "wall_s": 0.0, "missing": True}
    print(f"\n=== {name}: {' '.join(cmd)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=C.REPO_ROOT)
    result = {"command": cmd, "returncode": proc.returncode, "wall_s": time.perf_counter() - t0}
    if proc.returncode == 0 and os.path.exists(json_path):
        with open(json_path) as fh:
            result["report"] = json.load(fh)
    else:
        print(f"=== {name}: FAILED (exit {proc.returncode})", flush=True)
    return result


# workload names of the result keys of reports without summary rows (bench_optimization.py: results/<size>/<part>)
DERIVED_NAMES = {"wplus": "W+ optimisation step", "pti": "PTI step"}


def load_raw(name, script, extra, raw_dir):
    """--rebuild: the stored report of `name` (or a 'missing' result if there is none)."""
    json_path = os.path.join(raw_dir, f"{name}.json")
    if not os.path.exists(json_path):
        return {"command": [script, *extra], "returncode": None, "wall_s": 0.0, "missing": True, "not_run": True}
    with open(json_path) as fh:
        return {"command": [script, *extra], "returncode": 0, "wall_s": 0.0, "report": json.load(fh)}


def rows_from_report(report):
    """The report's summary rows (those of report['rows'] with a 'workload'); for a report without a
    'rows' key, one row per nested dict that has 'times_s'."""
    if isinstance(report.get("rows"), list):  # bench_renderer_memory's 'rows' are its sweep, not workloads
        return [dict(r) for r in report["rows"] if isinstance(r, dict) and "workload" in r]
    peak = (report.get("matmul") or {}).get("gflops_per_s")
    rows = []

    def walk(node, path):
        if isinstance(node, dict):
            if isinstance(node.get("times_s"), list) and node["times_s"]:
                comp = node.get("compile_s")
                comp = comp + node.get("lower_s", 0.0) if comp is not None else None
                name = DERIVED_NAMES.get(path[-1], "/".join(path)) if path else report.get("benchmark", "?")
                size = ", ".join(p for p in path[:-1] if p != "results")
                rows.append(C.workload_row(name, size, comp, node["times_s"],
                                           node.get("flops"), peak, node.get("memory"), node.get("peak_rss_mib_so_far"),
                                           note="row derived from the raw report"))
                rows[-1].update(backend=report.get("env", {}).get("backend"),  # the script's, not this process's
                                device_kind=report.get("env", {}).get("device_kind"),
                                peak_rss_mib=node.get("peak_rss_mib_so_far"), device_peak_bytes=None)
                return
            for k, v in node.items():
                walk(v, path + [str(k)])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + [str(i)])

    walk({k: v for k, v in report.items() if k not in ("env", "settings", "matmul")}, [])
    return rows


def collect_rows(plan, results):
    """All summary rows in plan order; failed / missing scripts give one row per expected workload."""
    rows = []
    for name, script, _, expected in plan:
        res = results.get(name)
        if res is None:
            continue
        if "report" in res:
            got = rows_from_report(res["report"])
            for r in got:
                r.setdefault("benchmark", name)
            rows += got
            continue
        if res.get("not_run"):
            status, note = "missing", f"not run (no {name}.json in raw/)"
        elif res.get("missing"):
            status, note = "missing", f"{script} does not exist yet"
        else:
            status, note = "failed", f"{script} exited with status {res['returncode']}"
        rows += [dict(C.missing_row(w, "", note, status=status), benchmark=name) for w in (expected or [name])]
    return rows


SECTIONS = (("eg3d_forward", "EG3D forward (random weights)", "bench_eg3d_forward"),
            ("panohead_forward", "PanoHead forward (random weights)", "bench_eg3d_forward"),
            ("encoders", "GOAE encoder, AFA and full inversion (random weights)", "bench_encoders"),
            ("optimization", "W+ / PTI optimisation steps", "bench_optimization"),
            ("renderer_memory", "Renderer memory vs ray_chunk and resolution", "bench_renderer_memory"),
            ("upfirdn2d", "FIR resampling (upfirdn2d) on the calls of one forward", "bench_upfirdn2d"),
            ("modconv", "Modulated conv: fused (grouped) vs non-fused vs per-sample", "bench_modconv"))

COLUMNS = ("compile (s): trace + lower + XLA compile, not run. steady min / median (s): wall time per call after "
           "one warm-up call, blocking on the outputs, over N calls (train steps thread the donated state). "
           "XLA temp / args (MiB): `compiled.memory_analysis()` temp and argument bytes. peak RSS (MiB): the "
           "process's `ru_maxrss` after the workload (cumulative within one script). GFLOP / call: XLA cost "
           "analysis (programs with a chunked renderer: the same program lowered unchunked, since XLA counts a "
           "`lax.map` body once). GFLOP/s: GFLOP / median time. matmul peak: a jit'd dense fp32 matmul (2048² on "
           "CPU, 8192² on accelerators) in the same process on the same device, best of a measurement before and "
           "after the workloads; of peak = GFLOP/s / matmul peak.")


def build_markdown(results, rows, quick, plan, total_wall=None):
    import importlib

    env = C.environment()
    lines = ["# inversion3d benchmarks", "",
             f"{'Quick (tiny networks, 1 iteration)' if quick else 'Full'} run, {env['time']}; backend "
             f"{env['backend']} ({env['device_kind']}), {env['cpu_count']} CPUs ({env['processor']}), jax "
             f"{env['jax']}, Python {env['python']}. Load average (1/5/15 min) at the end: {env['loadavg_1_5_15']}"
             + (f"; total wall time {total_wall / 60:.1f} min" if total_wall else "") + ". Timings are "
             "measurements, never asserted; other processes on the machine skew them.", "",
             "## Summary", "", C.summary_table(rows), "", COLUMNS, ""]
    names = {n for n, *_ in plan}
    for name, title, module in SECTIONS:
        if name not in names or name not in results:
            continue
        res = results[name]
        body = None
        if "report" in res:
            try:
                body = importlib.import_module(module).markdown(res["report"])
            except Exception as err:  # a report from another script version: the summary rows still hold
                body = f"(no detailed table: {type(err).__name__}: {err})"
        elif res.get("missing"):
            body = "not run (no raw report)." if res.get("not_run") else "missing: the script does not exist yet."
        else:
            body = f"FAILED (exit status {res['returncode']}); command: `{' '.join(res['command'])}`"
        lines += [f"## {title}", "", body, ""]
        if res.get("wall_s"):
            lines += [f"_wall time of this benchmark process: {res['wall_s']:.0f} s_", ""]
        prof = (res.get("report") or {}).get("profile")
        if prof and prof.get("summary"):
            lines += ["```", prof["summary"], "```", ""]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output directory (bench.json, bench.md, raw/)")
    p.add_argument("--quick", action="store_true", help="tiny networks, 1 iteration, small sweeps")
    p.add_argument("--config", default=None, help="EG3D config of the forward benchmark (default: by --quick)")
    p.add_argument("--batch", default=None, help="EG3D forward batch sizes (default: 1,4; quick: 1)")
    p.add_argument("--iters", type=int, default=None, help="steady iterations for every script (default: per script)")
    p.add_argument("--profile", default=None, metavar="DIR",
                   help="also profile one EG3D forward into DIR (top XLA ops, backbone / renderer / SR split)")
    p.add_argument("--only", default=None, help="comma list of benchmark names to run (see plans())")
    p.add_argument("--skip", default=None, help="comma list of benchmark names to skip")
    p.add_argument("--compilation-cache", action="store_true",
                   help="leave JAX's persistent compilation cache on (default: off, for cold compile times)")
    p.add_argument("--rebuild", action="store_true",
                   help="run nothing: rebuild bench.md / bench.json from the reports already in OUT/raw/")
    args = p.parse_args(argv)

    raw_dir = os.path.join(args.out, "raw")
    os.makedirs(raw_dir, exist_ok=True)
    t0 = time.perf_counter()
    plan = plans(args)
    results = {name: (load_raw(name, script, extra, raw_dir) if args.rebuild else run_one(name, script, extra, raw_dir))
               for name, script, extra, _ in plan}
    rows = collect_rows(plan, results)
    total = None if args.rebuild else time.perf_counter() - t0
    md = build_markdown(results, rows, args.quick, plan, total)
    payload = {"mode": "quick" if args.quick else "full", "env": C.environment(), "total_wall_s": total,
               "columns": list(C.ROW_KEYS), "rows": rows, "benchmarks": results}
    C.write_json(os.path.join(args.out, "bench.json"), payload)
    md_path = os.path.join(args.out, "bench.md")
    with open(md_path, "w") as fh:
        fh.write(md + "\n")
    print(f"wrote {md_path}\n")
    print(md)
    return 0 if all(r["returncode"] == 0 for r in results.values() if not r.get("missing")) else 1


if __name__ == "__main__":
    sys.exit(main())
