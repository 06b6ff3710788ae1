"""Movement between segments from one window to the next (docs/metrics.md,
"Transitions"): readers last window who contribute now, contributors who stopped.

People are the report's headcount on as_of; each gets its segment in the current window
(`person_segments`) and in the previous window of the same length, ending the day before
the current one starts, from events and matching activity periods by the same rules. The
matrix counts people per (previous segment, current segment); a cell with fewer than
min_group_size people is null, and a rate whose denominator is that small is null too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..model import SiteTransitions
from ..privacy import is_suppressed
from .engine import Connection
from .segments import LEVEL_SQL, PERIOD_LEVEL_SQL, SEGMENTS, Window

_SEGMENT_OF_LEVEL = (
    "CASE coalesce(level, 0) WHEN 4 THEN 'contributor' WHEN 3 THEN 'reactor' "
    "WHEN 2 THEN 'reader' WHEN 1 THEN 'visitor' ELSE 'inactive' END"
)


def previous_window(window: Window) -> Window:
    return Window(as_of=window.start - timedelta(days=1), days=window.days)


def transition_counts(
    con: Connection,
    event_files: list[str],
    period_files: list[str],
    window: Window,
) -> dict[str, dict[tuple[str, str], int]]:
    """site -> {(previous segment, current segment): people}."""
    before = previous_window(window)
    sources = []
    params: dict[str, Any] = {}
    if event_files:
        sources.append(
            f"SELECT k.person_key AS person, {LEVEL_SQL} AS level "  # noqa: S608
            "FROM read_parquet($events) e JOIN key_map k ON k.key = e.user_key "
            "WHERE e.ts >= $start::TIMESTAMPTZ AND e.ts < $end::TIMESTAMPTZ"
        )
        params |= {
            "events": event_files,
            "start": before.start.isoformat(),
            "end": window.start.isoformat(),
        }
    if period_files:
        sources.append(
            f"SELECT k.person_key AS person, {PERIOD_LEVEL_SQL} AS level "  # noqa: S608
            "FROM read_parquet($periods) a JOIN key_map k ON k.key = a.person_key"
        )
        params["periods"] = period_files
    levels = (
        " UNION ALL ".join(sources)
        if sources
        else "SELECT NULL::BIGINT AS person, 0 AS level WHERE false"
    )
    rows = con.execute(
        f"""
        WITH previous AS (SELECT person, max(level) AS level FROM ({levels}) GROUP BY person)
        SELECT s.site, {_SEGMENT_OF_LEVEL} AS before, s.segment, count(*)
        FROM person_segments s LEFT JOIN previous p USING (person)
        GROUP BY ALL
        """,  # noqa: S608 -- only constants are formatted in
        params,
    ).fetchall()
    out: dict[str, dict[tuple[str, str], int]] = {}
    for site, before_segment, after_segment, people in rows:
        out.setdefault(site, {})[(before_segment, after_segment)] = int(people)
    return out


def _rate(counts: dict[tuple[str, str], int], source: str, target: str, k: int) -> float | None:
    base = sum(n for (a, _), n in counts.items() if a == source)
    if is_suppressed(base, k):
        return None
    return counts.get((source, target), 0) / base


def site_transitions(
    site: str | None, counts: dict[tuple[str, str], int], headcount: int | None, k: int
) -> SiteTransitions:
    """The transitions of one site (or of the totals, `site` None)."""
    if is_suppressed(headcount, k):
        return SiteTransitions(site, True, None, {})
    matrix: dict[str, dict[str, int | None]] = {}
    for a in SEGMENTS:
        matrix[a] = {}
        for b in SEGMENTS:
            n = counts.get((a, b), 0)
            matrix[a][b] = None if n and is_suppressed(n, k) else n
    rates = {
        "reader_to_contributor": _rate(counts, "reader", "contributor", k),
        "reactor_to_contributor": _rate(counts, "reactor", "contributor", k),
        "visitor_to_contributor": _rate(counts, "visitor", "contributor", k),
        "contributor_retained": _rate(counts, "contributor", "contributor", k),
        "contributor_to_inactive": _rate(counts, "contributor", "inactive", k),
    }
    return SiteTransitions(site, False, matrix, rates)
