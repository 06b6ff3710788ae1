"""Who gives and who receives: contributor personas by their give-and-receive balance, in
the spirit of the engager / catalyst / responder / broadcaster / observer personas of ESN
analytics (docs/metrics.md, "Personas").

Over the window, for each person of the headcount: `made` = their posts + comments,
`posts` and `replies` (comments), and `received` = comments and reactions of other people
aimed at them (events' target person). First rule that matches:

| persona | rule |
|---|---|
| observer | active, but made nothing (no post, no comment) |
| catalyst | received ≥ CATALYST × made: what they post draws others in |
| responder | replies > posts: they mostly answer others |
| broadcaster | received < BROADCASTER × made: they post, little comes back |
| engager | the rest: they post and get answers in balance |

Inactive people have no persona. A count of 1 to min_group_size − 1 people is hidden, and
so is whatever would give it back (`publish`). Only computed when the window's events carry target
people (otherwise nobody could be seen to receive anything).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..messages import Message
from ..model import PERSONAS, SitePersonas
from ..suppression import Disclosure
from .context import Context
from .engine import Connection
from .segments import Window

CATALYST = 2.0
BROADCASTER = 0.5


def persona_counts(
    con: Connection, files: list[str], window: Window
) -> tuple[dict[str, dict[str, int]], bool]:
    """(site -> persona -> people, whether any event of the window names a target).

    Posts, replies and what people received come from `window_events` (the window's
    posts, comments and reactions, keys resolved: metrics/segments.py); the window's files
    are read only when none of those names a target, to learn whether another event does."""
    if not files:
        return {}, False
    params = {"catalyst": CATALYST, "broadcaster": BROADCASTER}
    rows = con.execute(
        """
        WITH made AS (
            SELECT person,
                   count(*) FILTER (WHERE event_type = 'post') AS posts,
                   count(*) FILTER (WHERE event_type = 'comment') AS replies
            FROM window_events GROUP BY person
        ),
        received AS (
            SELECT target AS person, count(*) AS received FROM window_events
            WHERE target IS NOT NULL AND target <> person
              AND event_type IN ('comment', 'reaction')
              AND person IN (SELECT person_key FROM key_map)  -- from directory people
            GROUP BY target
        ),
        personas AS (
            SELECT s.site,
                   CASE
                       WHEN s.segment = 'inactive' THEN NULL
                       -- an event in the window but no post or comment (reads): observer;
                       -- no event at all (activity periods alone) leaves the counts null
                       -- and the person an engager, the last row (docs/metrics.md)
                       WHEN coalesce(m.posts, 0) + coalesce(m.replies, 0) = 0
                            AND (m.person IS NOT NULL
                                 OR s.person IN (SELECT person FROM person_weeks))
                           THEN 'observer'
                       WHEN coalesce(r.received, 0) >= $catalyst * (m.posts + m.replies)
                           THEN 'catalyst'
                       WHEN m.replies > m.posts THEN 'responder'
                       WHEN coalesce(r.received, 0) < $broadcaster * (m.posts + m.replies)
                           THEN 'broadcaster'
                       ELSE 'engager'
                   END AS persona
            FROM person_segments s
            LEFT JOIN made m USING (person)
            LEFT JOIN received r USING (person)
        )
        SELECT site, persona, count(*) FROM personas WHERE persona IS NOT NULL GROUP BY ALL
        """,
        params,
    ).fetchall()
    any_target = _names_a_target(con, files, window)
    counts: dict[str, dict[str, int]] = {}
    for site, persona, people in rows:
        counts.setdefault(site, dict.fromkeys(PERSONAS, 0))[persona] = int(people)
    return counts, any_target


def _names_a_target(con: Connection, files: list[str], window: Window) -> bool:
    """Whether an event of the window by someone with a persona (not inactive) names a
    directory person as its target (whose content it answers): a post, comment or
    reaction of `window_events`, else any other event of the window's files."""
    if con.execute(
        "SELECT EXISTS (SELECT 1 FROM window_events w JOIN person_segments s "
        "ON s.person = w.person WHERE s.segment <> 'inactive' "
        "AND w.target IN (SELECT person_key FROM key_map))"
    ).fetchall()[0][0]:
        return True
    found = con.execute(
        """
        SELECT EXISTS (
            SELECT 1 FROM read_parquet($files) e
            JOIN key_map k ON k.key = e.user_key
            JOIN person_segments s ON s.person = k.person_key
            WHERE e.ts >= $start::TIMESTAMPTZ AND e.ts < $end::TIMESTAMPTZ
              AND s.segment <> 'inactive' AND e.target_user_key IN (SELECT key FROM key_map)
        )
        """,
        {
            "files": files,
            "start": window.start.isoformat(),
            "end": (window.as_of + timedelta(days=1)).isoformat(),
        },
    ).fetchall()[0][0]
    return bool(found)


def publish(sites: list[tuple[str | None, dict[str, int] | None]], k: int) -> list[SitePersonas]:
    """Each site's people by persona (counts None: a suppressed site), then the totals over
    the sites shown (suppressed when none is), as one output through suppression.Disclosure: a
    count of 1 to k − 1 people is null, and so is whatever would give it back (the totals
    row minus the other sites)."""
    shown = [(site, counts) for site, counts in sites if counts is not None]
    check = Disclosure(k)
    atoms = {(site, p): check.atom(counts.get(p, 0)) for site, counts in shown for p in PERSONAS}
    for site, _ in shown:
        for p in PERSONAS:
            check.count((site, p), [atoms[(site, p)]])
    for p in PERSONAS:
        check.count((None, p), [atoms[(site, p)] for site, _ in shown], keep=1)
    published = check.published()
    out = []
    for site, counts in [*sites, (None, {} if shown else None)]:
        if counts is None:
            out.append(SitePersonas(site, True, None))
            continue
        values = {p: published[(site, p)] for p in PERSONAS}
        out.append(
            SitePersonas(site, False, {p: None if v is None else int(v) for p, v in values.items()})
        )
    return out


def section(ctx: Context) -> dict[str, Any]:
    """The Report fields of `rse-adoption personas`: each site's, then the totals', people
    by persona, or why there are none (`personas_reason`)."""
    counts, any_target = persona_counts(ctx.con, ctx.event_files(), ctx.window)
    if not any_target:
        return {
            "personas": (),
            "personas_reason": Message(
                "personas.no_target",
                "no event of the window names a target person (the export does not say whose "
                "content a reaction or reply answers): nobody can be seen to receive anything",
            ),
        }
    published = publish(
        [(g.site, None if g.suppressed else counts.get(g.site or "", {})) for g in ctx.groups],
        ctx.settings.min_group_size,
    )
    return {"personas": tuple(published), "personas_reason": None}
