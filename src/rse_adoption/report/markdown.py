"""The report as Markdown, short enough for an e-mail or a wiki page."""

from __future__ import annotations

from ..model import GroupFigures, Report
from .wording import change_phrase, forecast_phrase

STATUS_LABEL = {"tipped": "tipped ✔", "tipping": "tipping ◐", "below": "below ○"}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _line(g: GroupFigures, label: str, min_group_size: int) -> str:
    if g.suppressed:
        return f"| {label} | fewer than {min_group_size} people | | | | | |"
    assert g.segments is not None
    return (
        f"| {label} | {g.headcount} | {g.segments.contributor} | {_pct(g.contributor_share)} "
        f"| {STATUS_LABEL.get(g.status or '', g.status)} | {g.ambassadors} "
        f"| {_escape(forecast_phrase(g.forecast))} |"
    )


def render(report: Report) -> str:
    low, high = report.tipping_low, report.tipping_high
    lines = [
        f"# ESN adoption by site — {report.as_of.isoformat()}",
        "",
        f"Window: {report.window_days} days, {report.window_start} to {report.as_of} (UTC). "
        f"A site tips when contributors (people who posted or commented in the window) "
        f"reach {high * 100:.0f} % of its headcount; {low * 100:.0f} %–{high * 100:.0f} % is the "
        f"tipping band. Headcount source: {report.headcount_source}.",
        "",
        f"| Site | Headcount | Contributors | Share | Status | Ambassadors | {high * 100:.0f} % expected |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for g in sorted(report.sites, key=lambda g: -(g.progress or -1)):
        lines.append(_line(g, _escape(g.site or ""), report.min_group_size))
    lines.append(_line(report.totals, "**All sites shown**", report.min_group_size))
    lines.append("")
    if report.unlisted_active_users:
        lines.append(
            f"{report.unlisted_active_users} active people are not in the directory and are "
            "not counted in any site."
        )
    lines += _peers(report)
    for note in report.notes:
        lines.append(f"> {note}")
    lines.append(
        f"Sites with fewer than {report.min_group_size} people are not shown (privacy). "
        "Definitions: docs/metrics.md."
    )
    return "\n".join(lines) + "\n"


def _num(value: int | None) -> str:
    return "—" if value is None else str(value)


def _peers(report: Report) -> list[str]:
    """The peers' figures: conversations, movement, change since the previous window,
    interactions toward other sites and concentration, one line per shown site."""
    lines = [
        "## Conversations, movement and concentration",
        "",
        "| Site | Threads | Answered | Median hours to first reply | Unanswered after 7 days "
        "| New contributors | Lost | Returning | vs previous window | Toward other sites "
        "| Top 10 % share | Gini |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    groups = [(g, _escape(g.site or "")) for g in report.sites if not g.suppressed]
    if not report.totals.suppressed:
        groups.append((report.totals, "**All sites shown**"))
    for g, label in groups:
        talk, spread = g.conversations, g.concentration
        hours = talk.median_hours_to_first_reply if talk else None
        gini = spread.gini if spread else None
        lines.append(
            f"| {label} | {_num(talk.threads if talk else None)} "
            f"| {_pct(talk.answered_share if talk else None)} "
            f"| {'—' if hours is None else f'{hours:.1f}'} "
            f"| {_num(talk.unanswered_over_7_days if talk else None)} "
            f"| {_num(g.new_contributors)} | {_num(g.lost_contributors)} "
            f"| {_num(g.returning_contributors)} | {change_phrase(g.change_points)} "
            f"| {_pct(g.cross_site_share)} "
            f"| {_pct(spread.top_10_percent_share if spread else None)} "
            f"| {'—' if gini is None else f'{gini:.2f}'} |"
        )
    return [*lines, ""]
