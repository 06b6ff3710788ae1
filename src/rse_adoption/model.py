"""The report as frozen dataclasses: what every renderer takes, and what JSON serialises.

Counts are numbers of people; shares are fractions in 0..1; dates are UTC calendar days.
A suppressed site (headcount below the privacy threshold) carries None in every count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .effects_model import ActionEffect

SCHEMA_VERSION = "1.9"
#: How every renderer names the totals row: the sum over every site of the organisation
#: with at least min_group_size people, whichever sites a report shows (docs/privacy.md).
TOTALS_NAME = "All sites"


@dataclass(frozen=True)
class Segments:
    """People of a group by window segment; they add up to the group's headcount. None:
    hidden (docs/privacy.md: fewer than min_group_size people, or it would give such a
    figure back)."""

    inactive: int | None
    visitor: int | None
    reader: int | None
    reactor: int | None
    contributor: int | None


@dataclass(frozen=True)
class WeekPoint:
    """One ISO week (Monday start) of the window: distinct contributors and active people
    among the group's headcount, counting only days inside the window, and the distinct
    people who contributed from the window's first day to the end of that week (on the
    last week, the window's contributors: the figure the tipping point is judged on)."""

    week_start: date
    contributors: int | None
    active_users: int | None
    contributors_to_date: int | None


@dataclass(frozen=True)
class ForecastMark:
    """When a site is expected to reach one contributor-share mark (e.g. 0.10).

    `status`: "reached" (the report's share is already at or above it), "expected" (with
    `expected` and the range `earliest`..`latest`; `latest` None when part of the range
    never reaches it), "not_at_current_pace" (the trend never reaches it within five
    years), or "unknown" (no forecast: see Forecast.reason). Dates are Mondays' weeks,
    UTC."""

    share: float
    status: str
    expected: date | None
    earliest: date | None
    latest: date | None


@dataclass(frozen=True)
class ForecastCalibration:
    """How the forecast's ranges did on this organisation's own history (docs/metrics.md,
    "Self-calibration"): the report's weekly series cut at past weeks, each site forecast
    from what was known then. `checks`: the marks the later weeks can judge; `held`: of
    them, those whose ~80 % range held the crossing. `scope` "organisation": the ranges
    were adjusted from these checks, each side's width multiplied by `earlier` / `later`
    (1: unchanged); "generic": too few checks (fewer than `needed`), the ranges are the
    model's own, calibrated on generated organisations."""

    scope: str
    checks: int
    held: int
    needed: int
    earlier: float = 1.0
    later: float = 1.0
    cuts: int = 0


@dataclass(frozen=True)
class Forecast:
    """A site's tipping-point forecast (metrics/forecast.py, docs/metrics.md): `method`
    "bass", "linear" (the Bass fit was poor) or None (no forecast, `reason` says why);
    the fitted `parameters`; how many weekly points were used; `calibration`, how its
    ranges did on this organisation's history (None when not checked)."""

    method: str | None
    marks: tuple[ForecastMark, ...]
    parameters: dict[str, float | int | str]
    weeks_used: int
    reason: str | None
    calibration: ForecastCalibration | None = None


@dataclass(frozen=True)
class Conversations:
    """Threads (posts by the group's people in the window) and how they were answered
    (docs/metrics.md, "Conversations"). A count of 1 to min_group_size − 1 is None (0 is
    shown); a share or median whose base or numerator is hidden is None."""

    threads: int | None
    answered_share: float | None
    median_hours_to_first_reply: float | None
    unanswered_over_7_days: int | None
    #: every figure withheld whole (its small counts not even said to be small): a None
    #: is then any count from 0 (docs/privacy.md, "Disclosure plan")
    withheld: bool = False


@dataclass(frozen=True)
class Concentration:
    """How concentrated a group's posts and comments are among its window contributors
    (docs/metrics.md, "Concentration"): the share made by the top 1 % and top 10 % of
    contributors and the Gini coefficient of their counts; None when the top group, or the
    contributors, are fewer than the privacy threshold."""

    top_1_percent_share: float | None
    top_10_percent_share: float | None
    gini: float | None


