"""The report's charts, drawn with matplotlib as PNG bytes (for the HTML page and --format png).

Every chart takes the Report (or one site's figures) and nothing else, so a chart can
only show what the JSON report holds. Suppressed sites are never drawn with numbers: the
progress chart names them "fewer than N people" without a bar, the other charts leave them
out. Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies), and status is always given by a marker shape and a word as well.

Figures are built with `matplotlib.figure.Figure` (no pyplot, no global state), so charts
can be drawn from any thread and nothing opens a window.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from matplotlib.axes import Axes
from matplotlib.dates import date2num, num2date
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from ..model import GroupFigures, Report
from .i18n import ENGLISH, N_, Language
from .statuses import ALL_SITES, STATUS_SYMBOLS, status_label

#: Segment colours, from no sign of use to contributing (Okabe-Ito blues, then orange).
SEGMENT_COLOURS = {
    "inactive": "#D9D9D9",
    "visitor": "#B7D7EE",
    "reader": "#56B4E9",
    "reactor": "#0072B2",
    "contributor": "#E69F00",
}
SEGMENT_LABELS = {
    "inactive": N_("inactive"),
    "visitor": N_("visitor (logged in only)"),
    "reader": N_("reader"),
    "reactor": N_("reactor"),
    "contributor": N_("contributor (posted or commented)"),
}
SEGMENT_ORDER = ("inactive", "visitor", "reader", "reactor", "contributor")


@dataclass(frozen=True)
class StatusStyle:
    colour: str
    symbol: str  # the same shape as text, for HTML and labels
    label: str


STATUS_STYLES = {
    "tipped": StatusStyle("#009E73", STATUS_SYMBOLS["tipped"], "tipped"),
    "tipping": StatusStyle("#E69F00", STATUS_SYMBOLS["tipping"], "tipping"),
    "below": StatusStyle("#D55E00", STATUS_SYMBOLS["below"], "below"),
    "unknown": StatusStyle("#999999", "?", "unknown"),
}
BAND_COLOUR = "#009E73"
INK = "#222222"
MUTED = "#666666"
FONT = "DejaVu Sans"  # ships with matplotlib: accents and the status symbols render everywhere
DPI = 144
#: Site names longer than this are shortened on charts (the HTML tables show them whole).
MAX_LABEL = 34


def short_label(name: str, limit: int = MAX_LABEL) -> str:
    """`name` cut to `limit` characters with an ellipsis, its dollar signs escaped:
    matplotlib would read `Sales $EU$` as mathematics (a site's name prints as typed)."""
    cut = name if len(name) <= limit else name[: limit - 1].rstrip() + "…"
    return cut.replace("$", r"\$")


def slug(name: str) -> str:
    """A file-name-safe, accent-free form of a site name (`Saint-Étienne` → `saint-etienne`)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "site"


#: Characters per line of a large chart's title (its legend takes the right third).
TITLE_WRAP = 64


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    fig.set_facecolor("white")
    return fig


def _style(ax: Axes, title: str | None = None, wrap: int | None = None) -> None:
    """The house style; `title` over the axes, on lines of at most `wrap` characters (a
    French title is a third longer than the English one and must not be cut)."""
    if title and wrap:
        title = textwrap.fill(title, wrap, break_on_hyphens=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color(MUTED)
    ax.spines["bottom"].set_color(MUTED)
    ax.tick_params(colors=INK, labelsize=8)
    if title:
        # wrap=True: matplotlib breaks the line where it would leave the figure
        ax.set_title(
            title, loc="left", fontsize=10, color=INK, fontweight="bold", fontname=FONT, wrap=True
        )


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def by_progress(sites: Sequence[GroupFigures]) -> list[GroupFigures]:
    """Sites from the most advanced to the least; suppressed ones last, by name."""
    return sorted(
        sites,
        key=lambda g: (g.suppressed, -(g.contributor_share or 0.0), (g.site or "").casefold()),
    )


def progress_chart(report: Report, tr: Language = ENGLISH) -> bytes:
    return _png(progress_figure(report, tr))


def progress_figure(report: Report, tr: Language = ENGLISH) -> Figure:
    """Contributor share of each site against the tipping band, most advanced on top."""
    sites = by_progress(report.sites)
    low, high = report.tipping_low, report.tipping_high
    fig = _figure(7.5, 1.2 + 0.3 * max(len(sites), 1))
    ax = fig.add_subplot()
    shares = [g.contributor_share or 0.0 for g in sites if not g.suppressed]
    right = max([high * 1.35, *(s * 1.1 for s in shares)])
    ax.axvspan(low, high, color=BAND_COLOUR, alpha=0.12, lw=0)
    for mark in (low, high):
        ax.axvline(mark, color=BAND_COLOUR, lw=1, ls="--")
    for mark in (low, high):
        ax.text(
            mark, -0.9, tr.percent(mark, 0), ha="center", va="bottom", fontsize=8, color=BAND_COLOUR
        )
    for row, g in enumerate(sites):
        if g.suppressed:
            ax.text(
                0.002,
                row,
                tr._("fewer than %(min)s people (hidden)", min=report.min_group_size),
                va="center",
                fontsize=8,
                color=MUTED,
                style="italic",
            )
            continue
        style = STATUS_STYLES[g.status or "below"]
        share = g.contributor_share or 0.0
        ax.barh(row, share, color=style.colour, height=0.62)
        ax.text(
            share + right * 0.015,
            row,
            f"{tr.percent(share, 1)} {style.symbol} {status_label(g.status or 'below', tr)}",
            va="center",
            fontsize=8,
            color=INK,
        )
    ax.set_yticks(range(len(sites)), [short_label(g.site or "") for g in sites])
    ax.set_ylim(len(sites) - 0.5, -1.2)
    ax.set_xlim(0, right * 1.25)
    _percent_axis(ax, tr)
    ax.set_xlabel(tr._("contributors as a share of headcount"), fontsize=8, color=MUTED)
    shown = [g for g in sites if not g.suppressed]
    tipped = sum(g.status == "tipped" for g in shown)
    tipping = sum(g.status == "tipping" for g in shown)
    _style(
        ax,
        tr.ngettext(
            "%(num)s of %(shown)s sites has tipped, ",
            "%(num)s of %(shown)s sites have tipped, ",
            tipped,
            shown=len(shown),
        )
        + tr.ngettext(
            "%(num)s is in the %(low)s–%(high)s band (%(days)s days to %(end)s)",
            "%(num)s are in the %(low)s–%(high)s band (%(days)s days to %(end)s)",
            tipping,
            low=tr.percent(low, 0),
            high=tr.percent(high, 0),
            days=report.window_days,
            end=tr.short_date(report.as_of),
        ),
    )
    return fig


def _percent_axis(ax: Axes, tr: Language) -> None:
    """Ticks of shares (0..1) as whole percentages: `20%`, `20 %` in French."""
    if tr.english:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    else:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: tr.percent(v, 0)))


def segments_chart(report: Report, tr: Language = ENGLISH) -> bytes:
    return _png(segments_figure(report, tr))


def segments_figure(report: Report, tr: Language = ENGLISH) -> Figure:
    """Segment mix of each shown site as 100 % stacked bars, in progress order."""
    sites = [g for g in by_progress(report.sites) if not g.suppressed]
    fig = _figure(7.5, 1.6 + 0.3 * max(len(sites), 1))
    ax = fig.add_subplot()
    left = [0.0] * len(sites)
    for segment in SEGMENT_ORDER:
        widths = [
            (getattr(g.segments, segment) or 0) / g.headcount if g.segments and g.headcount else 0.0
            for g in sites
        ]
        ax.barh(
            range(len(sites)),
            widths,
            left=left,
            color=SEGMENT_COLOURS[segment],
            height=0.7,
            label=tr._(SEGMENT_LABELS[segment]),
            edgecolor="white",
            linewidth=0.5,
        )
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(range(len(sites)), [short_label(g.site or "") for g in sites])
    ax.set_ylim(len(sites) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    _percent_axis(ax, tr)
    ax.set_xlabel(tr._("share of the site's headcount"), fontsize=8, color=MUTED)
    ax.legend(
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncols=3,
        fontsize=7.5,
        frameon=False,
        reverse=False,
    )
    _style(ax)
    fig.suptitle(
        tr._("Who reads, who reacts, who publishes: each site's headcount by segment"),
        x=0.02,
        ha="left",
        fontsize=10,
        fontweight="bold",
        color=INK,
    )
    return fig


def pyramid_chart(report: Report, tr: Language = ENGLISH) -> bytes:
    return _png(pyramid_figure(report, tr))


def pyramid_figure(report: Report, tr: Language = ENGLISH) -> Figure:
    """The participation pyramid of all shown sites: contributors at the top, the inactive
    at the base, each bar centred and as wide as its share of the headcount."""
    totals = report.totals
    fig = _figure(7.5, 3.2)
    ax = fig.add_subplot()
    order = list(reversed(SEGMENT_ORDER))  # contributors on top
    headcount = totals.headcount or 0
    for row, segment in enumerate(order):
        people = getattr(totals.segments, segment) if totals.segments else None
        # a hidden segment: "—" and no bar (not a zero, which it may not be)
        share = people / headcount if headcount and people is not None else 0.0
        ax.barh(row, share, left=-share / 2, color=SEGMENT_COLOURS[segment], height=0.8)
        figure = (
            f"{tr.number(people, chr(0x202F))} ({tr.percent(share, 1)})"
            if people is not None
            else "—"
        )
        ax.text(
            max(share / 2, 0.0) + 0.01,
            row,
            f"{tr._(SEGMENT_LABELS[segment])}: {figure}",
            va="center",
            fontsize=8,
            color=INK,
        )
    ax.set_yticks([])
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set_xlim(-0.55, 1.05)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: tr.percent(abs(v), 0)))
    ax.set_xticks([-0.5, -0.25, 0, 0.25, 0.5])
    ax.spines["left"].set_visible(False)
    ax.set_xlabel(tr._("share of headcount (bar width, centred)"), fontsize=8, color=MUTED)
    _style(
        ax,
        tr._(
            "Participation pyramid: %(share)s of %(people)s people publish",
            share=tr.percent(totals.contributor_share, 0),
            people=tr.number(headcount, chr(0x202F)),
        ),
    )
    return fig


#: Longest label of an action's marker on a trend chart, in characters.
MARKER_LABEL = 14


def action_markers(site: GroupFigures, report: Report, tr: Language) -> list[tuple[date, str]]:
    """(day, short label) of the actions marked on a site's trend chart: its own and those
    at every site (the totals' chart: those at every site), inside the chart's weeks."""
    from .effects_report import label_text

    if not site.series:
        return []
    first, last = site.series[0].week_start, site.series[-1].week_start + timedelta(days=6)
    out = []
    for a in report.interventions:
        if a.site in ("*", site.site) and first <= a.date <= last:
            text = label_text(a, tr)
            if len(text) > MARKER_LABEL:
                text = text[: MARKER_LABEL - 1] + "…"
            out.append((a.date, text))
    return out


def _action_markers(ax: Axes, site: GroupFigures, report: Report, tr: Language) -> None:
    """A dashed vertical line at each action's day, with its short label at the top."""
    for day, text in action_markers(site, report, tr):
        x = date2num(day)
        ax.axvline(x, color=MUTED, ls=":", lw=1.0)
        ax.text(x, 0.98, f" {text}", transform=ax.get_xaxis_transform(), fontsize=6.5,
                color=MUTED, va="top", ha="left", rotation=90, parse_math=False)  # fmt: skip


def trend_chart(
    site: GroupFigures, report: Report, *, compact: bool = True, tr: Language = ENGLISH
) -> bytes:
    return _png(trend_figure(site, report, compact=compact, tr=tr))


def trend_figure(
    site: GroupFigures, report: Report, *, compact: bool = True, tr: Language = ENGLISH
) -> Figure:
    """Weekly active people and contributors of one site (or the totals), and the people
    who contributed since the window began — the line that ends on the window's figure
    and is read against the tipping band, drawn in people (low and high shares of the
    headcount)."""
    if site.suppressed or site.headcount is None or site.series is None:
        raise ValueError("a suppressed group, or one without weekly detail, has no chart")
    weeks = date2num([p.week_start for p in site.series])
    fig = _figure(3.9, 2.6) if compact else _figure(7.5, 3.4)
    ax = fig.add_subplot()
    low = report.tipping_low * site.headcount
    high = report.tipping_high * site.headcount
    ax.axhspan(low, high, color=BAND_COLOUR, alpha=0.14, lw=0, label=tr._("tipping band"))
    lines = (
        ("active_users", tr._("active people, per week"), SEGMENT_COLOURS["reader"], "-", 1.3, "o"),
        (
            "contributors",
            tr._("contributors, per week"),
            SEGMENT_COLOURS["contributor"],
            "--",
            1.3,
            None,
        ),
        (
            "contributors_to_date",
            tr._("contributors since the window began"),
            SEGMENT_COLOURS["contributor"],
            "-",
            2.6,
            "s",
        ),
    )
    for field, label, colour, style, width, marker in lines:
        ax.plot(
            weeks,
            # a hidden week (fewer than k people) is a gap in the line
            [math.nan if getattr(p, field) is None else getattr(p, field) for p in site.series],
            color=colour,
            ls=style,
            lw=width,
            marker=marker,
            ms=2.5,
            label=label,
        )
    top = max(
        [high * 1.15, *(p.active_users * 1.08 for p in site.series if p.active_users is not None)],
        default=high,
    )
    ax.set_ylim(0, max(top, 1))
    _action_markers(ax, site, report, tr)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.set_ylabel(tr._("people"), fontsize=7.5, color=MUTED)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    # Babel's month names, not strftime's: those follow the machine's locale
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: tr.day_month(num2date(v).date())))
    ax.tick_params(axis="x", labelsize=7)
    name = site.site or tr._(ALL_SITES)
    if compact:
        # small multiples: no legend each (the large chart and the caption give the key)
        _style(ax, f"{short_label(name, 30)} — {tr.percent(site.contributor_share, 1)}")
    else:
        last = site.series[-1].contributors_to_date if site.series else 0
        _style(
            ax,
            tr._(
                "%(site)s: %(people)s contributors since %(start)s; tipping band "
                "%(low)s–%(high)s people",
                site=short_label(name, 40),
                people=tr.number(last, chr(0x202F)),
                start=tr.day_month(report.window_start),
                low=tr.number(round(low), chr(0x202F)),
                high=tr.number(round(high), chr(0x202F)),
            ),
            wrap=TITLE_WRAP,
        )
        ax.legend(fontsize=7.5, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def all_charts(report: Report, tr: Language = ENGLISH) -> dict[str, bytes]:
    """Every chart of the report by file name: progress.png, segments.png, pyramid.png, and
    trend-<site>.png for each shown site (trend-all-sites.png for the totals)."""
    charts = {
        "progress.png": progress_chart(report, tr),
        "segments.png": segments_chart(report, tr),
        "pyramid.png": pyramid_chart(report, tr),
    }
    if not report.totals.suppressed:
        charts["trend-all-sites.png"] = trend_chart(report.totals, report, compact=False, tr=tr)
    used: set[str] = set(charts)
    for g in by_progress(report.sites):
        if g.suppressed:
            continue
        name, n = f"trend-{slug(g.site or '')}.png", 2
        while name in used:  # two names with the same slug
            name, n = f"trend-{slug(g.site or '')}-{n}.png", n + 1
        used.add(name)
        charts[name] = trend_chart(g, report, tr=tr)
    return charts
