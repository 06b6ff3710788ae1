"""Interactions between sites as JSON, CSV, a terminal table and an HTML heatmap
(`rse-adoption interactions`). JSON keys: docs/report-json.md, "Interactions"."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from ..model import Report
from .csv_report import write_csv
from .json_report import interactions_to_dict
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
    """One row per shown site (from_site), a column per shown site (to_site) and its
    cross-site share; then the totals' share. None where hidden."""
    matrix = (report.interactions.matrix if report.interactions else None) or {}
    sites = list(matrix)
    shares = {g.site: g.cross_site_share for g in report.sites}
    rows: list[list[object]] = [[a, *(matrix[a][b] for b in sites), shares.get(a)] for a in sites]
    rows.append(["TOTAL", *(None for _ in sites), report.totals.cross_site_share])
    return ["from_site", *sites, "cross_site_share"], rows


def render_csv(report: Report) -> str:
    return write_csv(*csv_table(report))


def table(report: Report) -> Table:
    i = report.interactions
    window = f"{report.window_start} → {report.as_of}"
    result = Table(
        title=f"Replies and reactions between sites, {window} (rows: from; columns: to)",
        caption=(i.reason if i is not None and i.reason else None)
        or f"— : from 1 to {report.min_group_size - 1}, or a figure that would give such a "
        "count back (privacy). Definitions: docs/metrics.md#interactions.",
    )
    matrix = (i.matrix if i else None) or {}
    result.add_column("from \\ to")
    for b in matrix:
        result.add_column(b, justify="right")
    result.add_column("toward other sites", justify="right")
    shares = {g.site: g.cross_site_share for g in report.sites}
    for a, row in matrix.items():
        result.add_row(a, *(count(row[b]) for b in matrix), _pct(shares.get(a)))
    if matrix:
        result.add_section()
        result.add_row(
            "All sites shown", *("" for _ in matrix), _pct(report.totals.cross_site_share)
        )
    return result


def render_html(report: Report) -> str:
    from .html_report import num, pct
    from .peers_view import heatmap
    from .templates import environment

    return (
        environment()
        .get_template("interactions.html.j2")
        .render(report=report, heatmap=heatmap(report), pct=pct, num=num)
    )
