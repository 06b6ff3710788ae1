"""How settled is a contributor's habit? Habitual versus occasional contributors, in the
spirit of Viva Insights' usage segments (docs/metrics.md, "Habit").

A tipping point needs lasting change, not one post. Following Viva Insights' 12-week
rule (`identify_habit(threshold=1, width=9, max_window=12)`), a person has a habit in a
week when they did the thing in at least 9 of the 12 weeks ending with it. For the report:
a window contributor is **habitual** when they contributed in at least HABIT_WEEKS of the
HABIT_WINDOW ISO weeks ending with as_of's week, **occasional** otherwise.

`usage_segments` classifies every person-week of a weekly panel the way vivainsights'
`identify_usage_segments(version="12w")` does (power, habitual, novice, low, non-user), in
one DuckDB window query: the benchmark suite checks that it gives the same segments, at
least 20 times faster, on 10,000 people × 52 weeks.
"""

from __future__ import annotations

import duckdb

from .context import Context
from .engine import Connection

#: A habit: active in at least HABIT_WEEKS of the last HABIT_WINDOW weeks.
HABIT_WEEKS = 9
HABIT_WINDOW = 12
#: vivainsights' "Power User": a habit and at least this mean weekly count over 12 weeks.
POWER_MEAN = 15


def site_habitual_contributors(con: Connection, last_week: int) -> dict[str, int]:
    """site -> window contributors (`person_segments`) who contributed in at least
    HABIT_WEEKS of the HABIT_WINDOW weeks ending with week `last_week`
    (`contribution_weeks`, whose week index it shares)."""
    rows = con.execute(
        """
        WITH weeks AS (
            SELECT person, count(*) AS active_weeks FROM contribution_weeks
            WHERE week > $last_week - $window AND week <= $last_week
            GROUP BY person
        )
        SELECT s.site, count(*) FROM person_segments s JOIN weeks w USING (person)
        WHERE s.segment = 'contributor' AND w.active_weeks >= $habit
        GROUP BY s.site
        """,
        {"last_week": last_week, "window": HABIT_WINDOW, "habit": HABIT_WEEKS},
    ).fetchall()
    return {site: int(n) for site, n in rows}


USAGE_SEGMENTS_SQL = """
SELECT person, week, value,
    CASE
        WHEN active_12 >= $habit AND mean_12 >= $power THEN 'Power User'
        WHEN active_12 >= $habit THEN 'Habitual User'
        WHEN mean_12 >= 1 THEN 'Novice User'
        WHEN mean_12 > 0 THEN 'Low User'
        ELSE 'Non-user'
    END AS segment
FROM (
    SELECT person, week, value,
           sum(CASE WHEN value >= 1 THEN 1 ELSE 0 END) OVER last_12 AS active_12,
           avg(value) OVER last_12 AS mean_12
    FROM {relation}
    WINDOW last_12 AS (PARTITION BY person ORDER BY week ROWS BETWEEN 11 PRECEDING AND CURRENT ROW)
)
"""


def usage_segments(con: duckdb.DuckDBPyConnection, relation: str) -> duckdb.DuckDBPyRelation:
    """The 12-week usage segment of every row of `relation` (a table or view with columns
    person, week, value: one row per person and week, weeks consecutive), as
    vivainsights' `identify_usage_segments(version="12w")` defines them: habit = value ≥ 1
    in at least 9 of the last 12 rows; Power User = habit and a 12-week mean ≥ 15;
    Habitual User = habit; Novice User = mean ≥ 1; Low User = mean > 0; else Non-user."""
    if not relation.isidentifier():
        raise ValueError(f"not a table name: {relation!r}")
    return con.sql(
        USAGE_SEGMENTS_SQL.format(relation=relation),
        params={"habit": HABIT_WEEKS, "power": POWER_MEAN},
    )


def site_habits(ctx: Context) -> dict[str | None, int]:
    """Habitual contributors (9 of the last 12 weeks) of each shown site and of the totals
    (key None), from the base table `contribution_weeks`."""
    habitual = site_habitual_contributors(ctx.con, ctx.lookback.last_week)
    counts: dict[str | None, int] = {
        g.site: habitual.get(g.site or "", 0) for g in ctx.groups if not g.suppressed
    }
    counts[None] = sum(counts.values())
    return counts
