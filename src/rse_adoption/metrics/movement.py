"""Who arrives, who leaves, who comes back, and how the site stood one window earlier
(docs/metrics.md, "Movement").

For each person of a site's headcount on as_of, the store's events up to the end of the
window (the store's history is all there is: `retention.keep_days`) give — read from the
per-person summary kept at ingest (person_summary.py: each person's first event and first
contribution, and without a directory their events per site), the previous window's events
and the window's (`window_events`), or scanned whole when the summary does not cover the
store's event files:

- `newly_active`: their first event ever falls inside the window;
- `new_contributors`: their first post or comment ever falls inside the window;
- `lost_contributors`: they contributed in the previous window of the same length (ending
  the day before this one starts), not in this one;
- `returning_contributors`: they contributed before the previous window, not in it, and
  again in this one.

The same scan gives `previous`: the contributor share and active users a report for the
previous window would give, over ITS last day's headcount (the directory's people employed
then, or without a directory the people seen in events up to then at their most frequent
site), and `change_points` = (contributor_share − previous contributor_share) × 100. These
need events: a report that uses activity periods (counts per person, no first day, no
previous window in the same terms) leaves them None and says so in its notes. Counts go
through suppression.Disclosure: 1 to min_group_size − 1 is hidden, and whatever gives it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from .. import person_summary, store
from ..messages import Message
from ..model import PreviousFigures
from ..suppression import Disclosure
from .context import Context
from .engine import Connection
from .segments import LEVEL_SQL, Window, previous_levels
from .transitions import previous_window

COUNTS = ("newly_active", "new_contributors", "lost_contributors", "returning_contributors")
NO_EVENTS_NOTE = Message(
    "movement.no_events",
    "Newly active people, new, lost and returning contributors and the previous window's "
    "figures need events (first days, previous windows): the activity periods this report "
    "uses give per-person counts only, so they are null.",
)
EVENTS_ONLY_NOTE = Message(
    "movement.events_only",
    "Newly active people and new, lost and returning contributors come from the events "
    "alone: the per-person activity counts this report also uses (Microsoft 365, Slack "
    "analytics) have no first day. The previous window's figures are null: they would not "
    "count the same sources.",
)


def _previous_people(
    directory: bool, aliases: bool, members: bool = False, counts: str | None = None
) -> str:
    """The people a report for the previous window counts, and their site (SQL); without
    a directory, the people seen in the history's events (`$history`, or the per-person
    summary's `counts` query: person_summary.site_counts) at their most frequent site, and
    the platforms' member lists too when held (`members`, `$members`)."""
    alias = "LEFT JOIN site_aliases a ON a.alias = q.site" if aliases else ""
    site = "coalesce(a.site, q.site)" if aliases else "q.site"
    if directory:
        people = """
            SELECT person_key AS person, site FROM directory
            WHERE (hire_date IS NULL OR hire_date <= $previous_as_of::DATE)
              AND (leave_date IS NULL OR leave_date > $previous_as_of::DATE)"""
    else:
        people = """
            SELECT user_key AS person, site FROM (
                {counts}
                {listed}
            )
            QUALIFY row_number() OVER (PARTITION BY user_key ORDER BY n DESC, site) = 1"""
        listed = (
            "UNION ALL SELECT DISTINCT person_key, '(no site)', 0 FROM read_parquet($members)"
            if members
            else ""
        )
        scan = """SELECT user_key, coalesce(site, '(no site)') AS site, count(*) AS n
                FROM read_parquet($history) WHERE ts < $start::TIMESTAMPTZ GROUP BY ALL"""
        people = people.replace("{listed}", listed).replace("{counts}", counts or scan)
    return f"SELECT q.person, {site} AS site FROM ({people}) q {alias}"  # noqa: S608


CONTRIBUTION = person_summary.CONTRIBUTION_SQL
IN_PREVIOUS = "ts >= $previous_start::TIMESTAMPTZ AND ts < $start::TIMESTAMPTZ"

