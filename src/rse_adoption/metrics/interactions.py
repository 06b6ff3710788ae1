"""Interactions between sites: who answers and reacts to whom, across the organisation
(docs/metrics.md, "Interactions").

Over the window, the replies (comments) and reactions whose actor belongs to one site
shown (the report's people, `people`) and whose target person — the author of what they
answer or react to, as the event names them — to another or the same site shown; someone
answering or reacting to themselves is not an interaction. `matrix[from][to]` counts
events; a count of 1 to min_group_size − 1 is hidden, and so is a share (or another cell)
that would give it back (suppression.Disclosure). A site's `cross_site_share` is its row's
interactions toward other sites over its row's total.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..messages import Message
from ..model import Interactions
from ..privacy import hides
from ..suppression import Disclosure
from .context import Context
from .engine import Connection

NO_TARGET = Message(
    "interactions.no_target",
    "no event of the window names a target person (the export does not say whose content "
    "a reply or reaction answers): interactions between sites cannot be counted",
)


def interaction_counts(con: Connection) -> tuple[dict[tuple[str, str], int], bool]:
    """((from_site, to_site) -> replies and reactions, from `window_events`), and whether
    any reply or reaction of the window names a target."""
    rows = con.execute(
        """
        WITH answers AS (
            SELECT person, target FROM window_events
            WHERE event_type IN ('comment', 'reaction')
        ),
        flows AS (
            SELECT a.site AS from_site, t.site AS to_site, count(*) AS n
            FROM answers w
            JOIN people a ON a.person = w.person
            JOIN people t ON t.person = w.target
            WHERE w.target <> w.person
            GROUP BY ALL
        ),
        aimed AS (SELECT count(*) AS n FROM answers WHERE target IS NOT NULL)
        SELECT f.from_site, f.to_site, f.n, m.n FROM aimed m LEFT JOIN flows f ON true
        """
    ).fetchall()
    counts = {(a, b): int(n) for a, b, n, _ in rows if a is not None}
    return counts, bool(rows and rows[0][3])


def publish(
    counts: dict[tuple[str, str], int], shown: Sequence[str], k: int
) -> tuple[dict[str, dict[str, int | None]], dict[str | None, float | None]]:
    """The matrix between the sites shown, and each site's (then the totals', key None)
    cross-site share, as one output through suppression.Disclosure: a cell of 1 to k − 1 is
    hidden, a share whose base or numerator is that small too, and any cell or share that
    would give a hidden cell back."""
    check = Disclosure(k)
    atoms = {(a, b): check.atom(counts.get((a, b), 0)) for a in shown for b in shown}
    for (a, b), atom in atoms.items():
        check.count((a, b), [atom])
    numerators: dict[str | None, list[int]] = {}
    rows: dict[str | None, list[int]] = {}
    for a in shown:
        numerators[a] = [atoms[(a, b)] for b in shown if b != a]
        rows[a] = [atoms[(a, b)] for b in shown]
    if shown:
        numerators[None] = [x for a in shown for x in numerators[a]]
        rows[None] = [x for a in shown for x in rows[a]]
    for group in numerators:
        check.rate(("share", group), numerators[group], rows[group])
    published = check.published()
    matrix = {a: {b: _whole(published[(a, b)]) for b in shown} for a in shown}
    shares: dict[str | None, float | None] = {}
    for group in numerators:
        value = published[("share", group)]
        crossing = sum(
            n
            for (a, b), n in counts.items()
            if a != b and a in shown and b in shown
            if group is None or a == group
        )
        shares[group] = None if value is None or hides(crossing, k) else float(value)
    return matrix, shares


def _whole(value: int | float | None) -> int | None:
    return None if value is None else int(value)


def interactions(ctx: Context) -> tuple[Interactions, dict[str | None, float | None]]:
    """The report's `interactions` and each shown site's (and the totals') cross-site
    share; with no target in the window's events, an empty matrix and its reason."""
    shown = [g.site or "" for g in ctx.shown]
    counts, any_target = interaction_counts(ctx.con)
    window = ctx.window
    if not any_target:
        empty = Interactions(window.start, window.as_of, None, NO_TARGET)
        return empty, dict.fromkeys([*shown, None])
    k = ctx.settings.min_group_size
    # each shown site's row and share among every site a report may show (`--site Lyon`
    # still counts Lyon's replies to Paris), the totals among the sites shown
    every = ctx.every_site
    full, shares = publish(counts, every, k)
    matrix = {a: full[a] for a in shown}
    result: dict[Any, float | None] = {a: shares[a] for a in shown}
    if shown:
        same = set(every) == set(shown)
        result[None] = shares[None] if same else publish(counts, shown, k)[1][None]
    return Interactions(window.start, window.as_of, matrix), result
