"""Personas as JSON, CSV, a terminal table and an HTML page (`rse-adoption personas`).
JSON keys: docs/report-json.md, "Personas"."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from ..model import PERSONAS, Report
from .csv_report import write_csv
from .i18n import ENGLISH, Language
from .phrases import phrase
from .statuses import ALL_SITES, persona_name


def to_dict(report: Report) -> dict[str, Any]:
    sites = [p for p in report.personas if p.site is not None]
    totals = next((p for p in report.personas if p.site is None), None)
    return {
        "as_of": report.as_of.isoformat(),
        "window": {"start": report.window_start.isoformat(), "end": report.as_of.isoformat()},
        "min_group_size": report.min_group_size,
        "reason": report.personas_reason,
        "sites": [
            {
                "site": p.site,
                "suppressed": p.suppressed,
                "personas": p.personas,
                "withheld": p.withheld,
            }
            for p in sites
        ],
        "totals": {
            "suppressed": totals.suppressed,
            "personas": totals.personas,
            "withheld": totals.withheld,
        }
        if totals
        else None,
    }


def render_json(report: Report) -> str:
    return json.dumps(to_dict(report), ensure_ascii=False, indent=2) + "\n"


def csv_table(report: Report) -> tuple[list[str], list[list[object]]]:
    """The CSV's columns and its rows, typed (None where hidden)."""
    rows: list[list[object]] = [
        [p.site or "TOTAL", p.suppressed, *((p.personas or {}).get(name) for name in PERSONAS)]
        for p in report.personas
    ]
    return ["site", "suppressed", *PERSONAS], rows


def render_csv(report: Report, dialect: str = "excel") -> str:
    return write_csv(*csv_table(report), dialect)


def table(report: Report, tr: Language = ENGLISH) -> Table:
    result = Table(
        title=tr._(
            "Personas, %(start)s → %(end)s",
            start=tr.short_date(report.window_start),
            end=tr.short_date(report.as_of),
        ),
        caption=(
            phrase(report.personas_reason, tr)
            if report.personas_reason
            else tr._(
                "— : fewer than %(min)s people, or a figure that would give such a count back "
                "(privacy). Rules: docs/metrics.md#personas.",
                min=report.min_group_size,
            )
        ),
    )
    result.add_column(tr._("Site"))
    for name in PERSONAS:
        result.add_column(persona_name(name, tr), justify="right")
    for p in report.personas:
        label = p.site or tr._(ALL_SITES)
        if p.suppressed or p.personas is None:
            result.add_row(label, tr._("hidden"))
            continue
        result.add_row(label, *(tr.number(p.personas[n]) for n in PERSONAS))
    return result


def render_html(report: Report, tr: Language = ENGLISH) -> str:
    from .templates import environment

    env = environment(tr.code)
    return env.get_template("personas.html.j2").render(
        data=to_dict(report),
        names=PERSONAS,
        num=lambda value: tr.number(value),
        date=tr.iso_day,
        persona_name=lambda name: persona_name(name, tr),
        reason=lambda text: phrase(text or "", tr),
    )
