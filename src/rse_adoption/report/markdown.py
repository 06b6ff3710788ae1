"""The report as Markdown, short enough for an e-mail or a wiki page."""

from __future__ import annotations

from ..model import GroupFigures, Report
from .i18n import ENGLISH, Language
from .phrases import phrase
from .statuses import ALL_SITES, STATUS_SYMBOLS, count_text, group_status_label, share_text
from .terminal import headcount_source
from .wording import (
    change_phrase,
    directory_mismatch_warning,
    forecast_phrase,
    window_before_data,
)

STATUS_SYMBOL = STATUS_SYMBOLS


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _pct(value: float | None, tr: Language) -> str:
    return tr.percent(value, 1, en_space=" ")


def _status(g: GroupFigures, tr: Language, k: int = 5) -> str:
    if g.status in STATUS_SYMBOL:
        return f"{group_status_label(g, tr, k)} {STATUS_SYMBOL[g.status]}"
    return str(g.status)


def _line(g: GroupFigures, label: str, min_group_size: int, tr: Language) -> str:
    if g.suppressed:
        people = tr._("fewer than %(min)s people", min=min_group_size)
        return f"| {label} | {people} | | | | | |"
    assert g.segments is not None
    return (
        f"| {label} | {tr.number(g.headcount)} "
        f"| {_escape(count_text(g, 'segments.contributor', g.segments.contributor, min_group_size, tr))} "
        f"| {_escape(share_text(g, tr, ' '))} | {_status(g, tr, min_group_size)} "
        f"| {tr.number(g.ambassadors)} | {_escape(forecast_phrase(g.forecast, tr=tr))} |"
    )


def render(report: Report, tr: Language = ENGLISH) -> str:
    low, high = tr.percent(report.tipping_low, 0, " "), tr.percent(report.tipping_high, 0, " ")
    mismatch = directory_mismatch_warning(report, tr)
    start = report.window_start if tr.english else tr.long_date(report.window_start)
    lines = [
        tr._("# ESN adoption by site — %(day)s", day=tr.short_date(report.as_of)),
        "",
        *([f"**{mismatch}**", ""] if mismatch else []),
        tr._(
            "Window: %(days)s days, %(start)s to %(end)s (UTC). A site tips when contributors "
            "(people who posted or commented in the window) reach %(high)s of its headcount; "
            "%(low)s–%(high)s is the tipping band. Headcount source: %(source)s.",
            days=report.window_days,
            start=start,
            end=tr.short_date(report.as_of),
            high=high,
            low=low,
            source=headcount_source(report, tr),
        )
        + (f" {shorter}" if (shorter := window_before_data(report, tr)) else ""),
        "",
        "| "
        + " | ".join(
            (
                tr._("Site"),
                tr._("Headcount"),
                tr._("Contributors"),
                tr._("Share"),
                tr._("Status"),
                tr._("Ambassadors"),
                tr._("%(high)s expected", high=high),
            )
        )
        + " |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for g in sorted(report.sites, key=lambda g: -(g.progress or -1)):
        lines.append(_line(g, _escape(g.site or ""), report.min_group_size, tr))
    lines.append(_line(report.totals, f"**{tr._(ALL_SITES)}**", report.min_group_size, tr))
    lines.append("")
    lines.append(  # the legend of "< 5" and "—", right under the table that uses them first
        tr._(
            "Sites with fewer than %(min)s people show no figures; < %(min)s: fewer than "
            "%(min)s people; —: hidden so that such a count cannot be recomputed (privacy: "
            "docs/privacy.md). Definitions: docs/metrics.md.",
            min=report.min_group_size,
        )
    )
    lines.append("")
    if report.unlisted_active_users and not mismatch:
        lines.append(
            tr._(
                "%(people)s active people are not in the directory and are not counted in "
                "any site.",
                people=tr.number(report.unlisted_active_users),
            )
        )
        lines.append("")
    lines += _peers(report, tr)
    from .effects_report import markdown as effects_markdown

    lines += effects_markdown(report, tr)
    for note in report.notes:
        lines.append(f"> {phrase(note, tr)}")
    return "\n".join(lines) + "\n"


def _peers(report: Report, tr: Language) -> list[str]:
    """The peers' figures: conversations, movement, change since the previous window,
    interactions toward other sites and concentration, one line per shown site."""
    header = [
        tr._("Site"),
        tr._("Threads"),
        tr._("Answered"),
        tr._("Median hours to first reply"),
        tr._("Unanswered after 7 days"),
        tr._("New contributors"),
        tr._("Lost"),
        tr._("Returning"),
        tr._("vs previous window"),
        tr._("Toward other sites"),
        tr._("Top %(n)s %% share", n=10),
        tr._("Gini"),
    ]
    lines = [
        tr._("## Conversations, movement and concentration"),
        "",
        "| " + " | ".join(header) + " |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    groups = [(g, _escape(g.site or "")) for g in report.sites if not g.suppressed]
    if not report.totals.suppressed:
        groups.append((report.totals, f"**{tr._(ALL_SITES)}**"))
    for g, label in groups:
        talk, spread = g.conversations, g.concentration
        hours = talk.median_hours_to_first_reply if talk else None
        gini = spread.gini if spread else None
        lines.append(
            f"| {label} | {tr.number(talk.threads if talk else None)} "
            f"| {_pct(talk.answered_share if talk else None, tr)} "
            f"| {'—' if hours is None else tr.decimal(hours, 1)} "
            f"| {tr.number(talk.unanswered_over_7_days if talk else None)} "
            f"| {tr.number(g.new_contributors)} | {tr.number(g.lost_contributors)} "
            f"| {tr.number(g.returning_contributors)} | {change_phrase(g.change_points, tr)} "
            f"| {_pct(g.cross_site_share, tr)} "
            f"| {_pct(spread.top_10_percent_share if spread else None, tr)} "
            f"| {'—' if gini is None else tr.decimal(gini, 2)} |"
        )
    return [*lines, ""]
