"""Benchmark suite: ingest and report as a matrix of input shapes and sizes, each as a
ratio against a baseline run alongside it on the same files (docs/benchmarks.md).

Ingest, for every shape (benchmarks/shapes.py: CSV layouts users have; the demo
generator's log; a Slack export zip and a Viva Engage period file from bundles.py) at each
size (default 10M and 50M rows): the file is generated (not timed), then `rse-adoption
ingest` into an empty store and the shape's baseline (pyarrow's streaming reader writing
Parquet with typed timestamps; for the Slack zip, json + pyarrow) run in --repeat
alternating pairs. Budget: throughput >= 0.8x the baseline's (median of the pairs' ratios),
peak memory < 1 GiB and not growing with the file. A 1,000-row file of every shape: < 0.5 s.

Report, for every directory size (default 10k, 100k, 2M people) over one log of --report-
events events: `rse-adoption report --format json` and the hand-written DuckDB baseline
doing the same aggregation, for every window (default 7, 30, 90, 365 days), alternating,
best of --report-repeat each. Budget: ours <= 1.5x the baseline.

History length (issue 34): one organisation's two-year demo log (--history-events events,
--history-people people) and its last six months, each in its own store with the
directory (and without it: --history-stores); `report --format json` over the same
--history-window on both, alternating, best of --report-repeat each. Budget: the two years'
time <= 1.2x the six months'.

Each step runs in its own process; peak memory is the larger of that process's maximum RSS
(wait4) and the most its whole process tree (the Slack reader's workers too) held at once,
resident sets added up, sampled every TREE_SAMPLE_S seconds.
Results go to benchmarks/results/<timestamp>.json (or --results) and are printed as tables.

Report against the segments-only query (issue 34): one store of the demo log
(--segments-events events, --segments-people people, the directory); `report --format json`
and REPORT_BASELINE_SEGMENTS (the people per site and participation level over the window,
nothing else) on the same window, alternating, best of --report-repeat each. Budget: ours
<= 1.5x the segments-only query.

Usage: python benchmarks/run.py [--shapes a,b] [--sizes N,M] [--report-people P,Q]
       [--windows 7,90] [--history-people P] [--history-events N]
       [--history-stores directory,no-directory] [--segments-people P] [--segments-events N]
       [--work DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
GIB = 1 << 30
SMALL_ROWS = 1_000
SMALL_RUNS = 5
CSV_SHAPES = ("plain", "ids-quoted", "paris-offsets", "naive-timezone", "wide-quoted")
BUNDLE_SHAPES = ("slack-export", "viva-engage", "teams", "slack-analytics")
#: Period files (one row per person): sized by --period-sizes.
PERIOD_SHAPES = ("viva-engage", "teams", "slack-analytics")
ALL_SHAPES = (*CSV_SHAPES, "demo", *BUNDLE_SHAPES)

#: The baseline of every CSV shape: pyarrow's streaming reader (default options but the
#: timestamp column's type: UTC, or naive for local times) writing one Parquet file.
INGEST_BASELINE = """
import sys, pyarrow as pa, pyarrow.csv as pacsv, pyarrow.parquet as pq
path, out, column, zone = sys.argv[1:5]
kind = pa.timestamp("us", tz="UTC") if zone == "utc" else pa.timestamp("us")
reader = pacsv.open_csv(path, convert_options=pacsv.ConvertOptions(column_types={column: kind}))
with pq.ParquetWriter(out, reader.schema) as writer:
    for batch in reader:
        writer.write_batch(batch)
"""

#: The segments-only baseline (issue 34, item 2): what a hand-written DuckDB query needs for
#: the report's first table alone — the directory's people employed on as_of (hire date on
#: or before it, leave date after it), each one's highest participation level over the
#: window's events (post or comment 4, reaction 3, read 2, login 1, through person_key or
#: alt_key; none 0), and the number of people per site and level — reading the event files
#: of the window's months only (the store's hive layout), the directory and the manifest.
REPORT_BASELINE_SEGMENTS = """
import json, sys, duckdb
from datetime import date, timedelta
data, as_of, window = sys.argv[1], date.fromisoformat(sys.argv[2]), int(sys.argv[3])
manifest = json.load(open(f"{data}/manifest.json"))
start = as_of - timedelta(days=window - 1)
months = (start.strftime("%Y-%m"), as_of.strftime("%Y-%m"))
files = [f"{data}/{f['path']}" for f in manifest["event_files"]
         if months[0] <= f["month"] <= months[1]]
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
rows = con.execute('''
WITH d AS (SELECT * FROM read_parquet($dir)),
keys AS (SELECT person_key AS key, person_key FROM d UNION ALL
         SELECT alt_key, person_key FROM d WHERE alt_key IS NOT NULL),
act AS (
  SELECT k.person_key,
         max(CASE event_type WHEN 'post' THEN 4 WHEN 'comment' THEN 4 WHEN 'reaction' THEN 3
                  WHEN 'read' THEN 2 WHEN 'login' THEN 1 ELSE 0 END) AS level
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
#: window, conversations, interactions, each contributor's posts and comments), and what
#: every report computes for its disclosure plan since issue 28 (the transitions between
#: segments, the personas, the ambassadors' reach over the lookback, as the report reads it:
#: the window's contributors' events only, no one else can be new). (The report also fits
#: a curve per site, counts ambassadors and applies privacy suppression: its own overhead,
#: measured in the ratio.)
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
SELECT d.person_key, d.site,
       d.is_ambassador AND (d.ambassador_since IS NULL OR d.ambassador_since <= $as_of::DATE)
           AS is_ambassador,
       max(w.level) AS level,
       min(w.week) FILTER (WHERE w.level = 4) AS first
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
window_weeks = -(-window // 7)  # the report's window in whole weeks (context._lookback)
lookback = as_of - timedelta(days=as_of.weekday()) - timedelta(weeks=52 + window_weeks - 1)
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
FROM contrib c JOIN people p USING (person_key), range($weeks) r(k)
WHERE c.week + r.k <= $last GROUP BY ALL ORDER BY ALL
''', {"last": last, "weeks": window_weeks}).fetchall()
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
con.execute('''
CREATE TEMP TABLE h AS
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
  WHERE ts < $end::TIMESTAMPTZ GROUP BY 1
''', {"files": files, "start": str(start), "prev": str(prev_start),
      "end": str(as_of + timedelta(days=1))}).fetchall()
