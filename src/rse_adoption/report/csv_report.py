"""The report as CSV: one row per site (then a TOTAL row), the JSON fields flattened.

Cells a spreadsheet would execute as a formula (starting with = + - @, tab or CR) are
prefixed with a quote, following OWASP's advice on CSV injection.

Two dialects (`--csv-dialect`): `excel`, comma-separated with a decimal point, and
`excel-fr` for spreadsheets set up for French (Excel, LibreOffice): semicolon-separated,
decimal comma, and a UTF-8 byte-order mark so that Excel reads accents right. Headers,
booleans, dates and every other value are the same in both; the language never changes
a CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `ingest` loads this module for its --dialect choices, not the model
    from ..model import Forecast, GroupFigures, Report

COLUMNS = (
    "site",
    "suppressed",
    "headcount",
    "active_users",
    "inactive",
    "visitor",
    "reader",
    "reactor",
    "contributor",
    "contributor_share",
    "status",
    "progress",
    "ambassadors",
    "habitual_contributors",
    "occasional_contributors",
    "forecast_method",
    "forecast_low_status",
    "forecast_low_expected",
    "forecast_high_status",
    "forecast_high_expected",
    "forecast_calibration",
    "forecast_checks",
    "forecast_checks_held",
    "as_of",
    "window_days",
    "headcount_source",
    # the peers' figures (docs/metrics.md): conversations, movement, previous window,
    # cross-site share and concentration
    "threads",
    "answered_share",
    "median_hours_to_first_reply",
    "unanswered_over_7_days",
    "newly_active",
    "new_contributors",
    "lost_contributors",
    "returning_contributors",
    "previous_contributor_share",
    "previous_active_users",
    "change_points",
    "cross_site_share",
    "top_1_percent_share",
    "top_10_percent_share",
    "gini",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    decimal: str
    bom: str


#: The `--csv-dialect` choices, the default first (docs/operations.md).
DIALECTS: dict[str, Dialect] = {
    "excel": Dialect(delimiter=",", decimal=".", bom=""),
    "excel-fr": Dialect(delimiter=";", decimal=",", bom="\ufeff"),
}


def safe_cell(value: object, decimal: str = ".") -> str:
    """Text of a cell, neutralised if a spreadsheet would read it as a formula; numbers
    with `decimal` as their decimal separator."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6f}".replace(".", decimal)
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _mark(f: Forecast | None, index: int) -> tuple[str | None, str | None]:
    """(status, expected date) of one forecast mark."""
    if f is None or len(f.marks) <= index:
        return None, None
    mark = f.marks[index]
    return mark.status, mark.expected.isoformat() if mark.expected else None


def _row(g: GroupFigures, report: Report, label: str) -> list[object]:
    """One site's (or the totals') values in COLUMNS order, typed; None where hidden."""
    seg = g.segments
    f = g.forecast
    values: list[object] = [
        label,
        g.suppressed,
        g.headcount,
        g.active_users,
        seg.inactive if seg else None,
        seg.visitor if seg else None,
        seg.reader if seg else None,
        seg.reactor if seg else None,
        seg.contributor if seg else None,
        g.contributor_share,
        g.status,
        g.progress,
        g.ambassadors,
        g.habitual_contributors,
        g.occasional_contributors,
        f.method if f else None,
        *(_mark(f, 0)),
        *(_mark(f, 1)),
        *(
            (f.calibration.scope, f.calibration.checks, f.calibration.held)
            if f and f.calibration
            else (None, None, None)
        ),
        report.as_of.isoformat(),
        report.window_days,
        report.headcount_source,
        *_peers(g),
    ]
    return values


def _peers(g: GroupFigures) -> list[object]:
    """The peers' figures of one row, in COLUMNS order (None where hidden or unknown)."""
    talk, previous, spread = g.conversations, g.previous, g.concentration
    return [
        talk.threads if talk else None,
        talk.answered_share if talk else None,
        talk.median_hours_to_first_reply if talk else None,
        talk.unanswered_over_7_days if talk else None,
        g.newly_active,
        g.new_contributors,
        g.lost_contributors,
        g.returning_contributors,
        previous.contributor_share if previous else None,
        previous.active_users if previous else None,
        g.change_points,
        g.cross_site_share,
        spread.top_1_percent_share if spread else None,
        spread.top_10_percent_share if spread else None,
        spread.gini if spread else None,
    ]


def site_rows(report: Report) -> list[list[object]]:
    """One row per site shown, COLUMNS order, typed values (the library's to_pandas())."""
    return [_row(g, report, g.site or "") for g in report.sites]


def write_csv(
    columns: Sequence[str], rows: Iterable[Sequence[object]], dialect: str = "excel"
) -> str:
    """CSV text of `columns` and `rows` in `dialect` (a name of DIALECTS), every cell
    through `safe_cell` (every CSV output)."""
    chosen = DIALECTS[dialect]
    out = io.StringIO()
    out.write(chosen.bom)
    writer = csv.writer(out, delimiter=chosen.delimiter, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([safe_cell(v, chosen.decimal) for v in row] for row in rows)
    return out.getvalue()


def render(report: Report, dialect: str = "excel") -> str:
    rows = [*site_rows(report), _row(report.totals, report, "TOTAL")]
    return write_csv(COLUMNS, rows, dialect)
