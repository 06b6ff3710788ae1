"""The report as JSON: the faithful, versioned serialisation of model.Report.

Documented in docs/report-json.md and validated by report.schema.json beside this file.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from ..model import Forecast, GroupFigures, Interactions, Report
from .ambassadors_report import to_section

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def _group(g: GroupFigures, with_site: bool) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if with_site:
        data["site"] = g.site
    data.update(
        {
            "headcount": g.headcount,
            "active_users": g.active_users,
            "segments": asdict(g.segments) if g.segments else None,
            "contributor_share": g.contributor_share,
            "status": g.status,
            "progress": g.progress,
            "ambassadors": g.ambassadors,
            "habitual_contributors": g.habitual_contributors,
            "occasional_contributors": g.occasional_contributors,
            "suppressed": g.suppressed,
            "series": [
                {
                    "week_start": p.week_start.isoformat(),
                    "contributors": p.contributors,
                    "active_users": p.active_users,
                    "contributors_to_date": p.contributors_to_date,
                }
                for p in g.series
            ]
            if not g.suppressed and g.series is not None
            else None,
            "forecast": _forecast(g.forecast) if not g.suppressed else None,
            "conversations": asdict(g.conversations) if g.conversations else None,
            "cross_site_share": g.cross_site_share,
            "newly_active": g.newly_active,
            "new_contributors": g.new_contributors,
            "lost_contributors": g.lost_contributors,
            "returning_contributors": g.returning_contributors,
            "previous": asdict(g.previous) if g.previous else None,
            "change_points": g.change_points,
            "concentration": asdict(g.concentration) if g.concentration else None,
            "contributor_share_below": g.contributor_share_below,
            "hidden": list(g.hidden),
            "fewer_than_k": list(g.fewer_than_k),
            "withheld": list(g.withheld),
        }
    )
    return data


def interactions_to_dict(i: Interactions | None) -> dict[str, Any] | None:
    """The report's `interactions` (and `rse-adoption interactions --format json`)."""
    if i is None:
        return None
    return {
        "window_start": i.window_start.isoformat(),
        "window_end": i.window_end.isoformat(),
        "matrix": i.matrix,
        "reason": i.reason,
    }


def _forecast(f: Forecast | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {
        "method": f.method,
        "marks": [
            {
                "share": m.share,
                "status": m.status,
                "expected": _day(m.expected),
                "earliest": _day(m.earliest),
                "latest": _day(m.latest),
            }
            for m in f.marks
        ],
        "parameters": f.parameters,
        "weeks_used": f.weeks_used,
        "reason": f.reason,
        "calibration": asdict(f.calibration) if f.calibration else None,
    }


def _day(d: date | None) -> str | None:
    return d.isoformat() if d else None


def report_to_dict(report: Report) -> dict[str, Any]:
    """The JSON object of a report (keys documented in docs/report-json.md)."""
    return {
        "schema_version": report.schema_version,
        "generated_at": report.generated_at,
        "as_of": report.as_of.isoformat(),
        "window_days": report.window_days,
        "window_start": report.window_start.isoformat(),
        "tipping_point": {"low": report.tipping_low, "high": report.tipping_high},
        "privacy": {"min_group_size": report.min_group_size},
        "headcount_source": report.headcount_source,
        "unlisted_active_users": report.unlisted_active_users,
        "directory_match_share": None
        if report.directory_match_share is None
        else round(report.directory_match_share, 4),
        "data_period": {
            "first_day": _day(report.data_first_day),
            "last_day": _day(report.data_last_day),
        },
        "notes": list(report.notes),
        "activity_grain": report.activity_grain,
        "activity_periods": [
            {
                "source_format": a.source_format,
                "period_days": a.period_days,
                "refresh_date": a.refresh_date.isoformat(),
                "people": a.people,
            }
            for a in report.activity_periods
        ],
        "ambassadors": to_section(report.ambassadors, report.min_group_size)
        if report.ambassadors
        else None,
        "sites": [_group(g, True) for g in report.sites],
        "totals": _group(report.totals, False),
        "interactions": interactions_to_dict(report.interactions),
        "interventions": interventions_to_list(report),
    }


def interventions_to_list(report: Report) -> list[dict[str, Any]]:
    """The report's `interventions`: every action with its effect (effects_report)."""
    from .effects_report import interventions_to_list as actions

    return actions(report)


def render(report: Report) -> str:
    return json.dumps(report_to_dict(report), ensure_ascii=False, indent=2) + "\n"


def schema() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return result
