"""Actions' effects against the truth on shapes of data the estimator was not tuned on:
do the ~80 % intervals of `rse-adoption effects` still hold the true effect 70–90 % of the
time, are actions without effect still called `increase` at most 20 % of the time, and
how often are effective ones found? (docs/metrics.md, "Actions and their effect",
"Other shapes of data")

benchmarks/action_effects.py checks the estimator on one shape: 12 sites of 150–1,500
people, campaigns at a third of them on staggered weeks in the middle of 34 weeks. This
benchmark keeps its method (planted campaigns, half of the organisations' without effect,
the truth from the same organisation simulated again without them, same seed) and changes
the shape of the organisation or of its calendar (SHAPES):

- `unequal`: sites of 20 to 5,000 people (log-uniform), campaigns only at sites of at most
  300 people (the small sites: few counts, wide noise, big comparison sites);
- `seasonal`: data from 1 June, every site's activity halved over five summer weeks
  (27 July – 30 August) and the two Christmas weeks (21 December – 3 January), the
  actions' weeks putting one or the other in their before or after weeks;
- `crowded`: campaigns at half of the sites in the same two weeks, late (their eight
  weeks after end with the data): few comparison sites, all measured in the same weeks;
- `late`: campaigns in the last five to six weeks of the data, measured over 4 weeks
  (`--weeks-after 4`);
- `saturated`: the campaigns' sites diffuse fast (p = 0.06, q = 0.9 a week) and have
  adopted 90 % of their potential by week 6, before the campaign's eight weeks before
  (campaigns in weeks 14–24); their comparison sites diffuse as usual.

The dips of `seasonal` scale every site's chance to be active (the observed activity);
the generator's adoption itself does not know the calendar, so people who adopt in a dip
post their first contribution after it, as in a summer. Everything else is the project's
generator (demo/scenario.py), unchanged. Prints a table per shape and writes
benchmarks/results/action-effects-shapes-<timestamp>.json.

Usage: python benchmarks/action_effects_shapes.py [--runs 24] [--shape NAME]...
(--runs: organisations without effect per shape; as many with one, half moderate, half
strong)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from action_effects import KINDS, planted_store, summary  # noqa: E402
from rse_adoption.demo.organisation import Organisation, SiteSpec  # noqa: E402
from rse_adoption.demo.scenario import (  # noqa: E402
    Campaigns,
    campaign_weeks,
    expected_action_outcomes,
    generated_sites,
    make_scenario,
)

SITES = 12
WEEKS = 34


@dataclass(frozen=True)
class Shape:
    """How one kind of organisation is built: its sites, the campaigns' weeks, the first
    day of data, its length, a multiplier of every site's activity by day (None: none)
    and the weeks the effect is measured over."""

    name: str
    sites: Callable[[int], tuple[SiteSpec, ...]]
    planted: Callable[[int, tuple[SiteSpec, ...]], dict[str, int]]
    launch: date = date(2026, 5, 1)
    weeks: int = WEEKS
    dips: tuple[tuple[date, date, float], ...] = ()
    weeks_after: int = 8


def _ordinary(seed: int) -> tuple[SiteSpec, ...]:
    return generated_sites(seed, SITES, headcount=(150, 1500))


def _unequal(seed: int) -> tuple[SiteSpec, ...]:
    return generated_sites(seed, SITES, headcount=(20, 5000))


def _on_small_sites(seed: int, specs: tuple[SiteSpec, ...]) -> dict[str, int]:
    small = tuple(s for s in specs if s.headcount <= 300)
    return campaign_weeks(seed, small, WEEKS, share=0.7, between=(0.3, 0.7))


def _staggered(seed: int, specs: tuple[SiteSpec, ...]) -> dict[str, int]:
    return campaign_weeks(seed, specs, WEEKS, share=0.35, between=(0.3, 0.7))


def _crowded(seed: int, specs: tuple[SiteSpec, ...]) -> dict[str, int]:
    # weeks 24–25 of 34: the eight weeks after the last end with the data's last whole week
    return campaign_weeks(seed, specs, WEEKS, share=0.5, between=(0.7, 0.76))


def _late(seed: int, specs: tuple[SiteSpec, ...]) -> dict[str, int]:
    # weeks 28–29 of 34: four weeks after them, not eight
    return campaign_weeks(seed, specs, WEEKS, share=0.35, between=(0.82, 0.86))


def _after_saturation(seed: int, specs: tuple[SiteSpec, ...]) -> dict[str, int]:
    # weeks 14–24 of 34: their eight weeks before start from week 6 on
    return campaign_weeks(seed, specs, WEEKS, share=0.35, between=(0.4, 0.7))


def _saturating(seed: int) -> tuple[SiteSpec, ...]:
    """Ordinary sites, those to be campaigned at diffusing fast (p = 0.06, q = 0.9 a week):
    90 % of their potential has adopted by week 6, before the campaign's before-weeks."""
    specs = _ordinary(seed)
    planted = _after_saturation(seed, specs)
    return tuple(
        replace(s, p=0.06, q=0.9, potential=min(s.potential, 0.7)) if s.name in planted else s
        for s in specs
    )


