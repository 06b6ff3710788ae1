"""The initiative leaders of communities (`rse-adoption communities --leaders`;
docs/metrics.md, "Community leaders"): for each community over the sites shown with at
least min_group_size active members, its founder (the first person of those sites to post
or comment there, in the store up to as_of) and its animators (the contributors whose
posts of the window drew replies from the most distinct members: at least MIN_REPLIERS,
ANIMATORS at most), with the community's lifecycle status. Personal data: the people to
encourage and recognise, shown by pseudonymous key, by name only with `--names`
(docs/privacy.md, "Candidates and leaders").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from ..model import Community, CommunityLeader, CommunityLeaders
from . import candidates
from .context import Context
from .engine import Connection

#: Animators listed per community, at most.
ANIMATORS = 3
#: Fewest distinct members replying to someone's posts for them to count as an animator.
MIN_REPLIERS = 2


def founders(
    con: Connection, files: list[str], as_of: date, sites: list[str]
) -> dict[str, tuple[int, date]]:
    """community -> (its first contributor among the people of `sites`, that day)."""
    if not files or not sites:
        return {}
    rows = con.execute(
        """
        SELECT e.space, k.person_key, e.ts::DATE FROM read_parquet($files) e
        JOIN key_map k ON k.key = e.user_key JOIN people p ON p.person = k.person_key
        WHERE e.ts < $end::TIMESTAMPTZ AND e.space IS NOT NULL
          AND e.event_type IN ('post', 'comment') AND list_contains($sites, p.site)
        QUALIFY row_number() OVER (PARTITION BY e.space ORDER BY e.ts, k.person_key) = 1
        """,
        {"files": files, "end": (as_of + timedelta(days=1)).isoformat(), "sites": sites},
    ).fetchall()
    return {str(space): (int(person), day) for space, person, day in rows}


def repliers(con: Connection, sites: list[str]) -> dict[str, dict[int, int]]:
    """community -> {author: distinct members of `sites` who replied to their posts in
    the window (`window_events`: a comment in the post's thread, or naming its author)}."""
    if not sites:
        return {}
    rows = con.execute(
        """
        WITH ev AS (
            SELECT w.* FROM window_events w JOIN people p ON p.person = w.person
            WHERE list_contains($sites, p.site) AND w.space IS NOT NULL
        ),
        posts AS (SELECT DISTINCT space, content_id, person AS author FROM ev
                  WHERE event_type = 'post'),
        replies AS (
            SELECT c.space, coalesce(p.author, c.target) AS author, c.person AS replier
            FROM ev c LEFT JOIN posts p
                ON p.space = c.space AND p.content_id = c.content_id
            WHERE c.event_type = 'comment'
        )
        SELECT r.space, r.author, count(DISTINCT r.replier)
        FROM replies r JOIN posts a ON a.space = r.space AND a.author = r.author
        WHERE r.author IS NOT NULL AND r.replier <> r.author
        GROUP BY ALL
        """,
        {"sites": sites},
    ).fetchall()
    out: dict[str, dict[int, int]] = defaultdict(dict)
    for space, author, n in rows:
        out[str(space)][int(author)] = int(n)
    return out


def leaders(
    items: list[Community],
    first: dict[str, tuple[int, date]],
    replies: dict[str, dict[int, int]],
    k: int,
) -> tuple[CommunityLeaders, ...]:
    """The leaders of each community over the sites shown (site None) that is not
    suppressed and has at least k active members, by name of community."""
    out = []
    for c in sorted(items, key=lambda c: c.name):
        # not suppressed: at least k active members (its published count may still be
        # hidden, when it would give a hidden site's figure back)
        if c.site is not None or c.suppressed:
            continue
        drawn = replies.get(c.name, {})
        ranked = sorted(
            ((n, person) for person, n in drawn.items() if n >= MIN_REPLIERS),
            key=lambda x: (-x[0], x[1]),
        )[:ANIMATORS]
        founder = first.get(c.name)
        out.append(
            CommunityLeaders(
                community=c.name,
                active_members=c.active_members,
                status=c.status,
                founder=CommunityLeader(founder[0], drawn.get(founder[0], 0), founder[1])
                if founder
                else None,
                animators=tuple(CommunityLeader(person, n) for n, person in ranked),
            )
        )
    return tuple(out)


def section(ctx: Context, *, names: bool = False) -> dict[str, Any]:
    """The Report fields of `communities --leaders`: the communities section, and each
    community's leaders."""
    from . import communities

    fields = communities.section(ctx)
    directory = candidates.directory_path(ctx, names)
    shown = sorted({g.site or "" for g in ctx.shown})
    history = ctx.history_files()
    found = leaders(
        list(fields["communities"]),
        founders(ctx.con, history, ctx.window.as_of, shown),
        repliers(ctx.con, shown),
        ctx.settings.min_group_size,
    )
    if names:
        if directory is None:
            from ..errors import DataError

            raise DataError("no directory: names come from `rse-adoption directory --keep-names`")
        persons = {x.person for c in found for x in (c.founder, *c.animators) if x is not None}
        ids = candidates.identities(ctx.con, directory, persons)

        def named(x: CommunityLeader | None) -> CommunityLeader | None:
            if x is None:
                return None
            user_id, name = ids.get(x.person, (None, None))
            return replace(x, user_id=user_id, name=name)

        found = tuple(
            replace(c, founder=named(c.founder), animators=tuple(named(a) for a in c.animators))  # type: ignore[misc]
            for c in found
        )
    return {**fields, "community_leaders": found, "community_leaders_names": names}
