"""Benchmark suite: ingest and report at scale, as ratios against baselines run alongside.

For each size (default 10M and 50M events, 100,000 employees, twelve months):
  1. generate the event log as CSV with the project's demo generator (not timed);
  2. ingest baseline: pyarrow's streaming CSV reader writing Parquet (default options),
     and `rse-adoption ingest` of the same file into a fresh store, alternately, best of
     --repeat (3) each. Budget: our throughput >= 0.8x the baseline's, peak memory
     < 1 GiB at 50M and not growing with the file size;
  3. report baseline: hand-written DuckDB queries doing the report's aggregation (per-site
     segment counts and the weekly series) over the same store, and `rse-adoption report
     --format json`, best of 5 each. Budget: our time <= 1.5x the baseline's, peak memory
     < 2 GiB at 50M. The segment counts alone (the earlier, narrower baseline) are
     measured too and reported beside it.
Each step runs in its own process; peak memory is that process's maximum RSS (wait4).
Results go to benchmarks/results/<timestamp>.json and are printed as a table.

Usage: python benchmarks/run.py [--sizes 10000000,50000000] [--people 100000] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
GIB = 1 << 30
#: A report takes about a second, where start-up noise weighs most: best of 5 each side.
REPORT_RUNS = 5

INGEST_BASELINE = """
import sys, pyarrow.csv as pacsv, pyarrow.parquet as pq
reader = pacsv.open_csv(sys.argv[1])
with pq.ParquetWriter(sys.argv[2], reader.schema) as writer:
    for batch in reader:
        writer.write_batch(batch)
"""

REPORT_BASELINE_SEGMENTS = """
import json, sys, duckdb
from datetime import date, timedelta
data, as_of, window = sys.argv[1], date.fromisoformat(sys.argv[2]), int(sys.argv[3])
manifest = json.load(open(f"{data}/manifest.json"))
files = [f"{data}/{f['path']}" for f in manifest["event_files"]]
start = as_of - timedelta(days=window - 1)
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
rows = con.execute('''
WITH d AS (SELECT * FROM read_parquet($dir)),
keys AS (SELECT person_key AS key, person_key FROM d UNION ALL
         SELECT alt_key, person_key FROM d WHERE alt_key IS NOT NULL),
act AS (
  SELECT k.person_key,
         max(CASE WHEN event_type IN ('post','comment') THEN 4 WHEN event_type = 'reaction' THEN 3
                  WHEN event_type = 'read' THEN 2 ELSE 1 END) AS level
  FROM read_parquet($files) e JOIN keys k ON k.key = e.user_key
  WHERE ts >= $start::TIMESTAMPTZ AND ts < $end::TIMESTAMPTZ
  GROUP BY k.person_key)
SELECT d.site, coalesce(a.level, 0) AS level, count(*)
FROM d LEFT JOIN act a USING (person_key)
WHERE (hire_date IS NULL OR hire_date <= $as_of::DATE) AND (leave_date IS NULL OR leave_date > $as_of::DATE)
GROUP BY ALL ORDER BY ALL
''', {"dir": f"{data}/{manifest['directory']['path']}", "files": files, "start": str(start),
      "end": str(as_of + timedelta(days=1)), "as_of": str(as_of)}).fetchall()
print(json.dumps(rows, default=str))
"""

#: The same aggregation as the JSON report: per-site segment counts, per site and week
#: distinct contributors, active people and first-time contributors (for
#: `contributors_to_date`), and the forecast's and habit's input (contribution weeks over
#: the lookback, trailing-window and weekly contributors, habitual contributors), written
#: by hand as directly as DuckDB allows, and the peers' figures (movement, the previous
#: window, conversations, interactions, each contributor's posts and comments). (The report
#: also fits a curve per site, counts ambassadors and applies privacy suppression: its own
#: overhead, measured in the ratio.)
REPORT_BASELINE = """
import json, sys, duckdb
from datetime import date, timedelta
data, as_of, window = sys.argv[1], date.fromisoformat(sys.argv[2]), int(sys.argv[3])
manifest = json.load(open(f"{data}/manifest.json"))
files = [f"{data}/{f['path']}" for f in manifest["event_files"]]
start = as_of - timedelta(days=window - 1)
monday = start - timedelta(days=start.weekday())
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute('''
CREATE TEMP TABLE weeks AS
WITH d AS (SELECT * FROM read_parquet($dir)),
keys AS (SELECT person_key AS key, person_key FROM d UNION ALL
         SELECT alt_key, person_key FROM d WHERE alt_key IS NOT NULL)
SELECT k.person_key, (epoch_us(ts) - epoch_us($monday::TIMESTAMPTZ)) // 604800000000 AS week,
       max(CASE WHEN event_type IN ('post','comment') THEN 4 WHEN event_type = 'reaction' THEN 3
                WHEN event_type = 'read' THEN 2 ELSE 1 END) AS level
FROM read_parquet($files) e JOIN keys k ON k.key = e.user_key
WHERE ts >= $start::TIMESTAMPTZ AND ts < $end::TIMESTAMPTZ
GROUP BY ALL
''', {"dir": f"{data}/{manifest['directory']['path']}", "files": files, "start": str(start),
      "end": str(as_of + timedelta(days=1)), "monday": str(monday)}).fetchall()
