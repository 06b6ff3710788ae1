"""Organisations whose diffusion and ambassador effect are known: the scenarios the
forecast's backtest and the ambassador effect are checked on (docs/metrics.md).

A scenario's network is launched on a known day and spreads by imitation inside each
site: week after week, each of the site's potential adopters who has not adopted yet
does so with the Bass hazard p + q · (the site's adopters / its potential adopters), per
person through a fixed resistance drawn once, so that two worlds differing only by the
ambassadors share every other draw. Ambassadors start on staggered days, site by site:
in the world with an effect they publish from their first day (contributors, active at
least two days a week; recruited among people who would not have adopted otherwise) and
multiply their colleagues' hazard by 1 + `lift`; in the
counterfactual (and in a placebo scenario) they are ordinary colleagues with a start
date in the directory. Activity has noise: heavy-tailed personal rates and weekly shocks
of each site's activity. The true effect is the difference between the two worlds' expected
outcomes of the effects estimator (`expected_action_outcomes`), computed from the
generator's own probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from .organisation import (
    CLASSES,
    DAILY_RATE,
    EVENT_MIX,
    NEVER,
    Organisation,
    SiteSpec,
    active_probability,
    write_directory,
    write_events_csv,
)

#: Chance that an active day of a contributor holds at least one post or comment: a day
#: holds 1 + Poisson(1.5) events (organisation.event_batches), each a post or comment
#: with the contributor's share of EVENT_MIX.
_CONTRIBUTING = float(EVENT_MIX[3, 3:].sum())
CONTRIBUTION_PER_ACTIVE_DAY = 1.0 - (1.0 - _CONTRIBUTING) * float(np.exp(-1.5 * _CONTRIBUTING))


@dataclass(frozen=True)
class Scenario:
    """A generated organisation (`org`, what the exports show), the same organisation
    without any ambassador effect (`counterfactual`; identical to `org` in a placebo),
    the launch day, and each ambassador site's first start (site -> day)."""

    org: Organisation
    counterfactual: Organisation
    launch: date
    first_ambassador: dict[str, date]
    lift: float

    def share_effect(self, site: str, weeks: int) -> float:
        """What the effects estimator's contributor share targets for `site`'s first
        ambassador, in points: the expected change in the share contributing over 4 weeks
        (expected_action_outcomes, `weeks` weeks after the start's week) with ambassadors
        minus without them (`counterfactual`: same people, draws and shocks)."""
        day = self.first_ambassador[site]
        with_them = expected_action_outcomes(self.org, site, day, weeks)[1]
        return with_them - expected_action_outcomes(self.counterfactual, site, day, weeks)[1]


