"""The disclosure plan's decision applied to the report (docs/privacy.md, "Disclosure
plan"): every figure as `disclosure.publish` decided to publish it, hidden ones None, each
group saying which of its figures are hidden, which read "fewer than k" and which were
withheld whole. Split from metrics/disclosure.py, which declares the figures.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..model import (
    AmbassadorSite,
    CandidateSite,
    Forecast,
    GroupFigures,
    PreviousFigures,
    Report,
    Segments,
    SitePersonas,
    SiteTransitions,
    WeekPoint,
)
from .segments import SEGMENTS
from .transitions import RATES

if TYPE_CHECKING:
    from .disclosure import _Plan

MOVEMENT = ("newly_active", "new_contributors", "lost_contributors", "returning_contributors")
WEEKLY = ("contributors", "active_users", "contributors_to_date")


def apply(
    report: Report,
    plan: _Plan,
    published: dict[Hashable, int | float | None],
    shown: list[GroupFigures],
    weeks: int,
    previous: dict[str, dict[str, int]],
) -> Report:
    """`report` with every figure as the plan publishes it (`published`: None when
    hidden), each group saying which of its figures are hidden, which read "fewer than
    k" and which were withheld whole."""
    sites = tuple(_group_figures(g, g.site, report, plan, published) for g in report.sites)
    totals = _group_figures(report.totals, None, report, plan, published)
    withheld = plan.check.withheld()
    transitions = tuple(
        _transitions(t, published, ("transition", t.site) in withheld) for t in report.transitions
    )
    personas = tuple(
        _personas(p, published, ("persona", p.site) in withheld) for p in report.personas
    )
    ambassadors = report.ambassadors
    if ambassadors is not None:
        ambassadors = replace(
            ambassadors,
            sites=tuple(_ambassador(a, published, plan) for a in ambassadors.sites),
            active_ambassadors_in_sites_shown=_int(published.get((None, "active ambassadors"))),
        )
    candidates = report.ambassador_candidates
    if candidates is not None:
        contributors = {g.site: g.segments.contributor for g in sites if g.segments is not None}
        candidates = replace(
            candidates,
            sites=tuple(
                _candidates(c, contributors.get(c.site), published, plan.k)
                for c in candidates.sites
            ),
        )
    return replace(
        report,
        sites=sites,
        totals=totals,
        transitions=transitions,
        personas=personas,
        ambassadors=ambassadors,
        ambassador_candidates=candidates,
    )


def _candidates(
    c: CandidateSite, contributors: int | None, published: dict[Hashable, Any], k: int
) -> CandidateSite:
    """A site's shortlist with its counts as the plan publishes them: `eligible` (the
    window's contributors, less the active ambassadors and those leaving) is shown only
    when it gives nothing back — the site's contributors and active ambassadors shown (or
    no ambassador), `eligible` and those leaving each 0 or at least k; its active
    ambassadors are the plan's."""
    if c.suppressed:
        return c
    found = published.get((c.site, "active ambassadors"))
    active = None if found is None else int(found)
    eligible = c.eligible
    if active is None and c.ambassadors:
        eligible = None
    if contributors is None or eligible is None or 0 < eligible < k:
        eligible = None
    elif 0 < contributors - (active or 0) - eligible < k:  # those leaving
        eligible = None
    return replace(c, eligible=eligible, active_ambassadors=active)


@dataclass
class _Group:
    """One group's (a site's, or the totals' when `group` is None) published figures, and
    the labels of those hidden so far: all of them, those that read "fewer than k" (1 to
    k − 1 people hidden for their own sake), those withheld with their whole group."""

    plan: _Plan
    published: dict[Hashable, int | float | None]
    group: str | None
    hidden: list[str] = field(default_factory=list)
    small: list[str] = field(default_factory=list)
    whole: list[str] = field(default_factory=list)

    def value(self, name: Hashable) -> Any:
        """The figure `name` as published (None when hidden or never declared)."""
        return self.published.get((self.group, name))

    def take(self, name: Hashable, label: str, true: Any) -> Any:
        """The figure `name` as published, noting it under `label` when hidden; None
        when it has no true value (nothing to show, nothing hidden)."""
        if true is None:
            return None
        out = self.value(name)
        if out is None:
            self.hidden.append(label)
            withheld = self.plan.check.is_withheld((self.group, name))
            if withheld:
                self.whole.append(label)
            elif isinstance(true, int) and 0 < true < self.plan.k:
                self.small.append(label)
        return out


def _group_figures(
    g: GroupFigures,
    group: str | None,
    report: Report,
    plan: _Plan,
    published: dict[Hashable, int | float | None],
) -> GroupFigures:
    """A site's (or the totals') figures as published; a suppressed group, or a site the
    plan did not declare, as it is."""
    if g.suppressed or g.segments is None or (group is not None and group not in plan.sites):
        return g
    k = plan.k
    r = _Group(plan, published, group)
    segments = Segments(**{s: r.take(s, f"segments.{s}", getattr(g.segments, s)) for s in SEGMENTS})
    headcount = g.headcount or 0
    share = r.take("contributor_share", "contributor_share", g.contributor_share)
    if share is not None and segments.contributor is None:
        # hidden with its count (share × headcount gives it back); hiding more is safe
        share = None
        r.hidden.append("contributor_share")
    changes: dict[str, Any] = {}
    if share is None:
        if plan.check.is_withheld((group, "contributor")):
            # its group withheld: not even "fewer than k" may be said
            changes |= {"status": "unknown", "contributor_share_below": None}
        else:
            changes |= _bounded_status(g, report, segments.contributor, k)
        r.hidden.append("progress")
    series = g.series
    if series:
        series = tuple(
            WeekPoint(
                p.week_start,
                *(r.take((n, w), f"series[{w}].{n}", getattr(p, n)) for n in WEEKLY),
            )
            for w, p in enumerate(series)
        )
    for name in MOVEMENT:
        changes[name] = r.take(name, name, getattr(g, name))
    if _forecast_reveals(g.forecast, segments.contributor is None, series or ()):
        changes["forecast"] = None
        r.hidden.append("forecast")
    before = _previous(g, r)
    change = g.change_points
    if change is not None and (share is None or before is None or before.contributor_share is None):
        change = None
        r.hidden.append("change_points")
    habitual = r.take("habitual", "habitual_contributors", g.habitual_contributors)
    occasional = r.take("occasional", "occasional_contributors", g.occasional_contributors)
    active_users = r.take("active_users", "active_users", g.active_users)
    return replace(
        g,
        segments=segments,
        active_users=active_users,
        contributor_share=share,
        progress=None if share is None else share / report.tipping_high,
        habitual_contributors=habitual,
        occasional_contributors=occasional,
        series=series,
        previous=before,
        change_points=change,
        hidden=tuple(r.hidden),
        fewer_than_k=tuple(r.small),
        withheld=tuple(r.whole),
        **{"headcount": headcount, **changes},
    )


