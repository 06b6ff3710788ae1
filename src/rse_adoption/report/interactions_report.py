"""Interactions between sites as JSON, CSV, a terminal table and an HTML heatmap
(`rse-adoption interactions`). JSON keys: docs/report-json.md, "Interactions"."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from ..model import Report
from .columns import figure_column, name_column
from .csv_report import write_csv
from .i18n import ENGLISH, Language
from .json_report import interactions_to_dict
from .phrases import phrase
from .statuses import ALL_SITES
from .terminal import _pct, count


def to_dict(report: Report) -> dict[str, Any]:
    """The report's `interactions` object, with each shown site's and the totals'
    cross-site share and the privacy threshold."""
    return {
        "as_of": report.as_of.isoformat(),
        "min_group_size": report.min_group_size,
        **(interactions_to_dict(report.interactions) or {"matrix": None, "reason": None}),
        "sites": [
            {"site": g.site, "suppressed": g.suppressed, "cross_site_share": g.cross_site_share}
            for g in report.sites
        ],
        "totals": {"cross_site_share": report.totals.cross_site_share},
    }


def render_json(report: Report) -> str:
    return json.dumps(to_dict(report), ensure_ascii=False, indent=2) + "\n"


def csv_table(report: Report) -> tuple[list[str], list[list[object]]]:
    """One row per shown site (from_site), a column per site a report may show (to_site:
    every one, under --site too) and its cross-site share; then the totals' share. None
    where hidden."""
    matrix = (report.interactions.matrix if report.interactions else None) or {}
    sites = list(matrix)
    columns = list(next(iter(matrix.values()))) if matrix else []  # every site, under --site
    shares = {g.site: g.cross_site_share for g in report.sites}
    rows: list[list[object]] = [[a, *(matrix[a][b] for b in columns), shares.get(a)] for a in sites]
    rows.append(["TOTAL", *(None for _ in columns), report.totals.cross_site_share])
    return ["from_site", *columns, "cross_site_share"], rows


def render_csv(report: Report, dialect: str = "excel") -> str:
    return write_csv(*csv_table(report), dialect)


def table(report: Report, tr: Language = ENGLISH) -> Table:
    i = report.interactions
    result = Table(
        title=tr._(
            "Replies and reactions between sites, %(start)s → %(end)s (rows: from; columns: to)",
            start=tr.short_date(report.window_start),
            end=tr.short_date(report.as_of),
        ),
        caption=(phrase(i.reason, tr) if i is not None and i.reason else None)
        or tr._(
            "— : from 1 to %(max)s, or a figure that would give such a count back (privacy). "
            "Definitions: docs/metrics.md#interactions.",
            max=report.min_group_size - 1,
        ),
    )
    matrix = (i.matrix if i else None) or {}
    columns = list(next(iter(matrix.values()))) if matrix else []  # every site, under --site
    shares = {g.site: g.cross_site_share for g in report.sites}
    rows: list[list[str]] = [
        [a, *(count(row[b], tr) for b in columns), _pct(shares.get(a), tr)]
        for a, row in matrix.items()
    ]
    if matrix:
        rows.append(
            [tr._(ALL_SITES), *("" for _ in columns), _pct(report.totals.cross_site_share, tr)]
        )
    # The sites' names (rows) stay whole, the columns' names wrap between words.
    result.add_column(tr._("from \\ to"), **name_column(row[0] for row in rows))  # type: ignore[arg-type]
    for n, b in enumerate([*columns, tr._("toward other sites")], start=1):
        result.add_column(b, **figure_column(row[n] for row in rows))  # type: ignore[arg-type]
    for n, row in enumerate(rows):
        if matrix and n == len(rows) - 1:
            result.add_section()
        result.add_row(*row)
    return result


def render_html(report: Report, tr: Language = ENGLISH) -> str:
    from .html_report import num, pct
    from .peers_view import heatmap
    from .templates import environment

    return (
        environment(tr.code)
        .get_template("interactions.html.j2")
        .render(
            report=report,
            heatmap=heatmap(report, tr),
            pct=lambda value, decimals=1: pct(value, decimals, tr),
            num=lambda value: num(value, tr),
            date=lambda day: tr.long_date(day),
        )
    )
