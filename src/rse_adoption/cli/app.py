"""The typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="rse-adoption",
    help=(
        "Measure enterprise social network adoption site by site: who reads, who reacts, "
        "who publishes, and how close each site is to its tipping point."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(
    help="The effective configuration: rse-adoption.toml, environment and flags.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")
