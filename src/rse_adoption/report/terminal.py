"""The report as rich tables for a terminal: one line per site with a bar toward the
tipping point, totals, and for each requested site a detail block (segments, weekly
sparkline). Status is a word and a symbol as well as a colour (readable without colour,
and under NO_COLOR)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..model import GroupFigures, Report
from .i18n import ENGLISH, Language
from .phrases import phrase
from .statuses import (
    ALL_SITES,
    STATUS_SYMBOLS,
    count_text,
    group_status_label,
    segment_name,
    share_text,
)
from .wording import change_phrase, forecast_phrase, forecast_sentence

STATUS_STYLE = {
    status: (STATUS_SYMBOLS[status], colour)
    for status, colour in (("tipped", "green"), ("tipping", "yellow"), ("below", "red"))
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


def count(value: int | None, tr: Language = ENGLISH) -> str:
    """A count as a cell: "—" when hidden (docs/privacy.md)."""
    return tr.number(value)


def _pct(value: float | None, tr: Language = ENGLISH) -> str:
    return tr.percent(value, 1)


def _status(g: GroupFigures, tr: Language = ENGLISH, k: int = 5) -> Text:
    symbol, style = STATUS_STYLE.get(g.status or "", ("", ""))
    label = group_status_label(g, tr, k)
    return Text(f"{symbol} {label}" if symbol else label, style=style)


def headcount_source(report: Report, tr: Language) -> str:
    """`directory`, `members` or `activity`, as a person reads it."""
    names = {
        "directory": tr._("directory"),
        "members": tr._("platform member list"),
        "activity": tr._("activity"),
    }
    return names.get(report.headcount_source, report.headcount_source)


#: Columns that always stay in the overview, whatever the width: who, how many contribute,
#: their share, the status and when the site tips.
KEY_COLUMNS = ("site", "contributors", "share", "status", "forecast")
#: Every column, in the order a table shows those it has.
EVERY_COLUMN = (
    "site",
    "headcount",
    "active",
    "contributors",
    "share",
    "progress",
    "status",
    "ambassadors",
    "forecast",
    "change",
)
#: The forecast's column wraps its phrase (`≈ Dec 2026 (Dec 2026 – later)`) down to this.
FORECAST_MIN_WIDTH = 16
#: The others, the most useful first: when the terminal is too narrow for all of them, the
#: last ones move to a second table (site + those columns) under the first.
OPTIONAL_COLUMNS = ("headcount", "progress", "change", "active", "ambassadors")


def _columns(report: Report, tr: Language) -> dict[str, tuple[str, dict[str, object]]]:
    """Each column's header and rich options, by key."""
    low, high = tr.percent(report.tipping_low, 0), tr.percent(report.tipping_high, 0)
    right: dict[str, object] = {"justify": "right", "no_wrap": True}
    return {
        "site": (tr._("Site"), {"no_wrap": True, "min_width": 12}),
        "headcount": (tr._("Headcount"), right),
        "active": (tr._("Active"), right),
        "contributors": (tr._("Contrib."), right),
        "share": (tr._("Share"), right),
        "progress": (tr._("Progress (¦%(low)s |%(high)s)", low=low, high=high), {"no_wrap": True}),
        "status": (tr._("Status"), {"no_wrap": True}),
        "ambassadors": (tr._("Amb."), right),
        "forecast": (tr._("%(high)s expected", high=high), {"min_width": FORECAST_MIN_WIDTH}),
        "change": (tr._("vs previous"), {"no_wrap": True}),
    }


def _cells(g: GroupFigures, label: Text, report: Report, tr: Language) -> dict[str, Text | str]:
    """A site's (or the totals') cells, by column key."""
    if g.suppressed:
        return {
            "site": label,
            "headcount": Text(f"< {report.min_group_size}", style="dim"),
            "status": Text(tr._("hidden"), style="dim"),
        }
    assert g.segments is not None
    k = report.min_group_size
    share = g.contributor_share
    return {
        "site": label,
        "headcount": tr.number(g.headcount),
        "active": count_text(g, "active_users", g.active_users, k, tr),
        "contributors": count_text(g, "segments.contributor", g.segments.contributor, k, tr),
        "share": share_text(g, tr),
        "progress": progress_bar(share, report.tipping_low, report.tipping_high)
        if share is not None
        else Text(""),
        "status": _status(g, tr, k),
        "ambassadors": tr.number(g.ambassadors),
        "forecast": forecast_phrase(g.forecast, tr=tr),
        "change": _change(g.change_points, tr),
    }


