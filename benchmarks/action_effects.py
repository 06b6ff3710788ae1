"""Actions' effects against the truth: do the ~80 % intervals of `rse-adoption effects`
hold the true effect as often as they say, are actions without effect called `increase`
rarely, and are strong ones found? (docs/metrics.md, "Actions and their effect")

Generates organisations with the project's scenario generator (demo/scenario.py: sites
diffusing by imitation, weekly shocks of activity), plants campaigns at a random third of
their sites on staggered weeks, logs them with `interventions`, ingests the organisation
through the library and reads each action's estimate. Half the organisations' campaigns
do nothing (the world with them is the world without them); the other half's multiply the
site's adoption hazard by 1 + lift and bring a `reach` share of its never-adopters into
its potential adopters (moderate: 1.5 and 0.3; strong: 3 and 0.6). The truth is measured by simulating the organisation again
without the campaigns (same seed, hence the same random numbers: same people, same
resistances, same shocks) and taking, site by site, the difference between the two
worlds of what the estimator measures, by the generator's own probabilities given who
adopted when (scenario.expected_action_outcomes). Prints the table and writes
benchmarks/results/action-effects-<timestamp>.json.

Usage: python benchmarks/action_effects.py [--runs 60] [--sites 12] [--weeks 34]
(--runs: organisations without effect; as many with one, half moderate, half strong)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from rse_adoption import open_store  # noqa: E402
from rse_adoption.demo.scenario import (  # noqa: E402
    Campaigns,
    campaign_weeks,
    expected_action_outcomes,
    generated_sites,
    make_scenario,
    write_scenario,
)

LAUNCH = date(2026, 5, 1)
WEEKS_AFTER = 8


def planted_store(world: Any, folder: Path, launch: date, planted: dict[str, int]) -> Any:
    """A store (privacy threshold 1) of the generated `world` written to `folder`, its
    planted campaigns (site -> week after `launch`) logged as actions."""
    directory, events = write_scenario(world, folder)
    days = {site: launch + timedelta(weeks=week) for site, week in planted.items()}
    actions = folder / "actions.csv"
    actions.write_text(
        "date,site,kind,label\n"
        + "".join(f"{day},{site},campaign,planted\n" for site, day in sorted(days.items())),
        encoding="utf-8",
    )
    store = open_store(folder / "data", create=True, min_group_size=1)
    store.load_directory(directory)
    store.ingest([events])
    store.load_interventions(actions)
    return store


def one_run(
    seed: int, effect: bool, sites: int, weeks: int, work: Path, lift: float, reach: float
) -> list[dict[str, Any]]:
    """Every planted action of one organisation: its estimate, interval, verdict, truth."""
    specs = generated_sites(seed, sites, headcount=(150, 1500))
    planted = campaign_weeks(seed, specs, weeks, share=0.35, between=(0.3, 0.7))
    if not planted:  # no site drawn: an organisation without actions tells nothing
        return []
    world = make_scenario(
        specs,
        launch=LAUNCH,
        weeks=weeks,
        seed=seed,
        campaigns=Campaigns(planted, lift=lift, reach=reach) if effect else None,
    )
    without = make_scenario(specs, launch=LAUNCH, weeks=weeks, seed=seed)
    folder = work / str(seed)
    store = planted_store(world, folder, LAUNCH, planted)
    result = store.effects(weeks_after=WEEKS_AFTER)
    rows = []
    for action in result.report.interventions:
        with_new, with_share = expected_action_outcomes(world.org, action.site, action.date, 8)
        base_new, base_share = expected_action_outcomes(without.org, action.site, action.date, 8)
        new, share = action.new_contributors, action.contributor_share
        rows.append(
            {
                "seed": seed,
                "effect": effect,
                "site": action.site,
                "date": action.date.isoformat(),
                "verdict": action.verdict,
                "reason": action.reason,
                "new": None if new is None else [new.estimate, new.low, new.high],
                "share": None if share is None else [share.estimate, share.low, share.high],
                "truth_new": round(with_new - base_new, 3),
                "truth_share": round(with_share - base_share, 3),
                "placebo_passed": action.placebo.passed if action.placebo else None,
                "pre_trend_passed": action.pre_trend.passed if action.pre_trend else None,
            }
        )
    shutil.rmtree(folder, ignore_errors=True)
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Coverage of both outcomes' intervals, verdicts, on the estimable actions."""
    est = [r for r in rows if r["new"] is not None]
    n = len(est)

    def share_of(test: Any) -> float | None:
        return round(sum(1 for r in est if test(r)) / n, 3) if n else None

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 3) if values else None

    return {
        "actions": len(rows),
        "estimable": n,
        "covered_new": share_of(lambda r: r["new"][1] <= r["truth_new"] <= r["new"][2]),
        "covered_share": share_of(lambda r: r["share"][1] <= r["truth_share"] <= r["share"][2]),
        "increase": share_of(lambda r: r["verdict"] == "increase"),
        "decrease": share_of(lambda r: r["verdict"] == "decrease"),
        "no_clear_effect": share_of(lambda r: r["verdict"] == "no clear effect"),
        "mean_truth_new": mean([r["truth_new"] for r in est]),
        "mean_estimate_new": mean([r["new"][0] for r in est]),
        "mean_width_new": mean([r["new"][2] - r["new"][1] for r in est]),
        "mean_truth_share_pp": mean([r["truth_share"] for r in est]),
        "mean_estimate_share_pp": mean([r["share"][0] for r in est]),
        "placebo_made": share_of(lambda r: r["placebo_passed"] is not None),
        "placebo_passed": _passed([r["placebo_passed"] for r in est]),
        "pre_trend_passed": _passed([r["pre_trend_passed"] for r in est]),
    }


