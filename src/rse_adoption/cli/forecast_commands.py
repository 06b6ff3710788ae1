"""`rse-adoption forecast --backtest`: check the tipping forecast against the store's own
history (docs/metrics.md, "Backtest"). The forecasts themselves are in every report."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from .app import app
from .common import (
    ConfigOption,
    DataDirOption,
    JsonOption,
    SiteOption,
    console,
    handle_errors,
    store,
)


@app.command()
@handle_errors
def forecast(
    backtest: Annotated[
        bool,
        typer.Option(
            "--backtest",
            help="Cut the store's history at past weeks, forecast with what was known "
            "then, and report against what followed (required: the forecasts themselves "
            "are in `rse-adoption report`).",
        ),
    ] = False,
    site: SiteOption = None,
    every: Annotated[
        int, typer.Option("--every", min=1, help="Weeks between two cuts of the history.")
    ] = 4,
    window: Annotated[
        int | None, typer.Option("--window", min=1, help="Window length in days [default: 90].")
    ] = None,
    min_group_size: Annotated[
        int | None,
        typer.Option(
            "--min-group-size", min=1, help="Leave out sites with fewer people [default: 5]."
        ),
    ] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Backtest the tipping forecast on the store's own history.

    Cuts the history every --every weeks, forecasts each site as a report of that day
    would, and compares with what the following weeks show: how often the stated ~80 %
    range held the crossing, the error of the expected date in days, and how often a mark
    called not at the current pace was reached within 26 weeks. Set forecast.launch_date
    when the launch is known. Definitions: docs/metrics.md ("Backtest").
    """
    if not backtest:
        raise typer.BadParameter(
            "give --backtest (each site's forecast is in `rse-adoption report`)",
            param_hint="--backtest",
        )
    result = store(data_dir, config).forecast_backtest(
        sites=site or (), every_weeks=every, window_days=window, min_group_size=min_group_size
    )
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    else:
        from ..report.backtest_report import backtest_text

        sys.stdout.write(backtest_text(result.backtest, width=console().width))
