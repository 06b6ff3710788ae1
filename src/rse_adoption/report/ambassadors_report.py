"""The ambassador network as JSON, CSV and a terminal table (`rse-adoption ambassadors`;
the report's own outputs carry the same figures in their `ambassadors` section).

JSON: one object per site (docs/report-json.md, "Ambassadors"), in site order."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text

from ..model import AmbassadorEffect, Ambassadors, AmbassadorSite
from .columns import figure_column, name_column
from .csv_report import write_csv
from .i18n import ENGLISH, Language
from .phrases import phrase


def effect_to_dict(effect: AmbassadorEffect | None) -> dict[str, Any] | None:
    if effect is None:
        return None
    return {
        "estimate_pp": effect.estimate_pp,
        "ci80_pp": list(effect.ci80_pp) if effect.ci80_pp else None,
        "ci95_pp": list(effect.ci95_pp) if effect.ci95_pp else None,
        "treated_sites": effect.treated_sites,
        "control_sites": effect.control_sites,
        "weeks_before": effect.weeks_before,
        "weeks_after": effect.weeks_after,
        "reason": effect.reason,
        "caution": "an association between ambassadors and contribution, not proof that "
        "they caused it",
    }


def _share(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


def site_to_dict(site: AmbassadorSite, per_employees: int) -> dict[str, Any]:
    return {
        "site": site.site,
        "suppressed": site.suppressed,
        "headcount": site.headcount,
        "ambassadors": site.ambassadors,
        "ambassadors_per_100": site.ambassadors_per_100,
        "target": site.target,
        "target_per_100": round(100 / per_employees, 2),
        "meets_target": None
        if site.suppressed or site.target is None or site.ambassadors is None
        else site.ambassadors >= site.target,
        "active_ambassadors": site.active_ambassadors,
        "reached_colleagues": site.reached_colleagues,
        "reach_share": _share(site.reached_colleagues, site.headcount),
        "new_contributors": site.new_contributors,
        "new_contributors_after_ambassador": site.new_contributors_after_ambassador,
        "new_contributor_share_after_ambassador": _share(
            site.new_contributors_after_ambassador, site.new_contributors
        ),
        "effect": effect_to_dict(site.effect) if not site.suppressed else None,
        "withheld": site.withheld,
    }


def to_list(ambassadors: Ambassadors) -> list[dict[str, Any]]:
    """The `ambassadors --format json` array: one object per site (with `names` when the
    user asked for them)."""
    out = [site_to_dict(s, ambassadors.per_employees) for s in ambassadors.sites]
    if ambassadors.roster is not None:
        for item in out:
            item["names"] = None if item["suppressed"] else ambassadors.roster.get(item["site"], [])
    return out


def to_section(ambassadors: Ambassadors, min_group_size: int) -> dict[str, Any]:
    """The report JSON's `ambassadors` object: per-site figures, the organisation's
    totals and the pooled effect."""
    shown = [s for s in ambassadors.sites if not s.suppressed]
    return {
        "per_employees": ambassadors.per_employees,
        "reach_computed": ambassadors.reach_computed,
        "total_ambassadors": ambassadors.total_ambassadors,
        "sites_without_ambassador": [s.site for s in shown if s.ambassadors == 0],
        "effect": effect_to_dict(ambassadors.effect),
        "sites": to_list(ambassadors),
        "active_ambassadors_in_sites_shown": ambassadors.active_ambassadors_in_sites_shown,
    }


def render_json(ambassadors: Ambassadors) -> str:
    return json.dumps(to_list(ambassadors), ensure_ascii=False, indent=2) + "\n"


CSV_COLUMNS = (
    "site",
    "suppressed",
    "headcount",
    "ambassadors",
    "ambassadors_per_100",
    "target",
    "meets_target",
    "active_ambassadors",
    "reached_colleagues",
    "reach_share",
    "new_contributors",
    "new_contributors_after_ambassador",
    "new_contributor_share_after_ambassador",
)


def csv_table(ambassadors: Ambassadors) -> tuple[list[str], list[list[object]]]:
    """The CSV's columns and its rows, typed (None where hidden)."""
    rows = []
    for row in to_list(ambassadors):
        effect = row["effect"] or {}
        rows.append(
            [row[c] for c in CSV_COLUMNS] + [effect.get("estimate_pp"), effect.get("reason")]
        )
    return [*CSV_COLUMNS, "effect_estimate_pp", "effect_reason"], rows


