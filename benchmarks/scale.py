"""Capacity benchmark: the report on each engine at growing event counts (docs/scale.md).

For each size (default 5M, 10M, 50M and 100M events; 100,000 employees; twelve months):
  1. generate the event log with the project's demo generator (benchmarks/run.py
     --generate, reused when already in --work) and ingest it into a fresh store (timed,
     for the record);
  2. `rse-adoption report --format json` with `--engine duckdb` and `--engine spark`
     (local mode, every core), best of --repeat each: wall time and the peak memory of the
     whole process tree (the Python process and, for Spark, its Java child), sampled from
     /proc (benchmarks/run.py's `measure`);
  3. the same pinned to one CPU (`taskset -c 0`), at the sizes of --one-core-sizes: how
     the time scales with cores, the input of the capacity model;
  4. checks that both engines print the same JSON (all but `generated_at`).
The baseline of each ratio is measured in the same run: DuckDB on the same store, and the
same engine on one core. Results go to benchmarks/results/scale-<timestamp>.json.

Usage: python benchmarks/scale.py [--sizes 5000000,10000000,50000000,100000000]
                                  [--work DIR] [--keep] [--spark-memory 16g] [--results DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import measure, run_generator  # noqa: E402 - the same generator and measure as make bench

MIB = 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")


def _same_json(a: str, b: str) -> bool:
    left, right = json.loads(a), json.loads(b)
    left.pop("generated_at", None)
    right.pop("generated_at", None)
    return bool(left == right)


def bench_size(events: int, args: argparse.Namespace, cli: list[str]) -> dict[str, object]:
    log = run_generator("demo", events, args.people, args.work)
    directory = args.work / f"directory-{args.people}.csv"
    data = args.work / f"scale-store-{events}"
    shutil.rmtree(data, ignore_errors=True)
    measure([*cli, "directory", str(directory), "--data-dir", str(data), "--quiet"])
    ingest = measure([*cli, "ingest", str(log), "--data-dir", str(data), "--json"])
    print(f"{events:,}: ingested in {ingest['seconds']:.0f} s", flush=True)
    env = dict(os.environ, SPARK_DRIVER_MEMORY=args.spark_memory)
    result: dict[str, object] = {
        "events": events,
        "people": args.people,
        "store_bytes": sum(f.stat().st_size for f in (data / "events").rglob("*.parquet")),
        "ingest_s": round(float(ingest["seconds"]), 1),  # type: ignore[arg-type]
        "spark_driver_memory": args.spark_memory,
    }
    outputs = {}
    for engine in ("duckdb", "spark"):
        for cores, pin in (("all", []), ("one", ["taskset", "-c", "0"])):
            if cores == "one" and events not in args.one_core_sizes:
                continue
            report = [*pin, *cli, "report", "--data-dir", str(data), "--format", "json"]
            runs = [measure([*report, "--engine", engine], env) for _ in range(args.repeat)]
            best = min(runs, key=lambda m: float(m["seconds"]))  # type: ignore[arg-type]
            outputs[(engine, cores)] = str(best["stdout"])
            key = f"{engine}_{cores}_cores"
            result[f"{key}_s"] = round(float(best["seconds"]), 2)  # type: ignore[arg-type]
            result[f"{key}_peak_mib"] = round(
                max(int(m["peak_rss"]) for m in runs) / MIB  # type: ignore[call-overload]
            )
            print(
                f"{events:,} {key}: {result[f'{key}_s']} s, {result[f'{key}_peak_mib']} MiB",
                flush=True,
            )
    result["same_json"] = all(
        _same_json(outputs[("duckdb", "all")], text) for text in outputs.values()
    )
    result["spark_to_duckdb_time_ratio"] = round(
        float(result["spark_all_cores_s"]) / float(result["duckdb_all_cores_s"]),
        2,  # type: ignore[arg-type]
    )
    shutil.rmtree(data, ignore_errors=True)
    if not args.keep:
        log.unlink(missing_ok=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="5000000,10000000,50000000,100000000")
    parser.add_argument("--one-core-sizes", default="10000000,50000000")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--keep", action="store_true", help="keep generated CSV files")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each report; best kept")
    parser.add_argument("--spark-memory", default="16g", help="Spark local mode's heap")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    args = parser.parse_args()
    args.one_core_sizes = {int(s) for s in args.one_core_sizes.split(",") if s}
    args.work.mkdir(parents=True, exist_ok=True)
    cli = [sys.executable, "-m", "rse_adoption.cli"]
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        results.append(bench_size(size, args, cli))
        print(json.dumps(results[-1]), flush=True)
    out = args.results / f"scale-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * PAGE / 2**30),
    }
    out.write_text(json.dumps({"machine": machine, "results": results}, indent=1))
    print(f"\nresults written to {out}")
    print(f"{'events':>12} {'duckdb s':>9} {'MiB':>6} {'spark s':>8} {'MiB':>6} {'same':>5}")
    for r in results:
        print(
            f"{r['events']:>12,} {r['duckdb_all_cores_s']:>9} {r['duckdb_all_cores_peak_mib']:>6} "
            f"{r['spark_all_cores_s']:>8} {r['spark_all_cores_peak_mib']:>6} {r['same_json']!s:>5}"
        )


if __name__ == "__main__":
    main()
