"""The peers' figures of a report (conversations, movement, previous window, concentration,
interactions) as rows and cells the HTML pages lay out: values read from the Report, and
the heatmap's shading (a cell's share of the largest shown), nothing computed beyond."""

from __future__ import annotations

import math
from typing import Any

from ..model import GroupFigures, Report
from .i18n import ENGLISH, Language
from .phrases import phrase
from .statuses import ALL_SITES


def peer_row(g: GroupFigures, name: str, totals: bool = False) -> dict[str, Any]:
    talk, previous, spread = g.conversations, g.previous, g.concentration
    return {
        "name": name,
        "totals": totals,
        "threads": talk.threads if talk else None,
        "answered_share": talk.answered_share if talk else None,
        "median_hours": talk.median_hours_to_first_reply if talk else None,
        "unanswered": talk.unanswered_over_7_days if talk else None,
        "newly_active": g.newly_active,
        "new_contributors": g.new_contributors,
        "lost_contributors": g.lost_contributors,
        "returning_contributors": g.returning_contributors,
        "previous_share": previous.contributor_share if previous else None,
        "change": g.change_points,
        "cross_site_share": g.cross_site_share,
        "top_1": spread.top_1_percent_share if spread else None,
        "top_10": spread.top_10_percent_share if spread else None,
        "gini": spread.gini if spread else None,
    }


def peer_rows(report: Report, tr: Language = ENGLISH) -> list[dict[str, Any]]:
    """One row per shown site, then the totals' (when shown)."""
    rows = [peer_row(g, g.site or "") for g in report.sites if not g.suppressed]
    if not report.totals.suppressed:
        rows.append(peer_row(report.totals, tr._(ALL_SITES), totals=True))
    return rows


def heatmap(report: Report, tr: Language = ENGLISH) -> dict[str, Any]:
    """The interactions matrix as rows of cells with a shade (0..0.85 on a logarithmic
    scale up to the largest shown count, so that flows between small sites show beside a
    large site's own; hidden cells unshaded) and each row's cross-site share."""
    i = report.interactions
    if i is None or i.matrix is None:
        return {"sites": [], "rows": [], "reason": phrase(i.reason, tr) if i and i.reason else None}
    sites = list(i.matrix)
    columns = list(next(iter(i.matrix.values()))) if i.matrix else []  # all, under --site
    top = max((v for row in i.matrix.values() for v in row.values() if v), default=0) or 1
    shares = {g.site: g.cross_site_share for g in report.sites}
    return {
        "sites": columns,
        "window_start": tr.long_date(i.window_start),
        "window_end": tr.long_date(i.window_end),
        "reason": phrase(i.reason, tr) if i.reason else None,
        "rows": [
            {
                "site": a,
                "share": shares.get(a),
                "cells": [
                    {
                        "to": b,
                        "value": i.matrix[a][b],
                        "alpha": round(0.85 * math.log1p(i.matrix[a][b] or 0) / math.log1p(top), 3),
                    }
                    for b in columns
                ],
            }
            for a in sites
        ],
    }
