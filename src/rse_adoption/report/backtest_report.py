"""The forecast's backtest (model.ForecastBacktest) as JSON and as plain text: the summary
first (coverage of the stated range, errors in days, unreachable calls that were
reached), then one line per site; the JSON adds every judged mark."""

from __future__ import annotations

import textwrap
from dataclasses import asdict
from datetime import date
from typing import Any

from ..model import BacktestSummary, ForecastBacktest


def _day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def backtest_to_dict(result: ForecastBacktest) -> dict[str, Any]:
    """`forecast --backtest --json` (docs/metrics.md, "Backtest")."""
    return {
        "data_first_day": _day(result.data_first_day),
        "data_last_day": _day(result.data_last_day),
        "window_days": result.window_days,
        "launch_date": _day(result.launch_date),
        "every_weeks": result.every_weeks,
        "follow_weeks": result.follow_weeks,
        "marks": list(result.marks),
        "cuts": [_day(c) for c in result.cuts],
        "sites": list(result.sites),
        "summary": asdict(result.summary),
        "by_site": {site: asdict(s) for site, s in result.by_site.items()},
        "cases": [
            {
                key: _day(value) if isinstance(value, date) else value
                for key, value in asdict(case).items()
            }
            for case in result.cases
        ],
    }


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f} %"


def _summary_line(s: BacktestSummary) -> str:
    error = (
        "—"
        if s.median_abs_error_days is None
        else f"{s.median_abs_error_days:.0f} d (bias {s.median_error_days or 0:+.0f} d)"
    )
    return (
        f"{s.dated:>5} {s.decided:>7} {_percent(s.coverage):>8} {s.open_ended:>10} "
        f"{s.crossed:>7} {s.crossed_called_unreachable:>11} "
        f"{s.unreachable_reached:>5}/{s.unreachable_calls:<5} {s.inverted:>8}  {error}"
    )


def backtest_text(result: ForecastBacktest, width: int | None = None) -> str:
    """The summary and one line per site, aligned for a terminal or cron mail; the
    summary's sentences wrapped at `width` (None: one line each), the table never."""
    s = result.summary
    cuts = ", ".join(c.isoformat() for c in result.cuts)
    name = max([24, *(len(site) for site in result.by_site)])
    lines = [
        f"Forecast backtest of the store's data {result.data_first_day} to "
        f"{result.data_last_day} ({result.window_days}-day window"
        + (f", launched {result.launch_date}" if result.launch_date else "")
        + ")",
        f"cut every {result.every_weeks} weeks: {cuts}",
        "",
        f"Of {s.cases} marks not yet reached at a cut, {s.dated} were given a date; "
        + (
            f"the data can judge {s.decided} of them, and the ~80 % range held the crossing "
            f"in {_percent(s.coverage)} ({s.covered}/{s.decided})."
            if s.decided
            else "the data can judge none of them yet (the ~80 % range is not checked)."
        ),
        f"The range missed {s.missed_early} crossings that came before its earliest date "
        f"and {s.missed_late} that came after its latest.",
        f"{s.crossed} marks were crossed later; {s.crossed_called_unreachable} of them had "
        f"been called not at the current pace. Of {s.unreachable_calls} such calls the "
        f"data can judge, {s.unreachable_reached} were reached within "
        f"{result.follow_weeks} weeks"
        + (
            f" ({s.unreachable_pending} more are followed by fewer than "
            f"{result.follow_weeks} weeks of data: not counted)."
            if s.unreachable_pending
            else "."
        ),
        "Expected dates of crossed marks: "
        + (
            f"median error {s.median_abs_error_days:.0f} days, bias (median) "
            f"{s.median_error_days or 0:+.0f} days and mean {s.mean_error_days:+.0f} days "
            f"(positive: late), latest by {s.max_late_days} and earliest by "
            f"{s.max_early_days} days."
            if s.median_abs_error_days is not None
            else "none to judge yet."
        ),
        f"Inverted ranges: {s.inverted}.",
    ]
    if width is not None:
        lines = [part for line in lines for part in textwrap.wrap(line, width) or [""]]
    lines += [
        "",
        f"{'site':<{name}} {'dated':>5} {'decided':>7} {'coverage':>8} {'open-ended':>10} "
        f"{'crossed':>7} {'called_unr.':>11} {'unr.reached':>11} {'inverted':>8}  median error",
    ]
    for site, summary in result.by_site.items():  # each name whole, the columns aligned
        lines.append(f"{site:<{name}} {_summary_line(summary)}")
    lines.append(f"{'all sites':<{name}} {_summary_line(s)}")
    return "\n".join(lines) + "\n"
