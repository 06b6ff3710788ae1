"""The benchmark suite runs end to end (at toy sizes: the figures themselves come from
`make bench`, docs/benchmarks.md), so that it cannot rot between measurements."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_matrix_runs_and_writes_its_results_and_tables(tmp_path: Path) -> None:
    run = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--work", str(tmp_path / "w")]
    run += ["--results", str(tmp_path / "r"), "--shapes", "naive-timezone,slack-export"]
    run += ["--sizes", "3000", "--slack-sizes", "2000", "--people", "500", "--repeat", "1"]
    run += ["--report-people", "300", "--report-events", "5000", "--windows", "7"]
    run += ["--history-people", "300", "--history-events", "8000", "--history-window", "7"]
    run += ["--segments-people", "300", "--segments-events", "5000", "--segments-window", "7"]
    subprocess.run([*run, "--report-repeat", "1"], check=True, capture_output=True, timeout=300)
    (results,) = (tmp_path / "r").glob("*.json")
    document = json.loads(results.read_text())
    assert [(r["shape"], r["rows"]) for r in document["ingest"]] == [
        ("naive-timezone", 3000),
        ("slack-export", 2000),
    ]
    assert all(r["rows_ingested"] > 0 and r["quarantined"] == 0 for r in document["ingest"])
    assert [r["window_days"] for r in document["report"]] == [7]
    # the same window on six months and on two years, with a directory and without one
    assert [h["directory"] for h in document["history"]] == [True, False]
    for history in document["history"]:
        assert 0 < history["events_6_months"] < history["events_2_years"]
        assert history["time_ratio"] > 0
    (segments,) = document["segments_only"]  # the report against the segments alone
    assert segments["events_stored"] > 0 and segments["time_ratio"] > 0
    assert document["machine"]["cpus"] >= 1
    tables = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--markdown", str(results)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "| naive-timezone | 3,000 |" in tables and "| 300 |" in tables
    assert "| 300 | yes | 7 | 13 |" in tables and "| 300 | no | 7 | 13 |" in tables  # history
    assert f"| 300 | {segments['events_stored']:,} | 7 |" in tables  # segments only


def test_peak_memory_adds_up_the_processes_a_step_starts(tmp_path: Path) -> None:
    """The Slack reader's workers run beside the ingesting process: a step's peak memory is
    what its processes hold together (wait4 alone gives the largest of them)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import run

    child = "b = bytearray(300 << 20); import time; time.sleep(1.5)"
    parent = (
        "import subprocess, sys; held = bytearray(200 << 20); "
        f"subprocess.run([sys.executable, '-c', {child!r}])"
    )
    peak = run.measure([sys.executable, "-c", parent])["peak_rss"]
    assert 500 << 20 <= peak < 700 << 20


def test_the_capacity_benchmark_runs_and_counts_sparks_java_process(tmp_path: Path) -> None:
    """benchmarks/scale.py at a toy size (docs/scale.md has the figures): both engines
    print the same report, and Spark's peak includes its JVM, a child of the command."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")
    run = [sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--sizes", "100000"]
    run += ["--one-core-sizes", "", "--people", "1000", "--repeat", "1"]
    run += ["--spark-memory", "1g", "--work", str(tmp_path / "w"), "--results", str(tmp_path)]
    subprocess.run(run, check=True, capture_output=True, timeout=600)
    ((result,),) = [json.loads(p.read_text())["results"] for p in tmp_path.glob("scale-*.json")]
    assert result["same_json"] is True
    assert result["spark_all_cores_peak_mib"] > result["duckdb_all_cores_peak_mib"] + 200