SHAPES: dict[str, Shape] = {
    shape.name: shape
    for shape in (
        Shape("unequal", _unequal, _on_small_sites),
        Shape(
            "seasonal",
            _ordinary,
            _staggered,
            launch=date(2026, 6, 1),
            dips=(
                (date(2026, 7, 27), date(2026, 8, 30), 0.5),
                (date(2026, 12, 21), date(2027, 1, 3), 0.5),
            ),
        ),
        Shape("crowded", _ordinary, _crowded),
        Shape("late", _ordinary, _late, weeks_after=4),
        Shape("saturated", _saturating, _after_saturation),
    )
}


def with_dips(org: Organisation, dips: tuple[tuple[date, date, float], ...]) -> Organisation:
    """The organisation with every site's activity scaled by each dip's factor from its
    first to its last day (both worlds get the same dips)."""
    if not dips:
        return org
    assert org.activity_factor is not None  # scenarios always carry their weekly shocks
    factor = org.activity_factor.copy()
    for first, last, scale in dips:
        lo = max(0, (first - org.start).days)
        hi = min(org.days, (last - org.start).days + 1)
        factor[:, lo:hi] *= scale
    return replace(org, activity_factor=factor)


def one_run(
    shape: Shape, seed: int, effect: bool, work: Path, lift: float, reach: float
) -> list[dict[str, Any]]:
    """Every planted action of one organisation of `shape`: its estimate, interval, verdict,
    truth (as benchmarks/action_effects.py)."""
    specs = shape.sites(seed)
    planted = shape.planted(seed, specs)
    if not planted:
        return []
    world = make_scenario(
        specs,
        launch=shape.launch,
        weeks=shape.weeks,
        seed=seed,
        campaigns=Campaigns(planted, lift=lift, reach=reach) if effect else None,
    )
    world = replace(world, org=with_dips(world.org, shape.dips))
    without = with_dips(
        make_scenario(specs, launch=shape.launch, weeks=shape.weeks, seed=seed).org, shape.dips
    )
    folder = work / f"{shape.name}-{seed}"
    store = planted_store(world, folder, shape.launch, planted)
    n = shape.weeks_after
    rows = []
    for action in store.effects(weeks_after=n).report.interventions:
        with_new, with_share = expected_action_outcomes(world.org, action.site, action.date, n)
        base_new, base_share = expected_action_outcomes(without, action.site, action.date, n)
        new, share = action.new_contributors, action.contributor_share
        headcount = next(s.headcount for s in specs if s.name == action.site)
        rows.append(
            {
                "seed": seed,
                "effect": effect,
                "site": action.site,
                "headcount": headcount,
                "date": action.date.isoformat(),
                "verdict": action.verdict,
                "reason": None if action.reason is None else action.reason.code,
                "comparisons": len(action.comparison_sites),
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


def run(shape: Shape, runs: int, first_seed: int) -> dict[str, Any]:
    """`runs` organisations of `shape` with null campaigns, and as many with effective
    ones: half moderate, half strong (action_effects.KINDS)."""
    work = Path(tempfile.mkdtemp(prefix=f"rse-effects-{shape.name}-"))
    try:
        rows = {
            label: [
                row
                for k in range(max(1, round(share * runs)))
                for row in one_run(
                    shape,
                    first_seed + 3 * k + offset,
                    planted is not None,
                    work,
                    *(planted or (0.0, 0.0)),
                )
            ]
            for offset, (label, share, planted) in enumerate(KINDS)
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = {label: summary(r) for label, r in rows.items()}
    for label, r in rows.items():
        reasons: dict[str, int] = {}
        for row in r:
            if row["reason"]:
                reasons[row["reason"]] = reasons.get(row["reason"], 0) + 1
        table[label]["not_estimable_reasons"] = reasons
        est = [row for row in r if row["new"] is not None]
        table[label]["median_comparisons"] = (
            float(np.median([row["comparisons"] for row in est])) if est else None
        )
    return {"table": table, "actions": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=24, help="organisations of each kind")
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES), help="default: all")
    parser.add_argument("--first-seed", type=int, default=5000)
    args = parser.parse_args()
    out: dict[str, Any] = {"arguments": vars(args), "shapes": {}}
    for name in args.shape or list(SHAPES):
        started = time.perf_counter()
        result = run(SHAPES[name], args.runs, args.first_seed)
        seconds = round(time.perf_counter() - started, 1)
        out["shapes"][name] = {"seconds": seconds, **result}
        for label, row in result["table"].items():
            print(name, label, row)
        print(f"{name}: {seconds} s", flush=True)
    path = HERE / "results" / f"action-effects-shapes-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
