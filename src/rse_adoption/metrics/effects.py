"""Actions and their effect: did a webinar, a training, a campaign or a site's first
ambassador move its site's adoption? (docs/metrics.md, "Actions and their effect")

One estimator for every kind of action: a difference in differences of the site against
the sites with no action of their own around it (never treated, or not yet treated: the
staggered-adoption design, never two-way fixed effects over staggered dates). For an
action in ISO week a at site s, over N weeks (`weeks_after`):

- new contributors: the people of s whose first contribution falls in weeks a+1..a+N,
  minus those in weeks a−N..a−1, per head, minus the comparison sites' mean of the same;
  times s's headcount (people);
- contributor share: the share of s's headcount contributing in the 4 weeks ending with
  week a+N, minus in the 4 weeks ending with week a−1, minus the comparison sites' mean
  change (percentage points).

The ~80 % interval is a prediction interval for s's own change from its comparison sites:
their changes scatter around their mean by a spread common to sites (τ², estimated from
them) plus each site's counting noise (Poisson for new contributors, binomial for the
share, smaller for bigger sites); s's counterfactual change is one more draw, and the
comparison mean's own error is added; Student's t with n − 1 degrees of freedom. The
placebo check is the same estimate at a fake date N + 1 weeks before; the pre-trend check
the slope of s's weekly new contributors against its comparisons' over the N weeks before.

Everything reads the base tables of context.py (`people`, `contribution_weeks`); the
ambassadors' starts come from the directory (ambassadors.first_ambassador_start), and the
ambassadors' own `effect` (per site and pooled) is the contributor share's estimate of
these actions (`ambassador_arrivals`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..effects_model import ActionEffect, EffectCheck, OutcomeEffect
from ..interventions import EVERY_SITE, Intervention, stored_interventions
from ..messages import Message, plural_message
from ..privacy import hides
from .context import Context
from .did import Prediction, prediction, prediction_parts

#: Weeks after an action its effect is measured over, by default; as many before.
DEFAULT_WEEKS_AFTER = 8
#: The interval's level.
LEVEL = 0.8
#: Fewest comparison sites for an interval (their spread is its width).
MIN_COMPARISON_SITES = 3
#: Weeks of the contributor share's trailing window.
SHARE_WEEKS = 4
#: Weeks after the first with data before a before-period may start: everyone who
#: contributes in the first weeks looks new then (their earlier contributions are unseen).
WARM_UP_WEEKS = 2

VERDICTS = ("increase", "decrease", "no clear effect", "not estimable")
AMBASSADOR_LABEL = "first ambassador"


@dataclass(frozen=True)
class SiteSeries:
    """The weekly figures the estimator reads, by site (weeks from the lookback's
    Monday): headcount, new contributors per week, contributors of the trailing
    SHARE_WEEKS weeks; the first week a before-period may start and the last complete
    week."""

    headcount: dict[str, int]
    new: dict[str, np.ndarray]
    recent: dict[str, np.ndarray]
    first_week: int
    last_week: int


def site_series(ctx: Context) -> SiteSeries:
    """The weekly series of every site with people (from `people` and
    `contribution_weeks`)."""
    from .weekly import weekly_contributors

    look = ctx.lookback
    size = look.last_week + 1
    headcount = {
        str(site): int(n)
        for site, n in ctx.con.execute("SELECT site, count(*) FROM people GROUP BY site").fetchall()
    }
    new = {site: np.zeros(size) for site in headcount}
    rows = ctx.con.execute(
        """
        SELECT p.site, f.week, count(*) FROM (
            SELECT person, min(week) AS week FROM contribution_weeks GROUP BY person
        ) f JOIN people p USING (person)
        WHERE f.week >= 0 AND f.week <= $last GROUP BY ALL
        """,
        {"last": look.last_week},
    ).fetchall()
    for site, week, n in rows:
        if site in new:
            new[site][int(week)] = n
    recent = {site: np.zeros(size) for site in headcount}
    for site, by_week in weekly_contributors(ctx.con, SHARE_WEEKS, look.last_week).items():
        if site in recent:
            for week, n in by_week.items():
                if 0 <= week < size:
                    recent[site][week] = n
    start = ctx.weekly_start or ctx.first_day or ctx.window.as_of
    first = max(0, -((look.monday0 - start).days // 7)) + WARM_UP_WEEKS  # its first whole week
    end = min(ctx.window.as_of, ctx.last_day or ctx.window.as_of)
    last_complete = (end - look.monday0).days // 7 - (0 if end.weekday() == 6 else 1)
    return SiteSeries(headcount, new, recent, first, min(last_complete, look.last_week))


def ambassador_actions(ctx: Context) -> list[Intervention]:
    """Each site's first ambassador's start (directory `ambassador_since`), as an action of
    kind `ambassador`."""
    from .ambassadors import first_ambassador_start

    return [
        Intervention(day, site, "ambassador", AMBASSADOR_LABEL)
        for site, day in sorted(first_ambassador_start(ctx.con).items())
    ]


def measure(
    ctx: Context, weeks_after: int = DEFAULT_WEEKS_AFTER, sites: list[str] | None = None
) -> tuple[ActionEffect, ...]:
    """Every logged action and ambassador arrival (of `sites` and the site-wide ones, when
    given), by date, each with its effect over `weeks_after` weeks."""
    series = ctx.sites_weekly_series if ctx.weekly else None
    return _measure(ctx, weeks_after, sites, series)


def ambassador_arrivals(
    ctx: Context, weeks_after: int = DEFAULT_WEEKS_AFTER
) -> dict[str, tuple[ActionEffect, Prediction | None]]:
    """site -> its first ambassador's arrival as `measure` gives it (the directory's start,
    or the file's `ambassador` line that stands for it), with its contributor share's
    estimate and error variance (None: not estimable), for each site whose ambassadors all
    have a start date."""
    from .ambassadors import first_ambassador_start

    starts = first_ambassador_start(ctx.con)
    series = ctx.sites_weekly_series if ctx.weekly else None
    arrivals = [
        e
        for e in _measure(ctx, weeks_after, sorted(starts), series)
        if e.kind == "ambassador" and e.site in starts and abs((e.date - starts[e.site]).days) <= 7
    ]
    out: dict[str, tuple[ActionEffect, Prediction | None]] = {}
    # the one nearest the start stands for it (two logged lines of that week: the nearest)
    for effect in sorted(arrivals, key=lambda e: -abs((e.date - starts[e.site]).days)):
        parts = None
        if series is not None and effect.contributor_share is not None:
            week = (effect.date - ctx.lookback.monday0).days // 7
            parts = share_prediction(
                series, effect.site, list(effect.comparison_sites), week, weeks_after
            )
        out[effect.site] = (effect, parts)
    return out


def _measure(
    ctx: Context, weeks_after: int, sites: list[str] | None, series: SiteSeries | None
) -> tuple[ActionEffect, ...]:
    logged = [(a, "file") for a in stored_interventions(ctx.settings.data_dir, ctx.manifest)]
    # a first ambassador's start also logged by hand (kind `ambassador`, same site, within
    # a week) is one action, not two overlapping ones: the logged line is kept
    arrivals = [
        (a, "directory")
        for a in ambassador_actions(ctx)
        if not any(
            b.kind == "ambassador" and b.site == a.site and abs((b.date - a.date).days) <= 7
            for b, _ in logged
        )
    ]
    actions = logged + arrivals
    actions.sort(key=lambda pair: (pair[0].date, pair[0].site, pair[0].kind, pair[0].label))
    if not actions:
        return ()
    eligible = set(ctx.every_site)
    weeks = {
        id(a): (a.date - ctx.lookback.monday0).days // 7 for a, _ in actions if a.site != EVERY_SITE
    }
    by_site: dict[str, list[int]] = {}
    for a, _ in actions:
        if a.site != EVERY_SITE:
            by_site.setdefault(a.site, []).append(weeks[id(a)])
    out = []
    for action, source in actions:
        if sites is not None and action.site not in sites and action.site != EVERY_SITE:
            continue
        out.append(
            _action_effect(
                ctx, action, source, weeks_after, series, eligible, by_site, weeks.get(id(action))
            )
        )
    return tuple(out)


def section(ctx: Context, *, weeks_after: int = DEFAULT_WEEKS_AFTER) -> dict[str, Any]:
    """The Report fields of `rse-adoption effects`: the actions of the sites asked for."""
    chosen = [g.site or "" for g in ctx.groups]
    every = sorted({*ctx.every_site, *chosen})
    asked = None if set(chosen) >= set(every) else chosen
    return {
        "interventions": measure(ctx, weeks_after, asked),
        "effects_weeks_after": weeks_after,
    }


def _unmeasurable(
    ctx: Context,
    action: Intervention,
    n: int,
    series: SiteSeries | None,
    eligible: set[str],
    by_site: dict[str, list[int]],
    week: int | None,
) -> Message | None:
    """Why the action's effect cannot be measured, before looking for comparison sites
    (None: it can)."""
    if series is None:
        return Message(
            "effects.no_weekly_detail",
            "no weekly detail: the activity periods are the window as a whole",
        )
    if action.site == EVERY_SITE or week is None:
        return Message(
            "effects.every_site",
            "an action at every site leaves no site without it to compare with",
        )
    if action.site not in eligible or action.site not in series.headcount:
        return Message(
            "effects.suppressed",
            "the site has fewer people than the privacy threshold (%(minimum)s): no "
            "estimate is given for it",
            minimum=ctx.settings.min_group_size,
        )
    if week - n < series.first_week:
        return plural_message(
            "effects.too_little_before",
            "too little data before the action: its effect needs %(num)s week of data before it",
            "too little data before the action: its effect needs %(num)s weeks of data before it",
            n,
        )
    if week + n > series.last_week:
        return plural_message(
            "effects.too_little_after",
            "too little data after the action: its effect is measured over the %(num)s "
            "whole week after it",
            "too little data after the action: its effect is measured over the %(num)s "
            "whole weeks after it",
            n,
        )
    others = [w for w in by_site.get(action.site, []) if week - 2 * n <= w <= week + n]
    if len(others) > 1:  # itself, and another action of the same site
        return plural_message(
            "effects.overlap",
            "another action at the same site in the %(before)s weeks before it or the "
            "%(num)s week after: their effects cannot be told apart",
            "another action at the same site in the %(before)s weeks before it or the "
            "%(num)s weeks after: their effects cannot be told apart",
            n,
            before=2 * n,
        )
    return None


def _action_effect(
    ctx: Context,
    action: Intervention,
    source: str,
    n: int,
    series: SiteSeries | None,
    eligible: set[str],
    by_site: dict[str, list[int]],
    week: int | None,
) -> ActionEffect:
    def not_estimable(reason: Message, comparisons: tuple[str, ...] = ()) -> ActionEffect:
        return ActionEffect(
            action.date, action.site, action.kind, action.label, source, n, LEVEL,
            "not estimable", reason, None, None, comparisons, None, None,
        )  # fmt: skip

    why = _unmeasurable(ctx, action, n, series, eligible, by_site, week)
    if why is not None:
        return not_estimable(why)
    assert series is not None and week is not None  # _unmeasurable says why otherwise
    # no comparison site's own action may fall in these weeks, nor its N weeks of effect
    comparisons = _comparisons(series, eligible, by_site, action.site, week - 2 * n, week + n)
    if len(comparisons) < MIN_COMPARISON_SITES:
        return not_estimable(
            plural_message(
                "effects.too_few_comparisons",
                "too few comparison sites: %(num)s site has no action of its own in these "
                "weeks; an interval needs at least %(minimum)s",
                "too few comparison sites: %(num)s sites have no action of their own in "
                "these weeks; an interval needs at least %(minimum)s",
                len(comparisons),
                minimum=MIN_COMPARISON_SITES,
            ),
            tuple(comparisons),
        )
    new = _new_contributors(series, action.site, comparisons, week, n)
    share = _share(series, action.site, comparisons, week, n)
    k = ctx.settings.min_group_size
    new_shown, share_shown = _disclose(new, share, series, action.site, week, n, k)
    if new_shown is None:
        return not_estimable(
            Message(
                "effects.small_counts",
                "the site's new contributors before or after the action number from 1 to "
                "%(maximum)s people: under the privacy threshold no figure of it is given",
                maximum=k - 1,
            ),
            tuple(comparisons),
        )
    return ActionEffect(
        date=action.date,
        site=action.site,
        kind=action.kind,
        label=action.label,
        source=source,
        weeks_after=n,
        level=LEVEL,
        verdict=verdict(new_shown),
        reason=None,
        new_contributors=new_shown,
        contributor_share=share_shown,
        comparison_sites=tuple(comparisons),
        placebo=_placebo(series, eligible, by_site, action.site, week, n),
        pre_trend=_pre_trend(series, action.site, comparisons, week, n),
    )


def verdict(effect: OutcomeEffect) -> str:
    """`increase` when the interval of the new contributors' effect lies above zero,
    `decrease` when below, `no clear effect` when it holds zero."""
    if effect.low > 0:
        return "increase"
    if effect.high < 0:
        return "decrease"
    return "no clear effect"


def _comparisons(
    series: SiteSeries,
    eligible: set[str],
    by_site: dict[str, list[int]],
    site: str,
    first: int,
    last: int,
) -> list[str]:
    """Sites shown and with people, other than `site`, with no action of their own from
    week `first` to week `last` (the weeks compared, and before them the N weeks an earlier
    action's effect is measured over): never treated, or not yet (or no longer) then.
    Site-wide actions hit every site alike, so they exclude none."""
    return sorted(
        c
        for c in series.headcount
        if c != site
        and c in eligible
        and series.headcount[c] > 0
        and not any(first <= w <= last for w in by_site.get(c, []))
    )


def _new_contributors(
    series: SiteSeries, site: str, comparisons: list[str], a: int, n: int
) -> OutcomeEffect:
    def change(c: str) -> tuple[float, float, float, float]:
        before = float(series.new[c][a - n : a].sum())
        after = float(series.new[c][a + 1 : a + 1 + n].sum())
        h = series.headcount[c]
        return (after - before) / h, (after + before) / h**2, before, after

    x, noise, before, after = change(site)
    rest = [change(c) for c in comparisons]
    d, low, high = prediction(x, noise, [r[0] for r in rest], [r[1] for r in rest])
    h = series.headcount[site]
    return OutcomeEffect(
        round(d * h, 2),
        round(low * h, 2),
        round(high * h, 2),
        int(before),
        int(after),
        round(100 * float(np.mean([r[0] for r in rest])), 3),
    )


def share_prediction(
    series: SiteSeries, site: str, comparisons: list[str], a: int, n: int
) -> Prediction:
    """The contributor share's change at `site` from the SHARE_WEEKS weeks ending just
    before week `a` to those ending week a + n, minus its comparison sites' mean change
    (shares 0..1), with its error's variance (binomial counting noise)."""
    x, noise, _, _ = _share_change(series, site, a, n)
    rest = [_share_change(series, c, a, n) for c in comparisons]
    return prediction_parts(x, noise, [r[0] for r in rest], [r[1] for r in rest])


def _share_change(series: SiteSeries, c: str, a: int, n: int) -> tuple[float, float, float, float]:
    """(change, its binomial variance, share before, share after) of site `c`."""
    h = series.headcount[c]
    before = min(float(series.recent[c][a - 1]) / h, 1.0)
    after = min(float(series.recent[c][a + n]) / h, 1.0)
    noise = (before * (1 - before) + after * (1 - after)) / h
    return after - before, noise, before, after


def _share(series: SiteSeries, site: str, comparisons: list[str], a: int, n: int) -> OutcomeEffect:
    p = share_prediction(series, site, comparisons, a, n)
    low, high = p.interval(LEVEL)
    _, _, before, after = _share_change(series, site, a, n)
    changes = [_share_change(series, c, a, n)[0] for c in comparisons]
    return OutcomeEffect(
        round(100 * p.estimate, 2),
        round(100 * low, 2),
        round(100 * high, 2),
        round(before, 4),
        round(after, 4),
        round(100 * float(np.mean(changes)), 3),
    )


def _placebo(
    series: SiteSeries,
    eligible: set[str],
    by_site: dict[str, list[int]],
    site: str,
    a: int,
    n: int,
) -> EffectCheck:
    """The new contributors' estimate at a fake date N + 1 weeks before the action (its
    after-weeks end just before the action's week), against the sites with no action of
    their own in those weeks."""
    fake = a - n - 1
    if fake - n < series.first_week:
        return EffectCheck(
            None,
            None,
            None,
            None,
            plural_message(
                "effects.placebo_too_early",
                "the placebo needs %(num)s week of data before the action",
                "the placebo needs %(num)s weeks of data before the action",
                2 * n + 1,
            ),
        )
    others = [w for w in by_site.get(site, []) if fake - 2 * n <= w < a]
    comparisons = _comparisons(series, eligible, by_site, site, fake - 2 * n, fake + n)
    if others or len(comparisons) < MIN_COMPARISON_SITES:
        return EffectCheck(
            None,
            None,
            None,
            None,
            Message(
                "effects.placebo_not_estimable",
                "the weeks before the action hold another action at the site, or too few "
                "sites without one",
            ),
        )
    effect = _new_contributors(series, site, comparisons, fake, n)
    return EffectCheck(
        effect.estimate, effect.low, effect.high, effect.low <= 0 <= effect.high, None
    )


def _pre_trend(
    series: SiteSeries, site: str, comparisons: list[str], a: int, n: int
) -> EffectCheck:
    """The slope of the site's weekly new contributors per head over the N weeks before
    the action, minus its comparison sites' mean slope (times its headcount: people per
    week, per week), with the same kind of interval."""
    if n < 3:
        return EffectCheck(
            None,
            None,
            None,
            None,
            Message("effects.pre_trend_short", "a trend needs at least 3 weeks before the action"),
        )
    weeks = np.arange(n, dtype=float) - (n - 1) / 2
    spread = float((weeks**2).sum())

    def slope(c: str) -> tuple[float, float]:
        h = series.headcount[c]
        values = series.new[c][a - n : a] / h
        return float((weeks * values).sum() / spread), float(
            (weeks**2 * series.new[c][a - n : a]).sum() / h**2 / spread**2
        )

    x, noise = slope(site)
    rest = [slope(c) for c in comparisons]
    d, low, high = prediction(x, noise, [r[0] for r in rest], [r[1] for r in rest])
    h = series.headcount[site]
    return EffectCheck(round(d * h, 3), round(low * h, 3), round(high * h, 3), low <= 0 <= high)


def _disclose(
    new: OutcomeEffect,
    share: OutcomeEffect,
    series: SiteSeries,
    site: str,
    a: int,
    n: int,
    min_group_size: int,
) -> tuple[OutcomeEffect | None, OutcomeEffect | None]:
    """The evidence as published: an outcome whose site count before or after (new
    contributors, or the contributors behind each share) is from 1 to min_group_size − 1
    people (privacy.hides, docs/privacy.md) is withheld whole (None). Hiding the count
    alone is not enough: estimate = after − before − headcount × comparison change, so the
    estimate, the comparison change (also shown by another action of the same weeks and
    comparisons) and the interval's width (it grows with after + before) give a hidden
    count back, and two hidden counts known to lie in 1..k−1 are pinned by their
    difference. The one place this module applies the privacy rule."""
    recent_before = int(series.recent[site][a - 1])
    recent_after = int(series.recent[site][a + n])
    new_hidden = hides(int(new.before or 0), min_group_size) or hides(
        int(new.after or 0), min_group_size
    )
    share_hidden = hides(recent_before, min_group_size) or hides(recent_after, min_group_size)
    return (None if new_hidden else new, None if share_hidden else share)
