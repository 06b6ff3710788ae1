"""Per-site tipping-point figures and weekly series, from the temp tables of segments.py.

- headcount: people of the site (directory, employed on as_of; or activity fallback);
- active_users = headcount - inactive; contributor_share = contributors / headcount;
- status: below (share < low), tipping (low <= share < high), tipped (share >= high);
  progress = share / high;
- ambassadors: people of the site flagged ambassador, since <= as_of, employed on as_of;
- a site whose headcount is below min_group_size is suppressed: every count None.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from ..model import GroupFigures, Segments, WeekPoint
from ..privacy import is_suppressed
from .engine import Connection
from .segments import SEGMENTS


def tipping_status(share: float, low: float, high: float) -> str:
    if share >= high:
        return "tipped"
    if share >= low:
        return "tipping"
    return "below"


def site_segment_counts(con: Connection) -> dict[str, dict[str, int]]:
    """site -> {segment: people, "ambassadors": people} from `person_segments`."""
    rows = con.execute(
        """
        SELECT site, segment, count(*) AS people, count(*) FILTER (WHERE ambassador) AS amb
        FROM person_segments GROUP BY ALL
        """
    ).fetchall()
    counts: dict[str, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys((*SEGMENTS, "ambassadors"), 0)
    )
    for site, segment, people, amb in rows:
        counts[site][segment] = int(people)
        counts[site]["ambassadors"] += int(amb)
    return dict(counts)


def site_series(con: Connection, monday: date) -> dict[str, list[WeekPoint]]:
    """site -> weekly points of the site's people (`person_weeks` has one row per person
    and week, so plain counts are counts of distinct people). `contributors_to_date`
    counts each contributor from the week of their first contribution (`person_segments`);
    weeks without any activity are filled in by `figures`."""
    rows = con.execute(
        """
        WITH weekly AS (
            SELECT p.site, w.week,
                   count(*) FILTER (WHERE w.level = 4) AS contributors,
                   count(*) AS active
            FROM person_weeks w JOIN people p USING (person)
            WHERE w.listed
            GROUP BY p.site, w.week
        ),
        newcomers AS (  -- a first contribution is activity: every such week is in weekly
            SELECT site, first_contribution AS week, count(*) AS new_contributors
            FROM person_segments WHERE first_contribution IS NOT NULL
            GROUP BY ALL
        )
        SELECT site, week, contributors, active, coalesce(new_contributors, 0)
        FROM weekly LEFT JOIN newcomers USING (site, week)
        ORDER BY week
        """
    ).fetchall()
    series: dict[str, list[WeekPoint]] = defaultdict(list)
    to_date: dict[str, int] = defaultdict(int)
    for site, week, contributors, active, new_contributors in rows:
        week_start = monday + timedelta(weeks=int(week))
        to_date[site] += int(new_contributors)
        series[site].append(WeekPoint(week_start, int(contributors), int(active), to_date[site]))
    return dict(series)


def figures(
    site: str | None,
    counts: dict[str, int],
    series: list[WeekPoint],
    weeks: list[date],
    *,
    low: float,
    high: float,
    min_group_size: int,
) -> GroupFigures:
    """The figures of one group from its segment counts; suppressed below the threshold.

    `weeks` lists every week of the window so that weeks without activity show as zeros.
    """
    headcount = sum(counts[s] for s in SEGMENTS)
    if is_suppressed(headcount, min_group_size):
        return GroupFigures(site, True, None, None, None, None, None, None, None, ())
    share = counts["contributor"] / headcount
    by_week = {p.week_start: p for p in series}
    full_series, to_date = [], 0
    for w in weeks:  # a week without activity adds no one: contributors to date carry over
        point = by_week.get(w) or WeekPoint(w, 0, 0, to_date)
        to_date = point.contributors_to_date or 0  # true counts here: never hidden yet
        full_series.append(point)
    return GroupFigures(
        site=site,
        suppressed=False,
        headcount=headcount,
        active_users=headcount - counts["inactive"],
        segments=Segments(**{s: counts[s] for s in SEGMENTS}),
        contributor_share=share,
        status=tipping_status(share, low, high),
        progress=share / high,
        ambassadors=counts["ambassadors"],
        series=tuple(full_series),
    )


def window_weeks(start: date, as_of: date) -> list[date]:
    """Mondays of every ISO week that overlaps the window."""
    monday = start - timedelta(days=start.weekday())
    weeks = []
    while monday <= as_of:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def sum_series(groups: list[GroupFigures], weeks: list[date]) -> tuple[WeekPoint, ...]:
    """Weekly totals of several sites (a person belongs to one site, so sums are exact)."""
    every = [g.series for g in groups if g.series is not None]
    return tuple(
        WeekPoint(
            w,
            sum(series[i].contributors or 0 for series in every),
            sum(series[i].active_users or 0 for series in every),
            sum(series[i].contributors_to_date or 0 for series in every),
        )
        for i, w in enumerate(weeks)
    )