#: Each person's firsts and their contributions now and in the previous window, from every
#: event up to the window's end (`$files`: the history).
HISTORY_SQL = f"""
    ev AS (
        SELECT coalesce(k.person_key, e.user_key) AS person, e.ts, e.event_type
        FROM read_parquet($files) e LEFT JOIN key_map k ON k.key = e.user_key
        WHERE e.ts < $end::TIMESTAMPTZ
    ),
    hist AS (
        SELECT person,
               min(ts) AS first_any,
               min(ts) FILTER (WHERE {CONTRIBUTION}) AS first_contribution,
               bool_or({CONTRIBUTION} AND ts >= $start::TIMESTAMPTZ) AS now,
               bool_or({CONTRIBUTION} AND {IN_PREVIOUS}) AS previous,
               bool_or({CONTRIBUTION} AND ts < $previous_start::TIMESTAMPTZ) AS earlier,
               max(CASE WHEN {IN_PREVIOUS} THEN {LEVEL_SQL} ELSE 0 END) AS previous_level
        FROM ev GROUP BY person
    )"""  # noqa: S608 -- constants

#: The same table from the per-person summary (`$summary`: person_summary.py, each key's
#: first event and contribution ever), the previous window's levels (segments.previous_levels) and
#: the window's posts and comments (`window_events`, context.py: its events, keys resolved
#: as here): a first at or after the window's end is as if unseen, and a person whose
#: first event is left out, as the history's scan never sees them.
SUMMARY_SQL = f"""
    firsts AS (
        SELECT coalesce(k.person_key, s.user_key) AS person, min(s.first_ts) AS first_any,
               min(s.first_contribution) AS first_contribution
        FROM read_parquet($summary) s LEFT JOIN key_map k ON k.key = s.user_key
        GROUP BY 1
    ),
    before AS (SELECT person, previous, previous_level FROM {{previous_levels}}),
    current AS (
        SELECT DISTINCT person FROM window_events WHERE {CONTRIBUTION}
    ),
    recent AS (
        SELECT coalesce(b.person, c.person) AS person, c.person IS NOT NULL AS now,
               coalesce(b.previous, false) AS previous,
               coalesce(b.previous_level, 0) AS previous_level
        FROM before b FULL JOIN current c ON c.person = b.person
    ),
    hist AS (
        SELECT f.person, f.first_any,
               CASE WHEN f.first_contribution < $end::TIMESTAMPTZ
                    THEN f.first_contribution END AS first_contribution,
               coalesce(r.now, false) AS now,
               coalesce(r.previous, false) AS previous,
               coalesce(f.first_contribution < $previous_start::TIMESTAMPTZ, false) AS earlier,
               coalesce(r.previous_level, 0) AS previous_level
        FROM firsts f LEFT JOIN recent r ON r.person = f.person
        WHERE f.first_any < $end::TIMESTAMPTZ
    )"""  # noqa: S608 -- constants


