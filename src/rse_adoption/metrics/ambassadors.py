"""Ambassadors and coaches: does every site have its share, are they active, whom do they
reach, and does a site convert faster once it has one? (docs/metrics.md, "Ambassadors")

The effect is not estimated here: each site's first ambassador is an action of
effects.py, measured like any other, and this module reads its contributor-share estimate
and pools the sites' (`effect`).

Everything here reads the base tables of context.py (`people`, `key_map`,
`person_segments`, `contribution_weeks`, the `directory`); only the reach scans events
again, and only when asked (`rse-adoption ambassadors`).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from ..errors import DataError
from ..messages import Message, plural_message
from ..model import AmbassadorEffect, Ambassadors, AmbassadorSite, GroupFigures
from ..privacy import is_suppressed
from ..suppression import Disclosure
from .context import Context
from .did import Prediction, pool
from .effects import ambassador_arrivals
from .engine import Connection
from .segments import Window

#: Fewest sites with an estimable first ambassador for a pooled figure: their spread is
#: its uncertainty.
MIN_POOLED_SITES = 3


def site_ambassadors(con: Connection) -> dict[str, tuple[int, int]]:
    """site -> (ambassadors employed on as_of, of whom contributors in the window)."""
    rows = con.execute(
        """
        SELECT site, count(*) FILTER (WHERE ambassador),
               count(*) FILTER (WHERE ambassador AND segment = 'contributor')
        FROM person_segments GROUP BY site
        """
    ).fetchall()
    return {site: (int(a), int(active)) for site, a, active in rows}


def first_ambassador_start(con: Connection) -> dict[str, date]:
    """site -> the day its first current ambassador started (directory `ambassador_since`),
    for sites whose ambassadors all have a start date."""
    rows = con.execute(
        """
        SELECT p.site, min(d.ambassador_since), bool_and(d.ambassador_since IS NOT NULL)
        FROM people p JOIN directory d ON d.person_key = p.person
        WHERE p.ambassador GROUP BY p.site
        """
    ).fetchall()
    return {site: start for site, start, known in rows if known and start is not None}


def create_reach(
    con: Connection, files: list[str], window: Window, lookback_start: date
) -> dict[str, tuple[int, int, int]]:
    """site -> (colleagues who reacted to or commented on an ambassador in the window,
    new contributors of the window, those of them who interacted with an ambassador
    before their first contribution). A new contributor's first post or comment of the
    lookback (from `lookback_start`) falls in the window; an interaction is a reaction,
    comment or read aimed at an ambassador's content, counted when it came before the
    first contribution or was that contribution (a first post replying to an
    ambassador). The colleagues reached come from `window_events`; only the window's
    contributors' events are read over the lookback (no one else can be new)."""
    if not files:
        return {}
    rows = con.execute(
        """
        WITH ambassadors AS (SELECT person FROM people WHERE ambassador),
        ambassador_keys AS (
            SELECT k.key FROM key_map k JOIN ambassadors a ON a.person = k.person_key
        ),
        contributors AS (
            SELECT DISTINCT w.person FROM window_events w JOIN people p ON p.person = w.person
            WHERE w.event_type IN ('post', 'comment')
        ),
        their_keys AS (
            SELECT k.key, k.person_key FROM key_map k
            JOIN contributors c ON c.person = k.person_key
        ),
        firsts AS (
            SELECT t.person_key AS person,
                   min(e.ts) FILTER (WHERE e.event_type IN ('post', 'comment'))
                       AS first_contribution,
                   min(e.ts) FILTER (WHERE e.target_user_key IN (SELECT key FROM ambassador_keys))
                       AS first_interaction
            FROM read_parquet($files) e JOIN their_keys t ON t.key = e.user_key
            WHERE e.ts >= $lookback::TIMESTAMPTZ AND e.ts < $end::TIMESTAMPTZ
              AND e.event_type IN ('post', 'comment', 'reaction', 'read')
            GROUP BY 1
        ),
        reached AS (
            SELECT DISTINCT w.person FROM window_events w
            JOIN key_map k ON k.person_key = w.person  -- a directory person's act
            WHERE w.event_type IN ('reaction', 'comment')
              AND w.target IN (SELECT person FROM ambassadors)
        )
        SELECT p.site,
               count(*) FILTER (WHERE r.person IS NOT NULL AND NOT p.ambassador),
               count(*) FILTER (WHERE f.first_contribution >= $start::TIMESTAMPTZ),
               count(*) FILTER (WHERE f.first_contribution >= $start::TIMESTAMPTZ
                                  AND f.first_interaction <= f.first_contribution)
        FROM people p
        LEFT JOIN firsts f ON f.person = p.person
        LEFT JOIN reached r ON r.person = p.person
        WHERE f.person IS NOT NULL OR r.person IS NOT NULL
        GROUP BY p.site
        """,
        {
            "files": files,
            "lookback": lookback_start.isoformat(),
            "start": window.start.isoformat(),
            "end": (window.as_of + timedelta(days=1)).isoformat(),
        },
    ).fetchall()
    return {site: (int(r), int(n), int(after)) for site, r, n, after in rows}


