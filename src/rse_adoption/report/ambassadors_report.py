"""The ambassador network as JSON, CSV and a terminal table (`rse-adoption ambassadors`;
the report's own outputs carry the same figures in their `ambassadors` section).

JSON: one object per site (docs/report-json.md, "Ambassadors"), in site order."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text

from ..model import AmbassadorEffect, Ambassadors, AmbassadorSite
from .csv_report import write_csv


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


def render_csv(ambassadors: Ambassadors) -> str:
    return write_csv(*csv_table(ambassadors))


def effect_sentence(effect: AmbassadorEffect) -> str:
    if effect.estimate_pp is None:
        return f"Effect of ambassadors: not estimable — {effect.reason}."
    low, high = effect.ci80_pp or (0.0, 0.0)
    return (
        f"Sites whose first ambassador started in the period gained {effect.estimate_pp:+.1f} "
        f"points of weekly contributor share relative to {effect.control_sites} site(s) "
        f"without ambassadors over the same weeks (80 % interval {low:+.1f} to {high:+.1f}; "
        f"{effect.treated_sites} site(s), {effect.weeks_before} weeks each side). An "
        "association, not proof that ambassadors caused it."
    )


def table(ambassadors: Ambassadors, min_group_size: int) -> Table:
    result = Table(
        title="Ambassadors by site",
        caption=(
            f"Target: one per {ambassadors.per_employees} employees. Active: contributors in "
            f"the window (hidden for fewer than {min_group_size} ambassadors). "
            + effect_sentence(ambassadors.effect)
        ),
    )
    result.add_column("Site", no_wrap=True)
    for name in ("Headcount", "Amb.", "per 100", "Target", "Active"):
        result.add_column(name, justify="right", no_wrap=True)
    if ambassadors.reach_computed:
        result.add_column("Colleagues reached", justify="right")
        result.add_column("New contributors (after amb.)", justify="right")
    if ambassadors.roster is not None:
        result.add_column("Ambassadors (names)")
    for site in ambassadors.sites:
        if site.suppressed:
            result.add_row(site.site, Text(f"< {min_group_size}", style="dim"))
            continue
        missing = site.ambassadors == 0
        cells: list[Any] = [
            site.site,
            str(site.headcount),
            Text("none ⚠", style="red") if missing else str(site.ambassadors),
            f"{site.ambassadors_per_100:.1f}",
            Text(
                str(site.target),
                style="yellow" if (site.ambassadors or 0) < (site.target or 0) else "",
            ),
            "—" if site.active_ambassadors is None else str(site.active_ambassadors),
        ]
        if ambassadors.reach_computed:
            cells.append(str(site.reached_colleagues))
            cells.append(f"{site.new_contributors} ({site.new_contributors_after_ambassador})")
        if ambassadors.roster is not None:
            cells.append(", ".join(ambassadors.roster.get(site.site, [])))
        result.add_row(*cells)
    return result
