"""The section commands' machine forms, by name: `to_dict` (their `--json` output) and
`table_rows` (their CSV's columns and typed rows), for the library's results (api.py)."""

from __future__ import annotations

from typing import Any

from ..model import Report
from . import (
    ambassadors_report,
    candidates_report,
    communities_report,
    effects_report,
    interactions_report,
    personas_report,
    transitions_report,
)

SECTIONS = ("ambassadors", "communities", "transitions", "personas", "interactions", "effects")


def to_dict(section: str, report: Report) -> Any:
    """The section command's `--json` output (for `ambassadors`, a list of sites)."""
    if section == "ambassadors" and report.ambassador_candidates is not None:
        return candidates_report.to_dict(report)
    if section == "ambassadors":
        assert report.ambassadors is not None
        return ambassadors_report.to_list(report.ambassadors)
    return _module(section).to_dict(report)


def table_rows(section: str, report: Report) -> tuple[list[str], list[list[object]]]:
    """The section command's CSV as columns and typed rows."""
    if section == "ambassadors" and report.ambassador_candidates is not None:
        return candidates_report.csv_table(report)
    if section == "ambassadors":
        assert report.ambassadors is not None
        return ambassadors_report.csv_table(report.ambassadors)
    columns, rows = _module(section).csv_table(report)
    return columns, rows


def _module(section: str) -> Any:
    return {
        "communities": communities_report,
        "transitions": transitions_report,
        "personas": personas_report,
        "interactions": interactions_report,
        "effects": effects_report,
    }[section]