def movement_counts(
    con: Connection,
    files: list[str],
    window: Window,
    *,
    directory: bool,
    aliases: bool,
    members: list[str] | None = None,
    summary: str | None = None,
    recent: list[str] | None = None,
    site_counts: tuple[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """(site -> COUNTS of the current headcount, site -> {headcount, active, contributors}
    of the previous window's headcount), from the history's event files `files`, or, given
    the per-person `summary` (person_summary.usable), from it, the event files of the
    previous window's months (`recent`) and the window's `window_events`; without a
    directory, the previous headcount's sites from `site_counts` (person_summary.site_counts
    up to the window's start) when given: the same figures without reading the history."""
    if not files:
        return {}, {}
    before = previous_window(window)
    if summary is not None:  # the previous window's events, read once (segments.py)
        table = previous_levels(con, recent or [], window)
        current = SUMMARY_SQL.replace("{previous_levels}", table)
    else:
        current = HISTORY_SQL
    counts = None if directory or site_counts is None else site_counts
    history = {"history": files} if counts is None else counts[1]
    rows = con.execute(
        f"""
        WITH {current},
        current_people AS (
            SELECT p.site,
                   count(*) FILTER (WHERE h.first_any >= $start::TIMESTAMPTZ) AS a,
                   count(*) FILTER (WHERE h.first_contribution >= $start::TIMESTAMPTZ) AS b,
                   count(*) FILTER (WHERE h.previous AND NOT h.now) AS c,
                   count(*) FILTER (WHERE h.earlier AND NOT h.previous AND h.now) AS d
            FROM people p JOIN hist h ON h.person = p.person
            GROUP BY p.site
        ),
        previous_people AS (
            {_previous_people(directory, aliases, bool(members), counts[0] if counts else None)}
        ),
        previous_figures AS (
            SELECT q.site, count(*) AS a,
                   count(*) FILTER (WHERE coalesce(h.previous_level, 0) > 0) AS b,
                   count(*) FILTER (WHERE h.previous_level = 4) AS c,
                   0 AS d
            FROM previous_people q LEFT JOIN hist h ON h.person = q.person
            GROUP BY q.site
        )
        SELECT 'now' AS kind, site, a, b, c, d FROM current_people
        UNION ALL
        SELECT 'previous' AS kind, site, a, b, c, d FROM previous_figures
        """,  # noqa: S608 -- only constants are formatted in
        {
            **({"files": files} if summary is None else {}),
            "start": window.start.isoformat(),
            "end": (window.as_of + timedelta(days=1)).isoformat(),
            "previous_start": before.start.isoformat(),
            **({"summary": [summary]} if summary is not None else {}),
            **({"previous_as_of": before.as_of.isoformat()} if directory else history),
            **({"members": members} if members and not directory else {}),
        },
    ).fetchall()
    now: dict[str, dict[str, int]] = {}
    previous: dict[str, dict[str, int]] = {}
    for kind, site, a, b, c, d in rows:
        if kind == "now":
            now[site] = dict(zip(COUNTS, (int(a), int(b), int(c), int(d)), strict=True))
        else:
            previous[site] = {"headcount": int(a), "active": int(b), "contributors": int(c)}
    return now, previous


def publish_counts(
    counts: dict[str, dict[str, int]], shown: Sequence[str], k: int
) -> dict[str | None, dict[str, int | None]]:
    """Each shown site's COUNTS and their totals (key None) over the sites shown, through
    suppression.Disclosure (1 to k − 1 hidden; when the totals would give one back, another
    site's figure, the smallest, is hidden first)."""
    check = Disclosure(k)
    atoms = {(s, c): check.atom(counts.get(s, {}).get(c, 0)) for s in shown for c in COUNTS}
    for c in COUNTS:
        for s in shown:
            check.count((s, c), [atoms[(s, c)]], keep=0)
        if shown:
            check.count((None, c), [atoms[(s, c)] for s in shown], keep=1)
    published = check.published()
    groups: list[str | None] = [*shown, None] if shown else []
    return {
        g: {c: None if published[(g, c)] is None else int(published[(g, c)] or 0) for c in COUNTS}
        for g in groups
    }


def publish_previous(
    previous: dict[str, dict[str, int]], shown: Sequence[str], k: int
) -> dict[str | None, PreviousFigures | None]:
    """Each shown site's previous figures (None when its previous headcount was below k:
    that report hid it), and their totals over the shown sites that report showed."""
    check = Disclosure(k)
    kept = [s for s in shown if previous.get(s, {}).get("headcount", 0) >= k]
    atoms: dict[tuple[str, str], int] = {}
    for s in kept:
        p = previous[s]
        atoms[(s, "active")] = check.atom(p["active"])
        atoms[(s, "contributors")] = check.atom(p["contributors"])
        atoms[(s, "rest")] = check.atom(p["headcount"] - p["contributors"])
    groups: dict[str | None, list[str]] = {s: [s] for s in kept}
    if kept:
        groups[None] = kept
    for g, members in groups.items():
        keep = 1 if g is None else 0  # a site's figure goes before the totals'
        check.count((g, "active"), [atoms[(s, "active")] for s in members], keep=keep)
        contributors = [atoms[(s, "contributors")] for s in members]
        check.count((g, "contributors"), contributors, keep=keep)
        headcount = contributors + [atoms[(s, "rest")] for s in members]
        check.rate((g, "share"), contributors, headcount)
    published = check.published()
    out: dict[str | None, PreviousFigures | None] = dict.fromkeys([*shown, None])
    for g in groups:
        active = published[(g, "active")]
        share = published[(g, "share")] if published[(g, "contributors")] is not None else None
        out[g] = PreviousFigures(
            contributor_share=None if share is None else float(share),
            active_users=None if active is None else int(active),
        )
    return out


def site_figures(
    ctx: Context, raw: dict[str, dict[str, int]] | None = None
) -> tuple[dict[str | None, dict[str, Any]], list[str]]:
    """The GroupFigures fields of movement for each shown site and the totals (key None),
    and the notes to add. `raw` receives each shown site's previous-window headcount,
    active users and contributors (for the disclosure plan), when they are known."""
    shown = [g.site or "" for g in ctx.shown]
    if ctx.periods_used and ctx.first_day is None:
        return {}, [NO_EVENTS_NOTE]
    # beside events, activity periods (a day's reads) change the segments, not who posted
    # first or last: movement counts the events; the previous window is left out
    periods = bool(ctx.periods_used)
    before = previous_window(ctx.window)
    recent = ctx.event_files(before)  # this window's own events are in window_events
    counts, previous = movement_counts(
        ctx.con,
        ctx.history_files(),
        ctx.window,
        directory=ctx.headcount_source == "directory",
        aliases=bool(ctx.settings.site_aliases),
        members=store.path_list(
            [ctx.settings.data_dir / f["path"] for f in ctx.manifest.member_files]
        )
        if ctx.headcount_source == "members"
        else None,
        summary=person_summary.usable(ctx.settings.data_dir, ctx.manifest) if recent else None,
        recent=recent,
        site_counts=person_summary.site_counts(
            ctx.settings.data_dir, ctx.manifest, ctx.window.start
        )
        if ctx.headcount_source != "directory"
        else None,
    )
    k = ctx.settings.min_group_size
    published = publish_counts(counts, shown, k)
    partial = ctx.first_day is None or ctx.first_day > before.start
    figures = (
        dict.fromkeys([*shown, None])
        if partial or periods
        else publish_previous(previous, shown, k)
    )
    if raw is not None and not (partial or periods):
        raw |= {s: dict(previous[s]) for s in shown if s in previous}
    shares = {g.site: g.contributor_share for g in ctx.shown}
    shares[None] = ctx.totals.contributor_share
    out: dict[str | None, dict[str, Any]] = {}
    for group in [*shown, None] if shown else []:
        fields: dict[str, Any] = dict(published.get(group, {}))
        prev = figures.get(group)
        fields["previous"] = prev
        now = shares.get(group)
        fields["change_points"] = (
            (now - prev.contributor_share) * 100
            if prev is not None and prev.contributor_share is not None and now is not None
            else None
        )
        if partial:
            fields["lost_contributors"] = fields["returning_contributors"] = None
        out[group] = fields
    notes: list[str] = [EVENTS_ONLY_NOTE] if periods and shown else []
    if partial and shown:
        notes.append(
            Message(
                "movement.partial_history",
                "The stored events begin after the previous window's first day (%(day)s): "
                "lost and returning contributors and the previous window's figures are null.",
                day=before.start,
            )
        )
    return out, notes