con.execute('''
CREATE TEMP TABLE people AS
SELECT d.person_key, d.site, max(w.level) AS level, min(w.week) FILTER (WHERE w.level = 4) AS first
FROM read_parquet($dir) d LEFT JOIN weeks w USING (person_key)
WHERE (hire_date IS NULL OR hire_date <= $as_of::DATE) AND (leave_date IS NULL OR leave_date > $as_of::DATE)
GROUP BY ALL
''', {"dir": f"{data}/{manifest['directory']['path']}", "as_of": str(as_of)}).fetchall()
segments = con.execute(
    "SELECT site, coalesce(level, 0), count(*) FROM people GROUP BY ALL ORDER BY ALL").fetchall()
series = con.execute('''
SELECT p.site, w.week, count(*) FILTER (WHERE w.level = 4), count(*),
       count(*) FILTER (WHERE p.first = w.week)
FROM weeks w JOIN people p USING (person_key) GROUP BY ALL ORDER BY ALL
''').fetchall()
# the forecast's input: each person's contribution weeks over the lookback (52 weekly
# points, each with its 13-week trailing window), the trailing distinct contributors per
# site and week, each week's own contributors, and the habitual ones (9 of the last 12)
lookback = as_of - timedelta(days=as_of.weekday()) - timedelta(weeks=52 + 13 - 1)
last = (as_of - timedelta(days=as_of.weekday()) - lookback).days // 7
con.execute('''
CREATE TEMP TABLE contrib AS
WITH d AS (SELECT * FROM read_parquet($dir)),
keys AS (SELECT person_key AS key, person_key FROM d UNION ALL
         SELECT alt_key, person_key FROM d WHERE alt_key IS NOT NULL)
SELECT DISTINCT k.person_key, (epoch_us(ts) - epoch_us($lookback::TIMESTAMPTZ)) // 604800000000 AS week
FROM read_parquet($files) e JOIN keys k ON k.key = e.user_key
WHERE ts >= $lookback::TIMESTAMPTZ AND ts < $end::TIMESTAMPTZ AND event_type IN ('post', 'comment')
''', {"dir": f"{data}/{manifest['directory']['path']}", "files": files,
      "lookback": str(lookback), "end": str(as_of + timedelta(days=1))}).fetchall()
trailing = con.execute('''
SELECT p.site, c.week + r.k AS week, count(DISTINCT c.person_key)
FROM contrib c JOIN people p USING (person_key), range(13) r(k)
WHERE c.week + r.k <= $last GROUP BY ALL ORDER BY ALL
''', {"last": last}).fetchall()
weekly = con.execute(
    "SELECT p.site, c.week, count(*) FROM contrib c JOIN people p USING (person_key) "
    "GROUP BY ALL ORDER BY ALL").fetchall()
