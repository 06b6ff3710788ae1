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


def _documented_command_lines() -> list[tuple[str, str]]:
    """(file, arguments) of every `rse-adoption …` command line of README.md and docs/:
    shell and cron blocks, and inline code that is a whole command (not a synopsis with
    `[…]`, `…` or `|`)."""
    import re

    found = []
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = md.read_text(encoding="utf-8")
        for span in re.findall(r"`((?:\./)?(?:\.venv/bin/)?rse-adoption [^`]+)`", text):
            if not re.search(r"[\[\]…|]|\.\.\.", span):
                found.append((md.name, span.split("rse-adoption ", 1)[1]))
        for block in re.findall(r"```(?:sh|cron)?\n(.*?)```", text, re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.strip().removeprefix("$ ")
                for part in re.split(r"\s*(?:&&|;)\s*", line):
                    command = re.search(r"(?:^|[\s/])rse-adoption\s+(.*)$", part)
                    if command and not part.startswith("#") and "[" not in part:
                        found.append((md.name, re.split(r" #| \| | >", command.group(1))[0]))
    return found


def _parse(args: list[str]) -> None:
    """Parse `args` as the CLI would (options, choices, types), without running it."""
    import click

    command: click.Command = get_command(app)
    context = None
    name = "rse-adoption"
    while True:
        context = command.make_context(name, list(args), parent=context)
        if not isinstance(command, click.Group):
            return
        rest = [*context._protected_args, *context.args]
        if not rest:
            return
        found_name, sub, args = command.resolve_command(context, rest)
        assert sub is not None
        name, command = found_name or "", sub


def test_every_documented_command_line_parses() -> None:
    """Each command line of the README and docs names a real command with real options and
    values of the right type (a renamed flag or a stale example fails here)."""
    import shlex

    import click

    lines = _documented_command_lines()
    assert len(lines) > 50
    bad = []
    for where, rest in lines:
        args = shlex.split(rest)
        if len(args) == 1 or args[-1] in ("config",):  # a command named in prose
            args.append("--help")
        try:
            _parse(args)
        except (click.exceptions.Exit, click.exceptions.NoArgsIsHelpError):
            pass
        except click.ClickException as exc:
            bad.append(f"{where}: rse-adoption {rest}: {exc.format_message()}")
    assert bad == []


def test_the_readme_commands_run_as_written(tmp_path: Path) -> None:
    """The README's first run and platform examples, typed as written in an empty folder,
    all succeed; so does its headline `ingest exports/` on the demo's folder."""
    import os
    import re
    import shlex
    import subprocess
    import sys

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = readme.split("A first run by hand:", 1)[1].split("```sh\n", 1)[1].split("```")[0]
    platforms = readme.split("as each platform exports it", 1)[1].split("```sh\n", 1)[1]
    platforms = platforms.split("```")[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSE_ADOPTION_")}
    env["COLUMNS"] = "120"
    lines = [line for line in (first + platforms).splitlines() if line.strip()]
    assert len(lines) >= 12
    for line in lines:
        args = shlex.split(line)
        assert args[0] == "rse-adoption", line
        done = subprocess.run(
            [sys.executable, "-m", "rse_adoption.cli", *args[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{line}: {done.stderr[-500:]}"
    headline = re.search(r"\$ rse-adoption (ingest exports/)", readme)
    assert headline is not None
    done = subprocess.run(
        [sys.executable, "-m", "rse_adoption.cli", *headline.group(1).split(), "-q"],
        cwd=tmp_path,
        env={**env, "RSE_ADOPTION_DATA_DIR": str(tmp_path / "whole")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert "an employee directory, not an export" in done.stderr  # said, even under -q