#: The kinds of organisations: (label, share of the runs, campaigns' lift and reach);
#: None: campaigns without effect.
KINDS: tuple[tuple[str, float, tuple[float, float] | None], ...] = (
    ("no effect", 1.0, None),
    ("moderate effect", 0.5, (1.5, 0.3)),
    ("strong effect", 0.5, (3.0, 0.6)),
)


def _passed(checks: list[bool | None]) -> float | None:
    """Share of the checks made that passed."""
    made = [c for c in checks if c is not None]
    return round(sum(made) / len(made), 3) if made else None


def run(runs: int, sites: int, weeks: int, first_seed: int) -> dict[str, Any]:
    """`runs` organisations with null campaigns, and as many with effective ones: half
    moderate, half strong (KINDS)."""
    work = Path(tempfile.mkdtemp(prefix="rse-effects-"))
    try:
        rows = {
            label: [
                row
                for k in range(max(1, round(share * runs)))
                for row in one_run(
                    first_seed + 3 * k + offset,
                    planted is not None,
                    sites,
                    weeks,
                    work,
                    *(planted or (0.0, 0.0)),
                )
            ]
            for offset, (label, share, planted) in enumerate(KINDS)
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"table": {label: summary(r) for label, r in rows.items()}, "actions": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=60, help="organisations of each kind")
    parser.add_argument("--sites", type=int, default=12)
    parser.add_argument("--weeks", type=int, default=34)
    parser.add_argument("--first-seed", type=int, default=3000)
    args = parser.parse_args()
    started = time.perf_counter()
    result = run(args.runs, args.sites, args.weeks, args.first_seed)
    seconds = round(time.perf_counter() - started, 1)
    for label, row in result["table"].items():
        print(label, row)
    print(f"{seconds} s")
    out = HERE / "results" / f"action-effects-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(
        json.dumps({"arguments": vars(args), "seconds": seconds, **result}, indent=1) + "\n"
    )
    print(f"results written to {out}")


if __name__ == "__main__":
    main()
