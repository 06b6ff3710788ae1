"""Movement between segments as JSON, CSV, a terminal table and an HTML page
(`rse-adoption transitions`). JSON keys: docs/report-json.md, "Transitions"."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from ..model import Report, SiteTransitions
from .columns import figure_column, name_column
from .csv_report import write_csv
from .i18n import ENGLISH, Language
from .statuses import ALL_SITES, segment_name
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
    return {
        "site": t.site,
        "suppressed": t.suppressed,
        "withheld": t.withheld,
        "matrix": t.matrix,
        **t.rates,
    }


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


def cell_column(before: str, now: str) -> str:
    """The CSV column of one matrix cell (people): `<before>_to_<now>`, with `_people`
    after it where a rate already has that name (`reader_to_contributor` is the rate)."""
    name = f"{before}_to_{now}"
    return f"{name}_people" if name in RATES else name


def csv_table(report: Report) -> tuple[list[str], list[list[object]]]:
    """The CSV's columns and its rows, typed (None where hidden): the site, whether it is
    suppressed, the rates, the 25 cells of the matrix (people) and `withheld`."""
    cells = [cell_column(a, b) for a in SEGMENT_ORDER for b in SEGMENT_ORDER]
    rows = []
    for t in report.transitions:
        matrix = t.matrix or {}
        rows.append(
            [t.site or "TOTAL", t.suppressed]
            + [t.rates.get(r) for r in RATES]
            + [matrix.get(a, {}).get(b) for a in SEGMENT_ORDER for b in SEGMENT_ORDER]
            + [t.withheld]
        )
    return ["site", "suppressed", *RATES, *cells, "withheld"], rows


def render_csv(report: Report, dialect: str = "excel") -> str:
    return write_csv(*csv_table(report), dialect)


def table(report: Report, tr: Language = ENGLISH) -> Table:
    assert report.previous_window is not None
    result = Table(
        title=tr._(
            "From the previous window (%(before_start)s → %(before_end)s) to this one "
            "(%(start)s → %(end)s)",
            before_start=tr.short_date(report.previous_window[0]),
            before_end=tr.short_date(report.previous_window[1]),
            start=tr.short_date(report.window_start),
            end=tr.short_date(report.as_of),
        ),
        caption=tr._(
            "Shares of each previous segment. — : fewer than %(min)s people, or a figure that "
            "would give such a count back (privacy).",
            min=report.min_group_size,
        ),
    )
    rows: list[list[str]] = []
    for t in report.transitions:
        label = t.site or tr._(ALL_SITES)
        if t.suppressed:
            rows.append([label, tr._("hidden"), "", "", ""])
            continue
        rows.append(
            [
                label,
                *(
                    _pct(t.rates.get(rate), tr)
                    for rate in (
                        "reader_to_contributor",
                        "reactor_to_contributor",
                        "contributor_retained",
                        "contributor_to_inactive",
                    )
                ),
            ]
        )
    # The sites' names stay whole; the headers wrap when the terminal is narrow.
    result.add_column(tr._("Site"), **name_column(row[0] for row in rows))  # type: ignore[arg-type]
    for i, name in enumerate(
        (
            tr._("reader → contrib."),
            tr._("reactor → contrib."),
            tr._("contrib. kept"),
            tr._("contrib. → inactive"),
        ),
        start=1,
    ):
        result.add_column(name, **figure_column(row[i] for row in rows))  # type: ignore[arg-type]
    for row in rows:
        result.add_row(*row)
    return result


def render_html(report: Report, tr: Language = ENGLISH) -> str:
    from .templates import environment

    env = environment(tr.code)
    return env.get_template("transitions.html.j2").render(
        data=to_dict(report),
        order=SEGMENT_ORDER,
        pct=lambda value: _pct(value, tr),
        num=lambda value: tr.number(value),
        date=tr.iso_day,
        segment_name=lambda segment: segment_name(segment, tr),
    )
