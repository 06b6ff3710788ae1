"""Why were the forecast's early dates late? The fitted plateau against the truth.

For each site of the calibration's organisations (benchmarks/forecast_calibration.py),
each cut at which the site stood between 15 % and 60 % of its eventual plateau (the
mid-rise, where the dates matter) is fitted from the weeks up to the cut; the plateau the
model reads then (the least-squares m, and the posterior's 10/50/90 % quantiles of m) is
compared with the plateau the whole history shows (the least-squares m of every week: the
truth the later weeks reveal). Run with the model's constants of before issue 30 and
after; prints and writes benchmarks/results/forecast-diagnosis-<timestamp>.json.

Usage: python benchmarks/forecast_diagnosis.py [--set NAME]... [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from forecast_calibration import LAUNCH, ORGANISATIONS, organisation_store  # noqa: E402
from rse_adoption import open_store  # noqa: E402
from rse_adoption.metrics import backtest, forecast  # noqa: E402

#: The constants before issue 30 and after (metrics/forecast.py).
MODELS = {
    "before": {"PLATEAU_MEDIAN": 0.20, "INFLATION": 3.0, "INFLATION_NO_LAUNCH": 3.0},
    "after": {
        "PLATEAU_MEDIAN": forecast.PLATEAU_MEDIAN,
        "INFLATION": forecast.INFLATION,
        "INFLATION_NO_LAUNCH": forecast.INFLATION_NO_LAUNCH,
    },
}


def mid_rise_plateaus(series: backtest.Series) -> list[dict[str, float]]:
    """One row per (site, cut) in mid-rise: the truth, the least-squares m, the posterior's
    quantiles of m, and the fitted q against the whole history's."""
    t_all = np.asarray(series.weeks, dtype=float)
    rows = []
    for shares in series.shares.values():
        truth = forecast.fit_bass(t_all, shares, series.launch)
        if truth is None or truth.m <= 0:
            continue
        for i in range(forecast.MIN_POINTS - 1, len(t_all) - 1, 2):
            if not 0.15 <= shares[i] / truth.m <= 0.60:
                continue
            t, y = t_all[: i + 1], shares[: i + 1]
            fit = forecast.fit_bass(t, y, series.launch)
            if fit is None:
                continue
            params, m, weights = forecast.posterior(t, y, series.launch)
            low, middle, high = forecast.weighted_quantiles(m, weights, (0.1, 0.5, 0.9))
            rows.append(
                {
                    "truth_m": truth.m,
                    "ls_m": fit.m,
                    "m10": low,
                    "m50": middle,
                    "m90": high,
                    "truth_q": truth.q,
                    "ls_q": fit.q,
                }
            )
    return rows


def summary(rows: list[dict[str, float]]) -> dict[str, Any]:
    if not rows:
        return {"cuts": 0}
    ratio = np.array([r["m50"] / r["truth_m"] for r in rows])
    ls = np.array([r["ls_m"] / r["truth_m"] for r in rows])
    q = np.array([r["ls_q"] / r["truth_q"] for r in rows if r["truth_q"] > 0])
    below = np.mean([r["m90"] < r["truth_m"] for r in rows])
    above = np.mean([r["m10"] > r["truth_m"] for r in rows])
    return {
        "cuts": len(rows),
        "median ls_m / truth": round(float(np.median(ls)), 3),
        "median posterior m50 / truth": round(float(np.median(ratio)), 3),
        "truth above the posterior's 90 % quantile": round(float(below), 3),
        "truth below its 10 % quantile": round(float(above), 3),
        "median ls_q / truth_q": round(float(np.median(q)), 3) if q.size else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", choices=tuple(ORGANISATIONS))
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="rse-diagnosis-"))
    out: dict[str, Any] = {}
    try:
        for set_name in args.set or tuple(ORGANISATIONS):
            series = []
            for name, spec in ORGANISATIONS[set_name].items():
                data = organisation_store(name, spec, work / set_name.replace(" ", "-"))
                settings = open_store(data, launch_date=LAUNCH.isoformat())._settings()
                series.append(backtest.load_series(settings))
            for model, constants in MODELS.items():
                for key, value in constants.items():
                    setattr(forecast, key, value)
                rows = [r for s in series for r in mid_rise_plateaus(s)]
                out[f"{set_name}, {model}"] = summary(rows)
                print(f"{set_name}, {model}: {out[f'{set_name}, {model}']}")
    finally:
        for key, value in MODELS["after"].items():
            setattr(forecast, key, value)
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    path = HERE / "results" / f"forecast-diagnosis-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
