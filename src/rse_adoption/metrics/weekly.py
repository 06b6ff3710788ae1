"""The weekly series the forecast fits and the ambassador effect compares: each site's
contributors over a trailing window of weeks, week by week, from `contribution_weeks`
(docs/metrics.md, "Forecast")."""

from __future__ import annotations

from .engine import Connection


def weekly_contributors(
    con: Connection, window_weeks: int, last_week: int
) -> dict[str, dict[int, int]]:
    """site -> {week: people of the site who contributed in the `window_weeks` weeks
    ending with that week}, for weeks ≥ window_weeks − 1 (a full trailing window).

    Each person's contribution weeks become disjoint spans of weeks they count in (from a
    contribution to `window_weeks − 1` weeks later, cut at their next contribution), so
    a running sum of span starts and ends counts distinct people without expanding
    every contribution into `window_weeks` rows."""
    if window_weeks == 1:  # one week: a plain count of each week's contributors
        rows = con.execute(
            "SELECT p.site, c.week, count(*) FROM contribution_weeks c "
            "JOIN people p USING (person) WHERE c.week <= $last_week GROUP BY ALL",
            {"last_week": last_week},
        ).fetchall()
        out1: dict[str, dict[int, int]] = {}
        for site, week, contributors in rows:
            out1.setdefault(site, {})[int(week)] = int(contributors)
        return out1
    rows = con.execute(
        """
        WITH spans AS (
            SELECT p.site, c.week AS first,
                   least(c.week + $window_weeks - 1,
                         coalesce(lead(c.week) OVER (PARTITION BY c.person ORDER BY c.week) - 1,
                                  c.week + $window_weeks - 1)) AS last
            FROM contribution_weeks c JOIN people p USING (person)
        ),
        steps AS (
            SELECT site, first AS week, count(*) AS step FROM spans GROUP BY ALL
            UNION ALL
            SELECT site, last + 1 AS week, -count(*) AS step FROM spans GROUP BY ALL
        ),
        counts AS (
            SELECT site, week,
                   sum(sum(step)) OVER (PARTITION BY site ORDER BY week) AS contributors
            FROM steps GROUP BY site, week
        )
        SELECT site, week, contributors FROM counts WHERE week <= $last_week
        """,
        {"window_weeks": window_weeks, "last_week": last_week},
    ).fetchall()
    out: dict[str, dict[int, int]] = {}
    for site, week, contributors in rows:
        out.setdefault(site, {})[int(week)] = int(contributors)
    return _fill(out, window_weeks, last_week)


def _fill(
    counts: dict[str, dict[int, int]], window_weeks: int, last_week: int
) -> dict[str, dict[int, int]]:
    """Carry each running count over the weeks in which it did not change (the running sum
    only has rows at span boundaries)."""
    filled: dict[str, dict[int, int]] = {}
    for site, by_week in counts.items():
        weeks = sorted(by_week)
        out: dict[int, int] = {}
        for i, week in enumerate(weeks):
            end = weeks[i + 1] if i + 1 < len(weeks) else last_week + 1
            if by_week[week] == 0:
                continue
            for w in range(max(week, window_weeks - 1), min(end, last_week + 1)):
                out[w] = by_week[week]
        filled[site] = out
    return filled
