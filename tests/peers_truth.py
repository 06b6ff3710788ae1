"""The peers' figures (docs/metrics.md: Conversations, Interactions, Movement,
Concentration) recomputed in plain Python from a small organisation's rows, independently
of the SQL: what tests/test_peers.py compares the report with, and the true counts
tests/test_privacy.py attacks."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Person:
    email: str
    site: str
    hire: date | None = None
    leave: date | None = None

    def employed(self, day: date) -> bool:
        return (self.hire is None or self.hire <= day) and (self.leave is None or self.leave > day)


@dataclass(frozen=True)
class Event:
    ts: datetime
    user: str
    kind: str
    space: str = ""
    content: str = ""
    target: str = ""


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def truth(directory: list[Person], events: list[Event], as_of: date, days: int) -> dict[str, Any]:
    """Every peers' figure, unsuppressed: per site (of the people employed on as_of)
    `threads`, `answered`, `unanswered_old`, `median_hours`, the counts of movement,
    `previous` {headcount, active, contributors} (people employed on the previous window's
    last day), the contribution counts of the concentration, and `matrix`."""
    start, end = as_of - timedelta(days=days - 1), _midnight(as_of + timedelta(days=1))
    window_start = _midnight(start)
    previous_start = _midnight(start - timedelta(days=days))
    previous_as_of = start - timedelta(days=1)
    site = {p.email: p.site for p in directory if p.employed(as_of)}
    before_site = {p.email: p.site for p in directory if p.employed(previous_as_of)}
    seen = [e for e in events if e.ts < end]
    inside = [e for e in seen if e.ts >= window_start]
    sites: dict[str, dict[str, Any]] = {
        s: {
            "threads": 0,
            "answered": 0,
            "unanswered_old": 0,
            "delays": [],
            "made": {},
            "newly_active": 0,
            "new_contributors": 0,
            "lost_contributors": 0,
            "returning_contributors": 0,
        }
        for s in set(site.values())
    }
    old = end - timedelta(days=7)
    for post in (e for e in inside if e.kind == "post" and e.user in site):
        figures = sites[site[post.user]]
        figures["threads"] += 1
        replies = [
            c.ts
            for c in inside
            if c.kind == "comment"
            and post.content
            and c.content == post.content
            and c.user != post.user
            and c.ts >= post.ts
        ]
        if replies:
            figures["answered"] += 1
            figures["delays"].append((min(replies) - post.ts).total_seconds() / 3600)
        elif post.ts < old:
            figures["unanswered_old"] += 1
    for e in inside:
        if e.kind in ("post", "comment") and e.user in site:
            made = sites[site[e.user]]["made"]
            made[e.user] = made.get(e.user, 0) + 1
    matrix = {a: dict.fromkeys(sites, 0) for a in sites}
    for e in inside:
        if e.kind in ("comment", "reaction") and e.user in site and e.target in site:
            if e.user != e.target:
                matrix[site[e.user]][site[e.target]] += 1
    contributions = ("post", "comment")
    for email, s in site.items():
        mine = [e for e in seen if e.user == email]
        if not mine:
            continue
        figures = sites[s]
        made = [e.ts for e in mine if e.kind in contributions]
        figures["newly_active"] += min(e.ts for e in mine) >= window_start
        figures["new_contributors"] += bool(made) and min(made) >= window_start
        now = any(t >= window_start for t in made)
        then = any(previous_start <= t < window_start for t in made)
        earlier = any(t < previous_start for t in made)
        figures["lost_contributors"] += then and not now
        figures["returning_contributors"] += earlier and not then and now
    previous: dict[str, dict[str, int]] = {}
    for email, s in before_site.items():
        p = previous.setdefault(s, {"headcount": 0, "active": 0, "contributors": 0})
        kinds = {e.kind for e in seen if e.user == email and previous_start <= e.ts < window_start}
        p["headcount"] += 1
        p["active"] += bool(kinds)
        p["contributors"] += bool(kinds & set(contributions))
    # a reply names a post of the window, or whether posts were answered is unknown
    posts = {e.content for e in inside if e.kind == "post"}
    recorded = any(e.kind == "comment" and e.content in posts for e in inside)
    for figures in sites.values():
        delays = figures.pop("delays")
        figures["median_hours"] = statistics.median(delays) if delays else None
        if not recorded:
            figures["answered"] = figures["unanswered_old"] = figures["median_hours"] = None
    return {"sites": sites, "previous": previous, "matrix": matrix}


def top_share(counts: list[int], fraction: float) -> float | None:
    if not counts or not sum(counts):
        return None
    top = sorted(counts, reverse=True)[: math.ceil(fraction * len(counts))]
    return sum(top) / sum(counts)


def gini(counts: list[int]) -> float | None:
    """Mean absolute difference over twice the mean (the textbook definition)."""
    if not counts or not sum(counts):
        return None
    n, mean = len(counts), sum(counts) / len(counts)
    return sum(abs(a - b) for a in counts for b in counts) / (2 * n * n * mean)
