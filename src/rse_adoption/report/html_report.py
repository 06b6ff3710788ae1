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

from markupsafe import Markup, escape

from ..model import GroupFigures, Report
from . import charts, peers_view
from .ambassadors_report import effect_sentence
from .i18n import ENGLISH, N_, Language
from .phrases import phrase
from .statuses import count_text, group_status_label, segment_name, share_text, status_label
from .templates import environment
from .wording import (
    change_phrase,
    directory_mismatch_warning,
    forecast_phrase,
    forecast_sentence,
)

SEGMENT_RULES = {
    "contributor": N_("posted or commented"),
    "reactor": N_("reacted"),
    "reader": N_("read or viewed content"),
    "visitor": N_("only logged in"),
    "inactive": N_("no activity"),
}


def _version() -> str:
    try:
        return version("rse-adoption")
    except PackageNotFoundError:  # running from a source tree
        return "dev"


def pct(value: float | None, decimals: int = 1, tr: Language = ENGLISH) -> str:
    return tr.percent(value, decimals, en_space=" ")


def num(value: int | None, tr: Language = ENGLISH) -> str:
    """An integer with a thin space between thousands (French and SI usage)."""
    return tr.number(value, en_group="\u202f")


def long_date(day: date, tr: Language = ENGLISH) -> str:
    return tr.long_date(day)


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


@dataclass(frozen=True)
class Row:
    """One line of the overview table."""

    name: str
    suppressed: bool
    status: str | None = None
    symbol: str = ""
    status_text: str = ""  # its label (statuses.group_status_label)
    share: float | None = None
    bar: float = 0.0  # width of the bar in % of its track
    contributors: int | None = None
    headcount: int | None = None
    ambassadors: int | None = None
    outlook: str = ""
    change: float | None = None  # contributor share's change since the previous window, pts
    #: As read: "< 5" for contributors hidden for being few, "< 5.8 %" for their share.
    contributors_text: str = ""
    share_text: str = ""
    #: What the progress bar says to a screen reader (`_bar_label`).
    bar_label: Markup = Markup("")


def _bar_scale(report: Report) -> float:
    """The share at the right end of every bar: half as much again as the high mark, or
    the largest share shown, whichever is larger (so bars are comparable across rows)."""
    shares = [g.contributor_share or 0.0 for g in report.sites if not g.suppressed]
    return max([report.tipping_high * 1.5, *shares])


def _rows(report: Report, scale: float, tr: Language) -> list[Row]:
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
                status_text=group_status_label(g, tr, report.min_group_size),
                share=g.contributor_share,
                bar=round(100 * (g.contributor_share or 0.0) / scale, 2),
                contributors=g.segments.contributor,
                headcount=g.headcount,
                ambassadors=g.ambassadors,
                outlook=forecast_phrase(g.forecast, tr=tr),
                change=g.change_points,
                contributors_text=count_text(
                    g, "segments.contributor", g.segments.contributor, report.min_group_size, tr
                ),
                share_text=share_text(g, tr, en_space=" "),
                bar_label=_bar_label(g, report, tr),
            )
        )
    return rows


def _bar_label(g: GroupFigures, report: Report, tr: Language) -> Markup:
    """The progress bar's label: the share (or the bound it is below) and the band; that
    the share is hidden when neither is published (the message as the template's own
    messages are written, its values escaped)."""
    band = {"low": pct(report.tipping_low, 0, tr), "high": pct(report.tipping_high, 0, tr)}
    if g.contributor_share is None and g.contributor_share_below is None:
        text = tr._("share hidden (privacy); band %(low)s to %(high)s", **band)
        return Markup(text)  # noqa: S704 -- a catalogue message and percentages
    share = pct(g.contributor_share, 1, tr) if g.contributor_share is not None else None
    shown = escape(share or share_text(g, tr, en_space=" "))
    text = tr._("%(share)s of headcount; band %(low)s to %(high)s", share=shown, **band)
    return Markup(text)  # noqa: S704 -- the share escaped, the rest a catalogue message


