"""The report as rich tables for a terminal: one line per site with a bar toward the
tipping point, totals, and for each requested site a detail block (segments, weekly
sparkline). Status is a word and a symbol as well as a colour (readable without colour,
and under NO_COLOR)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..model import GroupFigures, Report
from .wording import change_phrase, forecast_phrase, forecast_sentence

STATUS_STYLE = {
    "tipped": ("✔ tipped", "green"),
    "tipping": ("◐ tipping", "yellow"),
    "below": ("○ below", "red"),
}
SPARK = "▁▂▃▄▅▆▇█"
BAR_WIDTH = 24


def progress_bar(share: float, low: float, high: float, width: int = BAR_WIDTH) -> Text:
    """A bar of `width` cells spanning 0..high×4/3 of contributor share, with `¦` at the low
    mark and `|` at the high mark, so the tipping band is visible at a glance."""
    scale = high * 4 / 3
    filled = min(width, round(share / scale * width))
    low_at, high_at = round(low / scale * width), round(high / scale * width)
    text = Text()
    for i in range(width):
        if i == low_at:
            text.append("¦", style="dim")
        elif i == high_at:
            text.append("|", style="bold")
        elif i < filled:
            text.append("█", style="cyan")
        else:
            text.append("·", style="dim")
    return text


def sparkline(values: Sequence[int | None]) -> str:
    """One block per value, scaled to the largest; a hidden value (None) is a space."""
    if not values:
        return ""
    top = max((v for v in values if v is not None), default=0) or 1
    return "".join(
        " " if v is None else SPARK[min(len(SPARK) - 1, round(v / top * (len(SPARK) - 1)))]
        for v in values
    )


def count(value: int | None) -> str:
    """A count as a cell: "—" when hidden (docs/privacy.md)."""
    return "—" if value is None else str(value)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _status(g: GroupFigures) -> Text:
    label, style = STATUS_STYLE.get(g.status or "", (g.status or "", ""))
    return Text(label, style=style)


def overview(report: Report) -> Table:
    table = Table(
        title=f"Contributors by site — window {report.window_start} → {report.as_of} ({report.window_days} days)",
        caption=(
            f"Tipping band {report.tipping_low:.0%}–{report.tipping_high:.0%} of headcount "
            f"(¦ and | on the bar). Headcount: {report.headcount_source}. "
            f"Sites under {report.min_group_size} people are hidden."
        ),
    )
    table.add_column("Site", no_wrap=True, min_width=12)
    for name in ("Headcount", "Active", "Contrib.", "Share"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column(
        f"Progress (¦{report.tipping_low:.0%} |{report.tipping_high:.0%})", no_wrap=True
    )
    table.add_column("Status", no_wrap=True)
    table.add_column("Amb.", justify="right", no_wrap=True)
    table.add_column(f"{report.tipping_high:.0%} expected")
    table.add_column("vs previous", no_wrap=True)
    for g in sorted(report.sites, key=lambda g: (g.suppressed, -(g.progress or 0), g.site or "")):
        _add_row(table, g, Text(g.site or ""), report)
    table.add_section()
    _add_row(table, report.totals, Text("All sites shown", style="bold"), report)
    return table


def _add_row(table: Table, g: GroupFigures, label: Text, report: Report) -> None:
    if g.suppressed:
        table.add_row(
            label,
            Text(f"< {report.min_group_size}", style="dim"),
            "",
            "",
            "",
            "",
            Text("hidden", style="dim"),
            "",
            "",
            "",
        )
        return
    assert g.segments is not None and g.contributor_share is not None
    table.add_row(
        label,
        str(g.headcount),
        str(g.active_users),
        str(g.segments.contributor),
        _pct(g.contributor_share),
        progress_bar(g.contributor_share, report.tipping_low, report.tipping_high),
        _status(g),
        str(g.ambassadors),
        forecast_phrase(g.forecast),
        _change(g.change_points),
    )


def _change(points: float | None) -> Text:
    phrase = change_phrase(points)
    style = "green" if phrase.startswith("▲") else "red" if phrase.startswith("▼") else "dim"
    return Text(phrase, style=style)


def peers_line(g: GroupFigures) -> str:
    """The peers' figures of a site's detail block, in one paragraph."""
    talk, spread = g.conversations, g.concentration
    parts = []
    if talk is not None:
        hours = talk.median_hours_to_first_reply
        parts.append(
            f"threads {count(talk.threads)}, answered {_pct(talk.answered_share)}, median "
            f"first reply {'—' if hours is None else f'{hours:.1f} h'}, unanswered after 7 "
            f"days {count(talk.unanswered_over_7_days)}"
        )
    parts.append(
        f"newly active {count(g.newly_active)}, new contributors "
        f"{count(g.new_contributors)}, lost {count(g.lost_contributors)}, returning "
        f"{count(g.returning_contributors)}"
    )
    if g.cross_site_share is not None:
        parts.append(f"toward other sites {_pct(g.cross_site_share)} of replies and reactions")
    if spread is not None:
        parts.append(
            f"top 1 % of contributors {_pct(spread.top_1_percent_share)} of posts and "
            f"comments, top 10 % {_pct(spread.top_10_percent_share)}, Gini "
            f"{'—' if spread.gini is None else f'{spread.gini:.2f}'}"
        )
    return "; ".join(parts) + "."


def detail(g: GroupFigures, report: Report) -> Panel:
    if g.suppressed:
        return Panel(
            Text(f"Fewer than {report.min_group_size} people: figures hidden."),
            title=Text(g.site or ""),
        )
    assert g.segments is not None
    seg = Table.grid(padding=(0, 2))
    seg.add_column()
    seg.add_column(justify="right")
    seg.add_column(justify="right")
    headcount = g.headcount or 1
    for name in ("contributor", "reactor", "reader", "visitor", "inactive"):
        value = getattr(g.segments, name)
        seg.add_row(name, str(value), _pct(value / headcount))
    trend = Text()
    if g.series is None:
        trend.append(f"no weekly detail at the {report.activity_grain} grain", style="dim")
    else:
        contributors = [p.contributors for p in g.series]
        active = [p.active_users for p in g.series]
        trend.append(f"weekly contributors {sparkline(contributors)}  ", style="cyan")
        trend.append(f"weekly active {sparkline(active)}")
    if g.habitual_contributors is not None:
        trend.append(
            f"\nhabit: {g.habitual_contributors} habitual contributors (9 of the last 12 "
            f"weeks), {g.occasional_contributors} occasional"
        )
    trend.append(f"\n{peers_line(g)}")
    outlook = Text(forecast_sentence(g.forecast), style="dim")
    return Panel(
        Group(seg, trend, outlook),
        title=Text(f"{g.site} — {_status(g).plain}, {_pct(g.contributor_share)}"),
    )


def render(report: Report, console: Console, *, details: bool = False) -> None:
    console.print(overview(report))
    if details:
        for g in report.sites:
            console.print(detail(g, report))
    if report.unlisted_active_users:
        console.print(
            f"{report.unlisted_active_users} active people are not in the directory (not counted in any site)."
        )
    if report.ambassadors is not None:
        from .ambassadors_report import effect_sentence

        missing = [
            a.site for a in report.ambassadors.sites if not a.suppressed and a.ambassadors == 0
        ]
        if missing:
            console.print(f"Sites without an ambassador: {', '.join(missing)}.")
        console.print(effect_sentence(report.ambassadors.effect), highlight=False)
    for note in report.notes:
        console.print(Text.assemble(("Note:", "yellow"), f" {note}"))