habit = con.execute('''
SELECT p.site, count(*) FROM (SELECT person_key, count(*) AS n FROM contrib
WHERE week > $last - 12 GROUP BY 1) h JOIN people p USING (person_key)
WHERE h.n >= 9 AND p.level = 4 GROUP BY 1
''', {"last": last}).fetchall()
# the peers' figures (issue 20), each the direct way: movement over the whole history,
# the previous window's active people and contributors, threads and their first answers,
# replies and reactions between sites, and each contributor's posts and comments
prev_start = start - timedelta(days=window)
con.execute('''
CREATE TEMP TABLE keys AS
WITH d AS (SELECT * FROM read_parquet($dir))
SELECT person_key AS key, person_key FROM d UNION ALL
SELECT alt_key, person_key FROM d WHERE alt_key IS NOT NULL
''', {"dir": f"{data}/{manifest['directory']['path']}"}).fetchall()
con.execute('''
CREATE TEMP TABLE win AS
SELECT k.person_key, e.ts, e.event_type, e.content_id, t.person_key AS target
FROM read_parquet($files) e JOIN keys k ON k.key = e.user_key
LEFT JOIN keys t ON t.key = e.target_user_key
WHERE ts >= $start::TIMESTAMPTZ AND ts < $end::TIMESTAMPTZ
  AND event_type IN ('post', 'comment', 'reaction')
''', {"files": files, "start": str(start), "end": str(as_of + timedelta(days=1))}).fetchall()
movement = con.execute('''
WITH h AS (
  SELECT k.person_key, min(ts) AS first_any,
         min(ts) FILTER (WHERE event_type IN ('post', 'comment')) AS first_c,
         bool_or(event_type IN ('post', 'comment') AND ts >= $start::TIMESTAMPTZ) AS now,
         bool_or(event_type IN ('post', 'comment') AND ts >= $prev::TIMESTAMPTZ
                 AND ts < $start::TIMESTAMPTZ) AS prev,
         bool_or(event_type IN ('post', 'comment') AND ts < $prev::TIMESTAMPTZ) AS earlier,
         max(CASE WHEN ts < $prev::TIMESTAMPTZ OR ts >= $start::TIMESTAMPTZ THEN 0
                  WHEN event_type IN ('post','comment') THEN 4 WHEN event_type = 'reaction' THEN 3
                  WHEN event_type = 'read' THEN 2 ELSE 1 END) AS prev_level
  FROM read_parquet($files) e JOIN keys k ON k.key = e.user_key
  WHERE ts < $end::TIMESTAMPTZ GROUP BY 1)
SELECT p.site, count(*) FILTER (WHERE h.first_any >= $start::TIMESTAMPTZ),
       count(*) FILTER (WHERE h.first_c >= $start::TIMESTAMPTZ),
       count(*) FILTER (WHERE h.prev AND NOT h.now),
       count(*) FILTER (WHERE h.earlier AND NOT h.prev AND h.now),
       count(*) FILTER (WHERE h.prev_level > 0), count(*) FILTER (WHERE h.prev_level = 4)
FROM people p JOIN h USING (person_key) GROUP BY 1 ORDER BY 1
''', {"files": files, "start": str(start), "prev": str(prev_start),
      "end": str(as_of + timedelta(days=1))}).fetchall()
conversations = con.execute('''
WITH posts AS (SELECT person_key, content_id, ts FROM win WHERE event_type = 'post'),
answers AS (SELECT p.content_id, min(c.ts) AS first
            FROM posts p JOIN win c ON c.content_id = p.content_id AND c.event_type = 'comment'
                 AND c.person_key <> p.person_key AND c.ts >= p.ts GROUP BY 1)
SELECT pe.site, count(*), count(a.first),
       median(epoch(a.first) - epoch(p.ts)) / 3600,
       count(*) FILTER (WHERE a.first IS NULL AND p.ts < $cut::TIMESTAMPTZ)
FROM posts p JOIN people pe USING (person_key) LEFT JOIN answers a USING (content_id)
GROUP BY 1 ORDER BY 1
''', {"cut": str(as_of + timedelta(days=1) - timedelta(days=7))}).fetchall()
interactions = con.execute('''
SELECT a.site, b.site, count(*)
FROM win e JOIN people a ON a.person_key = e.person_key JOIN people b ON b.person_key = e.target
WHERE e.event_type IN ('comment', 'reaction')
  AND e.person_key <> e.target
GROUP BY ALL ORDER BY ALL
''').fetchall()
concentration = con.execute('''
SELECT p.site, count(*) AS n FROM win e JOIN people p USING (person_key)
WHERE e.event_type IN ('post', 'comment')
GROUP BY e.person_key, p.site ORDER BY 1, 2 DESC
''').fetchall()
print(json.dumps([segments, series, trailing, weekly, habit, movement, conversations,
                  interactions, len(concentration)], default=str))
"""


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run `cmd`; return wall seconds and the process's peak resident memory in bytes."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read() if proc.stderr else b""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed: {err.decode()[-2000:]}")
    return {"seconds": seconds, "peak_rss": usage.ru_maxrss * 1024, "stdout": out.decode()}  # type: ignore[dict-item]


def generate(events: int, people: int, work: Path) -> tuple[Path, Path]:
    """The CSV event log and the directory for one size (reused when already there).

    Runs in its own process (see `main`): a child forked from a parent holding the
    generator's arrays would report that memory as its own peak."""
    from rse_adoption.demo import (
        DEMO_SITES,
        make_organisation,
        rate_scale_for,
        write_directory,
        write_events_csv,
    )

    log, directory = work / f"events-{events}.csv", work / f"directory-{people}.csv"
    scale = people / sum(s.headcount for s in DEMO_SITES)
    org = make_organisation(start=date(2025, 11, 1), end=date(2026, 10, 31), scale=scale, seed=7)
    if not directory.exists():
        write_directory(org, directory)
    if not log.exists():
        started = time.perf_counter()
        rows = write_events_csv(org, log, rate_scale=rate_scale_for(org, events))
        print(
            f"generated {rows:,} events ({log.stat().st_size / GIB:.1f} GiB) in {time.perf_counter() - started:.0f} s"
        )
    return log, directory