@dataclass(frozen=True)
class PreviousFigures:
    """What a report for the previous window of the same length gives (its own last day's
    headcount): the contributor share and the active users; None when hidden or unknown."""

    contributor_share: float | None
    active_users: int | None


@dataclass(frozen=True)
class GroupFigures:
    """Figures of one site, or of the totals (then `site` is None)."""

    site: str | None
    suppressed: bool
    headcount: int | None
    active_users: int | None
    segments: Segments | None
    contributor_share: float | None
    status: str | None  # below | tipping | tipped | unknown (contributors hidden)
    progress: float | None  # contributor_share / tipping_point.high
    ambassadors: int | None
    #: Weekly points; None when the data has no weekly detail (activity_grain "period"
    #: without events): unknown, not zero.
    series: tuple[WeekPoint, ...] | None = ()
    forecast: Forecast | None = None
    #: Window contributors who contributed in at least 9 of the 12 weeks ending with
    #: as_of's week (metrics/habit.py), and the others.
    habitual_contributors: int | None = None
    occasional_contributors: int | None = None
    #: The peers' figures (docs/metrics.md): None where hidden, or where the report's
    #: sources lack what they need (activity periods: no posts, replies nor targets).
    conversations: Conversations | None = None
    #: Replies and reactions by the group's people toward other sites' people, over all
    #: theirs (toward the sites shown).
    cross_site_share: float | None = None
    newly_active: int | None = None
    new_contributors: int | None = None
    lost_contributors: int | None = None
    returning_contributors: int | None = None
    previous: PreviousFigures | None = None
    #: (contributor_share − previous.contributor_share) × 100, percentage points.
    change_points: float | None = None
    concentration: Concentration | None = None
    #: The figures hidden by the privacy rule (docs/privacy.md), by their JSON path
    #: ("segments.reader", "series[3].contributors", "new_contributors"...).
    hidden: tuple[str, ...] = ()
    #: Those of `hidden` that are counts of 1 to min_group_size − 1 people (shown "< k");
    #: the others are hidden so that no such count can be recomputed.
    fewer_than_k: tuple[str, ...] = ()
    #: Those of `hidden` withheld with their whole group (a site's segments, weekly series,
    #: movement...): nothing is said of them, not even "fewer than k" — any count from 0.
    withheld: tuple[str, ...] = ()
    #: When the contributors are hidden (1 to min_group_size − 1 of them): the share is
    #: certainly below this (min_group_size / headcount, rounded up to 0.1 %).
    contributor_share_below: float | None = None


@dataclass(frozen=True)
class AmbassadorEffect:
    """The ambassadors' effect on the contributor share (docs/metrics.md, "Ambassadors"):
    a site's is its first ambassador's arrival measured as an action (effects.py, against
    the sites with no action of their own around it), the pooled one the mean over the
    sites measured; in percentage points. An association, never proof. `estimate_pp` None
    when not estimable (`reason`)."""

    estimate_pp: float | None
    ci80_pp: tuple[float, float] | None
    ci95_pp: tuple[float, float] | None
    treated_sites: int
    control_sites: int
    weeks_before: int
    weeks_after: int
    reason: str | None


@dataclass(frozen=True)
class AmbassadorSite:
    """The ambassador network of one site (None everywhere when the site is suppressed).

    `target`: ambassadors the site should have (one per `per_employees` employees,
    rounded up); `active_ambassadors`: those who are contributors in the window (None when
    the site has fewer ambassadors than the privacy threshold: it would reveal individuals'
    activity). Reach (None unless computed: `rse-adoption ambassadors`):
    `reached_colleagues`, people of the site, not ambassadors, who reacted to or commented
    on an ambassador's content in the window; `new_contributors`, people whose first
    contribution of the lookback fell in the window, and how many of them had interacted
    with an ambassador before it. `effect`: this site's difference in differences."""

    site: str
    suppressed: bool
    headcount: int | None
    ambassadors: int | None
    ambassadors_per_100: float | None
    target: int | None
    active_ambassadors: int | None
    reached_colleagues: int | None = None
    new_contributors: int | None = None
    new_contributors_after_ambassador: int | None = None
    effect: AmbassadorEffect | None = None
    #: the disclosure plan withheld the site's active ambassadors and reach whole: a None
    #: figure is then any count from 0 (docs/privacy.md, "Disclosure plan")
    withheld: bool = False


