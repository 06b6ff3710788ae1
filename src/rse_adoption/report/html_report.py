"""The report as one self-contained HTML page: styles inline, charts as embedded PNG images,
no script and no network access needed to open or print it (A4).

Every figure on the page comes from the Report (the same object the JSON report
serialises). Text from the data (site names, notes) goes through Jinja2's autoescaping.
The overview table carries each figure in `data-*` attributes too, so that tests and
scrapers read the numbers without parsing prose.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from ..model import GroupFigures, Report
from . import charts, peers_view
from .ambassadors_report import effect_sentence
from .templates import environment
from .wording import change_phrase, forecast_phrase, forecast_sentence

SEGMENT_RULES = {
    "contributor": "posted or commented",
    "reactor": "reacted",
    "reader": "read or viewed content",
    "visitor": "only logged in",
    "inactive": "no activity",
}


def _version() -> str:
    try:
        return version("rse-adoption")
    except PackageNotFoundError:  # running from a source tree
        return "dev"


def pct(value: float | None, decimals: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{decimals}f} %"


def num(value: int | None) -> str:
    """An integer with a thin space between thousands (French and SI usage)."""
    return "—" if value is None else f"{value:,}".replace(",", "\u202f")


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


@dataclass(frozen=True)
class Row:
    """One line of the overview table."""

    name: str
    suppressed: bool
    status: str | None = None
    symbol: str = ""
    share: float | None = None
    bar: float = 0.0  # width of the bar in % of its track
    contributors: int | None = None
    headcount: int | None = None
    ambassadors: int | None = None
    outlook: str = ""
    change: float | None = None  # contributor share's change since the previous window, pts


def _bar_scale(report: Report) -> float:
    """The share at the right end of every bar: half as much again as the high mark, or
    the largest share shown, whichever is larger (so bars are comparable across rows)."""
    shares = [g.contributor_share or 0.0 for g in report.sites if not g.suppressed]
    return max([report.tipping_high * 1.5, *shares])


def _rows(report: Report, scale: float) -> list[Row]:
    rows = []
    for g in charts.by_progress(report.sites):
        if g.suppressed:
            rows.append(Row(name=g.site or "", suppressed=True))
            continue
        assert g.segments is not None and g.status is not None
        rows.append(
            Row(
                name=g.site or "",
                suppressed=False,
                status=g.status,
                symbol=charts.STATUS_STYLES[g.status].symbol,
                share=g.contributor_share,
                bar=round(100 * (g.contributor_share or 0.0) / scale, 2),
                contributors=g.segments.contributor,
                headcount=g.headcount,
                ambassadors=g.ambassadors,
                outlook=forecast_phrase(g.forecast),
                change=g.change_points,
            )
        )
    return rows


def _site_sentence(g: GroupFigures, report: Report) -> str:
    assert g.segments is not None and g.headcount is not None
    status_words = {
        "tipped": "it has reached the tipping point",
        "tipping": "it is in the tipping band",
        "below": "it is below the tipping band",
    }
    return (
        f"Between {long_date(report.window_start)} and {long_date(report.as_of)} "
        f"({report.window_days} days), {num(g.segments.contributor)} of the "
        f"{num(g.headcount)} people of {g.site} employed on {long_date(report.as_of)} posted "
        f"or commented at least once: {pct(g.contributor_share)} of its headcount, so "
        f"{status_words[g.status or 'below']} ({pct(report.tipping_low, 0)}–"
        f"{pct(report.tipping_high, 0)}). {num(g.active_users)} did something on the "
        f"network (active), and the site has {num(g.ambassadors)} "
        f"ambassador{'' if g.ambassadors == 1 else 's'}. "
        f"Of its contributors, {num(g.habitual_contributors)} have a habit (they contributed "
        f"in at least 9 of the last 12 weeks) and {num(g.occasional_contributors)} contribute "
        "occasionally. "
        f"Headcount source: {_headcount_sentence(report)}"
    )


def _headcount_sentence(report: Report) -> str:
    if report.headcount_source == "directory":
        return (
            "the employee directory: people assigned to the site and employed on "
            f"{long_date(report.as_of)} (hired on or before it, not left by then)."
        )
    return (
        "no directory is loaded, so each person seen in the events counts once at the site "
        "their events name most often; people who never used the network are missing, "
        "which overstates every share."
    )


def _site_page(g: GroupFigures, report: Report) -> dict[str, Any]:
    if g.suppressed or g.segments is None:
        return {"name": g.site or "", "suppressed": True}
    headcount = g.headcount or 0
    return {
        "name": g.site or "",
        "suppressed": False,
        "sentence": _site_sentence(g, report),
        "outlook": forecast_sentence(g.forecast),
        "segments": [
            {
                "name": name,
                "rule": SEGMENT_RULES[name],
                "people": getattr(g.segments, name),
                "share": getattr(g.segments, name) / headcount if headcount else None,
            }
            for name in reversed(charts.SEGMENT_ORDER)
        ],
        "trend": _b64(charts.trend_chart(g, report, compact=False))
        if g.series is not None
        else None,
    }


def render(report: Report, *, site_pages: bool = False) -> str:
    """The whole page. `site_pages` adds a page per site of the report (for `--site`)."""
    env = environment()
    scale = _bar_scale(report)
    shown = [g for g in report.sites if not g.suppressed]
    status_names: dict[str, list[str]] = {"tipped": [], "tipping": [], "below": []}
    for g in charts.by_progress(shown):
        status_names[g.status or "below"].append(g.site or "")
    chart_images: dict[str, Any] = {}
    if shown:
        chart_images = {
            "segments": _b64(charts.segments_chart(report)),
            "pyramid": _b64(charts.pyramid_chart(report)),
        }
    if shown and report.totals.series is not None:  # None: no weekly detail at this grain
        chart_images["trend_totals"] = _b64(
            charts.trend_chart(report.totals, report, compact=False)
        )
        chart_images["trends"] = [
            {"name": g.site or "", "png": _b64(charts.trend_chart(g, report))}
            for g in charts.by_progress(shown)
        ]
    notes = list(report.notes)
    if report.unlisted_active_users:
        notes.append(
            f"{num(report.unlisted_active_users)} active people are not in the directory and "
            "are not counted in any site."
        )
    first, last = report.data_first_day, report.data_last_day
    template = env.get_template("report.html.j2")
    single = len(report.sites) == 1 and site_pages
    title = (
        f"ESN adoption — {report.sites[0].site}" if single else "ESN adoption by site"
    ) + f", {long_date(report.as_of)}"
    return template.render(
        report=report,
        title=title,
        version=_version(),
        window_sentence=(
            f"Window: the {report.window_days} days from {long_date(report.window_start)} to "
            f"{long_date(report.as_of)}. {len(report.sites)} site"
            f"{'' if len(report.sites) == 1 else 's'}, "
            f"{len(report.sites) - len(shown)} hidden for privacy."
        ),
        rows=_rows(report, scale),
        totals=report.totals,
        totals_outlook=forecast_phrase(report.totals.forecast),
        ambassadors=report.ambassadors,
        ambassador_effect=effect_sentence(report.ambassadors.effect) if report.ambassadors else "",
        band_left=round(100 * report.tipping_low / scale, 2),
        band_width=round(100 * (report.tipping_high - report.tipping_low) / scale, 2),
        status_counts={k: len(v) for k, v in status_names.items()},
        status_names=status_names,
        no_ambassadors=[g.site for g in charts.by_progress(shown) if g.ambassadors == 0],
        symbols={k: s.symbol for k, s in charts.STATUS_STYLES.items()},
        charts=chart_images,
        site_pages=[_site_page(g, report) for g in report.sites] if site_pages else [],
        notes=notes,
        headcount_sentence=_headcount_sentence(report),
        data_period=(
            f"{long_date(first)} to {long_date(last)} (UTC)" if first and last else "no events"
        ),
        pct=pct,
        num=num,
        date=long_date,
        change=change_phrase,
        peers=peers_view.peer_rows(report),
        heatmap=peers_view.heatmap(report),
    )
