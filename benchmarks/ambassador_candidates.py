"""Ambassador candidates: do the shortlists hold the people who truly drive their
colleagues' adoption, above their share among eligible contributors, and leave out the
prolific posters nobody answers? (docs/metrics.md, "Candidates")

Generates organisations with demo/influence.py (drivers whose posts draw answers from
many colleagues across departments, some of whom then start contributing; prolific
posters nobody answers; ordinary contributors; readers) over several shapes (site sizes,
share of drivers) and seeds, runs `store.ambassadors(candidates=True, names=True)` and
compares, per site, the shortlist (default length, and cut to the number of drivers) with
two baselines over the same eligible contributors (posted or commented in the window, not
ambassadors): a random draw (its expected precision is the drivers' share) and a volume
ranking (most posts and comments first). Prints the table and writes
benchmarks/results/ambassador-candidates-<ts>.json.

Usage: python benchmarks/ambassador_candidates.py [--seeds 3] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from rse_adoption import open_store  # noqa: E402
from rse_adoption.demo.influence import InfluenceShape, make_influence_org  # noqa: E402

WINDOW_DAYS = 90
SHAPES: dict[str, InfluenceShape] = {
    "small sites, 4% drivers": InfluenceShape(site_sizes=(40, 60, 80), driver_share=0.04),
    "mid sites, 2% drivers": InfluenceShape(site_sizes=(150, 250), driver_share=0.02),
    "mid sites, 5% drivers": InfluenceShape(site_sizes=(150, 250), driver_share=0.05),
    "mid sites, 10% drivers, 8% prolific": InfluenceShape(
        site_sizes=(150, 250), driver_share=0.10, prolific_share=0.08
    ),
    "one large site, 3% drivers": InfluenceShape(site_sizes=(500,), driver_share=0.03),
    "mid sites, 5% drivers, random answers (noise 0.2)": InfluenceShape(
        site_sizes=(150, 250), driver_share=0.05, noise=0.2
    ),
    "mid sites, 5% drivers, 10% prolific, noise 0.4": InfluenceShape(
        site_sizes=(150, 250), driver_share=0.05, prolific_share=0.10, noise=0.4
    ),
    "weak drivers (1-2 answers, 30% of weeks), noise 0.1": InfluenceShape(
        site_sizes=(150, 250),
        driver_share=0.05,
        prolific_share=0.10,
        noise=0.1,
        driver_reach=(1, 3),
        driver_weeks=0.3,
    ),
    "weak drivers (1-2 answers, 30% of weeks), noise 0.4": InfluenceShape(
        site_sizes=(150, 250),
        driver_share=0.05,
        prolific_share=0.10,
        noise=0.4,
        driver_reach=(1, 3),
        driver_weeks=0.3,
    ),
}
QUICK = {"tiny": InfluenceShape(site_sizes=(40, 60), weeks=16)}


def window_volume(events: Path, end: date) -> dict[str, int]:
    """Posts and comments per person in the report's window (the volume ranking)."""
    start = end - timedelta(days=WINDOW_DAYS - 1)
    out: dict[str, int] = {}
    with open(events, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            day = date.fromisoformat(row["timestamp"][:10])
            if start <= day <= end and row["event_type"] in ("post", "comment"):
                out[row["user"]] = out.get(row["user"], 0) + 1
    return out


def one_run(name: str, shape: InfluenceShape, seed: int, work: Path) -> list[dict[str, Any]]:
    """Per site: shortlist precision for drivers and prolific posters, with baselines."""
    folder = work / f"{name.replace(' ', '_').replace(',', '').replace('%', '')}-{seed}"
    org = make_influence_org(folder, shape, seed)
    store = open_store(folder / "data", create=True)
    store.load_directory(folder / "directory.csv", keep_names=True)
    store.ingest([folder / "events.csv"])
    result = store.ambassadors(candidates=True, names=True, as_of=shape.end).to_dict()
    volume = window_volume(folder / "events.csv", shape.end)
    role = dict(zip(org.emails, org.roles, strict=True))
    rows = []
    for site in result["sites"]:
        if site["suppressed"]:
            continue
        eligible = [
            e
            for e, s, a in zip(org.emails, org.sites, org.ambassadors, strict=True)
            if s == site["site"] and not a and volume.get(e, 0) > 0
        ]
        listed = [c["user_id"] for c in site["candidates"] if c["active"]]
        drivers = [e for e in eligible if role[e] == "driver"]
        prolific = [e for e in eligible if role[e] == "prolific"]
        by_volume = sorted(eligible, key=lambda e: (-volume[e], e))

        def share(people: list[str], kind: str) -> float | None:
            return sum(role[p] == kind for p in people) / len(people) if people else None

        n = len(drivers)
        rows.append(
            {
                "shape": name,
                "seed": seed,
                "site": site["site"],
                "eligible": len(eligible),
                "drivers": n,
                "shortlist": len(listed),
                "driver_share": share(eligible, "driver"),
                "prolific_share": share(eligible, "prolific"),
                "precision": share(listed, "driver"),
                "ceiling": min(n, len(listed)) / len(listed) if listed else None,
                "prolific_in_shortlist": share(listed, "prolific"),
                "volume_precision": share(by_volume[: len(listed)], "driver"),
                "volume_prolific": share(by_volume[: len(listed)], "prolific"),
                "r_precision": share(listed[:n], "driver") if n else None,
                "volume_r_precision": share(by_volume[:n], "driver") if n else None,
                "prolific_count": len(prolific),
            }
        )
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over sites and seeds of each measure."""

    def mean(key: str) -> float | None:
        values = [r[key] for r in rows if r[key] is not None]
        return round(sum(values) / len(values), 3) if values else None

    keys = (
        "driver_share",
        "precision",
        "ceiling",
        "volume_precision",
        "r_precision",
        "volume_r_precision",
        "prolific_share",
        "prolific_in_shortlist",
        "volume_prolific",
    )
    return {"sites": len(rows), **{k: mean(k) for k in keys}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="one tiny shape (tests)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    shapes = QUICK if args.quick else SHAPES
    work = Path(tempfile.mkdtemp(prefix="rse-candidates-"))
    try:
        runs = {
            name: [
                row
                for seed in range(args.first_seed, args.first_seed + args.seeds)
                for row in one_run(name, shape, seed, work)
            ]
            for name, shape in shapes.items()
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = {name: summary(rows) for name, rows in runs.items()}
    table["all shapes"] = summary([r for rows in runs.values() for r in rows])
    header = (
        f"{'shape':50} {'sites':>5} {'share':>6} {'prec.':>6} {'ceil.':>6} {'vol.':>6} {'R-prec':>6} "
        f"{'vol.R':>6} {'prol.share':>10} {'prol.list':>9} {'prol.vol':>8}"
    )
    print(header)
    for name, row in table.items():
        print(
            f"{name:50} {row['sites']:>5} {row['driver_share']:>6} {row['precision']:>6} "
            f"{row['ceiling']:>6} "
            f"{row['volume_precision']:>6} {row['r_precision']:>6} "
            f"{row['volume_r_precision']:>6} {row['prolific_share']:>10} "
            f"{row['prolific_in_shortlist']:>9} {row['volume_prolific']:>8}"
        )
    if not args.no_write:
        out = HERE / "results" / f"ambassador-candidates-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
        out.write_text(
            json.dumps({"arguments": vars(args), "table": table, "runs": runs}, indent=1)
        )
        print(f"results written to {out}")


if __name__ == "__main__":
    main()