movement = con.execute('''
SELECT p.site, count(*) FILTER (WHERE h.first_any >= $start::TIMESTAMPTZ),
       count(*) FILTER (WHERE h.first_c >= $start::TIMESTAMPTZ),
       count(*) FILTER (WHERE h.prev AND NOT h.now),
       count(*) FILTER (WHERE h.earlier AND NOT h.prev AND h.now),
       count(*) FILTER (WHERE h.prev_level > 0), count(*) FILTER (WHERE h.prev_level = 4)
FROM people p JOIN h USING (person_key) GROUP BY 1 ORDER BY 1
''', {"start": str(start)}).fetchall()
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
# what every report also computes for its privacy plan (issue 28): the transitions from
# the previous window's segment to this one's, the personas, and the ambassadors' reach
transitions = con.execute('''
SELECT p.site, coalesce(h.prev_level, 0), coalesce(p.level, 0), count(*)
FROM people p LEFT JOIN h USING (person_key) GROUP BY ALL ORDER BY ALL
''').fetchall()
personas = con.execute('''
WITH made AS (SELECT person_key, count(*) FILTER (WHERE event_type = 'post') AS posts,
                     count(*) FILTER (WHERE event_type = 'comment') AS replies
              FROM win GROUP BY 1),
received AS (SELECT target AS person_key, count(*) AS received FROM win
             WHERE target <> person_key AND event_type IN ('comment', 'reaction') GROUP BY 1)
SELECT p.site,
       CASE WHEN coalesce(m.posts, 0) + coalesce(m.replies, 0) = 0 THEN 'observer'
            WHEN coalesce(r.received, 0) >= 2 * (m.posts + m.replies) THEN 'catalyst'
            WHEN m.replies > m.posts THEN 'responder'
            WHEN coalesce(r.received, 0) < 0.5 * (m.posts + m.replies) THEN 'broadcaster'
            ELSE 'engager' END AS persona, count(*)
FROM people p LEFT JOIN made m USING (person_key) LEFT JOIN received r USING (person_key)
WHERE p.level IS NOT NULL GROUP BY ALL ORDER BY ALL
''').fetchall()
reach = con.execute('''
WITH contributors AS (SELECT DISTINCT person_key FROM win JOIN people USING (person_key)
                      WHERE event_type IN ('post', 'comment')),
their AS (SELECT k.key, k.person_key FROM keys k JOIN contributors USING (person_key)),
amb AS (SELECT k.key FROM keys k JOIN people p USING (person_key) WHERE p.is_ambassador),
per AS (SELECT t.person_key, min(ts) FILTER (WHERE event_type IN ('post', 'comment')) AS fc,
               min(ts) FILTER (WHERE e.target_user_key IN (SELECT key FROM amb)) AS fi
        FROM read_parquet($files) e JOIN their t ON t.key = e.user_key
        WHERE ts >= $lookback::TIMESTAMPTZ AND ts < $end::TIMESTAMPTZ
          AND event_type IN ('post', 'comment', 'reaction', 'read')
        GROUP BY 1),
reached AS (SELECT DISTINCT person_key FROM win
            WHERE event_type IN ('reaction', 'comment')
              AND target IN (SELECT person_key FROM people WHERE is_ambassador))
SELECT p.site, count(r.person_key) FILTER (WHERE NOT p.is_ambassador),
       count(*) FILTER (WHERE fc >= $start::TIMESTAMPTZ),
       count(*) FILTER (WHERE fc >= $start::TIMESTAMPTZ AND fi <= fc)
FROM people p LEFT JOIN per USING (person_key) LEFT JOIN reached r USING (person_key)
WHERE per.person_key IS NOT NULL OR r.person_key IS NOT NULL
GROUP BY 1 ORDER BY 1
''', {"files": files, "lookback": str(lookback), "start": str(start),
      "end": str(as_of + timedelta(days=1))}).fetchall()
print(json.dumps([segments, series, trailing, weekly, habit, movement, conversations,
                  interactions, len(concentration), transitions, personas, reach], default=str))
