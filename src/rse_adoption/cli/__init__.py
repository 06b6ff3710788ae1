"""The `rse-adoption` command: options, exit codes and output streams; no business logic.

Every command parses its options, calls one method of the library's Store (api.py) and
hands the result to a renderer (report/registry.py through output.py). Errors the user can
act on (errors.RseError) become one line on standard error and the documented exit code,
in one place: common.handle_errors. With `--json`, standard output holds one JSON object and
nothing else. One module per command group: store_commands (filling and tending the
store), report_commands (figures and their renderings), fetch_commands (vendor APIs),
forecast_commands (the forecast's backtest).
"""

from __future__ import annotations

from . import fetch_commands, forecast_commands, report_commands, store_commands
from .app import app
from .store_commands import INGEST_FORMATS

__all__ = [
    "INGEST_FORMATS",
    "app",
    "fetch_commands",
    "forecast_commands",
    "main",
    "report_commands",
    "store_commands",
]


def main() -> None:
    """Console-script entry point."""
    app()
