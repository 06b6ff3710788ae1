"""Movement between segments as JSON, CSV, a terminal table and an HTML page
(`rse-adoption transitions`). JSON keys: docs/report-json.md, "Transitions"."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from ..model import Report, SiteTransitions
from .csv_report import write_csv
from .terminal import _pct

SEGMENT_ORDER = ("contributor", "reactor", "reader", "visitor", "inactive")
RATES = (
    "reader_to_contributor",
    "reactor_to_contributor",
    "visitor_to_contributor",
    "contributor_retained",
    "contributor_to_inactive",
)


def site_to_dict(t: SiteTransitions) -> dict[str, Any]:
    return {"site": t.site, "suppressed": t.suppressed, "matrix": t.matrix, **t.rates}


def to_dict(report: Report) -> dict[str, Any]:
    assert report.previous_window is not None
    sites = [t for t in report.transitions if t.site is not None]
    totals = next((t for t in report.transitions if t.site is None), None)
    return {
        "as_of": report.as_of.isoformat(),
        "window": {"start": report.window_start.isoformat(), "end": report.as_of.isoformat()},
        "previous_window": {
            "start": report.previous_window[0].isoformat(),
            "end": report.previous_window[1].isoformat(),
        },
        "min_group_size": report.min_group_size,
        "sites": [site_to_dict(t) for t in sites],
        "totals": site_to_dict(totals) if totals else None,
    }


def render_json(report: Report) -> str:
    return json.dumps(to_dict(report), ensure_ascii=False, indent=2) + "\n"


def csv_table(report: Report) -> tuple[list[str], list[list[object]]]:
    """The CSV's columns and its rows, typed (None where hidden)."""
    cells = [f"{a}_to_{b}" for a in SEGMENT_ORDER for b in SEGMENT_ORDER]
    rows = []
    for t in report.transitions:
        matrix = t.matrix or {}
        rows.append(
            [t.site or "TOTAL", t.suppressed]
            + [t.rates.get(r) for r in RATES]
            + [matrix.get(a, {}).get(b) for a in SEGMENT_ORDER for b in SEGMENT_ORDER]
        )
    return ["site", "suppressed", *RATES, *cells], rows


def render_csv(report: Report) -> str:
    return write_csv(*csv_table(report))


def table(report: Report) -> Table:
    assert report.previous_window is not None
    before = f"{report.previous_window[0]} → {report.previous_window[1]}"
    result = Table(
        title=f"From the previous window ({before}) to this one ({report.window_start} → {report.as_of})",
        caption=(
            "Shares of each previous segment. — : fewer than "
            f"{report.min_group_size} people, or a figure that would give such a count back "
            "(privacy)."
        ),
    )
    result.add_column("Site")
    for name in ("reader → contrib.", "reactor → contrib.", "contrib. kept", "contrib. → inactive"):
        result.add_column(name, justify="right", no_wrap=True)
    for t in report.transitions:
        label = t.site or "All sites shown"
        if t.suppressed:
            result.add_row(label, "hidden")
            continue
        result.add_row(
            label,
            _pct(t.rates.get("reader_to_contributor")),
            _pct(t.rates.get("reactor_to_contributor")),
            _pct(t.rates.get("contributor_retained")),
            _pct(t.rates.get("contributor_to_inactive")),
        )
    return result


def render_html(report: Report) -> str:
    from .templates import environment

    env = environment()
    return env.get_template("transitions.html.j2").render(
        data=to_dict(report), order=SEGMENT_ORDER, pct=_pct
    )