"""


#: Seconds between two samples of a measured process tree's memory (a scan of /proc costs
#: about a millisecond).
TREE_SAMPLE_S = 0.1


def _descendants(root: int) -> list[int]:
    """`root` and every process below it, found by their parents in /proc (Linux)."""
    parents: dict[int, list[int]] = {}
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    stat = f.read()
            except OSError:  # ended meanwhile
                continue
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            parents.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, ()))
    return found


def _resident_bytes(pid: int) -> int:
    """A process's resident set in bytes (0 once it has ended)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _watch_tree(pid: int, done: threading.Event, peak: list[int]) -> None:
    """Until `done`: the most the tree under `pid` holds at once, resident sets added up
    (pages shared between processes count in each: an upper bound), into peak[0]."""
    if not os.path.isdir("/proc"):
        return
    while not done.wait(TREE_SAMPLE_S):
        peak[0] = max(peak[0], sum(_resident_bytes(p) for p in _descendants(pid)))


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run `cmd`; return wall seconds and its peak memory in bytes: the larger of the
    process's maximum resident set and its process tree's sampled peak (`_watch_tree`).
    Its output goes to files, not pipes: a pipe left unread while waiting would stop a
    child writing more than the pipe holds (a year-long report's JSON)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        done, tree_peak = threading.Event(), [0]
        watcher = threading.Thread(target=_watch_tree, args=(proc.pid, done, tree_peak))
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        done.set()
        watcher.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed: {stderr.decode()[-2000:]}")
    peak = max(usage.ru_maxrss * 1024, tree_peak[0])
    cpu = usage.ru_utime + usage.ru_stime  # the process's and the children it waited for
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_rss": peak, "stdout": stdout.decode()}  # type: ignore[dict-item]


def generate(shape: str, rows: int, people: int, work: Path) -> Path:
    """Write the input of `shape` with `rows` rows (reused when already there) and return
    its path. Runs in its own process (see `main`): a child forked from a parent holding
    the generator's arrays would report that memory as its own peak."""
    path = input_path(shape, rows, people, work)
    if path.exists():
        return path
    started = time.perf_counter()
    partial = path.with_name(path.name + ".partial")
    if shape in CSV_SHAPES:
        import shapes

        shapes.write_shape(shape, rows, people, partial)
    elif shape == "slack-export":
        import bundles

        bundles.write_slack_export(rows, people, partial)
    elif shape == "viva-engage":
        import bundles

        bundles.write_viva_engage(rows, partial)
    elif shape == "teams":
        import bundles

        bundles.write_teams(rows, partial)
    elif shape == "slack-analytics":
        write_slack_analytics(rows, partial)
    elif shape == "demo-2y":
        write_demo_log(rows, people, partial, years=2)
    else:
        write_demo_log(rows, people, partial)
    partial.rename(path)
    print(
        f"generated {shape} {rows:,} rows ({path.stat().st_size / GIB:.2f} GiB) "
        f"in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return path


#: The columns of Slack's member analytics export (workspace analytics, "Members" tab),
#: as in ../shared/samples/slack/member-analytics-headers.csv.
SLACK_ANALYTICS_HEADER = (
    "Name,What I Do,User ID,Username,Account type,Account created (UTC),Claimed Date (UTC),"
    "Deactivated date (UTC),Days active,Days active (Desktop),Days active (Android),"
    "Days active (iOS),Messages posted,Messages posted in channels,Reactions added,"
    "Last active (UTC),Last active (Desktop) (UTC),Last active (Android) (UTC),"
    "Last active (iOS) (UTC)"
)


def write_slack_analytics(rows: int, path: Path) -> None:
    """A Slack member analytics CSV of `rows` members over 90 days (seeded), its dates
    quoted as Slack writes them (`"Mar 17, 2025"`), a quarter of the members inactive
    (no last-active date); the file does not state its period (ingest gets
    --period-end 2026-10-31 --period-days 90)."""
    import numpy as np

    rng = np.random.default_rng(34)
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct")
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(SLACK_ANALYTICS_HEADER + "\n")
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            active = rng.integers(0, 91, n) * (rng.random(n) > 0.25)
            desktop = rng.integers(0, active + 1)
            posted = rng.poisson(active * 0.8)
            channels = rng.integers(0, posted + 1)
            reactions = rng.poisson(active * 0.3)
            day = rng.integers(1, 29, n)
            month = rng.integers(0, len(months), n)
            lines = []
            for i in range(n):
                seen = f'"{months[month[i]]} {day[i]:02d}, 2026"' if active[i] else ""
                lines.append(
                    f"Person {start + i},,U{start + i:09d},person{start + i},Member,"
                    f'"Jan 05, 2025","Jan 05, 2025",,{active[i]},{desktop[i]},0,'
                    f"{active[i] - desktop[i]},{posted[i]},{channels[i]},{reactions[i]},"
                    f"{seen},{seen if desktop[i] else ''},,{seen if active[i] > desktop[i] else ''}"
                )
            out.write("\n".join(lines) + "\n")


#: Load a Slack member analytics CSV (argv[1]) into one Parquet file (argv[2]) with
#: pyarrow: the dates as timestamps (Slack's `Mar 17, 2025`), the counts as int64.
SLACK_ANALYTICS_BASELINE = """
import sys
import pyarrow as pa, pyarrow.csv as pacsv, pyarrow.parquet as pq
dates = ("Account created (UTC)", "Claimed Date (UTC)", "Deactivated date (UTC)",
    "Last active (UTC)", "Last active (Desktop) (UTC)", "Last active (Android) (UTC)",
    "Last active (iOS) (UTC)")
types = {c: pa.timestamp("s") for c in dates}
types |= {c: pa.int64() for c in ("Days active", "Days active (Desktop)",
    "Days active (Android)", "Days active (iOS)", "Messages posted",
    "Messages posted in channels", "Reactions added")}
options = pacsv.ConvertOptions(column_types=types, timestamp_parsers=["%b %d, %Y"])
reader = pacsv.open_csv(sys.argv[1], convert_options=options)
with pq.ParquetWriter(sys.argv[2], reader.schema) as writer:
    for batch in reader:
        writer.write_batch(batch)
"""


def write_demo_log(events: int, people: int, path: Path, years: int = 1) -> None:
    """The demo generator's log (seven columns, UTC `...+00:00`) for `people` people over
    twelve months (`years` × twelve, ending on the same day); its directory beside it (the
    report benchmark's input)."""
    from rse_adoption.demo import (
        DEMO_SITES,
        make_organisation,
        rate_scale_for,
        write_directory,
        write_events_csv,
    )

    scale = people / sum(s.headcount for s in DEMO_SITES)
    start = date(2026 - years, 11, 1)
    org = make_organisation(start=start, end=date(2026, 10, 31), scale=scale, seed=7)
    directory = path.parent / f"directory-{people}{'' if years == 1 else f'-{years}y'}.csv"
    if not directory.exists():
        write_directory(org, directory)
    write_events_csv(org, path, rate_scale=rate_scale_for(org, events))


def input_path(shape: str, rows: int, people: int, work: Path) -> Path:
    suffix = {"slack-export": "zip"}.get(shape, "csv")
    return work / f"{shape}-{rows}-{people}.{suffix}"


def run_generator(shape: str, rows: int, people: int, work: Path) -> Path:
    step = [sys.executable, __file__, "--generate", shape, "--rows", str(rows)]
    out = measure([*step, "--people", str(people), "--work", str(work)])
    print(str(out["stdout"]).strip(), flush=True)
    return input_path(shape, rows, people, work)


def baseline_command(shape: str, path: Path, out: Path) -> list[str]:
    """The baseline of one shape, on the same file."""
    if shape == "slack-export":
        import bundles

        return [sys.executable, "-c", bundles.SLACK_BASELINE, str(path), str(out)]
    if shape == "viva-engage":
        import bundles

        return [sys.executable, "-c", bundles.VIVA_BASELINE, str(path), str(out)]
    if shape == "teams":
        import bundles

        return [sys.executable, "-c", bundles.TEAMS_BASELINE, str(path), str(out)]
    if shape == "slack-analytics":
        return [sys.executable, "-c", SLACK_ANALYTICS_BASELINE, str(path), str(out)]
    zone = "local" if shape == "naive-timezone" else "utc"
    return [sys.executable, "-c", INGEST_BASELINE, str(path), str(out), "timestamp", zone]


def ingest_command(cli: list[str], shape: str, path: Path, data: Path) -> list[str]:
    options: tuple[str, ...] = ()
    if shape in CSV_SHAPES:
        import shapes

        options = shapes.SHAPES[shape].ingest_options
    if shape == "slack-analytics":  # the export does not state its period
        options = ("--period-end", "2026-10-31", "--period-days", "90")
    return [*cli, "ingest", str(path), "--data-dir", str(data), "--json", *options]


def bench_ingest(
    shape: str, rows: int, people: int, work: Path, cli: list[str], repeat: int
) -> dict[str, object]:
    """`repeat` alternating pairs of baseline and ingest (the order swapped every pair)."""
    path = run_generator(shape, rows, people, work)
    data, out = work / f"store-{shape}", work / "baseline.parquet"
    pairs = []
    for i in range(repeat):
        runs = {}
        for side in ("baseline", "ours") if i % 2 == 0 else ("ours", "baseline"):
            shutil.rmtree(data, ignore_errors=True)
            out.unlink(missing_ok=True)
            command = (
                baseline_command(shape, path, out)
                if side == "baseline"
                else ingest_command(cli, shape, path, data)
            )
            runs[side] = measure(command)
        pairs.append(runs)
    ingested = json.loads(str(pairs[-1]["ours"]["stdout"]))
    shutil.rmtree(data, ignore_errors=True)
    out.unlink(missing_ok=True)
    ratios = [p["baseline"]["seconds"] / p["ours"]["seconds"] for p in pairs]
    return {
        "shape": shape,
        "rows": rows,
        "people": people,
        "bytes": path.stat().st_size,
        "rows_ingested": ingested["rows_ingested"],
        "duplicates": ingested["duplicates"],
        "quarantined": ingested["quarantined"],
        "baseline_s": [round(p["baseline"]["seconds"], 2) for p in pairs],
        "ours_s": [round(p["ours"]["seconds"], 2) for p in pairs],
        "throughput_ratio": round(statistics.median(ratios), 3),
        "throughput_ratios": [round(r, 3) for r in ratios],
        # user + system seconds (with worker processes): what a busy machine cannot blur
        "baseline_cpu_s": [round(p["baseline"]["cpu_seconds"], 2) for p in pairs],
        "ours_cpu_s": [round(p["ours"]["cpu_seconds"], 2) for p in pairs],
        "cpu_ratio": round(
            statistics.median(
                p["baseline"]["cpu_seconds"] / p["ours"]["cpu_seconds"] for p in pairs
            ),
            3,
        ),
        "peak_mib": round(max(p["ours"]["peak_rss"] for p in pairs) / 2**20),
        "baseline_peak_mib": round(max(p["baseline"]["peak_rss"] for p in pairs) / 2**20),
    }


def bench_small(shape: str, people: int, work: Path, cli: list[str]) -> dict[str, object]:
    """A 1,000-row file of the shape into an empty store: median of SMALL_RUNS. CSV
    shapes take the first 1,000 rows of the shape's file as generated for `people`."""
    if shape == "slack-export":
        path = run_generator(shape, SMALL_ROWS, SMALL_ROWS, work)
    else:
        path = work / f"{shape}-{SMALL_ROWS}.csv"
        with open(run_generator(shape, SMALL_ROWS * 100, people, work), "rb") as big:
            path.write_bytes(b"".join(big.readline() for _ in range(SMALL_ROWS + 1)))
    data = work / f"store-small-{shape}"
    seconds = []
    for _ in range(SMALL_RUNS):
        shutil.rmtree(data, ignore_errors=True)
        seconds.append(measure(ingest_command(cli, shape, path, data))["seconds"])
    shutil.rmtree(data, ignore_errors=True)
    return {"shape": shape, "rows": SMALL_ROWS, "seconds": round(statistics.median(seconds), 3)}


def bench_report(
    people: int, events: int, windows: list[int], work: Path, cli: list[str], repeat: int
) -> list[dict[str, object]]:
    """One store of the demo log for `people` people; every window, alternating with the
    baseline, best of `repeat` each."""
    log = run_generator("demo", events, people, work)
    data = work / f"store-report-{people}"
    shutil.rmtree(data, ignore_errors=True)
    directory = work / f"directory-{people}.csv"
    measure([*cli, "directory", str(directory), "--data-dir", str(data), "--quiet"])
    stored = json.loads(
        str(measure([*cli, "ingest", str(log), "--data-dir", str(data), "--json"])["stdout"])
    )
    results = []
    for window in windows:
        ours_cmd = [*cli, "report", "--data-dir", str(data), "--format", "json"]
        ours_cmd += ["--window", str(window)]
        ours, base = [], []
        as_of = ""  # the report's, which the baseline needs: ours runs first in the first pair
        for i in range(repeat):
            for side in ("ours", "baseline") if i % 2 == 0 else ("baseline", "ours"):
                if side == "ours":
                    ours.append(measure(ours_cmd))
                    as_of = as_of or json.loads(str(ours[-1]["stdout"]))["as_of"]
                else:
                    step = [sys.executable, "-c", REPORT_BASELINE, str(data), as_of, str(window)]
                    base.append(measure(step))
        best_ours = min(r["seconds"] for r in ours)
        best_base = min(r["seconds"] for r in base)
        results.append(
            {
                "people": people,
                "events": events,
                "events_stored": stored["rows_ingested"],
                "window_days": window,
                "baseline_s": round(best_base, 2),
                "ours_s": round(best_ours, 2),
                "time_ratio": round(best_ours / best_base, 3),
                "peak_mib": round(max(r["peak_rss"] for r in ours) / 2**20),
                "baseline_peak_mib": round(max(r["peak_rss"] for r in base) / 2**20),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    shutil.rmtree(data, ignore_errors=True)
    return results


#: The history benchmark's short store: the last six months of the two-year log.
SHORT_HISTORY_FROM = "2026-05"
LOOKBACK_VARIABLE = "RSE_ADOPTION_FORECAST_LOOKBACK_WEEKS"


def bench_history(
    people: int,
    events: int,
    window: int,
    work: Path,
    cli: list[str],
    repeat: int,
    lookback_weeks: int = 13,
    directory: bool = True,
) -> dict[str, object]:
    """The same report window on two stores of one organisation: its last six months of
    events, and its whole two years (the demo generator's log, `events` rows over two
    years, and its directory — or none when not `directory`: the headcount is then the
    people seen in events, each at their most frequent site). Ours on each, alternating,
    best of `repeat`, with the
    forecast looking back `lookback_weeks` weeks (both stores fill that lookback: the
    forecast's work is the same) and with its default 52 weeks (the six months' store
    gives it 26 weeks of points, the two years' 52). Budget: the two years' time at most
    HISTORY_RATIO times the six months' (the first)."""
    log = run_generator("demo-2y", events, people, work)
    short = work / f"demo-2y-{events}-{people}-last6.csv"
    if not short.exists():
        with open(log, encoding="utf-8") as whole, open(short, "w", encoding="utf-8") as out:
            out.write(whole.readline())
            out.writelines(line for line in whole if line.lstrip('"')[:7] >= SHORT_HISTORY_FROM)
    listed = work / f"directory-{people}-2y.csv"
    stores, stored = {"6_months": short, "2_years": log}, {}
    for name, path in stores.items():
        data = work / f"store-history-{name}"
        shutil.rmtree(data, ignore_errors=True)
        if directory:
            measure([*cli, "directory", str(listed), "--data-dir", str(data), "--quiet"])
        done = measure([*cli, "ingest", str(path), "--data-dir", str(data), "--json"])
        stored[name] = (data, json.loads(str(done["stdout"]))["rows_ingested"])
    lookbacks = {"": str(lookback_weeks), "_default_lookback": ""}
    runs: dict[str, list[dict[str, float]]] = {}
    for i in range(repeat + 1):  # the first round fills the forecast's calibration cache
        for name in list(stores) if i % 2 == 0 else list(stores)[::-1]:
            for suffix, weeks in lookbacks.items():
                env = {k: v for k, v in os.environ.items() if k != LOOKBACK_VARIABLE}
                env |= {LOOKBACK_VARIABLE: weeks} if weeks else {}
                command = [*cli, "report", "--data-dir", str(stored[name][0])]
                run = measure([*command, "--format", "json", "--window", str(window)], env)
                if i:
                    runs.setdefault(name + suffix, []).append(run)
    for data, _ in stored.values():
        shutil.rmtree(data, ignore_errors=True)
    row: dict[str, object] = {
        "people": people,
        "directory": directory,
        "window_days": window,
        "forecast_lookback_weeks": lookback_weeks,
        "events_6_months": stored["6_months"][1],
        "events_2_years": stored["2_years"][1],
    }
    for key, measured in runs.items():
        row[f"seconds_{key}"] = [round(r["seconds"], 2) for r in measured]
        row[f"cpu_{key}"] = [round(r["cpu_seconds"], 2) for r in measured]
    for suffix in lookbacks:
        best = {n: min(r["seconds"] for r in runs[n + suffix]) for n in stores}
        row[f"time_ratio{suffix}"] = round(best["2_years"] / best["6_months"], 3)
        # user + system seconds, medians: what a busy machine blurs least
        cpu = {n: statistics.median(r["cpu_seconds"] for r in runs[n + suffix]) for n in stores}
        row[f"cpu_ratio{suffix}"] = round(cpu["2_years"] / cpu["6_months"], 3)
    row["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(row), flush=True)
    return row


def bench_segments_only(
    people: int, events: int, window: int, work: Path, cli: list[str], repeat: int
) -> dict[str, object]:
    """The full JSON report against the segments-only baseline (REPORT_BASELINE_SEGMENTS)
    on one store of the demo log (`events` events over a year, `people` people and their
    directory), the same window and as_of: a first round of each not counted (it fills the
    forecast's calibration cache), then `repeat` alternating pairs; best of each, and the
    CPU seconds' medians. Budget: ours at most REPORT_RATIO times the baseline's."""
    log = run_generator("demo", events, people, work)
    data = work / f"store-segments-{people}"
    shutil.rmtree(data, ignore_errors=True)
    directory = work / f"directory-{people}.csv"
    measure([*cli, "directory", str(directory), "--data-dir", str(data), "--quiet"])
    done = measure([*cli, "ingest", str(log), "--data-dir", str(data), "--json"])
    stored = json.loads(str(done["stdout"]))["rows_ingested"]
    ours_cmd = [*cli, "report", "--data-dir", str(data), "--format", "json"]
    ours_cmd += ["--window", str(window)]
    first = measure(ours_cmd)
    as_of = json.loads(str(first["stdout"]))["as_of"]
    base_cmd = [sys.executable, "-c", REPORT_BASELINE_SEGMENTS, str(data), as_of, str(window)]
    measure(base_cmd)
    ours, base = [], []
    for i in range(repeat):
        for side in ("ours", "baseline") if i % 2 == 0 else ("baseline", "ours"):
            if side == "ours":
                ours.append(measure(ours_cmd))
            else:
                base.append(measure(base_cmd))
    shutil.rmtree(data, ignore_errors=True)
    best_ours = min(r["seconds"] for r in ours)
    best_base = min(r["seconds"] for r in base)
    cpu_ours = statistics.median(r["cpu_seconds"] for r in ours)
    cpu_base = statistics.median(r["cpu_seconds"] for r in base)
    row: dict[str, object] = {
        "people": people,
        "events": events,
        "events_stored": stored,
        "window_days": window,
        "as_of": as_of,
        "ours_s": [round(r["seconds"], 2) for r in ours],
        "baseline_s": [round(r["seconds"], 2) for r in base],
        "ours_cpu_s": [round(r["cpu_seconds"], 2) for r in ours],
        "baseline_cpu_s": [round(r["cpu_seconds"], 2) for r in base],
        "time_ratio": round(best_ours / best_base, 3),
        "cpu_ratio": round(cpu_ours / cpu_base, 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(row), flush=True)
    return row


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    import duckdb
    import pyarrow

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory_gib": round(memory / GIB, 1),
        "python": platform.python_version(),
        "pyarrow": pyarrow.__version__,
        "duckdb": duckdb.__version__,
        "system": platform.platform(),
    }


def print_tables(result: dict[str, list[dict[str, object]]]) -> None:
    print(f"\n{'shape':<16}{'rows':>12}{'ours s':>9}{'base s':>9}{'throughput':>12}{'MiB':>6}")
    for r in result["ingest"]:
        print(
            f"{r['shape']:<16}{r['rows']:>12,}{statistics.median(r['ours_s']):>9.2f}"  # type: ignore[arg-type]
            f"{statistics.median(r['baseline_s']):>9.2f}{r['throughput_ratio']:>12}"  # type: ignore[arg-type]
            f"{r['peak_mib']:>6}"
        )
    print(f"\n{'shape':<16}{'1,000 rows s':>13}")
    for r in result["small"]:
        print(f"{r['shape']:<16}{r['seconds']:>13}")
    print(f"\n{'people':>10}{'window':>8}{'ours s':>9}{'base s':>9}{'ratio':>8}{'MiB':>6}")
    for r in result["report"]:
        print(
            f"{r['people']:>10,}{r['window_days']:>8}{r['ours_s']:>9}{r['baseline_s']:>9}"
            f"{r['time_ratio']:>8}{r['peak_mib']:>6}"
        )
    for r in result.get("history", []):
        print(
            f"\nhistory {r['people']:,} people, {r['window_days']}-day window: 6 months "
            f"{min(r['seconds_6_months'])} s, 2 years {min(r['seconds_2_years'])} s, "  # type: ignore[call-overload]
            f"ratio {r['time_ratio']} ({r['time_ratio_default_lookback']} with a 52-week "
            "forecast lookback)"
        )
    for r in result.get("segments_only", []):
        print(
            f"\nreport against the segments-only query, {r['people']:,} people, "
            f"{r['events_stored']:,} events, {r['window_days']}-day window: "
            f"ratio {r['time_ratio']} (CPU {r['cpu_ratio']})"
        )


#: The budgets (docs/benchmarks.md): ingest throughput ratio at least, peak MiB under, a
#: 1,000-row file's seconds under, report time ratio at most.
INGEST_RATIO, PEAK_MIB, SMALL_SECONDS, REPORT_RATIO = 0.8, 1024, 0.5, 1.5
#: A report's time on two years of history at most this times its time on six months.
HISTORY_RATIO = 1.2


def _small_cell(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return ""
    return f"**{seconds}**" if seconds < SMALL_SECONDS else f"✗ {seconds}"


def markdown_tables(document: dict[str, object]) -> str:
    """The matrix of one results file as the Markdown tables of docs/benchmarks.md."""
    ingest: list[dict[str, object]] = document["ingest"]  # type: ignore[assignment]
    small = {r["shape"]: r["seconds"] for r in document["small"]}  # type: ignore[attr-defined]
    lines = [
        "| shape | rows | file | events stored | ours (s, each pair) | baseline (s, each pair) | "
        f"throughput ratio, median (≥ {INGEST_RATIO}) | peak MiB (< {PEAK_MIB}) | "
        f"1,000 rows (< {SMALL_SECONDS} s) |",
        "|---|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for r in ingest:
        ok = r["throughput_ratio"] >= INGEST_RATIO and r["peak_mib"] < PEAK_MIB  # type: ignore[operator]
        lines.append(
            f"| {r['shape']} | {r['rows']:,} | {r['bytes'] / GIB:.2f} GiB | "  # type: ignore[operator]
            f"{r['rows_ingested']:,} | "
            f"{' / '.join(map(str, r['ours_s']))} | {' / '.join(map(str, r['baseline_s']))} | "  # type: ignore[call-overload]
            f"{'**' if ok else '✗ '}{r['throughput_ratio']}{'**' if ok else ''} | "
            f"{r['peak_mib']} | {_small_cell(small.get(r['shape']))} |"
        )
    lines += [
        "",
        f"| people | events | window (days) | ours (s) | baseline (s) | time ratio (≤ {REPORT_RATIO}) | "
        "peak MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in document["report"]:  # type: ignore[attr-defined]
        ok = r["time_ratio"] <= REPORT_RATIO
        lines.append(
            f"| {r['people']:,} | {r.get('events_stored', r['events']):,} | {r['window_days']} | "
            f"{r['ours_s']} | {r['baseline_s']} | "
            f"{'**' if ok else '✗ '}{r['time_ratio']}{'**' if ok else ''} | {r['peak_mib']} |"
        )
    history: list[dict[str, Any]] = document.get("history") or []  # type: ignore[assignment]
    if history:
        lines += [
            "",
            "| people | directory | window (days) | forecast lookback (weeks) | events, 6 months | "
            "events, 2 years | 6 months (s, each run) | 2 years (s, each run) | "
            f"time ratio, best (≤ {HISTORY_RATIO}) | CPU ratio, median | "
            "with the 52-week lookback: time ratio, CPU ratio |",
            "|---:|---|---:|---:|---:|---:|---|---|---:|---:|---:|",
        ]
    for r in history:
        ok = r["time_ratio"] <= HISTORY_RATIO
        lines.append(
            f"| {r['people']:,} | {'yes' if r.get('directory', True) else 'no'} | "
            f"{r['window_days']} | {r['forecast_lookback_weeks']} | "
            f"{r['events_6_months']:,} | {r['events_2_years']:,} | "
            f"{' / '.join(map(str, r['seconds_6_months']))} | "
            f"{' / '.join(map(str, r['seconds_2_years']))} | "
            f"{'**' if ok else '✗ '}{r['time_ratio']}{'**' if ok else ''} | "
            f"{r['cpu_ratio']} | {r['time_ratio_default_lookback']}, "
            f"{r['cpu_ratio_default_lookback']} |"
        )
    segments: list[dict[str, Any]] = document.get("segments_only") or []  # type: ignore[assignment]
    if segments:
        lines += [
            "",
            "| people | events | window (days) | report (s, each run) | segments only (s, each "
            f"run) | time ratio, best (≤ {REPORT_RATIO}) | CPU ratio, median | load average |",
            "|---:|---:|---:|---|---|---:|---:|---|",
        ]
    for r in segments:
        ok = r["time_ratio"] <= REPORT_RATIO
        lines.append(
            f"| {r['people']:,} | {r['events_stored']:,} | {r['window_days']} | "
            f"{' / '.join(map(str, r['ours_s']))} | {' / '.join(map(str, r['baseline_s']))} | "
            f"{'**' if ok else '✗ '}{r['time_ratio']}{'**' if ok else ''} | {r['cpu_ratio']} | "
            f"{' '.join(map(str, r['load_average']))} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shapes", default=",".join(ALL_SHAPES))
    parser.add_argument("--sizes", default="10000000,50000000", help="rows of each shape")
    parser.add_argument(
        "--slack-sizes", default="1000000,10000000", help="messages of the Slack export zips"
    )
    parser.add_argument(
        "--viva-sizes",
        "--period-sizes",
        default="1000000,2000000",
        help="rows (people) of the period files (Viva Engage, Teams)",
    )
    parser.add_argument("--people", type=int, default=100_000, help="people in the logs")
    parser.add_argument("--report-people", default="10000,100000,2000000")
    parser.add_argument("--report-events", type=int, default=10_000_000)
    parser.add_argument("--windows", default="7,30,90,365")
    parser.add_argument(
        "--history-people",
        default="100000",
        help="people of the history-length benchmark (6 months against 2 years)",
    )
    parser.add_argument(
        "--history-events", type=int, default=10_000_000, help="events over its two years"
    )
    parser.add_argument("--history-window", type=int, default=90)
    parser.add_argument("--history-lookback-weeks", type=int, default=13)
    parser.add_argument(
        "--history-stores",
        default="directory,no-directory",
        help="the history-length rows: stores with a directory, without one, or both",
    )
    parser.add_argument(
        "--segments-people",
        default="100000",
        help="people of the report against the segments-only query (empty: not run)",
    )
    parser.add_argument("--segments-events", type=int, default=10_000_000)
    parser.add_argument("--segments-window", type=int, default=90)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--keep", action="store_true", help="keep generated files")
    parser.add_argument("--repeat", type=int, default=3, help="alternating ingest pairs")
    parser.add_argument("--report-repeat", type=int, default=3)
    parser.add_argument("--markdown", type=Path, help="print a results file's tables and stop")
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.markdown:
        print(markdown_tables(json.loads(args.markdown.read_text())))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    if args.generate:
        generate(args.generate, args.rows, args.people, args.work)
        return
    cli = [sys.executable, "-m", "rse_adoption.cli"]
    shape_names = [s for s in args.shapes.split(",") if s]
    unknown = set(shape_names) - set(ALL_SHAPES)
    if unknown:
        parser.error(
            f"unknown shape(s) {', '.join(sorted(unknown))}; known: {', '.join(ALL_SHAPES)}"
        )
    started = datetime.now(UTC)
    result: dict[str, list[dict[str, object]]] = {
        "ingest": [],
        "small": [],
        "report": [],
        "history": [],
        "segments_only": [],
    }
    for shape in shape_names:
        result["small"].append(bench_small(shape, args.people, args.work, cli))
        sizes = {"slack-export": args.slack_sizes}
        sizes |= {shape: args.viva_sizes for shape in PERIOD_SHAPES}
        for size in (int(s) for s in sizes.get(shape, args.sizes).split(",") if s):
            row = bench_ingest(shape, size, args.people, args.work, cli, args.repeat)
            result["ingest"].append(row)
            print(json.dumps(row), flush=True)
            if not args.keep:
                input_path(shape, size, args.people, args.work).unlink(missing_ok=True)
    for people in (int(p) for p in args.report_people.split(",") if p):
        windows = [int(w) for w in args.windows.split(",") if w]
        result["report"] += bench_report(
            people, args.report_events, windows, args.work, cli, args.report_repeat
        )
        if not args.keep:
            input_path("demo", args.report_events, people, args.work).unlink(missing_ok=True)
    for people in (int(p) for p in args.history_people.split(",") if p):
        for kind in (k for k in args.history_stores.split(",") if k):
            result["history"].append(
                bench_history(
                    people,
                    args.history_events,
                    args.history_window,
                    args.work,
                    cli,
                    args.report_repeat,
                    args.history_lookback_weeks,
                    directory=kind == "directory",
                )
            )
        if not args.keep:
            input_path("demo-2y", args.history_events, people, args.work).unlink(missing_ok=True)
    for people in (int(p) for p in args.segments_people.split(",") if p):
        result["segments_only"].append(
            bench_segments_only(
                people,
                args.segments_events,
                args.segments_window,
                args.work,
                cli,
                args.report_repeat,
            )
        )
        if not args.keep:
            input_path("demo", args.segments_events, people, args.work).unlink(missing_ok=True)
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"{started:%Y%m%dT%H%M%SZ}.json"
    finished = datetime.now(UTC)
    document = {
        "machine": machine(),
        "started": started.isoformat(timespec="seconds"),
        "minutes": round((finished - started).total_seconds() / 60, 1),
        **result,
    }
    out.write_text(json.dumps(document, indent=1))
    print_tables(result)
    print(f"\nresults written to {out}")


if __name__ == "__main__":
    main()
