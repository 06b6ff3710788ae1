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
from ..model import AmbassadorEffect, Ambassadors, AmbassadorSite, GroupFigures
from ..privacy import is_suppressed
from .context import Context
from .engine import Connection
from .forecast import weekly_contributors
from .segments import Window

#: Weeks compared on each side of a site's first ambassador's start (at most).
EFFECT_WEEKS = 8
#: Fewest weeks needed on each side.
MIN_EFFECT_WEEKS = 4
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
    """Pooled and per-site estimates. `shares`: site -> weekly contributor share (people
    contributing that week / headcount) at `weeks`; `starts`: treated site -> week its
    first ambassador started; `controls`: sites without ambassadors.

    For a treated site, with K = min(EFFECT_WEEKS, weeks available on both sides) ≥
    MIN_EFFECT_WEEKS: d = (mean of its K weeks after the start week − mean of its K weeks
    before) − the same for the mean of the control sites over the same weeks. The pooled
    estimate is the mean of the sites' d; its standard error the larger of their spread
    over √n and the combined week-to-week noise of their difference series; intervals are
    ±1.28 and ±1.96 standard errors."""
    position = {w: i for i, w in enumerate(weeks)}
    per_site: dict[str, AmbassadorEffect] = {}
    estimates: list[float] = []
    noises: list[float] = []
    used_k: list[int] = []
    if not controls:
        none = _not_estimable("no site without ambassadors to compare with", len(starts), 0)
        return none, {}
    control = np.mean([shares[c] for c in controls], axis=0)
    for site, start in sorted(starts.items()):
        if start not in position:
            per_site[site] = _not_estimable(
                "its first ambassador started outside the weeks with data", 1, len(controls)
            )
            continue
        i = position[start]
        k = min(EFFECT_WEEKS, i, len(weeks) - i - 1)
        if k < MIN_EFFECT_WEEKS:
            per_site[site] = _not_estimable(
                f"fewer than {MIN_EFFECT_WEEKS} weeks of data on each side of its first "
                "ambassador's start",
                1,
                len(controls),
            )
            continue
        diff = np.asarray(shares[site]) - control
        before, after = diff[i - k : i], diff[i + 1 : i + 1 + k]
        d = float(after.mean() - before.mean())
        noise = float(np.sqrt(before.var(ddof=1) / k + after.var(ddof=1) / k))
        estimates.append(d)
        noises.append(noise)
        used_k.append(k)
        per_site[site] = _effect(d, noise, 1, len(controls), k)
    if not estimates:
        reason = (
            "no site's first ambassador started inside the weeks with data"
            if starts
            else "no site has ambassadors with a start date"
        )
        return _not_estimable(reason, 0, len(controls)), per_site
    pooled = float(np.mean(estimates))
    # the larger of the spread between sites and the sites' own week-to-week noise: with
    # few treated sites their spread alone understates the uncertainty
    within = math.sqrt(sum(n * n for n in noises)) / len(noises)
    between = (
        float(np.std(estimates, ddof=1) / math.sqrt(len(estimates))) if len(estimates) > 1 else 0.0
    )
    se = max(within, between)
    return _effect(pooled, se, len(estimates), len(controls), min(used_k)), per_site


def _effect(d: float, se: float, treated: int, controls: int, k: int) -> AmbassadorEffect:
    pp = 100.0

    def interval(z: float) -> tuple[float, float]:
        return (round((d - z * se) * pp, 2), round((d + z * se) * pp, 2))

    return AmbassadorEffect(
        estimate_pp=round(d * pp, 2),
        ci80_pp=interval(1.28),
        ci95_pp=interval(1.96),
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
    """The ambassador figures of one report group."""
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
        active_ambassadors=None if is_suppressed(ambassadors, min_group_size) else active,
        reached_colleagues=reach[0] if reach else None,
        new_contributors=reach[1] if reach else None,
        new_contributors_after_ambassador=reach[2] if reach else None,
        effect=effect,
    )


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
    return Ambassadors(
        per_employees=settings.ambassador_per_employees,
        sites=tuple(
            site_figures(
                g,
                counts.get(g.site or "", (0, 0)),
                settings.ambassador_per_employees,
                settings.min_group_size,
                reach.get(g.site or "", (0, 0, 0)) if reach is not None else None,
                per_site.get(g.site or ""),
            )
            for g in ctx.groups
        ),
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
    if names:
        directory = ctx.manifest.directory
        if not (directory and directory.get("names_kept")):
            raise DataError(
                "names were not kept: load the directory with `rse-adoption directory FILE "
                "--keep-names` (its name column) to list ambassadors by name"
            )
        shown = {g.site or "" for g in ctx.shown}
        figures = replace(
            figures,
            roster=roster(ctx.con, str(ctx.settings.data_dir / directory["path"]), shown),
        )
    return {"ambassadors": figures}
