"""Conversations: the posts of a group's people in the window, and whether (and how fast)
someone else answered them (docs/metrics.md, "Conversations").

A thread is a post by one of the group's people inside the window. It is answered when a
comment names its content id and comes from anyone other than its author, at or after the
post and up to the end of the window's last day. Per site (and per community at a site,
for `rse-adoption communities`) the query returns the threads answered, those unanswered
and, of those, the ones older than seven days at the end of the window, and the delays
to each answered thread's first reply; `publish` turns them into figures through
suppression.Disclosure (a count of 1 to min_group_size − 1 is hidden, and so is a share or
median whose base or numerator is hidden, and whatever would give one back).
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ..messages import Message
from ..model import Conversations
from ..suppression import Disclosure
from .engine import Connection
from .segments import Window

#: A thread with no answer for longer than this is `unanswered_over_7_days`.
UNANSWERED_AFTER_US = 7 * 24 * 3600 * 1_000_000
HOUR_US = 3600 * 1_000_000


@dataclass
class Tally:
    """The threads of one group: answered, unanswered (old: posted more than seven days
    before the end of the window), and the delays to first reply in microseconds."""

    answered: int = 0
    unanswered_old: int = 0
    unanswered_recent: int = 0
    delays: list[int] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.answered += other.answered
        self.unanswered_old += other.unanswered_old
        self.unanswered_recent += other.unanswered_recent
        self.delays += other.delays

    @property
    def threads(self) -> int:
        return self.answered + self.unanswered_old + self.unanswered_recent


def thread_tallies(con: Connection, window: Window) -> dict[tuple[str, str | None], Tally]:
    """(site, space) -> Tally of the threads of the site's people (`people`) in that space
    (None: posts without a space), from `window_events`."""
    end_us = _end_us(window)
    rows = con.execute(
        """
        WITH threads AS (
            SELECT p.site, w.space, w.content_id, w.person, w.us, count(*) AS n
            FROM window_events w JOIN people p ON p.person = w.person
            WHERE w.event_type = 'post'
            GROUP BY ALL
        ),
        firsts AS (
            SELECT t.site, t.space, t.content_id, t.person, t.us, t.n,
                   min(c.us) AS first_reply
            FROM threads t LEFT JOIN window_events c
                ON c.event_type = 'comment' AND c.content_id = t.content_id
               AND c.person <> t.person AND c.us >= t.us
            GROUP BY ALL
        )
        SELECT site, space,
               coalesce(sum(n) FILTER (WHERE first_reply IS NOT NULL), 0) AS answered,
               coalesce(sum(n) FILTER (WHERE first_reply IS NULL AND us < $old), 0) AS old,
               coalesce(sum(n) FILTER (WHERE first_reply IS NULL AND us >= $old), 0) AS recent,
               list({'delay': first_reply - us, 'n': n}) FILTER (WHERE first_reply IS NOT NULL)
        FROM firsts
        GROUP BY ALL
        """,
        {"old": end_us - UNANSWERED_AFTER_US},
    ).fetchall()
    out: dict[tuple[str, str | None], Tally] = {}
    for site, space, answered, old, recent, delays in rows:
        tally = Tally(int(answered), int(old), int(recent))
        for point in delays or ():
            tally.delays += [int(point["delay"])] * int(point["n"])
        out[(site, space)] = tally
    return out


def replies_recorded(con: Connection) -> bool:
    """Whether any reply of the window's events names a post of the window. Without one
    (Slack before threads existed, whose few file comments answer no message; an event
    file without content ids) whether a post was answered is unknown: its figures are
    null, never 0 % answered."""
    sql = (
        "SELECT count(*) FROM window_events c WHERE c.event_type = 'comment' AND c.content_id "
        "IN (SELECT content_id FROM window_events WHERE event_type = 'post')"
    )
    return bool(con.execute(sql).fetchall()[0][0])


def unknown_answers(talk: Conversations | None) -> Conversations | None:
    """`talk` with what the input cannot carry (answered, unanswered, delays) unknown."""
    return None if talk is None else Conversations(talk.threads, None, None, None)


#: The note of a report whose events name no post a reply answers.
NO_REPLIES_NOTE = Message(
    "conversations.no_replies",
    "No reply of the window names the post it answers (the export has no threads, as "
    "Slack's before 2017, or no content ids): whether posts were answered is unknown, so "
    "the answered share, the median time to a first reply and the unanswered posts are "
    "null, not zero.",
)


def _end_us(window: Window) -> int:
    """The end of the window's last day (exclusive) in microseconds since the epoch."""
    end = window.as_of + timedelta(days=1)
    return (end.toordinal() - 719_163) * 86_400 * 1_000_000  # 719163: 1970-01-01


