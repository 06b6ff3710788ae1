"""Every command has help text and is documented; every alias the code accepts is listed
in docs/ingest.md; every JSON key of the report is documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from rse_adoption.cli import app
from rse_adoption.schema import DIRECTORY_COLUMN_ALIASES, EVENT_COLUMN_ALIASES, EVENT_TYPE_ALIASES

ROOT = Path(__file__).resolve().parents[1]


def _command_paths() -> list[str]:
    """Every command as typed, sub-commands of groups included ("config show")."""
    paths = []
    for name, command in get_command(app).commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        paths.extend(f"{name} {sub}" for sub in subcommands) if subcommands else paths.append(name)
    return sorted(paths)


COMMANDS = _command_paths()


def test_there_are_commands() -> None:
    assert {"demo", "directory", "ingest", "report", "quarantine", "config show"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_in_the_readme(command: str) -> None:
    result = CliRunner().invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0
    assert len(result.stdout.strip().splitlines()) > 3
    assert "--data-dir" in result.stdout
    assert f"rse-adoption {command}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_alias_is_documented() -> None:
    doc = (ROOT / "docs" / "ingest.md").read_text(encoding="utf-8")
    for aliases in (
        *EVENT_COLUMN_ALIASES.values(),
        *DIRECTORY_COLUMN_ALIASES.values(),
        EVENT_TYPE_ALIASES,
    ):
        for alias in aliases:
            assert f"`{alias}`" in doc, alias


def test_every_report_key_is_documented() -> None:
    from rse_adoption.report.json_report import schema

    doc = (ROOT / "docs" / "report-json.md").read_text(encoding="utf-8")
    keys = set(schema()["properties"]) | set(schema()["$defs"]["group"]["properties"])
    for key in keys:
        assert f"`{key}`" in doc, key


def test_readme_starts_with_the_two_setup_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```sh") + 3]
    assert [b.split("#")[0].strip() for b in block] == ["make demo", "make test"]