@dataclass(frozen=True)
class Ambassadors:
    """Every site's ambassador figures, the target they are held to, and the pooled
    effect estimate."""

    per_employees: int
    sites: tuple[AmbassadorSite, ...]
    effect: AmbassadorEffect
    reach_computed: bool
    #: site -> ambassadors' names, only with `ambassadors --names` (and kept names).
    roster: dict[str, list[str]] | None = None
    #: Ambassadors of the sites shown, and how many of them contribute (None when hidden:
    #: fewer than the privacy threshold, or it would give a hidden site's count back).
    total_ambassadors: int = 0
    active_ambassadors_in_sites_shown: int | None = None


@dataclass(frozen=True)
class CandidateEvidence:
    """What a candidate ambassador's rank rests on (docs/metrics.md, "Candidates"):
    `active_weeks` of the last CANDIDATE_WEEKS with a post or comment; distinct colleagues
    of the site who replied to, reacted to or read their contributions in the window
    (`colleagues`), of whom replied or reacted (`colleagues_answering`) and made their
    first contribution then or after (`drawn_in`); the departments of those who replied or
    reacted; the replies they gave others; distinct nominators (None: no file)."""

    active_weeks: int
    colleagues: int
    colleagues_answering: int
    drawn_in: int
    departments: int
    replies_given: int
    nominations: int | None = None
    #: Posts and comments of the window, and the replies and reactions they drew from
    #: colleagues of the site (the answer rate of the score).
    contributions: int = 0
    answers_received: int = 0


@dataclass(frozen=True)
class Candidate:
    """One person to consider inviting: `person` is the store's pseudonymous key;
    `user_id` and `name` only with `--names`. `active`: contributed in the window (a
    nominee who did not is listed, marked false)."""

    rank: int
    person: int
    score: float
    evidence: CandidateEvidence
    active: bool = True
    user_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class CandidateSite:
    """One site's shortlist. `reason` (a messages.Message) says why it has no candidates
    (suppressed, nobody eligible, no targets in the events, nobody answered)."""

    site: str
    suppressed: bool
    headcount: int | None
    ambassadors: int | None
    active_ambassadors: int | None
    target: int | None
    to_recruit: int | None
    shortlist_size: int | None
    eligible: int | None
    candidates: tuple[Candidate, ...] = ()
    reason: str | None = None


@dataclass(frozen=True)
class AmbassadorCandidates:
    """`ambassadors --candidates`: each site's shortlist, with how it was made."""

    sites: tuple[CandidateSite, ...]
    weeks: int
    names: bool
    nominations_file: str | None = None
    nominations_rows: int | None = None
    nominations_unmatched: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class CommunityLeader:
    """A founder or animator of a community: `person` is the pseudonymous key;
    `repliers`: distinct members who replied to their posts in the window; `first_day`:
    their first contribution there."""

    person: int
    repliers: int
    first_day: date | None = None
    user_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class CommunityLeaders:
    """`communities --leaders`: one community (over the sites shown) with at least
    min_group_size active members, its lifecycle status, founder and animators."""

    community: str
    active_members: int | None
    status: str | None
    founder: CommunityLeader | None
    animators: tuple[CommunityLeader, ...]


@dataclass(frozen=True)
class Community:
    """One community, at one site (`site`) or over every site shown (`site` None). A
    count is None when hidden (docs/privacy.md); a suppressed community has None in all."""

    name: str
    site: str | None
    suppressed: bool
    active_members: int | None
    contributors: int | None
    posts: int | None
    replies: int | None
    answered_share: float | None  # of posts with a content id; None without any
    weekly_active: tuple[int | None, ...] | None
    trend: str | None  # rising | steady | falling
    #: Its threads (posts by the people counted, in the window) and their answers.
    conversations: Conversations | None = None
    #: Days from its last post (up to as_of, within the report's lookback) to as_of, and
    #: "quiet" when more than communities.quiet_days, else "active" (None: no post seen).
    days_since_last_post: int | None = None
    status: str | None = None
    #: the disclosure plan withheld its counts whole (small ones and zeros alike): a None
    #: is then any count from 0 (docs/privacy.md)
    withheld: bool = False


