"""Actions and their effect as JSON, CSV, a terminal table and HTML (`rse-adoption
effects`, and the report's `interventions` and its section "Actions and their effect").
JSON keys: docs/report-json.md, "Interventions"."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from ..effects_model import ActionEffect, EffectCheck, OutcomeEffect
from ..model import Report
from .csv_report import write_csv
from .i18n import ENGLISH, Language
from .phrases import phrase


def _outcome(o: OutcomeEffect | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {
        "estimate": o.estimate,
        "low": o.low,
        "high": o.high,
        "before": o.before,
        "after": o.after,
        "comparison_change": o.comparison_change,
    }


def _check(c: EffectCheck | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "estimate": c.estimate,
        "low": c.low,
        "high": c.high,
        "passed": c.passed,
        "reason": c.reason,
    }


def action_to_dict(a: ActionEffect) -> dict[str, Any]:
    """One action of the report's `interventions` list."""
    return {
        "date": a.date.isoformat(),
        "site": a.site,
        "kind": a.kind,
        "label": a.label,
        "source": a.source,
        "weeks_after": a.weeks_after,
        "level": a.level,
        "verdict": a.verdict,
        "reason": a.reason,
        "new_contributors": _outcome(a.new_contributors),
        "contributor_share_pp": _outcome(a.contributor_share),
        "comparison_sites": list(a.comparison_sites),
        "placebo": _check(a.placebo),
        "pre_trend": _check(a.pre_trend),
    }


def interventions_to_list(report: Report) -> list[dict[str, Any]]:
    """The report's top-level `interventions`."""
    return [action_to_dict(a) for a in report.interventions]


def to_dict(report: Report) -> dict[str, Any]:
    """The `effects --json` output."""
    return {
        "as_of": report.as_of.isoformat(),
        "weeks_after": report.effects_weeks_after,
        "level": 0.8,
        "min_group_size": report.min_group_size,
        "interventions": interventions_to_list(report),
    }


def render_json(report: Report) -> str:
    return json.dumps(to_dict(report), ensure_ascii=False, indent=2) + "\n"


CSV_COLUMNS = [
    "date",
    "site",
    "kind",
    "label",
    "source",
    "weeks_after",
    "verdict",
    "reason",
    "new_contributors_estimate",
    "new_contributors_low",
    "new_contributors_high",
    "new_contributors_before",
    "new_contributors_after",
    "contributor_share_pp_estimate",
    "contributor_share_pp_low",
    "contributor_share_pp_high",
    "comparison_sites",
    "placebo_passed",
    "pre_trend_passed",
]


def csv_table(report: Report) -> tuple[list[str], list[list[object]]]:
    """One row per action: its verdict, both estimates with their 80 % interval, the
    evidence and the checks."""
    rows: list[list[object]] = []
    for a in report.interventions:
        new, share = a.new_contributors, a.contributor_share
        rows.append(
            [
                a.date,
                a.site,
                a.kind,
                a.label,
                a.source,
                a.weeks_after,
                a.verdict,
                a.reason,
                *((new.estimate, new.low, new.high, new.before, new.after) if new else [None] * 5),
                *((share.estimate, share.low, share.high) if share else [None] * 3),
                ", ".join(a.comparison_sites),
                a.placebo.passed if a.placebo else None,
                a.pre_trend.passed if a.pre_trend else None,
            ]
        )
    return CSV_COLUMNS, rows


def render_csv(report: Report, dialect: str = "excel") -> str:
    return write_csv(*csv_table(report), dialect)


def verdict_text(a: ActionEffect, tr: Language) -> str:
    """The verdict in the reader's language."""
    words = {
        "increase": tr._("increase"),
        "decrease": tr._("decrease"),
        "no clear effect": tr._("no clear effect"),
        "not estimable": tr._("not estimable"),
    }
    return words[a.verdict]


def label_text(a: ActionEffect, tr: Language) -> str:
    """The action's label; a site's first ambassador is named in the reader's language."""
    if a.source == "directory":
        return tr._("first ambassador")
    return a.label


def kind_text(a: ActionEffect, tr: Language) -> str:
    """The action's kind as logged; the ambassadors' arrival in the reader's language."""
    return tr._("ambassador") if a.source == "directory" else a.kind


def site_text(a: ActionEffect, tr: Language) -> str:
    return tr._("every site") if a.site == "*" else a.site


def _signed(value: float, tr: Language, decimals: int = 1) -> str:
    text = tr.decimal(abs(value), decimals)
    return ("+" if value > 0 else "−" if value < 0 else "") + text


def interval_text(o: OutcomeEffect | None, tr: Language, decimals: int = 1) -> str:
    """`+12.3 [+2.0; +22.6]`, or an empty string."""
    if o is None:
        return ""
    return (
        f"{_signed(o.estimate, tr, decimals)} "
        f"[{_signed(o.low, tr, decimals)}; {_signed(o.high, tr, decimals)}]"
    )


def checks_text(a: ActionEffect, tr: Language) -> str:
    """The placebo and pre-trend checks in a few words."""
    parts = []
    not_made, passed, failed = tr._("not made"), tr._("passed"), tr._("failed")
    for name, check in ((tr._("placebo"), a.placebo), (tr._("pre-trend"), a.pre_trend)):
        result = not_made if check is None or check.passed is None else passed
        if check is not None and check.passed is False:
            result = failed
        parts.append(tr._("%(check)s: %(result)s", check=name, result=result))
    return ", ".join(parts)


