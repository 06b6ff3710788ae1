"""The disclosure plan: one decision of what to hide, for every figure of every command.

docs/privacy.md, "Disclosure plan". A report is first computed with its true counts (the
analyses below run with no suppression of their own), over every site of the organisation
whatever `--site` asks; `publish` then declares every figure the commands can show —
the report's site and totals figures, weekly series, movement and previous window, the
transitions matrix and its rates, personas, ambassadors and their reach — as sums of the
same atoms, with the identities that link them (segments add up to the headcount, a
transitions column to the current segment, its contributor row to the lost contributors,
personas to the contributors and observers, a site's new contributors counted by movement
and by the ambassadors' reach), and decides once, in one suppression.Disclosure, which to
hide. Every command and every format reads the same published Report, and `select` only
then keeps the sites asked for: totals are the organisation's (the sites of at least k
people), so subsets of sites cannot be differenced.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..model import (
    AmbassadorSite,
    GroupFigures,
    Report,
    SitePersonas,
    SiteTransitions,
)
from ..suppression import Disclosure
from .disclosure_apply import MOVEMENT, WEEKLY, apply
from .segments import SEGMENTS
from .transitions import RATES

#: `keep` of each figure: secondary suppression hides the lowest first. A totals figure
#: goes just before the same figure of a site.
KEEP = {
    "headcount": 100.0,
    "ambassadors": 100.0,
    "contributor": 50.0,
    "active_users": 10.0,
    "segment": 5.0,
    "habit": 3.0,
    "movement": 2.0,
    "previous": 2.0,
    "ambassador_figure": 2.0,
    "series": 1.0,
    "transition": 1.0,
    "persona": 1.0,
}
#: What is withheld whole when a group's own hidden cells would pin a hidden count.
GROUPS = {"contributor": "segment", "active_users": "segment", "habit": "segment"}
REACH = ("reached_colleagues", "new_contributors", "new_contributors_after_ambassador")


#: Which group to withhold first when small cells alone pin a hidden count.
WITHHOLD_ORDER = (
    "transition",
    "persona",
    "series",
    "movement",
    "ambassador_figure",
    "previous",
    "segment",
)


class _Check(Disclosure):
    def withhold_rank(self, group: Hashable) -> int:
        kind = group[0] if isinstance(group, tuple) and group else None
        rank = WITHHOLD_ORDER.index(kind) if kind in WITHHOLD_ORDER else len(WITHHOLD_ORDER)
        site_level = isinstance(group, tuple) and len(group) > 1 and group[1] is not None
        return 2 * rank + (0 if site_level else 1)


@dataclass
class _Plan:
    k: int
    check: Disclosure
    atoms: dict[Hashable, int] = field(default_factory=dict)
    sites: list[str] = field(default_factory=list)

    def atom(self, key: Hashable, value: int | None) -> int:
        self.atoms[key] = self.check.atom(value or 0)
        return self.atoms[key]

    def form(self, group: str | None, name: Hashable) -> dict[int, int]:
        """The atoms of figure `name` of one site, or of every site (group None)."""
        members = self.sites if group is None else [group]
        out: dict[int, int] = {}
        for s in members:
            a = self.atoms.get((s, name))
            if a is not None:
                out[a] = out.get(a, 0) + 1
        return out

    def count(self, group: str | None, name: Hashable, kind: str, **options: Any) -> None:
        keep = KEEP[kind] - _t(group, kind)
        options.setdefault("group", (GROUPS.get(kind, kind), group))
        self.check.count((group, name), self.form(group, name), keep=keep, **options)


def _add(*forms: dict[int, int], minus: Sequence[dict[int, int]] = ()) -> dict[int, int]:
    out: dict[int, int] = {}
    for f in forms:
        for a, w in f.items():
            out[a] = out.get(a, 0) + w
    for f in minus:
        for a, w in f.items():
            out[a] = out.get(a, 0) - w
    return {a: w for a, w in out.items() if w}


def publish(report: Report, previous: dict[str, dict[str, int]], k: int) -> Report:
    """The report as every command shows it: each figure of 1 to k − 1 people hidden, and
    whatever would give one back (docs/privacy.md). `report` holds the true counts of the
    sites shown (sites under k people are already suppressed whole); `previous` each site's
    previous-window headcount, active users and contributors (movement)."""
    plan = _Plan(k, _Check(k))
    shown = [g for g in report.sites if not g.suppressed and g.segments is not None]
    plan.sites = [g.site or "" for g in shown]
    transitions = {t.site: t for t in report.transitions if not t.suppressed and t.site}
    personas = {p.site: p for p in report.personas if not p.suppressed and p.site}
    ambassadors = (
        {a.site: a for a in report.ambassadors.sites if not a.suppressed}
        if report.ambassadors
        else {}
    )
    weeks = max((len(g.series or ()) for g in shown), default=0)
    for g in shown:
        _declare_site(plan, g, transitions.get(g.site or ""), personas.get(g.site or ""))
        _declare_previous(plan, g, previous.get(g.site or ""))
        _declare_ambassadors(plan, g, ambassadors.get(g.site or ""))
    groups: list[str | None] = [*plan.sites, None] if shown else []
    for group in groups:
        _publish_group(plan, group, report, weeks, shown, previous)
    published = plan.check.published()
    return apply(report, plan, published, shown, weeks, previous)


def _declare_site(
    plan: _Plan, g: GroupFigures, t: SiteTransitions | None, p: SitePersonas | None
) -> None:
    site = g.site or ""
    assert g.segments is not None
    seg = {s: plan.atom((site, s), getattr(g.segments, s)) for s in SEGMENTS}
    if g.habitual_contributors is not None:
        plan.atom((site, "habitual"), g.habitual_contributors)
    plan.atom((site, "ambassadors"), g.ambassadors)
    for w, point in enumerate(g.series or ()):
        for name in WEEKLY:
            plan.atom((site, (name, w)), getattr(point, name))
    if g.series:
        last = len(g.series) - 1
        if g.series[last].contributors_to_date == g.segments.contributor:
            plan.check.identity(
                (site, "to date"),
                _add(
                    plan.form(site, ("contributors_to_date", last)), minus=[{seg["contributor"]: 1}]
                ),
            )
    for name in MOVEMENT:
        if getattr(g, name) is not None:
            plan.atom((site, name), getattr(g, name))
    if t is not None and t.matrix is not None:
        _declare_transitions(plan, g, t, seg)
    if p is not None and p.personas is not None:
        _declare_personas(plan, g, p, seg)


def _declare_transitions(
    plan: _Plan, g: GroupFigures, t: SiteTransitions, seg: dict[str, int]
) -> None:
    """A site's transitions matrix (its cells as atoms), tied to its segments (`seg`: their
    atoms) and movement by the identities that hold: a column adds up to a current
    segment, the contributor row's other cells to the lost contributors, the started ones
    to the new plus the returning contributors."""
    site = g.site or ""
    assert t.matrix is not None and g.segments is not None
    cells = {(a, b): plan.atom((site, (a, b)), t.matrix[a][b]) for a in SEGMENTS for b in SEGMENTS}
    for b in SEGMENTS:  # the matrix's people are the headcount, by their current segment
        if sum(t.matrix[a][b] or 0 for a in SEGMENTS) == getattr(g.segments, b):
            plan.check.identity(
                (site, "column", b),
                _add({cells[(a, b)]: 1 for a in SEGMENTS}, minus=[{seg[b]: 1}]),
            )
    stopped = {cells[("contributor", b)]: 1 for b in SEGMENTS if b != "contributor"}
    if g.lost_contributors is not None and g.lost_contributors == sum(
        t.matrix["contributor"][b] or 0 for b in SEGMENTS if b != "contributor"
    ):
        plan.check.identity(
            (site, "lost"), _add(stopped, minus=[plan.form(site, "lost_contributors")])
        )
    started = {cells[(a, "contributor")]: 1 for a in SEGMENTS if a != "contributor"}
    began = sum(t.matrix[a]["contributor"] or 0 for a in SEGMENTS if a != "contributor")
    if (
        g.new_contributors is not None
        and g.returning_contributors is None
        and began >= g.new_contributors
    ):
        # returning contributors unknown to the tool (history too short), but anyone
        # knows that those who started are the new plus the returning ones: an atom no
        # output shows, at least 0
        hidden_returning = plan.atom((site, "returning, unknown"), began - g.new_contributors)
        plan.check.identity(
            (site, "started, returning unknown"),
            _add(
                started,
                minus=[plan.form(site, "new_contributors"), {hidden_returning: 1}],
            ),
        )
    if (
        g.new_contributors is not None
        and g.returning_contributors is not None
        and g.new_contributors + g.returning_contributors
        == sum(t.matrix[a]["contributor"] or 0 for a in SEGMENTS if a != "contributor")
    ):
        plan.check.identity(
            (site, "started"),
            _add(
                started,
                minus=[
                    plan.form(site, "new_contributors"),
                    plan.form(site, "returning_contributors"),
                ],
            ),
        )


def _declare_personas(plan: _Plan, g: GroupFigures, p: SitePersonas, seg: dict[str, int]) -> None:
    """A site's personas (atoms), tied to its segments (`seg`: their atoms) where they add
    up: the giving personas to the contributors, the observers to the other active."""
    site = g.site or ""
    assert p.personas is not None and g.segments is not None
    atoms = {name: plan.atom((site, ("persona", name)), n) for name, n in p.personas.items()}
    giving = {atoms[n]: 1 for n in atoms if n != "observer"}
    if sum(p.personas[n] or 0 for n in p.personas if n != "observer") == g.segments.contributor:
        plan.check.identity((site, "giving"), _add(giving, minus=[{seg["contributor"]: 1}]))
    active = {seg[s]: 1 for s in SEGMENTS if s not in ("inactive", "contributor")}
    if "observer" in atoms and p.personas["observer"] == sum(
        getattr(g.segments, s) for s in SEGMENTS if s not in ("inactive", "contributor")
    ):
        plan.check.identity((site, "observing"), _add({atoms["observer"]: 1}, minus=[active]))


def _declare_previous(plan: _Plan, g: GroupFigures, before: dict[str, int] | None) -> None:
    """The previous window's figures of a site, tied to its current headcount and its
    transitions matrix by what anyone could know (who joined or left: the difference)."""
    if before is None:
        return
    site = g.site or ""
    ph = plan.atom((site, "prev headcount"), before["headcount"])
    pa = plan.atom((site, "prev active"), before["active"])
    pc = plan.atom((site, "prev contributors"), before["contributors"])
    plan.check.identity(
        (site, "prev headcount = headcount + change"),
        _add({ph: 1}, minus=[plan.form(site, s) for s in SEGMENTS]),
    )
    row = [plan.form(site, ("contributor", b)) for b in SEGMENTS]
    if all(row):
        # (keys of their own: the figures (site, "prev contributors") are declared later)
        plan.check.identity((site, "prev contributors = row"), _add({pc: 1}, minus=row))
    active = [plan.form(site, (a, b)) for a in SEGMENTS if a != "inactive" for b in SEGMENTS]
    if all(active):
        plan.check.identity((site, "prev active = rows"), _add({pa: 1}, minus=active))


def _declare_ambassadors(plan: _Plan, g: GroupFigures, a: AmbassadorSite | None) -> None:
    if a is None:
        return
    site = g.site or ""
    plan.atom((site, "active ambassadors"), a.active_ambassadors)
    for name in REACH:
        value = getattr(a, name)
        if value is not None:
            plan.atom((site, ("reach", name)), value)
    if a.new_contributors is not None and a.new_contributors == g.new_contributors:
        plan.check.identity(
            (site, "new contributors twice"),
            _add(
                plan.form(site, ("reach", "new_contributors")),
                minus=[plan.form(site, "new_contributors")],
            ),
        )


def _publish_group(
    plan: _Plan,
    group: str | None,
    report: Report,
    weeks: int,
    shown: list[GroupFigures],
    previous: dict[str, dict[str, int]],
) -> None:
    """Declare the published figures of one site, or of the totals (group None)."""
    check = plan.check
    seg = {s: plan.form(group, s) for s in SEGMENTS}
    headcount = _add(*seg.values())
    check.count((group, "headcount"), headcount, people=False, keep=KEEP["headcount"])
    active = _add(*(seg[s] for s in SEGMENTS if s != "inactive"))
    check.count(
        (group, "active_users"),
        active,
        keep=KEEP["active_users"] - _t(group, "active_users"),
        group=("segment", group),
    )
    for s in SEGMENTS:
        plan.count(group, s, "contributor" if s == "contributor" else "segment")
    check.rate(
        (group, "contributor_share"),
        list(seg["contributor"]),
        _flat(headcount),
        keep=KEEP["contributor"] - _t(group, "contributor"),
    )
    if plan.form(group, "habitual"):
        plan.count(group, "habitual", "habit")
        occasional = _add(seg["contributor"], minus=[plan.form(group, "habitual")])
        check.count(
            (group, "occasional"),
            occasional,
            keep=KEEP["habit"] - _t(group, "habit"),
            group=("segment", group),
        )
    plan.count(group, "ambassadors", "ambassadors", people=False)
    for w in range(weeks):
        for name in WEEKLY:
            if plan.form(group, (name, w)):
                plan.count(group, (name, w), "series")
    for name in MOVEMENT:
        if plan.form(group, name):
            plan.count(group, name, "movement")
    _publish_previous(plan, group, previous)
    _publish_details(plan, group, shown)


#: The figures of the organisation's row that are kept before the same figure of a site
#: (what most read first); its other figures (segments, weeks, transitions...) go before a
#: site's: hiding one cell of the totals spares two of a site (its row adds up).
HEADLINE = ("contributor", "active_users")


def _t(group: str | None, kind: str) -> float:
    """What is taken off a figure's `keep` for being the totals' (negative: kept first)."""
    if group is not None:
        return 0.0
    return -0.5 if kind in HEADLINE else 0.5


def _flat(form: dict[int, int]) -> list[int]:
    return [a for a, w in form.items() for _ in range(w)]


def select(report: Report, site_names: Sequence[str] | None) -> Report:
    """The published report restricted to the sites asked for (None: all). Totals,
    overall figures and every hidden cell stay as the plan decided them for the whole
    organisation."""
    if site_names is None:
        return report
    wanted = set(site_names)

    def keep(site: str | None) -> bool:
        return site is None or site in wanted

    changes: dict[str, Any] = {
        "sites": tuple(g for g in report.sites if keep(g.site)),
        "transitions": tuple(t for t in report.transitions if keep(t.site)),
        "personas": tuple(p for p in report.personas if keep(p.site)),
        "communities": tuple(c for c in report.communities if keep(c.site)),
        "lively_communities": tuple(x for x in report.lively_communities if keep(x.site)),
        "interventions": tuple(a for a in report.interventions if a.site == "*" or keep(a.site)),
    }
    if report.ambassadors is not None:
        changes["ambassadors"] = replace(
            report.ambassadors,
            sites=tuple(a for a in report.ambassadors.sites if a.site in wanted),
            roster=None
            if report.ambassadors.roster is None
            else {s: n for s, n in report.ambassadors.roster.items() if s in wanted},
        )
    if report.interactions is not None and report.interactions.matrix is not None:
        changes["interactions"] = replace(
            report.interactions,
            # a chosen site's row keeps a column for every site: the whole report's row
            matrix={a: row for a, row in report.interactions.matrix.items() if a in wanted},
        )
    return replace(report, **changes)


def _publish_previous(plan: _Plan, group: str | None, previous: dict[str, dict[str, int]]) -> None:
    """Declare the previous window's figures of one site, or of the totals (group None):
    its active users and contributor share, its contributors (never shown); a site whose
    previous headcount was under k has them hidden."""
    check, k = plan.check, plan.k
    # the previous window: over the sites whose previous headcount was at least k
    kept = [
        s
        for s in (plan.sites if group is None else [group])
        if previous.get(s, {}).get("headcount", 0) >= k and (s, "prev headcount") in plan.atoms
    ]
    if kept:

        def was(name: str) -> dict[int, int]:
            return {plan.atoms[(s, name)]: 1 for s in kept}

        check.count(
            (group, "prev active"),
            was("prev active"),
            keep=KEEP["previous"] - _t(group, "previous"),
        )
        check.count((group, "prev contributors"), was("prev contributors"), unpublished=True)
        check.rate(
            (group, "prev share"),
            list(was("prev contributors")),
            list(was("prev headcount")),
            keep=KEEP["previous"] - _t(group, "previous"),
        )
    for s in plan.sites if group is None else [group]:
        small = previous.get(s, {}).get("headcount", 0)
        if group is not None and (s, "prev headcount") in plan.atoms and small < k:
            for name in ("prev active", "prev contributors"):
                check.count((s, name), {plan.atoms[(s, name)]: 1}, hidden=True, bounds=(0, small))


def _publish_details(plan: _Plan, group: str | None, shown: list[GroupFigures]) -> None:
    """Declare the transitions matrix and its rates, personas, ambassadors and their reach
    of one site, or of the totals (group None)."""
    check, k = plan.check, plan.k
    # transitions
    if any(plan.form(group, ("contributor", b)) for b in SEGMENTS):
        for a in SEGMENTS:
            for b in SEGMENTS:
                plan.count(group, (a, b), "transition")
        for name, (a, b) in RATES.items():
            row = _add(*(plan.form(group, (a, x)) for x in SEGMENTS))
            check.rate(
                (group, name),
                _flat(plan.form(group, (a, b))),
                _flat(row),
                keep=KEEP["transition"] - 0.1 - _t(group, "transition"),
            )
    # personas
    for persona in ("engager", "catalyst", "responder", "broadcaster", "observer"):
        if plan.form(group, ("persona", persona)):
            plan.count(group, ("persona", persona), "persona")
    # ambassadors: which of a site's ambassadors contribute is hidden below k ambassadors
    members = plan.sites if group is None else [group]
    amb = {s: next((g.ambassadors or 0 for g in shown if g.site == s), 0) for s in members}
    with_ambassadors = [s for s in members if amb[s]]
    if plan.form(group, "active ambassadors") or with_ambassadors:
        total = sum(amb.values())
        form = {
            plan.atoms[(s, "active ambassadors")]: 1
            for s in with_ambassadors
            if (s, "active ambassadors") in plan.atoms
        }
        check.count(
            (group, "active ambassadors"),
            form,
            hidden=total < k,
            # hidden for the ambassadors being fewer than k: 0 to all of them; else the
            # rule for a count of people (1 to k − 1 when small)
            bounds=(0, total) if total < k else None,
            keep=KEEP["ambassador_figure"] - _t(group, "ambassador_figure"),
        )
    for name in REACH:
        if plan.form(group, ("reach", name)):
            plan.count(group, ("reach", name), "ambassador_figure")