def _site_sentence(g: GroupFigures, report: Report, tr: Language) -> str:
    assert g.segments is not None and g.headcount is not None
    status_words = {
        "tipped": N_("it has reached the tipping point"),
        "tipping": N_("it is in the tipping band"),
        "below": N_("it is below the tipping band"),
        "unknown": N_("its status is unknown (fewer than %(min)s contributors)"),
    }
    return (
        tr._(
            "Between %(start)s and %(end)s (%(days)s days), %(contributors)s of the %(headcount)s "
            "people of %(site)s employed on %(end)s posted or commented at least once: %(share)s "
            "of its headcount, so %(status)s (%(low)s–%(high)s). ",
            start=long_date(report.window_start, tr),
            end=long_date(report.as_of, tr),
            days=report.window_days,
            contributors=count_text(
                g, "segments.contributor", g.segments.contributor, report.min_group_size, tr
            ),
            headcount=num(g.headcount, tr),
            site=g.site,
            share=share_text(g, tr, en_space=" "),
            status=tr._(status_words[g.status or "below"], min=report.min_group_size),
            low=pct(report.tipping_low, 0, tr),
            high=pct(report.tipping_high, 0, tr),
        )
        + tr.ngettext(
            "%(active)s did something on the network (active), and the site has %(count)s "
            "ambassador. ",
            "%(active)s did something on the network (active), and the site has %(count)s "
            "ambassadors. ",
            2 if g.ambassadors is None else g.ambassadors,
            active=num(g.active_users, tr),
            count=num(g.ambassadors, tr),
        )
        + tr._(
            "Of its contributors, %(habitual)s have a habit (they contributed in at least 9 of the "
            "last 12 weeks) and %(occasional)s contribute occasionally. Headcount source: "
            "%(source)s",
            habitual=count_text(
                g, "habitual_contributors", g.habitual_contributors, report.min_group_size, tr
            ),
            occasional=count_text(
                g, "occasional_contributors", g.occasional_contributors, report.min_group_size, tr
            ),
            source=_headcount_sentence(report, tr),
        )
    )


def _headcount_sentence(report: Report, tr: Language) -> str:
    if report.headcount_source == "directory":
        return tr._(
            "the employee directory: people assigned to the site and employed on %(day)s "
            "(hired on or before it, not left by then).",
            day=long_date(report.as_of, tr),
        )
    if report.headcount_source == "members":
        return tr._(
            "no directory is loaded, so the headcount is the platform's member list (bots "
            "and deleted accounts left out), members who never used the network included, "
            "plus anyone else seen in the events; each counts at the site their events name "
            "most often, else in (no site)."
        )
    return tr._(
        "no directory is loaded, so each person seen in the events counts once at the site "
        "their events name most often; people who never used the network are missing, "
        "which overstates every share."
    )


def _site_page(g: GroupFigures, report: Report, tr: Language) -> dict[str, Any]:
    if g.suppressed or g.segments is None:
        return {"name": g.site or "", "suppressed": True}
    headcount = g.headcount or 0
    return {
        "name": g.site or "",
        "suppressed": False,
        "sentence": _site_sentence(g, report, tr),
        "outlook": forecast_sentence(g.forecast, tr),
        "segments": [
            {
                "name": name,
                "label": segment_name(name, tr),
                "rule": tr._(SEGMENT_RULES[name]),
                "people": getattr(g.segments, name),
                "people_text": count_text(
                    g, f"segments.{name}", getattr(g.segments, name), report.min_group_size, tr
                ),
                "share": getattr(g.segments, name) / headcount
                if headcount and getattr(g.segments, name) is not None
                else None,
            }
            for name in reversed(charts.SEGMENT_ORDER)
        ],
        "trend": _b64(charts.trend_chart(g, report, compact=False, tr=tr))
        if g.series is not None
        else None,
    }


def _chart_images(
    report: Report, shown: list[GroupFigures], tr: Language, site_pages: bool = False
) -> dict[str, Any]:
    """The page's charts; no trend chart when the report has no weekly detail (a series of
    None: activity periods as long as the window). Each trend is drawn once: the sites'
    small multiples only when no site page carries its own, and the totals' only when they
    are more than one site."""
    if not shown:
        return {}
    images: dict[str, Any] = {
        "segments": _b64(charts.segments_chart(report, tr)),
        "pyramid": _b64(charts.pyramid_chart(report, tr)),
        "trends": [],
    }
    if report.totals.series is not None:
        if len(shown) > 1 or not site_pages:
            images["trend_totals"] = _b64(
                charts.trend_chart(report.totals, report, compact=False, tr=tr)
            )
        if len(shown) > 1 and not site_pages:
            images["trends"] = [
                {"name": g.site or "", "png": _b64(charts.trend_chart(g, report, tr=tr))}
                for g in charts.by_progress(shown)
            ]
    return images