def site_figures(
    group: GroupFigures,
    counts: tuple[int, int],
    per_employees: int,
    min_group_size: int,
    reach: tuple[int, int, int] | None,
    effect: AmbassadorEffect | None,
) -> AmbassadorSite:
    """The ambassador figures of one report group, before privacy suppression (`publish`)."""
    if group.suppressed or not group.headcount:
        return AmbassadorSite(group.site or "", True, None, None, None, None, None)
    ambassadors, active = counts
    return AmbassadorSite(
        site=group.site or "",
        suppressed=False,
        headcount=group.headcount,
        ambassadors=ambassadors,
        ambassadors_per_100=round(100 * ambassadors / group.headcount, 2),
        target=math.ceil(group.headcount / per_employees),
        active_ambassadors=active,
        reached_colleagues=reach[0] if reach else None,
        new_contributors=reach[1] if reach else None,
        new_contributors_after_ambassador=reach[2] if reach else None,
        effect=effect,
    )


def publish(
    sites: list[AmbassadorSite], min_group_size: int
) -> tuple[list[AmbassadorSite], int | None]:
    """The sites' ambassador figures as published, and the active ambassadors of the sites
    shown, through suppression.Disclosure (docs/privacy.md). Ambassadors are a public role, so
    their number is shown; which of them contribute is not when a site has fewer than
    min_group_size of them (its `active_ambassadors` is hidden: the primary rule of this
    output), nor is the total of the sites shown when it has fewer, or when it would give
    a hidden site's count back (the total minus the other sites). The reach counts are
    figures of the whole site, shown as they are."""
    shown = [s for s in sites if not s.suppressed]
    check = Disclosure(min_group_size)
    active = {s.site: check.atom(s.active_ambassadors or 0) for s in shown}
    for s in shown:
        check.count(
            (s.site, "active"),
            [active[s.site]],
            people=False,
            hidden=is_suppressed(s.ambassadors, min_group_size),
            keep=1,  # a site's figure is worth more than the total: the total goes first
        )
    total_ambassadors = sum(s.ambassadors or 0 for s in shown)
    check.count(
        (None, "active"),
        # a site without ambassadors has none active: a known zero, not a hidden part
        [active[s.site] for s in shown if s.ambassadors],
        people=False,
        hidden=is_suppressed(total_ambassadors, min_group_size),
    )
    published = check.published()

    def count(key: tuple[str | None, str]) -> int | None:
        value = published.get(key)
        return None if value is None else int(value)

    out = [
        s if s.suppressed else replace(s, active_ambassadors=count((s.site, "active")))
        for s in sites
    ]
    return out, count((None, "active"))


def roster(con: Connection, directory_file: str, sites: set[str]) -> dict[str, list[str]]:
    """site -> its ambassadors' names (directory `--keep-names`), sorted; only for `sites`
    (the shown ones). Names only: never their individual activity. The names are read
    from the directory file only here, when asked for."""
    rows = con.execute(
        """
        SELECT p.site, coalesce(d.display_name, '(no name)') FROM people p
        JOIN read_parquet($file) d ON d.person_key = p.person
        WHERE p.ambassador ORDER BY 1, 2
        """,
        {"file": directory_file},
    ).fetchall()
    out: dict[str, list[str]] = {}
    for site, name in rows:
        if site in sites:
            out.setdefault(site, []).append(name)
    return out


def effect(ctx: Context) -> tuple[AmbassadorEffect, dict[str, AmbassadorEffect]]:
    """The ambassadors' effect on the contributor share, pooled and per site. A site's:
    the contributor-share estimate of its first ambassador's arrival as an action
    (effects.py: against the sites with no action of their own around it, over
    effects.DEFAULT_WEEKS_AFTER weeks), with its 80 % interval and a 95 % one from the same
    variance. The pooled one: the mean of the estimable sites' (did.pool), from
    MIN_POOLED_SITES sites on; else not estimable, with the reason."""
    per_site: dict[str, AmbassadorEffect] = {}
    estimable: list[Prediction] = []
    comparisons: set[str] = set()
    weeks = 0
    for site, (action, parts) in sorted(ambassador_arrivals(ctx).items()):
        if parts is None:
            per_site[site] = _not_estimable(
                action.reason or "", 1, len(action.comparison_sites), action.weeks_after
            )
            continue
        per_site[site] = _effect(parts, 1, len(action.comparison_sites), action.weeks_after)
        estimable.append(parts)
        comparisons.update(action.comparison_sites)
        weeks = action.weeks_after
    n = len(estimable)
    if n < MIN_POOLED_SITES:
        return _not_estimable(_pooled_reason(per_site, n), n, len(comparisons), weeks), per_site
    pooled = pool(estimable)
    if pooled.own + pooled.shared == 0:
        reason = Message(
            "ambassador_effect.no_variation",
            "the sites' contributor shares do not vary: no interval can be given",
        )
        return _not_estimable(reason, n, len(comparisons), weeks), per_site
    return _effect(pooled, n, len(comparisons), weeks), per_site