def generated_sites(
    seed: int,
    n_sites: int,
    *,
    headcount: tuple[int, int] = (60, 1500),
    q: tuple[float, float] = (0.08, 0.45),
    p: tuple[float, float] = (0.002, 0.02),
    potential: tuple[float, float] = (0.5, 0.95),
    contributor_share: tuple[float, float] = (0.12, 0.45),
) -> tuple[SiteSpec, ...]:
    """`n_sites` sites with parameters drawn from the ranges (headcount and p
    log-uniformly, the others uniformly); ambassadors: one per 100 people, at least one."""
    rng = np.random.default_rng(seed)

    def log_uniform(bounds: tuple[float, float]) -> float:
        return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))

    sites = []
    for k in range(n_sites):
        size = round(log_uniform(headcount))
        sites.append(
            SiteSpec(
                f"Site {k + 1:02d}",
                size,
                log_uniform(p),
                float(rng.uniform(*q)),
                float(rng.uniform(*potential)),
                float(rng.uniform(*contributor_share)),
                max(1, size // 100),
            )
        )
    return tuple(sites)


def staggered_starts(
    seed: int, sites: tuple[SiteSpec, ...], weeks: int, treated_share: float = 0.6
) -> dict[str, int]:
    """site -> the week (after launch) its first ambassador starts, for a random
    `treated_share` of the sites, spread over weeks 6 to `weeks` − 10; the others never
    get one (they and the not-yet-treated are the comparison)."""
    rng = np.random.default_rng(seed + 7_919)
    chosen = rng.uniform(size=len(sites)) < treated_share
    return {
        s.name: int(rng.integers(6, max(7, weeks - 10)))
        for s, pick in zip(sites, chosen, strict=True)
        if pick
    }


def campaign_weeks(
    seed: int,
    sites: tuple[SiteSpec, ...],
    weeks: int,
    share: float = 0.8,
    between: tuple[float, float] = (0.35, 0.75),
) -> dict[str, int]:
    """site -> the week (after launch) a campaign starts there, for a random `share` of
    the sites, drawn uniformly between the fractions `between` of the `weeks`: late
    enough that a backtest's earlier cuts cannot see it coming."""
    rng = np.random.default_rng(seed + 15_485_863)
    chosen = rng.uniform(size=len(sites)) < share
    low, high = (max(1, round(f * weeks)) for f in between)
    return {
        s.name: int(rng.integers(low, max(low + 1, high)))
        for s, pick in zip(sites, chosen, strict=True)
        if pick
    }


@dataclass(frozen=True)
class Campaigns:
    """A site-wide push (an ambassador wave, a communication campaign) from a given week:
    site -> start week; from it the site's adoption hazard is multiplied by 1 + `lift`
    and a `reach` share of its people who would never have adopted join its potential
    adopters (the plateau rises too)."""

    weeks: dict[str, int]
    lift: float = 1.5
    reach: float = 0.3


def make_scenario(
    sites: tuple[SiteSpec, ...],
    *,
    launch: date = date(2026, 5, 1),
    weeks: int = 40,
    seed: int = 1,
    ambassador_weeks: dict[str, int] | None = None,
    lift: float = 1.0,
    effect: bool = True,
    noise: float = 0.25,
    campaigns: Campaigns | None = None,
) -> Scenario:
    """A scenario whose exports cover `weeks` weeks from `launch` (the data starts on the
    launch day). `ambassador_weeks`: site -> week its first ambassador starts (the others
    follow within four weeks); sites absent from it have none. `effect=False` is the
    placebo: ambassadors change nothing. `noise`: standard deviation of the weekly
    log-shocks of each site's activity. `campaigns`: sites that accelerate from a given
    week (both worlds: it is not the ambassadors' effect); their draws come from their
    own generator, so a scenario without campaigns is unchanged."""
    rng = np.random.default_rng(seed)
    days = weeks * 7
    starts = ambassador_weeks or {}
    site_index = np.repeat(np.arange(len(sites)), [s.headcount for s in sites])
    n = site_index.size
    resistance = rng.exponential(size=n)
    potential = rng.uniform(size=n) < np.array([s.potential for s in sites])[site_index]
    day_in_week = rng.integers(0, 7, n)
    share = np.array([s.contributor_share for s in sites])[site_index]
    others = rng.choice(3, size=n, p=[0.25, 0.45, 0.30])
    klass = np.where(rng.uniform(size=n) < share, 3, others)
    rate = np.clip(DAILY_RATE[klass] * rng.lognormal(0, 0.7, n), 0.02, 5.0)
    ambassador_since = np.full(n, NEVER)
    for s, spec in enumerate(sites):
        if spec.name in starts and spec.ambassadors:
            # recruited among those who would never have adopted on their own: before
            # their start an ambassador is no different in either world
            members = np.flatnonzero((site_index == s) & ~potential)
            if not members.size:
                continue
            chosen = rng.choice(members, min(spec.ambassadors, members.size), replace=False)
            first = starts[spec.name] * 7 + int(rng.integers(0, 7))
            ambassador_since[chosen] = first + rng.integers(0, 29, chosen.size)
            ambassador_since[chosen[0]] = first
    shocks = rng.lognormal(-noise * noise / 2, noise, (len(sites), weeks + 1))
    factor = np.repeat(shocks, 7, axis=1)[:, :days]

    campaign_start = np.full(len(sites), NEVER)
    joins = np.zeros(n, dtype=bool)
    campaign_lift = 0.0
    if campaigns is not None:
        draws = np.random.default_rng(seed + 15_485_863).uniform(size=n)
        for s, spec in enumerate(sites):
            if spec.name in campaigns.weeks:
                campaign_start[s] = campaigns.weeks[spec.name]
        joins = ~potential & (draws < campaigns.reach) & (campaign_start[site_index] < NEVER)
        campaign_lift = campaigns.lift

    def world(with_effect: bool) -> Organisation:
        adopt_day, world_klass, world_rate = _adoption(
            sites, site_index, resistance, potential, day_in_week, klass, rate,
            ambassador_since, weeks, lift if with_effect else 0.0, with_effect,
            (campaign_start, joins, campaign_lift),
        )  # fmt: skip
        return Organisation(
            sites=sites,
            start=launch,
            end=launch + timedelta(days=days - 1),
            site_index=site_index,
            event_site_index=site_index,
            hire_day=np.full(n, -1000),
            leave_day=np.full(n, NEVER),
            listed=np.ones(n, dtype=bool),
            adopt_day=adopt_day,
            klass=world_klass,
            rate=world_rate,
            ambassador_since=ambassador_since,
            department=rng.integers(0, 7, n),
            seed=seed,
            activity_factor=factor,
        )

    counterfactual = world(False)
    org = world(True) if effect else counterfactual
    org = replace(org, department=counterfactual.department)
    first_days = {
        sites[s].name: launch + timedelta(days=int(ambassador_since[site_index == s].min()))
        for s in range(len(sites))
        if (ambassador_since[site_index == s] < NEVER).any()
    }
    return Scenario(org, counterfactual, launch, first_days, lift if effect else 0.0)


def _adoption(
    sites: tuple[SiteSpec, ...],
    site_index: np.ndarray,
    resistance: np.ndarray,
    potential: np.ndarray,
    day_in_week: np.ndarray,
    klass: np.ndarray,
    rate: np.ndarray,
    ambassador_since: np.ndarray,
    weeks: int,
    lift: float,
    ambassadors_act: bool,
    campaign: tuple[np.ndarray, np.ndarray, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(adoption day, class, rate) of everyone in one world: week by week, a site's
    potential adopters adopt once its cumulative Bass hazard passes their resistance.
    `campaign`: (each site's campaign start week, who joins the potential adopters then,
    the hazard's lift from then)."""
    campaign_start, joins, campaign_lift = campaign
    offset = np.zeros(site_index.size)
    adopt_week = np.full(site_index.size, NEVER)
    klass, rate = klass.copy(), rate.copy()
    acting = (ambassador_since < NEVER) & ambassadors_act
    if ambassadors_act:
        klass[acting] = 3
        rate[acting] = np.maximum(rate[acting], 2.0)
    for s, spec in enumerate(sites):
        members = site_index == s
        pool = members & potential
        size = max(int(pool.sum()), 1)
        site_acting = members & acting
        first = int(ambassador_since[site_acting].min()) // 7 if site_acting.any() else NEVER
        hazard_sum = 0.0
        for week in range(weeks + 1):
            if week == campaign_start[s]:  # the campaign widens the pool from its week:
                # its newcomers' resistance counts from then, not from the launch
                pool = pool | (members & joins)
                size = max(int(pool.sum()), 1)
                offset[members & joins] = hazard_sum
            if site_acting.any():  # ambassadors publish from their first week
                starting = site_acting & (ambassador_since // 7 == week) & (adopt_week > week)
                adopt_week[starting] = week
            adopters = int((members & (adopt_week < week)).sum())
            boost = 1.0 + lift if week >= first else 1.0
            if week >= campaign_start[s]:
                boost *= 1.0 + campaign_lift
            hazard_sum += (spec.p + spec.q * min(adopters / size, 1.0)) * boost
            new = pool & (adopt_week == NEVER) & (resistance + offset <= hazard_sum)
            adopt_week[new] = week
    adopt_day = np.where(adopt_week < NEVER, adopt_week * 7 + day_in_week, NEVER)
    if ambassadors_act:  # an ambassador publishes from the very day they start
        adopt_day[acting] = np.minimum(adopt_day[acting], ambassador_since[acting])
    return adopt_day, klass, rate


def write_scenario(scenario: Scenario, out: Path) -> tuple[Path, Path]:
    """The scenario's directory and events as exports: (directory.csv, events.csv)."""
    directory, events = out / "directory.csv", out / "events.csv"
    write_directory(scenario.org, directory)
    write_events_csv(scenario.org, events)
    return directory, events


def expected_person_weeks(org: Organisation, people: np.ndarray) -> np.ndarray:
    """For each of `people` (rows), the chance they post or comment in each ISO week from
    the one holding `org.start` (columns), by the generator's own probabilities."""
    days = np.arange(org.days)
    offset = org.start.weekday()
    n_weeks = (org.days + offset + 6) // 7
    week_of_day = (days + offset) // 7
    day_chance = active_probability(org, people, days) * CONTRIBUTION_PER_ACTIVE_DAY
    day_chance[org.klass[people] != CLASSES.index("contributor")] = 0.0
    log_none = np.zeros((people.size, n_weeks))
    np.add.at(log_none.T, week_of_day, np.log1p(-np.minimum(day_chance, 1 - 1e-12)).T)
    return 1 - np.exp(log_none)


def expected_action_outcomes(
    org: Organisation, site: str, day: date, weeks: int, share_weeks: int = 4
) -> tuple[float, float]:
    """What the effects estimator measures at `site` for an action on `day`, in
    expectation given who adopted when: (expected new contributors — first contribution —
    in the `weeks` ISO weeks after the action's week minus in the `weeks` before it; change
    in the share of the site contributing over `share_weeks` weeks, from the weeks ending
    just before the action's week to those ending `weeks` weeks after it, in points)."""
    s = [x.name for x in org.sites].index(site)
    people = np.flatnonzero(org.site_index == s)
    p = expected_person_weeks(org, people)
    first = p * np.concatenate(
        [np.ones((people.size, 1)), np.cumprod(1 - p, axis=1)[:, :-1]], axis=1
    )
    a = (day - org.start).days + org.start.weekday()
    a //= 7
    new = first.sum(axis=0)
    change = float(new[a + 1 : a + 1 + weeks].sum() - new[a - weeks : a].sum())

    def recent(w: int) -> float:
        return float((1 - np.prod(1 - p[:, w - share_weeks + 1 : w + 1], axis=1)).mean())

    return change, 100 * (recent(a + weeks) - recent(a - 1))
