"""Communities (spaces, groups, channels): which are alive, per site and overall
(docs/metrics.md, "Communities").

Per community over the window, counting the people of the report's headcount (resolved
through `key_map`, placed by `people`): active members (anyone who did anything there),
contributors, posts and replies, the share of posts answered (a post whose content id
some other person's comment names), and the weekly active members with a trend. A
community's figures at a site, or overall, are suppressed when fewer than min_group_size
people were active in it. Their lifecycle: each community's conversations
(conversations.py), days since its last post and status (`quiet` after more than
communities.quiet_days without a post), and the share of communities still active N
months after their first post, by monthly cohort (`survival`).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from ..model import Community, LivelyCommunities, SurvivalCohort
from ..privacy import hides, is_suppressed
from ..suppression import Disclosure
from . import conversations, sites
from .context import Context
from .engine import Connection
from .segments import WEEK_MICROSECONDS, Window, week_monday

#: A weekly trend whose fitted change over the window exceeds this share of its mean is
#: rising or falling; otherwise steady.
TREND_CHANGE = 0.2


def community_rows(
    con: Connection, files: list[str], window: Window, sites: list[str]
) -> list[tuple[Any, ...]]:
    """(site, space, active, contributors, posts, replies, posts_with_id, answered,
    [{week, active}]) for every site of `sites` and community with activity in the window,
    with its weeks of activity; `site` NULL rows are the same over those sites (GROUPING
    SETS), weeks counted from
    week_monday(window)."""
    if not files or not sites:
        return []
    return con.execute(
        """
        WITH ev AS (
            SELECT k.person_key AS person, p.site, e.space, e.event_type, e.content_id,
                   (epoch_us(e.ts) - epoch_us($monday::TIMESTAMPTZ)) // $week_us AS week
            FROM read_parquet($files) e
            JOIN key_map k ON k.key = e.user_key
            JOIN people p ON p.person = k.person_key
            WHERE e.ts >= $start::TIMESTAMPTZ AND e.ts < $end::TIMESTAMPTZ
              AND e.space IS NOT NULL AND list_contains($sites, p.site)
        ),
        answered AS (
            SELECT DISTINCT c.space, c.content_id, c.person FROM ev c
            WHERE c.event_type = 'comment' AND c.content_id IS NOT NULL
        ),
        answered_posts AS (  -- (space, content, author) of posts someone else commented on
            SELECT DISTINCT p.space, p.content_id, p.person FROM ev p JOIN answered a
                ON a.space = p.space AND a.content_id = p.content_id AND a.person <> p.person
            WHERE p.event_type = 'post'
        ),
        posts AS (
            SELECT p.site, p.space, p.week, p.content_id IS NOT NULL AS with_id,
                   q.person IS NOT NULL AS answered
            FROM ev p LEFT JOIN answered_posts q
                ON q.space = p.space AND q.content_id = p.content_id AND q.person = p.person
            WHERE p.event_type = 'post'
        ),
        per_week AS (
            SELECT site, space, week, count(DISTINCT person) AS active
            FROM ev GROUP BY GROUPING SETS ((site, space, week), (space, week))
        ),
        totals AS (
            SELECT site, space,
                   count(DISTINCT person) AS active,
                   count(DISTINCT person) FILTER (WHERE event_type IN ('post', 'comment'))
                       AS contributors,
                   count(*) FILTER (WHERE event_type = 'post') AS posts,
                   count(*) FILTER (WHERE event_type = 'comment') AS replies,
                   count(DISTINCT person) FILTER (WHERE event_type = 'post') AS posters,
                   count(DISTINCT person) FILTER (WHERE event_type = 'comment') AS repliers
            FROM ev GROUP BY GROUPING SETS ((site, space), (space))
        ),
        answers AS (
            SELECT site, space, count(*) FILTER (WHERE with_id) AS posts_with_id,
                   count(*) FILTER (WHERE with_id AND answered) AS answered
            FROM posts GROUP BY GROUPING SETS ((site, space), (space))
        )
        SELECT t.site, t.space, t.active, t.contributors, t.posts, t.replies,
               t.posters, t.repliers, coalesce(a.posts_with_id, 0), coalesce(a.answered, 0),
               list({'week': w.week, 'active': w.active})
        FROM totals t
        LEFT JOIN answers a ON a.space = t.space AND a.site IS NOT DISTINCT FROM t.site
        JOIN per_week w ON w.space = t.space AND w.site IS NOT DISTINCT FROM t.site
        GROUP BY ALL
        ORDER BY t.site NULLS FIRST, t.space
        """,
        {
            "files": files,
            "monday": week_monday(window).isoformat(),
            "week_us": WEEK_MICROSECONDS,
            "start": window.start.isoformat(),
            "end": (window.as_of + timedelta(days=1)).isoformat(),
            "sites": sites,
        },
    ).fetchall()


def trend(weekly: list[int]) -> str:
    """rising, falling or steady: the least-squares line's change over the weeks, against
    the mean weekly active members (TREND_CHANGE)."""
    if len(weekly) < 3 or not any(weekly):
        return "steady"
    y = np.asarray(weekly, dtype=float)
    slope = float(np.polyfit(np.arange(y.size), y, 1)[0])
    change = slope * (y.size - 1) / max(y.mean(), 1e-9)
    if change > TREND_CHANGE:
        return "rising"
    if change < -TREND_CHANGE:
        return "falling"
    return "steady"


def communities(
    con: Connection,
    files: list[str],
    window: Window,
    weeks: int,
    min_group_size: int,
    shown_sites: set[str],
) -> list[Community]:
    """Every community over the shown sites (site None, first) and at each of them."""
    out = []
    authors: dict[tuple[str, str | None], tuple[int, int]] = {}  # its posters, repliers
    for row in community_rows(con, files, window, sorted(shown_sites)):
        site, space, active, contributors, posts, replies = row[:6]
        posters, repliers, with_id, answered, per_week = row[6:]
        authors[(str(space), site)] = (int(posters), int(repliers))
        weekly = [0] * weeks
        for point in per_week:  # {week, active} pairs, in no particular order
            if 0 <= int(point["week"]) < weeks:
                weekly[int(point["week"])] = int(point["active"])
        out.append(
            Community(
                name=str(space),
                site=site,
                suppressed=is_suppressed(int(active), min_group_size),
                active_members=int(active),
                contributors=int(contributors),
                posts=int(posts),
                replies=int(replies),
                # the share gives its counts back with the posts: shown only when the
                # answered and the unanswered posts are each none or at least k
                answered_share=(int(answered) / int(with_id))
                if with_id
                and not hides(int(answered), min_group_size)
                and not hides(int(with_id) - int(answered), min_group_size)
                else None,
                weekly_active=tuple(weekly),
                trend=trend(weekly),
            )
        )
    return publish(out, min_group_size, authors)


#: A community's counts, as published.
_COUNTS = ("active_members", "contributors", "posts", "replies")


#: Which people made a community's count of events: its posters, its repliers.
_AUTHORS = {"posts": 0, "replies": 1}


def publish(
    items: list[Community],
    min_group_size: int,
    authors: dict[tuple[str, str | None], tuple[int, int]] | None = None,
) -> list[Community]:
    """Communities as published, through suppression.Disclosure (docs/privacy.md). A community
    at a site, or overall, with fewer than min_group_size active people is suppressed
    (every figure None, never ranked). In one that is shown, a count of 1 to
    min_group_size − 1 people (contributors, a week's active members) is hidden, and so
    are its posts or replies when 1 to min_group_size − 1 people made them (`authors`:
    (name, site) -> (posters, repliers)). Overall figures are sums over the sites shown,
    so an overall figure that would give a hidden site's figure back by subtraction is
    None (the overall figure goes before a site's)."""
    authors = authors or {}
    check = Disclosure(min_group_size)
    # (community, figure) -> {site: atom}: the overall figure is the sum over the sites
    atoms: dict[tuple[str, str], dict[str, int]] = {}
    for c in items:
        if c.site is None:
            continue
        values = {f: getattr(c, f) or 0 for f in _COUNTS}
        values |= {f"week{i}": n or 0 for i, n in enumerate(c.weekly_active or ())}
        for name, value in values.items():
            atoms.setdefault((c.name, name), {})[c.site] = check.atom(value)
    for c in items:
        fields = [*_COUNTS, *(f"week{i}" for i in range(len(c.weekly_active or ())))]
        for name in fields:
            by_site = atoms.get((c.name, name), {})
            parts = list(by_site.values()) if c.site is None else [by_site[c.site]]
            made_by = (
                authors.get((c.name, c.site), (0, 0))[_AUTHORS[name]] if name in _AUTHORS else 0
            )
            few = not c.suppressed and hides(made_by, min_group_size)
            check.count(
                (c.name, c.site, name),
                parts,
                # a count of people (not the active members: the community's size rule)
                people=name not in ("active_members", *_AUTHORS),
                # events made by 1 to k − 1 people: hidden, known only to be 1 or more
                hidden=c.suppressed or few,
                bounds=(1, None) if few else None,
                keep=0 if c.site is None else 1,
                # withheld whole when its own small counts and the overall's pin one
                group=("community", c.name, c.site),
            )
    published = check.published()
    out = []
    for c in items:
        if c.suppressed:
            out.append(Community(c.name, c.site, True, None, None, None, None, None, None, None))
            continue

        def count(name: str, c: Community = c) -> int | None:
            value = published[(c.name, c.site, name)]
            return None if value is None else int(value)

        weekly = tuple(count(f"week{i}") for i in range(len(c.weekly_active or ())))
        out.append(
            replace(
                c,
                active_members=count("active_members"),
                contributors=count("contributors"),
                posts=count("posts"),
                replies=count("replies"),
                # a share over hidden posts gives its base back (108/163: 163 posts)
                answered_share=c.answered_share if count("posts") is not None else None,
                weekly_active=weekly,
                # a trend built on hidden weekly counts is hidden with them
                trend=c.trend if None not in weekly else None,
                withheld=check.is_withheld((c.name, c.site, "contributors")),
            )
        )
    return out


def liveliest(items: list[Community], n: int = 3) -> tuple[list[str], list[str]]:
    """The n most and n least lively communities of a list (by active members, then
    posts and replies); suppressed ones are not ranked."""
    ranked = sorted(
        (c for c in items if not c.suppressed and c.active_members is not None),
        key=lambda c: (-(c.active_members or 0), -((c.posts or 0) + (c.replies or 0)), c.name),
    )
    most = [c.name for c in ranked[:n]]
    least = [c.name for c in reversed(ranked[-n:])] if len(ranked) > n else []
    return most, least


def last_posts(
    con: Connection, files: list[str], window: Window, sites: list[str]
) -> dict[tuple[str | None, str], date]:
    """(site, community) -> UTC day of the last post by the people of `sites` (site None:
    any of them) up to the end of the window, in `files`."""
    if not files or not sites:
        return {}
    rows = con.execute(
        """
        SELECT p.site, e.space, max(epoch_us(e.ts)) AS last_us
        FROM read_parquet($files) e
        JOIN key_map k ON k.key = e.user_key
        JOIN people p ON p.person = k.person_key
        WHERE e.ts < $end::TIMESTAMPTZ AND e.event_type = 'post' AND e.space IS NOT NULL
          AND list_contains($sites, p.site)
        GROUP BY GROUPING SETS ((p.site, e.space), (e.space))
        """,
        {"files": files, "end": (window.as_of + timedelta(days=1)).isoformat(), "sites": sites},
    ).fetchall()
    return {(site, space): _day_of(int(last)) for site, space, last in rows}


def _day_of(microseconds: int) -> date:
    return (datetime(1970, 1, 1) + timedelta(microseconds=microseconds)).date()


def survival(
    con: Connection, files: list[str], window: Window, sites: list[str], k: int
) -> tuple[SurvivalCohort, ...]:
    """Communities by the month of their first post (by the people of `sites`, in `files`:
    the store up to as_of), and the share of each cohort still active — at least k of those
    people with an event there — in each later calendar month that ended by as_of."""
    if not files or not sites:
        return ()
    rows = con.execute(
        """
        WITH ev AS (
            SELECT e.space, k.person_key AS person, e.event_type,
                   year(e.ts) * 12 + month(e.ts) - 1 AS m
            FROM read_parquet($files) e
            JOIN key_map k ON k.key = e.user_key
            JOIN people p ON p.person = k.person_key
            WHERE e.ts < $end::TIMESTAMPTZ AND e.space IS NOT NULL
              AND list_contains($sites, p.site)
        ),
        firsts AS (SELECT space, min(m) AS first FROM ev WHERE event_type = 'post' GROUP BY space),
        monthly AS (
            SELECT space, m FROM ev GROUP BY space, m HAVING count(DISTINCT person) >= $k
        )
        SELECT f.space, f.first, list(a.m)
        FROM firsts f LEFT JOIN monthly a ON a.space = f.space
        GROUP BY f.space, f.first
        """,
        {
            "files": files,
            "end": (window.as_of + timedelta(days=1)).isoformat(),
            "sites": sites,
            "k": k,
        },
    ).fetchall()
    month = window.as_of.year * 12 + window.as_of.month - 1
    last = month if (window.as_of + timedelta(days=1)).day == 1 else month - 1
    cohorts: dict[int, list[set[int]]] = {}
    for _, first, months in rows:
        cohorts.setdefault(int(first), []).append({int(m) for m in months or () if m is not None})
    return tuple(
        SurvivalCohort(
            month=f"{first // 12:04d}-{first % 12 + 1:02d}",
            communities=len(members),
            active_after=tuple(
                sum(1 for active in members if first + n in active) / len(members)
                for n in range(1, last - first + 1)
            ),
        )
        for first, members in sorted(cohorts.items())
    )


def with_lifecycle(
    items: list[Community],
    tallies: dict[tuple[str, str | None], conversations.Tally],
    last: dict[tuple[str | None, str], date],
    ctx: Context,
) -> list[Community]:
    """The communities with their conversations (suppression.Disclosure over the threads of
    each community at each site; a thread count is the community's published `posts`),
    days since their last post and status."""
    k, quiet = ctx.settings.min_group_size, ctx.settings.communities_quiet_days
    shown = sorted({c.site for c in items if c.site is not None})
    units: dict[Hashable, conversations.Tally] = {
        (space, site): t for (site, space), t in tallies.items() if space is not None
    }
    groups = [
        conversations.Group(
            (c.name, c.site),
            [(c.name, s) for s in shown] if c.site is None else [(c.name, c.site)],
            hidden=c.suppressed or c.posts is None,
            keep=0 if c.site is None else 1,
            threads_people=False,  # the same figure as `posts`, already published
            threads_keep=10**9,
        )
        for c in items
    ]
    talks = conversations.publish(units, groups, k)
    # the overall last post over the sites where the community is shown: a site where it
    # is hidden (or has no row) must not show through the overall date
    visible = {
        (c.name, c.site)
        for c in items
        if c.site is not None and not c.suppressed and _posts_shown(c)
    }
    out = []
    for c in items:
        if c.suppressed:
            out.append(c)
            continue
        talk = talks[(c.name, c.site)]
        if talk is not None and talk.threads is None:  # never a posts figure shown: be safe
            talk = conversations.Conversations(c.posts, None, None, None, talk.withheld)
        if not _posts_shown(c):
            # the last post dates a post made by fewer than k people: hidden with them
            out.append(replace(c, conversations=talk, days_since_last_post=None, status=None))
            continue
        if c.site is None:
            days_of = [last.get((s, c.name)) for s in shown if (c.name, s) in visible]
            day = max((d for d in days_of if d is not None), default=None)
        else:
            day = last.get((c.site, c.name))
        if not c.posts:  # its last post is before the window: by how many, unknown
            day = None
        days = None if day is None else (ctx.window.as_of - day).days
        status = "quiet" if days is None or days > quiet else "active"
        out.append(replace(c, conversations=talk, days_since_last_post=days, status=status))
    return out


def _posts_shown(c: Community) -> bool:
    """Whether a community's posts and contributors are published (so its last post
    describes at least k people's activity, or none)."""
    return c.posts is not None and c.contributors is not None


def section(ctx: Context) -> dict[str, Any]:
    """The Report fields of `rse-adoption communities`: every community over the shown
    sites and at each of them (with conversations and lifecycle), each shown site's most
    and least lively ones, and the communities' survival by monthly cohort."""
    shown = {g.site or "" for g in ctx.shown}
    items = communities(
        ctx.con,
        ctx.event_files(),
        ctx.window,
        len(sites.window_weeks(ctx.window.start, ctx.window.as_of)),
        ctx.settings.min_group_size,
        shown,
    )
    tallies = conversations.thread_tallies(ctx.con, ctx.window)
    last = last_posts(ctx.con, ctx.lookback.files, ctx.window, sorted(shown))
    items = with_lifecycle(items, tallies, last, ctx)
    if not conversations.replies_recorded(ctx.con):  # answers unknown, not zero
        items = [
            replace(
                c,
                answered_share=None,
                conversations=conversations.unknown_answers(c.conversations),
            )
            for c in items
        ]
    lively = []
    for g in ctx.shown:
        most, least = liveliest([c for c in items if c.site == g.site])
        lively.append(LivelyCommunities(g.site, tuple(most), tuple(least)))
    history = ctx.history_files()
    return {
        "communities": tuple(items),
        "lively_communities": tuple(lively),
        "community_survival": survival(
            ctx.con, history, ctx.window, sorted(shown), ctx.settings.min_group_size
        ),
        "communities_quiet_days": ctx.settings.communities_quiet_days,
    }