@dataclass(frozen=True)
class SurvivalCohort:
    """Communities whose first post fell in `month` (YYYY-MM), and the share of them still
    active (at least min_group_size people with an event) 1, 2, 3... calendar months later,
    for each month that ended by as_of."""

    month: str
    communities: int
    active_after: tuple[float, ...]


@dataclass(frozen=True)
class Interactions:
    """Replies and reactions inside the window between the people of the sites shown:
    `matrix[from_site][to_site]` counts those whose actor belongs to from_site and whose
    target person to to_site (None: 1 to min_group_size − 1, or a figure that would give
    one back)."""

    window_start: date
    window_end: date
    matrix: dict[str, dict[str, int | None]] | None
    #: Why there is no matrix (no events, or none names a target person), else None.
    reason: str | None = None


@dataclass(frozen=True)
class SiteTransitions:
    """Segments from the previous window to the current one, for one site (`site` None:
    every site shown). `matrix[previous][current]` counts people (None: fewer than the
    privacy threshold, but not zero); `rates` are shares of the previous segment (None when
    that segment had fewer people than the threshold). docs/metrics.md, "Transitions"."""

    site: str | None
    suppressed: bool
    matrix: dict[str, dict[str, int | None]] | None
    rates: dict[str, float | None]
    #: the disclosure plan withheld the whole matrix (its zeros too): a None cell is then
    #: any count from 0, not necessarily 1 or more (docs/privacy.md, "Disclosure plan")
    withheld: bool = False


#: The give-and-receive personas, in the order every output lists them (docs/metrics.md).
PERSONAS: tuple[str, ...] = ("engager", "catalyst", "responder", "broadcaster", "observer")


@dataclass(frozen=True)
class LivelyCommunities:
    """A shown site's most and least lively communities (by active members, then posts and
    replies; hidden communities are not ranked)."""

    site: str | None
    most: tuple[str, ...]
    least: tuple[str, ...]


@dataclass(frozen=True)
class SitePersonas:
    """People of one site (`site` None: every site shown) by persona (metrics/personas.py);
    a non-zero count below the privacy threshold is None."""

    site: str | None
    suppressed: bool
    personas: dict[str, int | None] | None
    #: the disclosure plan withheld every persona count of the site (its zeros too): a None
    #: count is then any count from 0 (docs/privacy.md, "Disclosure plan")
    withheld: bool = False


@dataclass(frozen=True)
class ActivityPeriod:
    """Per-person counts of one export format over a period that the report used (its
    window is exactly that period, or the period is one of the days or weeks tiling it):
    `people` rows of `source_format`."""

    source_format: str
    period_days: int
    refresh_date: date
    people: int


#: Below this share of active people listed, the directory does not match the exports.
DIRECTORY_MATCH_WARNING = 0.5


@dataclass(frozen=True)
class Report:
    """A whole report: parameters, provenance of the headcount, sites sorted by name, totals."""

    as_of: date
    window_days: int
    window_start: date
    tipping_low: float
    tipping_high: float
    min_group_size: int
    headcount_source: str  # "directory" | "members" | "activity"
    unlisted_active_users: int
    sites: tuple[GroupFigures, ...]
    totals: GroupFigures
    data_first_day: date | None
    data_last_day: date | None
    generated_at: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    activity_periods: tuple[ActivityPeriod, ...] = ()
    #: The finest detail every source of the report has (docs/metrics.md, "Grain"):
    #: "events", "day", "week" or "period" (no weekly detail from the periods).
    activity_grain: str = "events"
    ambassadors: Ambassadors | None = None
    #: Communities overall and per site (only when asked: `rse-adoption communities`), and
    #: each shown site's most and least lively ones.
    communities: tuple[Community, ...] = ()
    lively_communities: tuple[LivelyCommunities, ...] = ()
    #: Movement between segments since the previous window (only when asked:
    #: `rse-adoption transitions`), and that window's first and last day.
    transitions: tuple[SiteTransitions, ...] = ()
    previous_window: tuple[date, date] | None = None
    #: Personas (only when asked: `rse-adoption personas`); `personas_reason` says why
    #: there are none (no interaction data).
    personas: tuple[SitePersonas, ...] = ()
    personas_reason: str | None = None
    #: Interactions between the sites shown (every report), and the survival of
    #: communities by monthly cohort (`rse-adoption communities`).
    interactions: Interactions | None = None
    community_survival: tuple[SurvivalCohort, ...] = ()
    communities_quiet_days: int = 7
    #: Share (0..1) of the window's active people whom the directory lists (None: no
    #: directory, or nobody active); below DIRECTORY_MATCH_WARNING the report leads with it.
    directory_match_share: float | None = None
    schema_version: str = SCHEMA_VERSION
    #: Whom to invite as ambassadors (only `ambassadors --candidates`) and the leaders of
    #: communities (only `communities --leaders`); personal data, never in `report`.
    ambassador_candidates: AmbassadorCandidates | None = None
    community_leaders: tuple[CommunityLeaders, ...] | None = None
    community_leaders_names: bool = False
    #: The logged actions and ambassadors' arrivals with their effect (metrics/effects.py).
    interventions: tuple[ActionEffect, ...] = ()
    effects_weeks_after: int = 8

    @property
    def directory_mismatch(self) -> bool:
        """The directory lists under half the window's active people: every site's figures
        are wrong until it is fixed, so renderers say this first."""
        share = self.directory_match_share
        return share is not None and share < DIRECTORY_MATCH_WARNING