def rows(report: Report, tr: Language) -> list[list[str]]:
    """The actions as the terminal, Markdown and HTML tables show them."""
    out = []
    for a in report.interventions:
        out.append(
            [
                tr.short_date(a.date),
                site_text(a, tr),
                kind_text(a, tr),
                label_text(a, tr),
                verdict_text(a, tr)
                + (
                    f" — {phrase(a.reason, tr)}"
                    if a.verdict == "not estimable" and a.reason
                    else ""
                ),
                interval_text(a.new_contributors, tr),
                interval_text(a.contributor_share, tr, 2),
                str(len(a.comparison_sites)) if a.comparison_sites else "",
                checks_text(a, tr) if a.new_contributors else "",
            ]
        )
    return out


def headers(report: Report, tr: Language) -> list[str]:
    level = tr.percent(0.8, 0, " ")
    return [
        tr._("date"),
        tr._("site"),
        tr._("kind"),
        tr._("action"),
        tr._("verdict"),
        tr.ngettext(
            "new contributors over %(num)s week [%(level)s interval]",
            "new contributors over %(num)s weeks [%(level)s interval]",
            report.effects_weeks_after,
            level=level,
        ),
        tr._("contributor share, points [%(level)s interval]", level=level),
        tr._("comparison sites"),
        tr._("checks"),
    ]


def caption(report: Report, tr: Language) -> str:
    return tr._(
        "Each action against the sites with no action of their own around it (difference in "
        "differences); an association, never proof. Definitions: "
        "docs/metrics.md#actions-and-their-effect."
    )


def table(report: Report, tr: Language = ENGLISH) -> Table | None:
    """The terminal's table of the actions that have an estimate (None when none has; the
    others are `not_estimable_lines`, so that empty columns do not fill the screen). Five
    columns — the action (day, site, kind and label on their own lines), the verdict, the
    two estimates, the evidence — that wrap rather than cut, down to 80 columns."""
    names = headers(report, tr)
    estimable = [a for a in report.interventions if a.verdict != "not estimable"]
    if not estimable:
        return None
    result = Table(title=tr._("Actions and their effect"), caption=caption(report, tr))
    for name in (tr._("action"), names[4], names[5], names[6], tr._("evidence")):
        result.add_column(name, overflow="fold")
    for a in estimable:
        evidence = checks_text(a, tr)
        if a.comparison_sites:
            sites = tr._("comparison sites")
            evidence = f"{sites}: {len(a.comparison_sites)}; {evidence}"
        result.add_row(
            "\n".join(
                (
                    tr.short_date(a.date),
                    site_text(a, tr),
                    f"{kind_text(a, tr)}: {label_text(a, tr)}",
                )
            ),
            verdict_text(a, tr),
            interval_text(a.new_contributors, tr),
            interval_text(a.contributor_share, tr, 2),
            evidence,
        )
    return result


def print_terminal(console: Console, report: Report, tr: Language = ENGLISH) -> None:
    """The section on a terminal: the table of the actions with an estimate, then the
    others one line per reason (the `effects` command and the report's section)."""
    shown = table(report, tr)
    if shown is not None:
        console.print(shown)
    else:
        console.print(tr._("Actions and their effect"), style="bold")
    for line in not_estimable_lines(report, tr):
        console.print(line, highlight=False)
    if not report.interventions:
        console.print(tr._("No action logged (rse-adoption interventions FILE)."), highlight=False)


def not_estimable_lines(report: Report, tr: Language = ENGLISH) -> list[str]:
    """The actions without an estimate, one line per reason: "Not estimable (reason):
    Lyon, first ambassador, 13 Mar 2026; ..." (the terminal's compact form)."""
    by_reason: dict[str, list[str]] = {}
    for a in report.interventions:
        if a.verdict != "not estimable":
            continue
        reason = phrase(a.reason, tr) if a.reason else ""
        by_reason.setdefault(reason, []).append(
            f"{site_text(a, tr)}, {label_text(a, tr)}, {tr.short_date(a.date)}"
        )
    return [
        tr._(
            "Actions not estimable (%(reason)s): %(actions)s.",
            reason=reason,
            actions=tr.clauses(items),
        )
        if reason
        else tr._("Actions not estimable: %(actions)s.", actions=tr.clauses(items))
        for reason, items in by_reason.items()
    ]


def markdown(report: Report, tr: Language = ENGLISH) -> list[str]:
    """The Markdown section "Actions and their effect" (no lines without actions)."""
    if not report.interventions:
        return []
    lines = [f"## {tr._('Actions and their effect')}", "", caption(report, tr), ""]
    names = headers(report, tr)
    lines.append("| " + " | ".join(names) + " |")
    lines.append("|" + "---|" * len(names))
    for row in rows(report, tr):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return [*lines, ""]


def html_section(report: Report, tr: Language = ENGLISH) -> str:
    """The HTML section "Actions and their effect" ("" without actions)."""
    from markupsafe import escape

    if not report.interventions:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers(report, tr))
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
        for row in rows(report, tr)
    )
    return (
        f'<section id="effects"><h2>{escape(tr._("Actions and their effect"))}</h2>'
        f"<p>{escape(caption(report, tr))}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
    )


def render_html(report: Report, tr: Language = ENGLISH) -> str:
    from markupsafe import escape

    return (
        f'<!doctype html><html lang="{tr.code}"><head><meta charset="utf-8">'
        f"<title>{escape(tr._('Actions and their effect'))}</title></head><body>"
        f"{html_section(report, tr) or escape(tr._('No action logged.'))}</body></html>\n"
    )
