"""Ambassador effect coverage: do the report's intervals cover the true effect as often as
they say, with a true effect and without one (placebo)? (docs/metrics.md, "Ambassadors")

Generates organisations with the project's scenario generator (demo/scenario.py: sites
diffusing by imitation, ambassadors starting on staggered weeks in a random 60 % of the
sites), once with ambassadors who publish at once and double their colleagues' adoption
hazard and once (other seeds) with ambassadors who change nothing, ingests each through
the library and reads the report's ambassador effect, pooled and per site. The truth is
what the estimate targets: a site's expected change in contributor share with its
ambassadors minus without them — the same organisation simulated from the same seed
without the ambassadors' effect (Scenario.share_effect) — and, pooled, its mean over the
sites whose effect was estimated. Prints the coverage table and writes
benchmarks/results/ambassador-coverage-<ts>.json.

Usage: python benchmarks/ambassador_coverage.py [--runs 40] [--sites 14] [--weeks 36]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from rse_adoption import open_store  # noqa: E402
from rse_adoption.demo.scenario import (  # noqa: E402
    generated_sites,
    make_scenario,
    staggered_starts,
    write_scenario,
)

LAUNCH = date(2026, 5, 1)


def one_run(seed: int, effect: bool, sites: int, weeks: int, work: Path) -> dict[str, Any]:
    """The report's pooled effect on one generated organisation, and the true one."""
    specs = generated_sites(seed, sites, headcount=(150, 2000))
    scenario = make_scenario(
        specs,
        launch=LAUNCH,
        weeks=weeks,
        seed=seed,
        ambassador_weeks=staggered_starts(seed, specs, weeks),
        effect=effect,
    )
    folder = work / f"{seed}-{effect}"
    directory, events = write_scenario(scenario, folder)
    store = open_store(folder / "data", create=True)
    store.load_directory(directory)
    store.ingest([events])
    report = store.report().report
    assert report.ambassadors is not None
    pooled = report.ambassadors.effect
    sites = [
        {
            "site": site.site,
            "estimate_pp": site.effect.estimate_pp,
            "ci80_pp": site.effect.ci80_pp,
            "ci95_pp": site.effect.ci95_pp,
            "truth_pp": round(scenario.share_effect(site.site, site.effect.weeks_after), 3),
        }
        for site in report.ambassadors.sites
        if site.effect is not None and site.effect.estimate_pp is not None
    ]
    truth = sum(s["truth_pp"] for s in sites) / len(sites) if sites else None
    return {
        "seed": seed,
        "effect": effect,
        "estimate_pp": pooled.estimate_pp,
        "ci80_pp": pooled.ci80_pp,
        "ci95_pp": pooled.ci95_pp,
        "treated_sites": pooled.treated_sites,
        "truth_pp": None if truth is None else round(truth, 3),
        "reason": pooled.reason,
        "sites": sites,
    }


def coverage(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Share of estimable runs whose 80 % and 95 % intervals hold the truth."""
    estimable = [r for r in runs if r["estimate_pp"] is not None and r["truth_pp"] is not None]

    def held(r: dict[str, Any], key: str) -> bool:
        return bool(r[key][0] <= r["truth_pp"] <= r[key][1])

    n = len(estimable)
    return {
        "runs": len(runs),
        "estimable": n,
        "covered80": round(sum(held(r, "ci80_pp") for r in estimable) / n, 3) if n else None,
        "covered95": round(sum(held(r, "ci95_pp") for r in estimable) / n, 3) if n else None,
        "mean_truth_pp": round(sum(r["truth_pp"] for r in estimable) / n, 3) if n else None,
        "mean_estimate_pp": round(sum(r["estimate_pp"] for r in estimable) / n, 3) if n else None,
        "mean_ci80_width_pp": round(
            sum(r["ci80_pp"][1] - r["ci80_pp"][0] for r in estimable) / n, 3
        )
        if n
        else None,
        "mean_ci95_width_pp": round(
            sum(r["ci95_pp"][1] - r["ci95_pp"][0] for r in estimable) / n, 3
        )
        if n
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--sites", type=int, default=14)
    parser.add_argument("--weeks", type=int, default=36)
    parser.add_argument("--first-seed", type=int, default=1000)
    args = parser.parse_args()
    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="rse-ambassadors-"))
    try:
        runs = {
            label: [
                one_run(args.first_seed + 2 * k + offset, effect, args.sites, args.weeks, work)
                for k in range(args.runs)
            ]
            for label, effect, offset in (("true effect", True, 0), ("placebo", False, 1))
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = {label: coverage(r) for label, r in runs.items()}
    # each site's own figure, over every estimable site of every run
    table |= {
        f"{label}, per site": coverage([s for r in rs for s in r["sites"]])
        for label, rs in runs.items()
    }
    for label, row in table.items():
        print(label, row)
    seconds = round(time.perf_counter() - began, 1)
    print(f"{seconds} s")
    out = HERE / "results" / f"ambassador-coverage-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    document = {"arguments": vars(args), "seconds": seconds, "table": table, "runs": runs}
    out.write_text(json.dumps(document, indent=1))
    print(f"results written to {out}")


if __name__ == "__main__":
    main()