@dataclass(frozen=True)
class BacktestCase:
    """One tipping mark of one site, forecast from the history up to `cut` (a Sunday: the
    report of that day) and checked against the weeks that followed (docs/metrics.md,
    "Backtest"). `crossed`: Monday of the first later week whose contributor share reached
    the mark (None: not within the data). `covered`: the crossing fell in
    `earliest`..`latest` (None when the data cannot tell yet); `error_days`: expected minus
    crossed (positive: the forecast was late)."""

    site: str
    cut: date
    share: float
    share_at_cut: float
    status: str
    expected: date | None
    earliest: date | None
    latest: date | None
    crossed: date | None
    covered: bool | None
    error_days: int | None
    followed_weeks: int | None = None


@dataclass(frozen=True)
class BacktestSummary:
    """What the cases of a backtest add up to. `dated`: marks forecast with a date;
    `decided`: those the data can judge (crossed, or the range ended before the data);
    `coverage` = covered / decided. `crossed`: marks not reached at their cut that the
    later data shows reached; `crossed_called_unreachable`: of those, the ones called
    `not_at_current_pace`. `unreachable_calls` / `unreachable_reached`: such calls, and
    those the data shows reached within `follow_weeks`. `inverted`: ranges whose earliest
    is after their latest (a defect: always 0). Errors in days over the dated marks that
    crossed: median absolute, mean, median (the bias; positive is late), largest late and
    early. `missed_early` / `missed_late`: decided marks the range missed because the
    crossing came before its earliest / after its latest (or never came while the range
    passed). `unreachable_pending`: unreachable calls not reached yet whose cut is
    followed by fewer than `follow_weeks` weeks of data (not counted in
    `unreachable_calls`: the data cannot judge them yet)."""

    cases: int
    dated: int
    decided: int
    covered: int
    coverage: float | None
    open_ended: int
    crossed: int
    crossed_called_unreachable: int
    unreachable_calls: int
    unreachable_reached: int
    inverted: int
    median_abs_error_days: float | None
    mean_error_days: float | None
    max_late_days: int | None
    max_early_days: int | None
    median_error_days: float | None = None
    missed_early: int = 0
    missed_late: int = 0
    unreachable_pending: int = 0


@dataclass(frozen=True)
class ForecastBacktest:
    """`rse-adoption forecast --backtest`: the store's history cut every `every_weeks`
    weeks, each site forecast with what was known then, and checked against what followed.
    The weekly series is the forecast's (docs/metrics.md, "Forecast") over the people of
    the store's last day."""

    data_first_day: date
    data_last_day: date
    window_days: int
    launch_date: date | None
    every_weeks: int
    follow_weeks: int
    marks: tuple[float, ...]
    cuts: tuple[date, ...]
    sites: tuple[str, ...]
    cases: tuple[BacktestCase, ...]
    summary: BacktestSummary
    by_site: dict[str, BacktestSummary]
