"""Ambassadors and coaches: does every site have its share, are they active, whom do they
reach, and does a site convert faster once it has one? (docs/metrics.md, "Ambassadors")

Everything here reads the base tables of context.py (`people`, `key_map`,
`person_segments`, `contribution_weeks`, the `directory`); only the reach scans events
again, and only when asked (`rse-adoption ambassadors`).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import numpy as np

from ..errors import DataError
from ..messages import Message, plural_message
from ..model import AmbassadorEffect, Ambassadors, AmbassadorSite, GroupFigures
from ..privacy import Disclosure, is_suppressed
from .context import Context
from .engine import Connection
from .forecast import weekly_contributors
from .segments import Window

#: Weeks compared on each side of a site's first ambassador's start (at most).
EFFECT_WEEKS = 8
#: Fewest weeks needed on each side.
MIN_EFFECT_WEEKS = 4
#: Fewest treated sites for a pooled estimate: its uncertainty is their spread.
MIN_TREATED_SITES = 3
NO_WEEKLY_DETAIL = (
    "no weekly detail: the activity periods are the window as a whole (activity_grain period)"
)


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
    ambassador)."""
    if not files:
        return {}
    rows = con.execute(
        """
        WITH ambassador_keys AS (
            SELECT k.key FROM key_map k JOIN people p ON p.person = k.person_key
            WHERE p.ambassador
        ),
        acts AS (
            SELECT k.person_key AS person, e.ts, e.event_type,
                   a.key IS NOT NULL AS to_ambassador
            FROM read_parquet($files) e JOIN key_map k ON k.key = e.user_key
            LEFT JOIN (SELECT DISTINCT key FROM ambassador_keys) a ON a.key = e.target_user_key
            WHERE e.ts >= $lookback::TIMESTAMPTZ AND e.ts < $end::TIMESTAMPTZ
              AND e.event_type IN ('post', 'comment', 'reaction', 'read')
        ),
        per_person AS (
            SELECT person,
                   min(ts) FILTER (WHERE event_type IN ('post', 'comment')) AS first_contribution,
                   min(ts) FILTER (WHERE to_ambassador) AS first_interaction,
                   bool_or(to_ambassador AND event_type IN ('reaction', 'comment')
                           AND ts >= $start::TIMESTAMPTZ) AS reached
            FROM acts GROUP BY person
        )
        SELECT p.site,
               count(*) FILTER (WHERE a.reached AND NOT p.ambassador),
               count(*) FILTER (WHERE a.first_contribution >= $start::TIMESTAMPTZ),
               count(*) FILTER (WHERE a.first_contribution >= $start::TIMESTAMPTZ
                                  AND a.first_interaction <= a.first_contribution)
        FROM per_person a JOIN people p USING (person)
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


def difference_in_differences(
    shares: dict[str, list[float]],
    weeks: list[int],
    starts: dict[str, int],
    controls: list[str],
) -> tuple[AmbassadorEffect, dict[str, AmbassadorEffect]]:
    """Pooled and per-site estimates of a staggered difference in differences. `shares`:
    site -> weekly contributor share (people contributing that week / headcount) at
    `weeks`; `starts`: treated site -> week its first ambassador started; `controls`: sites
    without ambassadors.

    For a treated site, with K = min(EFFECT_WEEKS, weeks available on both sides) ≥
    MIN_EFFECT_WEEKS: d = (mean of its K weeks after the start week − mean of its K weeks
    before) − the same for the mean of its comparison sites: those without ambassadors
    and those whose first ambassador started only after these 2K + 1 weeks (not yet
    treated). The pooled estimate is the mean of the sites' d, given from
    MIN_TREATED_SITES sites on; its standard error adds to their spread over √n the
    variance of the comparison means they share, and the intervals use Student's t with
    n − 1 degrees of freedom."""
    position = {w: i for i, w in enumerate(weeks)}
    per_site: dict[str, AmbassadorEffect] = {}
    estimates: list[float] = []
    shared: list[float] = []
    used_k: list[int] = []
    used_controls: set[str] = set()
    for site, start in sorted(starts.items()):
        if start not in position:
            per_site[site] = _not_estimable(
                Message(
                    "ambassador_effect.start_outside_data",
                    "its first ambassador started outside the weeks with data",
                ),
                1,
                0,
            )
            continue
        i = position[start]
        k = min(EFFECT_WEEKS, i, len(weeks) - i - 1)
        comparison = sorted(
            [c for c in controls if c != site]
            + [c for c, s in starts.items() if c != site and s > weeks[min(i + k, len(weeks) - 1)]]
        )
        if k < MIN_EFFECT_WEEKS or not comparison:
            why = (
                Message(
                    "ambassador_effect.too_few_weeks",
                    "fewer than %(weeks)s weeks of data on each side of its first "
                    "ambassador's start",
                    weeks=MIN_EFFECT_WEEKS,
                )
                if k < MIN_EFFECT_WEEKS
                else Message(
                    "ambassador_effect.no_comparison",
                    "no site without ambassadors (or not yet with them) to compare with "
                    "over its weeks",
                )
            )
            per_site[site] = _not_estimable(why, 1, len(comparison))
            continue
        d, noise, control_var = _site_difference(shares, site, comparison, i, k)
        estimates.append(d)
        shared.append(control_var)
        used_k.append(k)
        used_controls.update(comparison)
        per_site[site] = _effect(d, noise, 1, len(comparison), k, _T_QUANTILES[-1][1:])
    n = len(estimates)
    if n < MIN_TREATED_SITES:
        return _not_estimable(_pooled_reason(starts, per_site, n), n, len(used_controls)), per_site
    between = float(np.var(estimates, ddof=1)) / n
    se = math.sqrt(between + (1 - 1 / n) * float(np.mean(shared)))
    if se == 0:
        reason = Message(
            "ambassador_effect.no_variation",
            "the sites' weekly shares do not vary: no interval can be given",
        )
        return _not_estimable(reason, n, len(used_controls)), per_site
    pooled = float(np.mean(estimates))
    return _effect(pooled, se, n, len(used_controls), min(used_k), _t(n - 1)), per_site


def _site_difference(
    shares: dict[str, list[float]], site: str, comparison: list[str], i: int, k: int
) -> tuple[float, float, float]:
    """(d, its own week-to-week standard error, the variance of the comparison mean's
    change) for a treated site whose start is at position i, over K = k weeks a side."""
    changes = []
    for c in comparison:
        series = np.asarray(shares[c])
        changes.append(series[i + 1 : i + 1 + k].mean() - series[i - k : i].mean())
    control = np.mean([shares[c] for c in comparison], axis=0)
    diff = np.asarray(shares[site]) - control
    before, after = diff[i - k : i], diff[i + 1 : i + 1 + k]
    d = float(after.mean() - before.mean())
    noise = float(np.sqrt(before.var(ddof=1) / k + after.var(ddof=1) / k))
    if len(changes) > 1:
        control_var = float(np.var(changes, ddof=1)) / len(changes)
    else:  # one comparison site: its own week-to-week noise
        series = np.asarray(shares[comparison[0]])
        pre, post = series[i - k : i], series[i + 1 : i + 1 + k]
        control_var = float(pre.var(ddof=1) / k + post.var(ddof=1) / k)
    return d, noise, control_var


def _pooled_reason(starts: dict[str, int], per_site: dict[str, AmbassadorEffect], n: int) -> str:
    if not starts:
        return Message(
            "ambassador_effect.no_start_dates", "no site has ambassadors with a start date"
        )
    if n == 0:
        reasons = [e.reason for e in per_site.values() if e.reason]
        if reasons:
            return max(set(reasons), key=reasons.count)
        return Message("ambassador_effect.no_estimable_site", "no estimable site")
    return plural_message(
        "ambassador_effect.too_few_sites",
        "only %(num)s site with a first ambassador's start, %(weeks)s weeks of data on each "
        "side and a comparison site; a pooled figure needs at least %(minimum)s: the spread "
        "between sites is its uncertainty",
        "only %(num)s sites with a first ambassador's start, %(weeks)s weeks of data on each "
        "side and a comparison site; a pooled figure needs at least %(minimum)s: the spread "
        "between sites is its uncertainty",
        n,
        weeks=MIN_EFFECT_WEEKS,
        minimum=MIN_TREATED_SITES,
    )


#: Student's t quantiles (0.90, 0.975) by degrees of freedom; the last is the normal's.
_T_QUANTILES = (
    (1, 3.078, 12.706),
    (2, 1.886, 4.303),
    (3, 1.638, 3.182),
    (4, 1.533, 2.776),
    (5, 1.476, 2.571),
    (6, 1.440, 2.447),
    (8, 1.397, 2.306),
    (10, 1.372, 2.228),
    (15, 1.341, 2.131),
    (20, 1.325, 2.086),
    (30, 1.310, 2.042),
    (10**9, 1.282, 1.960),
)


def _t(df: int) -> tuple[float, float]:
    """(t 0.90, t 0.975) for `df` degrees of freedom: the tabled row at or below it."""
    row = max((r for r in _T_QUANTILES if r[0] <= max(df, 1)), key=lambda r: r[0])
    return row[1], row[2]


def _effect(
    d: float, se: float, treated: int, controls: int, k: int, z: tuple[float, float]
) -> AmbassadorEffect:
    pp = 100.0

    def interval(z: float) -> tuple[float, float]:
        return (round((d - z * se) * pp, 2), round((d + z * se) * pp, 2))

    return AmbassadorEffect(
        estimate_pp=round(d * pp, 2),
        ci80_pp=interval(z[0]),
        ci95_pp=interval(z[1]),
        treated_sites=treated,
        control_sites=controls,
        weeks_before=k,
        weeks_after=k,
        reason=None,
    )


def _not_estimable(reason: str, treated: int, controls: int) -> AmbassadorEffect:
    return AmbassadorEffect(None, None, None, treated, controls, 0, 0, reason)


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
    shown, through privacy.Disclosure (docs/privacy.md). Ambassadors are a public role, so
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


def network(ctx: Context, reach: dict[str, tuple[int, int, int]] | None = None) -> Ambassadors:
    """The ambassador figures of the report's sites, with the reach of `reach_counts`
    when given (`rse-adoption ambassadors` asks for it: one more pass over events), and the
    effect, from the weekly contributor share of each shown site since the first week with
    data (base table `contribution_weeks`)."""
    settings, look = ctx.settings, ctx.lookback
    counts = site_ambassadors(ctx.con)
    shown = [g for g in ctx.shown if g.headcount]
    first = max(0, ((ctx.weekly_start or ctx.window.as_of) - look.monday0).days // 7)
    weeks = list(range(first, look.last_week + 1))
    weekly = weekly_contributors(ctx.con, 1, look.last_week)
    shares = {
        g.site or "": [weekly.get(g.site or "", {}).get(w, 0) / (g.headcount or 1) for w in weeks]
        for g in shown
    }
    starts = {
        site: (day - look.monday0).days // 7
        for site, day in first_ambassador_start(ctx.con).items()
        if site in shares
    }
    controls = [g.site or "" for g in shown if counts.get(g.site or "", (0, 0))[0] == 0]
    pooled, per_site = difference_in_differences(shares, weeks, starts, controls)
    if not ctx.weekly:  # activity periods equal to the window: no weekly shares
        pooled, per_site = _not_estimable(NO_WEEKLY_DETAIL, len(starts), len(controls)), {}
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