def _effect(p: Prediction, treated: int, controls: int, weeks: int) -> AmbassadorEffect:
    def points(interval: tuple[float, float]) -> tuple[float, float]:
        return round(100 * interval[0], 2), round(100 * interval[1], 2)

    return AmbassadorEffect(
        estimate_pp=round(100 * p.estimate, 2),
        ci80_pp=points(p.interval(0.8)),
        ci95_pp=points(p.interval(0.95)),
        treated_sites=treated,
        control_sites=controls,
        weeks_before=weeks,
        weeks_after=weeks,
        reason=None,
    )


def _not_estimable(reason: str, treated: int, controls: int, weeks: int) -> AmbassadorEffect:
    return AmbassadorEffect(None, None, None, treated, controls, weeks, weeks, reason)


def _pooled_reason(per_site: dict[str, AmbassadorEffect], n: int) -> str:
    if not per_site:
        return Message(
            "ambassador_effect.no_start_dates", "no site has ambassadors with a start date"
        )
    if n == 0:  # the sites' most common reason
        reasons = [e.reason for e in per_site.values() if e.reason]
        return max(reasons, key=reasons.count)
    return plural_message(
        "ambassador_effect.too_few_estimable_sites",
        "only %(num)s site's first ambassador has an estimable effect; a pooled figure "
        "needs at least %(minimum)s: the spread between sites is its uncertainty",
        "only %(num)s sites' first ambassadors have an estimable effect; a pooled figure "
        "needs at least %(minimum)s: the spread between sites is its uncertainty",
        n,
        minimum=MIN_POOLED_SITES,
    )


def network(ctx: Context, reach: dict[str, tuple[int, int, int]] | None = None) -> Ambassadors:
    """The ambassador figures of the report's sites, with the reach of `reach_counts`
    when given (`rse-adoption ambassadors` asks for it: one more pass over events), and the
    effect (`effect`)."""
    settings = ctx.settings
    counts = site_ambassadors(ctx.con)
    pooled, per_site = effect(ctx)
    figures, active_in_shown = publish(
        [
            site_figures(
                g,
                counts.get(g.site or "", (0, 0)),
                settings.ambassador_per_employees,
                settings.min_group_size,
                reach.get(g.site or "", (0, 0, 0)) if reach is not None else None,
                per_site.get(g.site or ""),
            )
            for g in ctx.groups
        ],
        settings.min_group_size,
    )
    return Ambassadors(
        per_employees=settings.ambassador_per_employees,
        sites=tuple(figures),
        total_ambassadors=sum(s.ambassadors or 0 for s in figures if not s.suppressed),
        active_ambassadors_in_sites_shown=active_in_shown,
        effect=pooled,
        reach_computed=reach is not None,
    )


def reach_counts(ctx: Context) -> dict[str, tuple[int, int, int]]:
    """`create_reach` over the report's lookback (see there)."""
    return create_reach(ctx.con, ctx.lookback.files, ctx.window, ctx.lookback.monday0)


def section(ctx: Context, *, names: bool = False) -> dict[str, Any]:
    """The Report fields of `rse-adoption ambassadors`: the network with its reach, and
    with `names` each shown site's ambassadors by name (a DataError when the directory was
    loaded without them)."""
    figures = network(ctx, reach_counts(ctx))
    return {"ambassadors": with_roster(ctx, figures) if names else figures}


def with_roster(ctx: Context, figures: Ambassadors) -> Ambassadors:
    """`figures` with each shown site's ambassadors by name (a DataError when the
    directory was loaded without them)."""
    directory = ctx.manifest.directory
    if not (directory and directory.get("names_kept")):
        raise DataError(
            "names were not kept: load the directory with `rse-adoption directory FILE "
            "--keep-names` (its name column) to list ambassadors by name"
        )
    shown = {g.site or "" for g in ctx.shown}
    return replace(
        figures,
        roster=roster(ctx.con, str(ctx.settings.data_dir / directory["path"]), shown),
    )
