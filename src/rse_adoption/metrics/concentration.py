"""Participation inequality: how much of a site's posting its most active contributors do,
to check the 90-9-1 pattern (docs/metrics.md, "Concentration").

Over the window's contributors of a site (its people with at least one post or comment in
`window_events`), ranked by their posts + comments: the share of all their posts and
comments made by the top 1 % and the top 10 % of them (⌈1 %⌉ and ⌈10 %⌉ of the
contributors, at least one person), and the Gini coefficient of their counts
(0: everyone posts as much, towards 1: one person posts everything). The totals pool the
contributors of every site shown. The query returns how many contributors made each
number of posts and comments (a histogram, small and exact on both engines); the figures
are computed from it here. Privacy: a top share is None when its top group has fewer
than min_group_size people (it would describe one or a few named colleagues), the Gini
when the contributors are fewer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..model import Concentration
from .engine import Connection

TOP_SHARES = (0.01, 0.10)


def contribution_histograms(con: Connection) -> dict[str, dict[int, int]]:
    """site -> {posts + comments made: contributors of the site who made that many}."""
    rows = con.execute(
        """
        WITH made AS (
            SELECT p.site, w.person, count(*) AS n
            FROM window_events w JOIN people p ON p.person = w.person
            WHERE w.event_type IN ('post', 'comment')
            GROUP BY ALL
        )
        SELECT site, n, count(*) FROM made GROUP BY ALL
        """
    ).fetchall()
    out: dict[str, dict[int, int]] = {}
    for site, made, people in rows:
        out.setdefault(site, {})[int(made)] = int(people)
    return out


def top_share(histogram: dict[int, int], fraction: float) -> float | None:
    """Share of the posts and comments made by the ⌈fraction⌉ most active contributors."""
    people = sum(histogram.values())
    total = sum(n * c for n, c in histogram.items())
    if not people or not total:
        return None
    left, made = math.ceil(fraction * people), 0
    for n in sorted(histogram, reverse=True):
        take = min(left, histogram[n])
        made += take * n
        left -= take
        if not left:
            break
    return made / total


def gini(histogram: dict[int, int]) -> float | None:
    """Gini coefficient of the contributors' counts: Σ (2i − n − 1) x_i / (n Σ x) over the
    counts sorted ascending (i from 1)."""
    people = sum(histogram.values())
    total = sum(n * c for n, c in histogram.items())
    if not people or not total:
        return None
    weighted, i = 0, 0
    for n in sorted(histogram):
        c = histogram[n]
        # ranks i+1 .. i+c: Σ (2r − people − 1) = c (2i + c + 1) − c (people + 1)
        weighted += n * (c * (2 * i + c + 1) - c * (people + 1))
        i += c
    return weighted / (people * total)


def figures(histogram: dict[int, int], k: int) -> Concentration:
    """The published concentration of one group's histogram (privacy: module docstring)."""
    people = sum(histogram.values())
    shares = [top_share(histogram, f) if math.ceil(f * people) >= k else None for f in TOP_SHARES]
    return Concentration(
        top_1_percent_share=shares[0],
        top_10_percent_share=shares[1],
        gini=gini(histogram) if people >= k else None,
    )


def site_concentration(
    con: Connection, shown: Sequence[str], k: int
) -> dict[str | None, Concentration]:
    """Each shown site's concentration, and the totals' (key None) over their contributors."""
    histograms = contribution_histograms(con)
    out: dict[str | None, Concentration] = {}
    pooled: dict[int, int] = {}
    for site in shown:
        histogram = histograms.get(site, {})
        out[site] = figures(histogram, k)
        for n, c in histogram.items():
            pooled[n] = pooled.get(n, 0) + c
    if shown:
        out[None] = figures(pooled, k)
    return out
