"""Communities as JSON, CSV, a terminal table and an HTML page (`rse-adoption
communities`). JSON keys: docs/report-json.md, "Communities"."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..model import Community, Report
from .columns import figure_column, spark_column
from .csv_report import write_csv
from .i18n import ENGLISH, Language
from .statuses import trend_name
from .terminal import count, sparkline

FIELDS = (
    "active_members",
    "contributors",
    "posts",
    "replies",
    "answered_share",
    "trend",
)

LIFECYCLE = ("days_since_last_post", "status")
#: The conversations' figures, as CSV columns (their JSON keys).
TALK = ("threads", "answered_share", "median_hours_to_first_reply", "unanswered_over_7_days")


def community_to_dict(c: Community) -> dict[str, Any]:
    return {
        "community": c.name,
        "suppressed": c.suppressed,
        **{f: getattr(c, f) for f in FIELDS},
        "weekly_active": list(c.weekly_active) if c.weekly_active is not None else None,
        "conversations": asdict(c.conversations) if c.conversations else None,
        "days_since_last_post": c.days_since_last_post,
        "status": c.status,
        "withheld": c.withheld,
    }


def to_dict(report: Report) -> dict[str, Any]:
    """Overall communities, then each site shown with its communities and its most and
    least lively ones."""
    overall = [c for c in report.communities if c.site is None]
    by_site: list[dict[str, Any]] = []
    for g in report.sites:
        if g.suppressed:
            by_site.append({"site": g.site, "suppressed": True, "communities": None})
            continue
        items = [c for c in report.communities if c.site == g.site]
        lively = next((x for x in report.lively_communities if x.site == g.site), None)
        by_site.append(
            {
                "site": g.site,
                "suppressed": False,
                "most_lively": list(lively.most) if lively else [],
                "least_lively": list(lively.least) if lively else [],
                "communities": [community_to_dict(c) for c in items],
            }
        )
    out = {
        "as_of": report.as_of.isoformat(),
        "window_days": report.window_days,
        "window_start": report.window_start.isoformat(),
        "min_group_size": report.min_group_size,
        "communities": [community_to_dict(c) for c in overall],
        "sites": by_site,
        "quiet_days": report.communities_quiet_days,
        "survival": [
            {"month": x.month, "communities": x.communities, "active_after": list(x.active_after)}
            for x in report.community_survival
        ],
    }
    if report.community_leaders is not None:  # `communities --leaders` (candidates_report)
        from .candidates_report import leaders_to_list

        out["leaders"] = leaders_to_list(report.community_leaders, report.community_leaders_names)
    return out


def render_json(report: Report) -> str:
    return json.dumps(to_dict(report), ensure_ascii=False, indent=2) + "\n"


def csv_table(report: Report) -> tuple[list[str], list[list[object]]]:
    """The CSV's columns and its rows, typed (None where hidden); with `--leaders`, one
    row per founder or animator instead (candidates_report.leaders_csv)."""
    if report.community_leaders is not None:
        from .candidates_report import leaders_csv

        return leaders_csv(report, report.community_leaders_names)
    columns = ["site", "community", "suppressed", *FIELDS, *LIFECYCLE]
    columns += [f"conversations_{f}" for f in TALK]
    rows = [
        [
            c.site or "ALL",
            c.name,
            c.suppressed,
            *(getattr(c, f) for f in FIELDS),
            *(getattr(c, f) for f in LIFECYCLE),
            *(getattr(c.conversations, f) if c.conversations else None for f in TALK),
        ]
        for c in report.communities
    ]
    return columns, rows


def render_csv(report: Report, dialect: str = "excel") -> str:
    return write_csv(*csv_table(report), dialect)


def _pct(value: float | None, tr: Language = ENGLISH) -> str:
    return tr.percent(value, 0)


def table(report: Report, tr: Language = ENGLISH) -> Group:
    """The terminal rendering: communities over every site shown, then each shown site's."""
    extra: list[Table] = []
    if report.community_leaders is not None:
        from .candidates_report import leaders_table

        extra.append(leaders_table(report, report.community_leaders_names, tr))
    return Group(
        site_table(report, None, tr),
        *(site_table(report, g.site, tr) for g in report.sites if not g.suppressed),
        *extra,
    )


def site_table(report: Report, site: str | None, tr: Language = ENGLISH) -> Table:
    """Communities of one site (None: over every site shown)."""
    items = [c for c in report.communities if c.site == site]
    result = Table(
        title=tr._(
            "Communities — %(site)s, %(start)s → %(end)s",
            site=site or tr._("all sites shown"),
            start=tr.short_date(report.window_start),
            end=tr.short_date(report.as_of),
        ),
        caption=tr._(
            "Communities with fewer than %(min)s active people are hidden; — : a figure that "
            "would give a hidden one back.",
            min=report.min_group_size,
        ),
    )
    rows: list[list[Text | str]] = []
    for c in sorted(items, key=lambda c: (c.suppressed, -(c.active_members or 0), c.name)):
        if c.suppressed:
            rows.append([c.name, Text(tr._("hidden"), style="dim")])
            continue
        rows.append(
            [
                c.name,
                count(c.active_members, tr),
                count(c.contributors, tr),
                count(c.posts, tr),
                count(c.replies, tr),
                _pct(c.answered_share, tr),
                sparkline(list(c.weekly_active or ())),
                trend_name(c.trend, tr),
            ]
        )

    def column(i: int) -> list[Text | str]:
        return [row[i] for row in rows if len(row) > i]

    # Names wrap between words, figures and sparklines stay whole (a gap is a quiet week).
    result.add_column(tr._("Community"))
    for i, name in enumerate(
        (tr._("Active"), tr._("Contrib."), tr._("Posts"), tr._("Replies"), tr._("Answered")),
        start=1,
    ):
        result.add_column(name, **figure_column(column(i)))  # type: ignore[arg-type]
    result.add_column(tr._("Weekly active"), **spark_column(column(6)))  # type: ignore[arg-type]
    result.add_column(tr._("Trend"))
    for row in rows:
        result.add_row(*row)
    return result


def render_html(report: Report, tr: Language = ENGLISH) -> str:
    from .templates import environment

    env = environment(tr.code)
    data = to_dict(report)
    page = env.get_template("communities.html.j2").render(
        data=data,
        pct=lambda value: _pct(value, tr),
        num=lambda value: tr.number(value),
        decimal=lambda value, decimals: tr.decimal(value, decimals),
        date=tr.iso_day,
        trend=lambda text: trend_name(text, tr),
    )
    if report.community_leaders is not None:
        from .candidates_report import leaders_html

        panel = leaders_html(report, report.community_leaders_names, tr)
        page = page.replace("</body>", panel + "\n</body>", 1)
    return str(page)
