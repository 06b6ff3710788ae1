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
    """(site -> persona -> people, whether any event of the window names a target)."""
    if not files:
        return {}, False
    params = {
        "files": files,
        "start": window.start.isoformat(),
        "end": (window.as_of + timedelta(days=1)).isoformat(),
        "catalyst": CATALYST,
        "broadcaster": BROADCASTER,
    }
    rows = con.execute(
        """
        WITH ev AS (
            SELECT k.person_key AS person, e.event_type, t.person_key AS target
            FROM read_parquet($files) e
            JOIN key_map k ON k.key = e.user_key
            LEFT JOIN key_map t ON t.key = e.target_user_key
            WHERE e.ts >= $start::TIMESTAMPTZ AND e.ts < $end::TIMESTAMPTZ
        ),
        made AS (
            SELECT person,
                   count(*) FILTER (WHERE event_type = 'post') AS posts,
                   count(*) FILTER (WHERE event_type = 'comment') AS replies,
                   bool_or(target IS NOT NULL) AS aims
            FROM ev GROUP BY person
        ),
        received AS (
            SELECT target AS person, count(*) AS received FROM ev
            WHERE target IS NOT NULL AND target <> person
              AND event_type IN ('comment', 'reaction')
            GROUP BY target
        ),
        personas AS (
            SELECT s.site, m.aims,
                   CASE
                       WHEN s.segment = 'inactive' THEN NULL
                       WHEN m.posts + m.replies = 0 THEN 'observer'
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
        SELECT site, persona, count(*), bool_or(coalesce(aims, false))
        FROM personas WHERE persona IS NOT NULL GROUP BY ALL
        """,
        params,
    ).fetchall()
    counts: dict[str, dict[str, int]] = {}
    any_target = False
    for site, persona, people, aims in rows:
        counts.setdefault(site, dict.fromkeys(PERSONAS, 0))[persona] = int(people)
        any_target = any_target or bool(aims)
    return counts, any_target


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
