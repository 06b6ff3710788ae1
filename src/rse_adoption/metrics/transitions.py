"""Movement between segments from one window to the next (docs/metrics.md,
"Transitions"): readers last window who contribute now, contributors who stopped.

People are the report's headcount on as_of; each gets its segment in the current window
(`person_segments`) and in the previous window of the same length, ending the day before
the current one starts, from events and the activity periods that cover it by the same
rules (one period equal to it, or one-day or seven-day periods tiling it: grain.coverage). The
matrix counts people per (previous segment, current segment); a cell of 1 to
min_group_size − 1 people is null, a rate whose denominator is that small is null too, and
`publish` hides whatever else would give a hidden cell back (suppression.Disclosure).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .. import store
from ..model import SiteTransitions
from ..suppression import Disclosure
from . import grain
from .context import Context
from .engine import Connection
from .segments import PERIOD_LEVEL_SQL, SEGMENTS, Window, previous_levels

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
    sources = []
    params: dict[str, Any] = {}
    if event_files:  # the previous window's events, read once per report (segments.py)
        table = previous_levels(con, event_files, window)
        sources.append(
            f"SELECT person, previous_level AS level FROM {table} "  # noqa: S608
            "WHERE person IN (SELECT person_key FROM key_map)"  # keys the directory knows
        )
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


RATES: dict[str, tuple[str, str]] = {
    "reader_to_contributor": ("reader", "contributor"),
    "reactor_to_contributor": ("reactor", "contributor"),
    "visitor_to_contributor": ("visitor", "contributor"),
    "contributor_retained": ("contributor", "contributor"),
    "contributor_to_inactive": ("contributor", "inactive"),
}


def publish(
    sites: list[tuple[str | None, dict[tuple[str, str], int] | None]], k: int
) -> list[SiteTransitions]:
    """The transitions of each site (counts None: a suppressed site), then of the totals
    over the sites shown (suppressed when no site is shown), as one output: every cell and
    rate goes through suppression.Disclosure, so that no hidden cell (1 to k − 1 people) can be recomputed from
    a rate times its row, a row's other cells and the rates, or the totals row minus the
    other sites."""
    shown = [(site, counts) for site, counts in sites if counts is not None]
    check = Disclosure(k)
    atoms = {
        (site, a, b): check.atom(counts.get((a, b), 0))
        for site, counts in shown
        for a in SEGMENTS
        for b in SEGMENTS
    }
    groups: list[str | None] = [site for site, _ in shown]
    if shown:
        groups.append(None)

    def cell(group: str | None, a: str, b: str) -> list[int]:
        return [atoms[(s, a, b)] for s, _ in shown if group is None or s == group]

    for group in groups:
        for a in SEGMENTS:
            for b in SEGMENTS:
                check.count((group, a, b), cell(group, a, b), keep=1 if group is None else 0)
        for name, (a, b) in RATES.items():
            row = [x for target in SEGMENTS for x in cell(group, a, target)]
            check.rate((group, name), cell(group, a, b), row)
    published = check.published()
    out = []
    for site, counts in [*sites, (None, {} if shown else None)]:
        if counts is None:
            out.append(SiteTransitions(site, True, None, {}))
            continue
        matrix: dict[str, dict[str, int | None]] = {
            a: {b: _whole(published[(site, a, b)]) for b in SEGMENTS} for a in SEGMENTS
        }
        rates = {name: _fraction(published[(site, name)]) for name in RATES}
        out.append(SiteTransitions(site, False, matrix, rates))
    return out


def _whole(value: int | float | None) -> int | None:
    return None if value is None else int(value)


def _fraction(value: int | float | None) -> float | None:
    return None if value is None else float(value)


def section(ctx: Context) -> dict[str, Any]:
    """The Report fields of `rse-adoption transitions`: each site's, then the totals',
    movement between segments since the previous window of the same length."""
    before = previous_window(ctx.window)
    cover = grain.coverage(ctx.manifest, before)
    period_files = store.path_list([ctx.settings.data_dir / f["path"] for f in cover.window_files])
    counts = transition_counts(ctx.con, ctx.event_files(before), period_files, ctx.window)
    published = publish(
        [(g.site, None if g.suppressed else counts.get(g.site or "", {})) for g in ctx.groups],
        ctx.settings.min_group_size,
    )
    fields: dict[str, Any] = {
        "transitions": tuple(published),
        "previous_window": (before.start, before.as_of),
    }
    if ctx.periods_used and not cover.window_files and not ctx.event_files(before):
        fields["notes"] = (
            *ctx.notes,
            f"No activity of the previous window ({before.start} to {before.as_of}): no "
            "period covers it (one equal to it, or one for each of its days or ISO weeks), "
            "so everyone counts as inactive in it.",
        )
    return fields
