"""The library's results: what `Store.report()`, the sections, the forecast's backtest and
`Store.history()` return (api.py). Each gives `to_dict()`, equal to the command's `--json`
output key for key, and `to_pandas()`, the CSV output's columns and order, typed as
`frames.typed_frame` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .frames import typed_frame

if TYPE_CHECKING:  # pandas is imported only by to_pandas(): a cron run never pays for it
    import pandas as pd

    from .model import ForecastBacktest, Report


@dataclass(frozen=True)
class ReportResult:
    """`Store.report()`: the Report (every figure, typed; its attributes are readable
    here too: `result.sites`, `result.totals`) with its JSON and table forms."""

    report: Report

    def __getattr__(self, name: str) -> Any:
        return getattr(self.report, name)

    def __dir__(self) -> list[str]:  # the Report's fields show in dir() and completion
        return sorted({*super().__dir__(), *dir(self.report)})

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (`report --format json`), key for key."""
        from .report.json_report import report_to_dict

        return report_to_dict(self.report)

    def to_pandas(self) -> pd.DataFrame:
        """One row per site shown, the CSV report's columns in its order (no TOTAL row:
        `result.totals` holds it), typed with pandas' nullable types: counts are integers,
        shares floats, hidden figures missing (<NA>)."""
        from .report.csv_report import COLUMNS, site_rows

        return typed_frame(site_rows(self.report), list(COLUMNS))


@dataclass(frozen=True)
class SectionResult:
    """`Store.ambassadors()`, `communities()`, `transitions()`, `personas()`,
    `interactions()`, `effects()`: the Report
    they come from, and the section's JSON and table forms as the command prints them."""

    report: Report
    section: str  # "ambassadors", "communities", "transitions", "personas", "interactions"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.report, name)

    def __dir__(self) -> list[str]:  # the Report's fields show in dir() and completion
        return sorted({*super().__dir__(), *dir(self.report)})

    def to_dict(self) -> Any:
        """The command's `--json` output (for `ambassadors`, a list of sites)."""
        from .report.sections import to_dict

        return to_dict(self.section, self.report)

    def to_pandas(self) -> pd.DataFrame:
        """The command's CSV output as a table: its columns in order, typed values."""
        from .report.sections import table_rows

        columns, rows = table_rows(self.section, self.report)
        return typed_frame(rows, columns)


@dataclass(frozen=True)
class BacktestResult:
    """`Store.forecast_backtest()`: the ForecastBacktest (its attributes are readable here
    too: `result.summary`, `result.cases`) with its JSON and table forms."""

    backtest: ForecastBacktest

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backtest, name)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *dir(self.backtest)})

    def to_dict(self) -> dict[str, Any]:
        """`forecast --backtest --json`, key for key."""
        from .report.backtest_report import backtest_to_dict

        return backtest_to_dict(self.backtest)

    def to_pandas(self) -> pd.DataFrame:
        """One row per judged mark (the JSON's `cases`), dates as datetimes."""
        return typed_frame(self.to_dict()["cases"])


@dataclass(frozen=True)
class HistoryResult:
    """`Store.history()`: the rows of `history --json` (see docs/operations.md)."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"history": self.rows}

    def to_pandas(self) -> pd.DataFrame:
        """One row per report day and site, typed as every result's (`typed_frame`)."""
        from .history import HISTORY_COLUMNS, HISTORY_SCHEMA

        kinds = {"int": "Int64", "dou": "Float64", "str": "string", "boo": "boolean"}
        dtypes = {
            f.name: kinds.get(
                str(f.type)[:3], "object" if str(f.type) != "date32[day]" else "datetime64[ns]"
            )
            for f in HISTORY_SCHEMA
        }
        return typed_frame(self.rows, list(HISTORY_COLUMNS), dtypes)