def _table(
    report: Report,
    tr: Language,
    keys: Sequence[str],
    rows: list[dict[str, Text | str]],
    **kw: object,
) -> Table:
    table = Table(**kw)  # type: ignore[arg-type]
    columns = _columns(report, tr)
    for key in keys:
        header, options = columns[key]
        table.add_column(header, **options)  # type: ignore[arg-type]
    for i, cells in enumerate(rows):
        if i == len(rows) - 1:
            table.add_section()  # the totals
        table.add_row(*(cells.get(key, "") for key in keys))
    return table


def _plain(cell: Text | str) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def overview(report: Report, tr: Language = ENGLISH, width: int | None = None) -> list[Table]:
    """The sites' table, laid out for `width` columns (None: every column in one table).
    The key columns (KEY_COLUMNS) always stay; optional ones that do not fit move, in
    OPTIONAL_COLUMNS' order kept, to a second table with the sites' names."""
    low, high = tr.percent(report.tipping_low, 0), tr.percent(report.tipping_high, 0)
    title = tr._(
        "Contributors by site — window %(start)s → %(end)s (%(days)s days)",
        start=tr.short_date(report.window_start),
        end=tr.short_date(report.as_of),
        days=report.window_days,
    )
    caption = tr._(
        "Tipping band %(low)s–%(high)s of headcount (¦ and | on the bar). Headcount: "
        "%(source)s. Sites under %(min)s people are hidden; < %(min)s: fewer than %(min)s "
        "people; —: hidden so that such a count cannot be recomputed.",
        low=low,
        high=high,
        source=headcount_source(report, tr),
        min=report.min_group_size,
    )
    ordered = sorted(report.sites, key=lambda g: (g.suppressed, -(g.progress or 0), g.site or ""))
    rows = [_cells(g, Text(g.site or ""), report, tr) for g in ordered]
    rows.append(_cells(report.totals, Text(tr._(ALL_SITES), style="bold"), report, tr))

    def layout(kept: Sequence[str]) -> list[str]:
        return [k for k in EVERY_COLUMN if k in KEY_COLUMNS or k in kept]

    headers = {key: header for key, (header, _) in _columns(report, tr).items()}

    def needed(key: str) -> int:
        """A column's width: its widest cell or header, the forecast's wrapped to its
        minimum (it alone wraps)."""
        if key == "forecast":
            return FORECAST_MIN_WIDTH
        texts = [headers[key], *(_plain(row.get(key, "")) for row in rows)]
        return max(cell_len(text) for text in texts)

    def fits(keys: Sequence[str]) -> bool:
        """A table of `keys` fits `width`: each column, its padding (2) and its border (1),
        and the last border."""
        return width is None or sum(needed(k) + 3 for k in keys) + 1 <= width

    kept = list(OPTIONAL_COLUMNS)
    while kept and not fits(layout(kept)):
        kept.pop()
    tables = [_table(report, tr, layout(kept), rows, title=title, caption=caption)]
    moved = [k for k in OPTIONAL_COLUMNS if k not in kept]
    while moved:  # the rest, in as few tables (each with the sites' names) as fit
        taken = [moved[0]]
        for key in moved[1:]:
            if fits(["site", *taken, key]):
                taken.append(key)
        order = [k for k in EVERY_COLUMN if k in taken]
        tables.append(
            _table(report, tr, ["site", *order], rows, title=tr._("More figures by site"))
        )
        moved = [k for k in moved if k not in taken]
    return tables


def _change(points: float | None, tr: Language) -> Text:
    phrase = change_phrase(points, tr)
    style = "green" if phrase.startswith("▲") else "red" if phrase.startswith("▼") else "dim"
    return Text(phrase, style=style)