def bench_size(
    events: int, people: int, work: Path, cli: list[str], repeat: int
) -> dict[str, object]:
    generated = measure(
        [
            sys.executable,
            __file__,
            "--generate",
            str(events),
            "--people",
            str(people),
            "--work",
            str(work),
        ]
    )
    print(str(generated["stdout"]).strip())
    log, directory = work / f"events-{events}.csv", work / f"directory-{people}.csv"
    data = work / f"store-{events}"
    base_out = work / "baseline.parquet"
    # Best of `repeat` for both sides, alternating: single runs vary by +-10 % here.
    base_ingests, our_ingests = [], []
    for _ in range(repeat):
        base_ingests.append(
            measure([sys.executable, "-c", INGEST_BASELINE, str(log), str(base_out)])
        )
        base_out.unlink()
        shutil.rmtree(data, ignore_errors=True)
        measure([*cli, "directory", str(directory), "--data-dir", str(data), "--quiet"])
        our_ingests.append(measure([*cli, "ingest", str(log), "--data-dir", str(data), "--json"]))
    base_ingest = min(base_ingests, key=lambda m: m["seconds"])
    ours_ingest = min(our_ingests, key=lambda m: m["seconds"])
    ingested = json.loads(ours_ingest["stdout"])  # type: ignore[arg-type]
    reports = [
        measure([*cli, "report", "--data-dir", str(data), "--format", "json"])
        for _ in range(REPORT_RUNS)
    ]
    as_of = json.loads(reports[0]["stdout"])["as_of"]  # type: ignore[arg-type]
    baselines = [
        measure([sys.executable, "-c", REPORT_BASELINE, str(data), as_of, "90"])
        for _ in range(REPORT_RUNS)
    ]
    segments_only = [
        measure([sys.executable, "-c", REPORT_BASELINE_SEGMENTS, str(data), as_of, "90"])
        for _ in range(REPORT_RUNS)
    ]
    report_seconds = min(r["seconds"] for r in reports)
    base_seconds = min(b["seconds"] for b in baselines)
    shutil.rmtree(data, ignore_errors=True)
    return {
        "events": events,
        "people": people,
        "csv_bytes": log.stat().st_size,
        "rows_ingested": ingested["rows_ingested"],
        "ingest_baseline_s": round(base_ingest["seconds"], 2),
        "ingest_s": round(ours_ingest["seconds"], 2),
        "ingest_throughput_ratio": round(base_ingest["seconds"] / ours_ingest["seconds"], 3),
        "ingest_baseline_peak_mib": round(max(m["peak_rss"] for m in base_ingests) / 2**20),
        "ingest_peak_mib": round(max(m["peak_rss"] for m in our_ingests) / 2**20),
        "repeat": repeat,
        "report_baseline_s": round(base_seconds, 2),
        "report_s": round(report_seconds, 2),
        "report_time_ratio": round(report_seconds / base_seconds, 3),
        "report_baseline_segments_only_s": round(min(b["seconds"] for b in segments_only), 2),
        "report_time_ratio_segments_only": round(
            report_seconds / min(b["seconds"] for b in segments_only), 3
        ),
        "report_peak_mib": round(max(r["peak_rss"] for r in reports) / 2**20),
        "report_baseline_peak_mib": round(max(b["peak_rss"] for b in baselines) / 2**20),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000000,50000000")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--keep", action="store_true", help="keep generated CSV files")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step; best kept")
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.generate:
        generate(args.generate, args.people, args.work)
        return
    cli = [sys.executable, "-m", "rse_adoption.cli"]
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        result = bench_size(size, args.people, args.work, cli, args.repeat)
        results.append(result)
        print(json.dumps(result))
        if not args.keep:
            (args.work / f"events-{size}.csv").unlink(missing_ok=True)
    out = HERE / "results" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": {"cpus": os.cpu_count()}, "results": results}, indent=1))
    print(f"\nresults written to {out}")
    print(
        f"{'events':>12} {'ingest ratio':>13} {'ingest MiB':>11} {'report ratio':>13} {'report MiB':>11}"
    )
    for r in results:
        print(
            f"{r['events']:>12,} {r['ingest_throughput_ratio']:>13} {r['ingest_peak_mib']:>11} "
            f"{r['report_time_ratio']:>13} {r['report_peak_mib']:>11}"
        )


if __name__ == "__main__":
    main()