def _forecast_reveals(
    forecast: Forecast | None, contributors_hidden: bool, series: Sequence[WeekPoint]
) -> bool:
    """Whether a forecast would give a hidden count back: it is fitted on the weekly
    contributor shares (a flat line's intercept × headcount is the contributors; two
    dated marks give the line), so it is withheld when the contributors are hidden, or a
    week it was fitted on (the last `parameters["weeks"]` of a linear trend, the last
    `weeks_used` of a Bass fit) has its contributors to date hidden. Marks all "reached"
    say only what the shown share says."""
    if forecast is None:
        return False
    if contributors_hidden:
        return True
    if all(m.status == "reached" for m in forecast.marks):
        return False
    fitted = forecast.weeks_used
    if forecast.method == "linear":
        fitted = int(forecast.parameters.get("weeks", fitted))
    return any(p.contributors_to_date is None for p in series[max(len(series) - fitted, 0) :])


def _previous(g: GroupFigures, r: _Group) -> PreviousFigures | None:
    """The previous window's figures as published, noting those hidden in `r`."""
    before = g.previous
    if before is not None:
        active = r.value("prev active")
        rate = r.value("prev share")
        before = PreviousFigures(
            contributor_share=None if rate is None else float(rate),
            active_users=None if active is None else int(active),
        )
        if (
            before.contributor_share is None
            and g.previous
            and g.previous.contributor_share is not None
        ):
            r.hidden.append("previous.contributor_share")
        if before.active_users is None and g.previous and g.previous.active_users is not None:
            r.hidden.append("previous.active_users")
            if r.plan.check.is_withheld((r.group, "prev active")):
                r.whole.append("previous.active_users")
    return before


def _bounded_status(
    g: GroupFigures, report: Report, contributors: int | None, k: int
) -> dict[str, Any]:
    """A hidden share as the bound it is certain to respect, and the status when that
    bound decides it: with 1 to k − 1 contributors of `headcount`, the share lies in
    1/headcount .. (k − 1)/headcount."""
    headcount = g.headcount or 0
    true = g.segments.contributor if g.segments else None
    if contributors is not None or not headcount or true is None or not 0 < true < k:
        return {"status": "unknown", "contributor_share_below": None}
    from .sites import tipping_status

    low = tipping_status(1 / headcount, report.tipping_low, report.tipping_high)
    high = tipping_status((k - 1) / headcount, report.tipping_low, report.tipping_high)
    return {
        "status": low if low == high else "unknown",
        # the next 0.1 % step above (k − 1) / headcount: the bound the status was decided
        # on (k / headcount, 11.7 % for 43 people, read as if inside a 10–15 % band)
        "contributor_share_below": (1000 * (k - 1) // headcount + 1) / 1000,
    }


def _int(v: int | float | None) -> int | None:
    return None if v is None else int(v)


def _transitions(
    t: SiteTransitions, published: dict[Hashable, Any], withheld: bool
) -> SiteTransitions:
    if t.suppressed or t.matrix is None:
        return t
    matrix = {
        a: {
            b: _int(published.get((t.site, (a, b)))) if t.matrix[a][b] is not None else None
            for b in SEGMENTS
        }
        for a in SEGMENTS
    }
    rates = {name: published.get((t.site, name)) for name in RATES}
    return replace(
        t,
        matrix=matrix,
        rates={n: None if v is None else float(v) for n, v in rates.items()},
        withheld=withheld,
    )


def _personas(p: SitePersonas, published: dict[Hashable, Any], withheld: bool) -> SitePersonas:
    if p.suppressed or p.personas is None:
        return p
    return replace(
        p,
        personas={n: _int(published.get((p.site, ("persona", n)))) for n in p.personas},
        withheld=withheld,
    )


def _ambassador(a: AmbassadorSite, published: dict[Hashable, Any], plan: _Plan) -> AmbassadorSite:
    if a.suppressed or a.site not in plan.sites:
        return a

    def reach(name: str) -> int | None:
        if getattr(a, name) is None:
            return None
        return _int(published.get((a.site, ("reach", name))))

    return replace(
        a,
        active_ambassadors=_int(published.get((a.site, "active ambassadors"))),
        reached_colleagues=reach("reached_colleagues"),
        new_contributors=reach("new_contributors"),
        new_contributors_after_ambassador=reach("new_contributors_after_ambassador"),
        withheld=plan.check.is_withheld((a.site, "active ambassadors"))
        or plan.check.is_withheld((a.site, ("reach", "new_contributors"))),
    )