def peers_line(g: GroupFigures, tr: Language = ENGLISH, k: int = 5) -> str:
    """The peers' figures of a site's detail block, in one paragraph."""
    talk, spread = g.conversations, g.concentration
    parts = []
    if talk is not None:
        hours = talk.median_hours_to_first_reply
        parts.append(
            tr._(
                "threads %(threads)s, answered %(answered)s, median first reply %(hours)s, "
                "unanswered after 7 days %(unanswered)s",
                threads=count(talk.threads),
                answered=_pct(talk.answered_share, tr),
                hours="—" if hours is None else tr._("%(hours)s h", hours=tr.decimal(hours, 1)),
                unanswered=count(talk.unanswered_over_7_days),
            )
        )
    parts.append(
        tr._(
            "newly active %(active)s, new contributors %(new)s, lost %(lost)s, returning "
            "%(returning)s",
            active=count_text(g, "newly_active", g.newly_active, k, tr),
            new=count_text(g, "new_contributors", g.new_contributors, k, tr),
            lost=count_text(g, "lost_contributors", g.lost_contributors, k, tr),
            returning=count_text(g, "returning_contributors", g.returning_contributors, k, tr),
        )
    )
    if g.cross_site_share is not None:
        parts.append(
            tr._(
                "toward other sites %(share)s of replies and reactions",
                share=_pct(g.cross_site_share, tr),
            )
        )
    if spread is not None:
        parts.append(
            tr._(
                "top 1 %% of contributors %(top1)s of posts and comments, top 10 %% "
                "%(top10)s, Gini %(gini)s",
                top1=_pct(spread.top_1_percent_share, tr),
                top10=_pct(spread.top_10_percent_share, tr),
                gini="—" if spread.gini is None else tr.decimal(spread.gini, 2),
            )
        )
    return tr.clauses(parts) + "."


def detail(g: GroupFigures, report: Report, tr: Language = ENGLISH) -> Panel:
    if g.suppressed:
        return Panel(
            Text(tr._("Fewer than %(min)s people: figures hidden.", min=report.min_group_size)),
            title=Text(g.site or ""),
        )
    assert g.segments is not None
    seg = Table.grid(padding=(0, 2))
    seg.add_column()
    seg.add_column(justify="right")
    seg.add_column(justify="right")
    headcount = g.headcount or 1
    k = report.min_group_size
    for name in ("contributor", "reactor", "reader", "visitor", "inactive"):
        value = getattr(g.segments, name)
        seg.add_row(
            segment_name(name, tr),
            count_text(g, f"segments.{name}", value, k, tr),
            _pct(None if value is None else value / headcount, tr),
        )
    trend = Text()
    if g.series is None:
        trend.append(
            tr._("no weekly detail at the %(grain)s grain", grain=report.activity_grain),
            style="dim",
        )
    else:
        contributors = [p.contributors for p in g.series]
        active = [p.active_users for p in g.series]
        trend.append(
            tr._("weekly contributors %(spark)s", spark=sparkline(contributors)) + "  ",
            style="cyan",
        )
        trend.append(tr._("weekly active %(spark)s", spark=sparkline(active)))
    if g.habitual_contributors is not None or "habitual_contributors" in g.hidden:
        trend.append(
            "\n"
            + tr._(
                "habit: %(habitual)s habitual contributors (9 of the last 12 weeks), "
                "%(occasional)s occasional",
                habitual=count_text(g, "habitual_contributors", g.habitual_contributors, k, tr),
                occasional=count_text(
                    g, "occasional_contributors", g.occasional_contributors, k, tr
                ),
            )
        )
    trend.append(f"\n{peers_line(g, tr, k)}")
    outlook = Text(forecast_sentence(g.forecast, tr), style="dim")
    return Panel(
        Group(seg, trend, outlook),
        title=Text(f"{g.site} — {_status(g, tr, k).plain}, {share_text(g, tr)}"),
    )


def render(
    report: Report, console: Console, *, details: bool = False, tr: Language = ENGLISH
) -> None:
    from .wording import directory_mismatch_warning, window_before_data

    mismatch = directory_mismatch_warning(report, tr)
    if mismatch:
        console.print(Text(mismatch, style="bold red"))
    for table in overview(report, tr, console.width):
        console.print(table)
    shorter = window_before_data(report, tr)
    if shorter:
        console.print(Text.assemble((tr._("Note:"), "yellow"), f" {shorter}"))
    if details:
        for g in report.sites:
            console.print(detail(g, report, tr))
    if report.unlisted_active_users and not mismatch:
        console.print(
            tr._(
                "%(people)s active people are not in the directory (not counted in any site).",
                people=tr.number(report.unlisted_active_users),
            )
        )
    if report.ambassadors is not None:
        from .ambassadors_report import effect_sentence

        missing = [
            a.site for a in report.ambassadors.sites if not a.suppressed and a.ambassadors == 0
        ]
        if missing:
            console.print(tr._("Sites without an ambassador: %(sites)s.", sites=", ".join(missing)))
        console.print(effect_sentence(report.ambassadors.effect, tr), highlight=False)
    if report.interventions:
        from .effects_report import print_terminal

        print_terminal(console, report, tr)
    for note in report.notes:
        console.print(Text.assemble((tr._("Note:"), "yellow"), f" {phrase(note, tr)}"))
