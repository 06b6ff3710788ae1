"""Benchmark: 12-week usage segments (habit) against Microsoft's vivainsights, same run.

Workload: a Person-Query-shaped weekly panel of 10,000 people × 52 weeks (PersonId,
MetricDate, Posts), generated with a fixed seed: each person has a propensity to post
in a given week and a heavy-tailed weekly count, so every segment occurs.
- baseline: `vivainsights.identify_usage_segments(data, metric="Posts", version="12w")`;
- ours: `rse_adoption.metrics.habit.usage_segments` over the same panel (DuckDB).
Both run in this process after their imports, best of --repeat (3); the segments of every
person-week must be identical. Budget (issue: habit): ours at least 20× faster.

Usage: python benchmarks/habit.py [--people 10000] [--weeks 52]
(vivainsights is installed by `make bench`: it is a benchmark dependency only.)
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def panel(people: int, weeks: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    propensity = rng.beta(0.6, 0.9, people)
    volume = rng.lognormal(1.0, 1.2, people)
    active = rng.uniform(size=(people, weeks)) < propensity[:, None]
    counts = np.where(active, np.ceil(rng.poisson(volume[:, None], (people, weeks)) + 0.0), 0)
    start = date(2025, 11, 2)  # a Sunday: Viva Insights weeks start on Sundays
    return pd.DataFrame(
        {
            "PersonId": np.repeat([f"P{i:06d}" for i in range(people)], weeks),
            "MetricDate": np.tile(
                pd.to_datetime([start + timedelta(weeks=w) for w in range(weeks)]), people
            ),
            "Posts": counts.ravel().astype(float),
        }
    )


def best_of(repeat: int, run) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(repeat):
        began = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - began)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = panel(args.people, args.weeks)

    import duckdb
    import vivainsights as vi

    from rse_adoption.metrics.habit import usage_segments

    def theirs() -> pd.DataFrame:
        return vi.identify_usage_segments(data.copy(), metric="Posts", version="12w")

    con = duckdb.connect()
    ours_input = pd.DataFrame(
        {
            "person": data["PersonId"],
            "week": (data["MetricDate"] - data["MetricDate"].min()).dt.days // 7,
            "value": data["Posts"],
        }
    )

    def ours() -> pd.DataFrame:
        con.register("panel", ours_input)
        try:
            return usage_segments(con, "panel").df()
        finally:
            con.unregister("panel")

    base_s, base = best_of(args.repeat, theirs)
    ours_s, mine = best_of(args.repeat, ours)
    assert isinstance(base, pd.DataFrame) and isinstance(mine, pd.DataFrame)
    expected = base.assign(week=(base["MetricDate"] - base["MetricDate"].min()).dt.days // 7)
    joined = expected.merge(
        mine, left_on=["PersonId", "week"], right_on=["person", "week"], how="outer"
    )
    mismatches = int((joined["UsageSegments_12w"] != joined["segment"]).sum())
    result = {
        "people": args.people,
        "weeks": args.weeks,
        "person_weeks": len(data),
        "vivainsights_s": round(base_s, 3),
        "ours_s": round(ours_s, 4),
        "speedup": round(base_s / ours_s, 1),
        "budget_speedup": 20,
        "segments_identical": mismatches == 0,
        "mismatches": mismatches,
        "segment_counts": mine["segment"].value_counts().to_dict(),
    }
    out = HERE / "results" / f"habit-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    print(f"results written to {out}")
    if mismatches:
        raise SystemExit(f"{mismatches} person-weeks differ from vivainsights")


if __name__ == "__main__":
    main()