def render_csv(ambassadors: Ambassadors, dialect: str = "excel") -> str:
    return write_csv(*csv_table(ambassadors), dialect)


def effect_sentence(effect: AmbassadorEffect, tr: Language = ENGLISH) -> str:
    if effect.estimate_pp is None:
        return tr._(
            "Effect of ambassadors: not estimable — %(reason)s.",
            reason=phrase(effect.reason or "", tr) if effect.reason else effect.reason,
        )
    low, high = effect.ci80_pp or (0.0, 0.0)
    return tr._(
        "Sites whose first ambassador started in the period gained %(estimate)s points of "
        "contributor share (people contributing over 4 weeks) %(weeks)s weeks after the "
        "start, relative to %(controls)s site(s) with no action of their own around it (80 "
        "%% interval %(low)s to %(high)s; mean of %(treated)s site(s)). An association, not "
        "proof that ambassadors caused it.",
        estimate=tr.decimal(effect.estimate_pp, 1, sign=True),
        controls=effect.control_sites,
        low=tr.decimal(low, 1, sign=True),
        high=tr.decimal(high, 1, sign=True),
        treated=effect.treated_sites,
        weeks=effect.weeks_before,
    )


def table(ambassadors: Ambassadors, min_group_size: int, tr: Language = ENGLISH) -> Table:
    result = Table(
        title=tr._("Ambassadors by site"),
        caption=(
            tr._(
                "Target: one per %(per)s employees. Active: contributors in the window (hidden "
                "for fewer than %(min)s ambassadors). ",
                per=ambassadors.per_employees,
                min=min_group_size,
            )
            + effect_sentence(ambassadors.effect, tr)
        ),
    )
    rows: list[list[Any]] = []
    for site in ambassadors.sites:
        if site.suppressed:
            rows.append([site.site, Text(f"< {min_group_size}", style="dim")])
            continue
        rows.append(_cells(site, ambassadors, tr))
    headers = [
        tr._("Headcount"),
        tr._("Amb."),
        tr._("per 100"),
        tr._("Target"),
        tr._("Active"),
    ]
    if ambassadors.reach_computed:
        headers += [tr._("Colleagues reached"), tr._("New contributors (after amb.)")]

    def column(i: int) -> list[Any]:
        return [row[i] for row in rows if len(row) > i]

    # The sites' names and the figures stay whole; the headers wrap when the terminal is narrow.
    result.add_column(tr._("Site"), **name_column(column(0)))  # type: ignore[arg-type]
    for i, name in enumerate(headers, start=1):
        result.add_column(name, **figure_column(column(i)))  # type: ignore[arg-type]
    if ambassadors.roster is not None:
        result.add_column(tr._("Ambassadors (names)"))
    for row in rows:
        result.add_row(*row)
    return result


def _cells(site: AmbassadorSite, ambassadors: Ambassadors, tr: Language) -> list[Any]:
    missing = site.ambassadors == 0
    cells: list[Any] = [
        site.site,
        tr.number(site.headcount),
        Text(tr._("none ⚠"), style="red") if missing else tr.number(site.ambassadors),
        "—" if site.ambassadors_per_100 is None else tr.decimal(site.ambassadors_per_100, 1),
        Text(
            tr.number(site.target),
            style="yellow" if (site.ambassadors or 0) < (site.target or 0) else "",
        ),
        tr.number(site.active_ambassadors),
    ]
    if ambassadors.reach_computed:
        cells.append(tr.number(site.reached_colleagues))
        cells.append(
            f"{tr.number(site.new_contributors)} "
            f"({tr.number(site.new_contributors_after_ambassador)})"
        )
    if ambassadors.roster is not None:
        cells.append(", ".join(ambassadors.roster.get(site.site, [])))
    return cells