def by_site(tallies: dict[tuple[str, str | None], Tally]) -> dict[str, Tally]:
    """site -> its threads in every space."""
    out: dict[str, Tally] = {}
    for (site, _), tally in tallies.items():
        out.setdefault(site, Tally()).add(tally)
    return out


@dataclass(frozen=True)
class Group:
    """One published set of conversation figures: its key, the finest units it sums (one
    for a site, the sites for a total), whether its whole group is hidden, and the
    secondary-suppression order of its figures (`keep`; `threads_keep` for its thread
    count: communities publish the same number as their `posts`)."""

    key: Hashable
    units: Sequence[Hashable]
    hidden: bool = False
    keep: int = 0
    threads_people: bool = True
    threads_keep: int | None = None


def publish(
    tallies: dict[Hashable, Tally], groups: Sequence[Group], k: int
) -> dict[Hashable, Conversations | None]:
    """The Conversations of each group (None for a hidden group), as one output: every
    count and share through suppression.Disclosure."""
    check = Disclosure(k)
    atoms = {
        unit: (
            check.atom(t.answered),
            check.atom(t.unanswered_old),
            check.atom(t.unanswered_recent),
        )
        for unit, t in tallies.items()
    }
    for g in groups:
        parts = [atoms[u] for u in g.units if u in atoms]
        answered = [a for a, _, _ in parts]
        old = [o for _, o, _ in parts]
        everything = [x for triple in parts for x in triple]
        # one group per set: withheld whole when its own small counts pin one (the site's
        # and the totals' unanswered, each "fewer than k")
        whole = ("conversation", g.key)
        check.count(
            (g.key, "threads"),
            everything,
            people=g.threads_people,
            hidden=g.hidden,
            keep=g.keep if g.threads_keep is None else g.threads_keep,
            group=whole,
        )
        check.count((g.key, "old"), old, hidden=g.hidden, keep=g.keep, group=whole)
        check.count((g.key, "answered"), answered, hidden=g.hidden, keep=g.keep, group=whole)
        check.rate((g.key, "share"), answered, everything)
    published = check.published()
    out: dict[Hashable, Conversations | None] = {}
    for g in groups:
        if g.hidden:
            out[g.key] = None
            continue
        total = Tally()
        for u in g.units:
            if u in tallies:
                total.add(tallies[u])
        threads = published[(g.key, "threads")]
        known = published[(g.key, "answered")] is not None and threads is not None
        share = published[(g.key, "share")] if known else None
        median = (
            round(statistics.median(total.delays) / HOUR_US, 4) if known and total.delays else None
        )
        unanswered = published[(g.key, "old")]
        out[g.key] = Conversations(
            threads=None if threads is None else int(threads),
            answered_share=None if share is None else float(share),
            median_hours_to_first_reply=median,
            unanswered_over_7_days=None if unanswered is None else int(unanswered),
            withheld=check.is_withheld((g.key, "old")),
        )
    return out


def site_conversations(
    con: Connection,
    window: Window,
    shown: Sequence[str],
    k: int,
    every: Sequence[str] | None = None,
) -> dict[str | None, Conversations | None]:
    """Each shown site's conversations, published among `every` site a report may show
    (so that `--site` changes no site's figures), and their totals (key None) over the
    sites shown."""
    every = sorted({*(every or ()), *shown})
    tallies: dict[Hashable, Tally] = {
        site: t for site, t in by_site(thread_tallies(con, window)).items() if site in every
    }

    def published(sites: Sequence[str]) -> dict[Any, Conversations | None]:
        groups = [Group(site, [site], keep=0) for site in sites]
        if sites:
            groups.append(Group(None, list(sites), keep=1))  # a site's goes first
        return publish({s: t for s, t in tallies.items() if s in sites}, groups, k)

    sites = published(every)
    result: dict[Any, Conversations | None] = {site: sites[site] for site in shown}
    if shown:
        result[None] = sites[None] if set(every) == set(shown) else published(shown)[None]
    return result