def _effects_section(report: Report, tr: Language) -> Markup:
    """The section "Actions and their effect" (effects_report), markup already escaped."""
    from .effects_report import html_section

    return Markup(html_section(report, tr))  # noqa: S704 -- built from escaped parts


def render(report: Report, *, site_pages: bool = False, tr: Language = ENGLISH) -> str:
    """The whole page, in `tr`'s language. `site_pages` adds a page per site of the report
    (for `--site`)."""
    env = environment(tr.code)
    scale = _bar_scale(report)
    shown = [g for g in report.sites if not g.suppressed]
    status_names: dict[str, list[str]] = {"tipped": [], "tipping": [], "below": [], "unknown": []}
    for g in charts.by_progress(shown):
        status_names[g.status or "below"].append(g.site or "")
    notes = [phrase(note, tr) for note in report.notes]
    mismatch = directory_mismatch_warning(report, tr)
    if report.unlisted_active_users and not mismatch:
        notes.append(
            tr._(
                "%(people)s active people are not in the directory and are not counted in "
                "any site.",
                people=num(report.unlisted_active_users, tr),
            )
        )
    first, last = report.data_first_day, report.data_last_day
    template = env.get_template("report.html.j2")
    single = len(report.sites) == 1 and site_pages
    day = long_date(report.as_of, tr)
    title = (
        tr._("ESN adoption — %(site)s, %(day)s", site=report.sites[0].site, day=day)
        if single
        else tr._("ESN adoption by site, %(day)s", day=day)
    )
    return template.render(
        report=report,
        title=title,
        version=_version(),
        window_sentence=tr._(
            "Window: the %(days)s days from %(start)s to %(end)s. ",
            days=report.window_days,
            start=long_date(report.window_start, tr),
            end=day,
        )
        + tr.ngettext(
            "%(num)s site, %(hidden)s hidden for privacy.",
            "%(num)s sites, %(hidden)s hidden for privacy.",
            len(report.sites),
            hidden=len(report.sites) - len(shown),
        ),
        rows=_rows(report, scale, tr),
        totals=report.totals,
        totals_outlook=forecast_phrase(report.totals.forecast, tr=tr),
        ambassadors=report.ambassadors,
        ambassador_effect=effect_sentence(report.ambassadors.effect, tr)
        if report.ambassadors
        else "",
        effects_section=_effects_section(report, tr),
        band_left=round(100 * report.tipping_low / scale, 2),
        band_width=round(100 * (report.tipping_high - report.tipping_low) / scale, 2),
        status_counts={k: len(v) for k, v in status_names.items()},
        status_names=status_names,
        no_ambassadors=[g.site for g in charts.by_progress(shown) if g.ambassadors == 0],
        symbols={k: s.symbol for k, s in charts.STATUS_STYLES.items()},
        charts=_chart_images(report, shown, tr, site_pages),
        site_pages=[_site_page(g, report, tr) for g in report.sites] if site_pages else [],
        notes=notes,
        mismatch=mismatch,
        headcount_sentence=_headcount_sentence(report, tr),
        generated_at=tr.instant(report.generated_at),
        data_period=tr._(
            "%(first)s to %(last)s (UTC)", first=long_date(first, tr), last=long_date(last, tr)
        )
        if first and last
        else tr._("no events"),
        pct=lambda value, decimals=1: pct(value, decimals, tr),
        num=lambda value: num(value, tr),
        date=lambda day: long_date(day, tr),
        status_label=lambda status: status_label(status, tr, report.min_group_size),
        segment_name=lambda segment: segment_name(segment, tr),
        decimal=lambda value, decimals: tr.decimal(value, decimals),
        lang=tr.code,
        change=lambda points: change_phrase(points, tr),
        peers=peers_view.peer_rows(report, tr),
        heatmap=peers_view.heatmap(report, tr),
    )
