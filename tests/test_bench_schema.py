"""The benchmark summary: row schema, failed / missing rows, Markdown table (synthetic reports, no timing)."""
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "experiments", "benchmarks")


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, BENCH)
    try:
        import _common
        import run_all
    finally:
        sys.path.remove(BENCH)
    return _common, run_all


def test_workload_row_derives_rates(bench):
    C, _ = bench
    row = C.workload_row("EG3D forward (batch 1)", "ffhq512", compile_s=12.0, times=[2.0, 4.0, 3.0], flops=6e9,
                         peak_gflops=100.0, mem={"temp_size_in_bytes": 2 ** 20, "argument_size_in_bytes": 3 * 2 ** 20},
                         rss_mib=900.0)
    assert set(C.ROW_KEYS) <= set(row)
    assert (row["min_s"], row["median_s"], row["n"]) == (2.0, 3.0, 3)
    assert row["gflops_per_s"] == pytest.approx(2.0)
    assert row["fraction_of_peak"] == pytest.approx(0.02)
    assert (row["temp_bytes"], row["argument_bytes"]) == (2 ** 20, 3 * 2 ** 20)


def test_bad_status(bench):
    C, _ = bench
    with pytest.raises(ValueError, match="status"):
        C.workload_row("x", "", status="done")


def synthetic_results(C):
    ok = C.missing_row("placeholder", "", "")  # schema-complete dict without importing jax
    ok.update(workload="renderer forward 64²", size="tiny", status="ok", compile_s=1.5, min_s=0.2, median_s=0.25,
              n=2, flops=5e9, gflops_per_s=20.0, peak_gflops_per_s=100.0, fraction_of_peak=0.2,
              temp_bytes=10 * 2 ** 20, argument_bytes=2 ** 20, peak_rss_mib=512.0, device_kind="cpu")
    legacy = {"benchmark": "optimization", "matmul": {"gflops_per_s": 50.0},
              "results": {"tiny": {"pti": {"compile_s": 3.0, "lower_s": 1.0, "times_s": [1.0, 3.0], "flops": 4e9}}}}
    return {"components": {"returncode": 0, "wall_s": 1.0, "report": {"rows": [ok]}},
            "optimization": {"returncode": 0, "wall_s": 1.0, "report": legacy},
            "train": {"returncode": 1, "wall_s": 1.0, "command": ["python", "bench_train.py"]},
            "encoders": {"returncode": None, "wall_s": 0.0, "missing": True, "command": ["python", "x.py"]}}


PLAN = [("components", "bench_components.py", [], ["renderer forward 64²"]),
        ("encoders", "bench_encoders.py", [], ["GOAE encoder", "AFA"]),
        ("optimization", "bench_optimization.py", [], ["PTI step"]),
        ("train", "bench_train.py", [], ["train step: toy pSp"])]


def test_rows_in_plan_order_with_failed_and_missing(bench):
    C, run_all = bench
    rows = run_all.collect_rows(PLAN, synthetic_results(C))
    assert [(r["workload"], r["status"]) for r in rows] == [
        ("renderer forward 64²", "ok"), ("GOAE encoder", "missing"), ("AFA", "missing"),
        ("PTI step", "ok"), ("train step: toy pSp", "failed")]
    legacy = rows[3]
    assert legacy["size"] == "tiny"
    assert (legacy["compile_s"], legacy["median_s"]) == (4.0, 2.0)
    assert legacy["fraction_of_peak"] == pytest.approx(0.04)  # 2 GFLOP/s of a 50 GFLOP/s peak


def test_summary_table(bench):
    C, run_all = bench
    rows = run_all.collect_rows(PLAN, synthetic_results(C))
    table = C.summary_table(rows).splitlines()
    assert table[0] == "| " + " | ".join(C.SUMMARY_HEADERS) + " |"
    assert len(table) == 2 + len(rows)
    assert all(line.count("|") == len(C.SUMMARY_HEADERS) + 1 for line in table)
    first = [c.strip() for c in table[2].strip("|").split("|")]
    cell = dict(zip(C.SUMMARY_HEADERS, first))
    assert (cell["compile (s)"], cell["steady median (s)"], cell["XLA temp (MiB)"], cell["of peak"]) == \
        ("1.5", "0.25", "10", "20.0%")
    assert "missing: bench_encoders.py does not exist yet" in table[3]
    assert "failed: bench_train.py exited with status 1" in table[6]


def test_markdown_has_summary_first(bench):
    C, run_all = bench
    results = synthetic_results(C)
    md = run_all.build_markdown(results, run_all.collect_rows(PLAN, results), True, PLAN)
    assert md.index("## Summary") < md.index("| workload |")
    assert "renderer forward 64²" in md
