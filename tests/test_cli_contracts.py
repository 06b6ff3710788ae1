"""Contracts every command keeps with scripts and cron: where `--out` writes, that reading a
store never creates one, that a bad value typed on the command line is a usage error, that
users' own names print as typed, and that settings are valid wherever they are built."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rse_adoption.config import Settings
from rse_adoption.errors import ConfigError

from .conftest import write

READERS = ["report", "ambassadors", "communities", "transitions", "personas"]


@pytest.mark.parametrize(
    ("args", "written"),
    [
        (["report", "--format", "html"], "report.html"),
        (["report", "--format", "json"], "report.json"),
        (["report", "--format", "csv"], "report.csv"),
        (["report", "--format", "md"], "report.md"),
        (["report"], "report.txt"),
        (["ambassadors", "--format", "csv"], "ambassadors.csv"),
        (["communities", "--format", "json"], "communities.json"),
        (["transitions", "--format", "html"], "transitions.html"),
        (["personas"], "personas.txt"),
    ],
)
def test_out_folder_that_does_not_exist_yet_gets_the_file_inside(
    tmp_path: Path, cli, demo, args: list[str], written: str
) -> None:  # type: ignore[no-untyped-def]
    """The cron recipe of docs/operations.md writes `--out /srv/www/` on its first run,
    before the folder exists: pathlib drops the trailing slash, the tool must not."""
    folder = tmp_path / "www"
    result = cli(*args, "--data-dir", demo["data"], "--out", f"{folder}/", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert folder.is_dir() and [p.name for p in folder.iterdir()] == [written]
    assert result.stdout == ""


def test_table_format_with_out_writes_the_table_to_the_file(tmp_path: Path, cli, demo) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "amb.txt"
    result = cli("ambassadors", "--data-dir", demo["data"], "--out", target)
    assert result.exit_code == 0 and result.stdout == ""
    assert "Ambassadors by site" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize("command", [*READERS, "history", "quarantine", "status"])
@pytest.mark.parametrize("as_of", [[], ["--as-of", "2026-10-31"]])
def test_a_mistyped_data_dir_is_exit_66_and_creates_nothing(
    tmp_path: Path, cli, command: str, as_of: list[str]
) -> None:  # type: ignore[no-untyped-def]
    typo = tmp_path / "rse-dat"
    takes_as_of = command in READERS
    result = cli(command, "--data-dir", typo, *(as_of if takes_as_of else []))
    assert result.exit_code == 66, (result.stdout, result.stderr)
    assert f"{typo}: no store here" in result.stderr
    assert not typo.exists()


@pytest.mark.parametrize("command", READERS)
@pytest.mark.parametrize(
    ("option", "value"),
    [("--as-of", "2026-13-01"), ("--as-of", "yesterday"), ("--window", "0"), ("--window", "x")],
)
def test_a_bad_value_typed_on_the_command_line_is_a_usage_error(
    cli, demo, command: str, option: str, value: str
) -> None:  # type: ignore[no-untyped-def]
    result = cli(command, "--data-dir", demo["data"], option, value)
    assert result.exit_code == 2, result.stderr
    assert option in result.stderr


def test_bad_dates_and_time_zones_of_ingest_are_usage_errors(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    events = write(tmp_path / "e.csv", "timestamp,user,event_type\n2026-03-02T09:00:00Z,a,post\n")
    period = cli("ingest", events, "--period-end", "2026-02-30", "--period-days", "7")
    assert period.exit_code == 2 and "--period-end" in period.stderr
    zone = cli("ingest", events, "--timezone", "Mars/Olympus_Mons")
    assert zone.exit_code == 2 and "unknown time zone 'Mars/Olympus_Mons'" in zone.stderr
    assert not (tmp_path / "data").exists()


def test_the_same_bad_value_from_the_configuration_file_is_exit_78(
    tmp_path: Path, cli, demo
) -> None:  # type: ignore[no-untyped-def]
    config = write(tmp_path / "rse-adoption.toml", "[report]\nwindow_days = 0\n")
    result = cli("report", "--data-dir", demo["data"], "--config", config)
    assert result.exit_code == 78 and f"{config}:2" in result.stderr


def test_settings_built_by_a_library_caller_are_validated() -> None:
    with pytest.raises(ConfigError, match="tipping point needs 0 < low <= high <= 1"):
        Settings(tipping_high=0)
    with pytest.raises(ConfigError, match="window must be at least 1 day"):
        Settings(window_days=0)
    assert Settings(data_dir="store").data_dir == Path("store")  # type: ignore[arg-type]


def test_names_with_brackets_print_as_typed(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """Rich would read `[draft]` as markup and print `export .csv`."""
    site = "R&D [draft]"
    directory = "email,site\n" + "".join(f"p{i}@x.fr,{site}\n" for i in range(6))
    assert cli("directory", write(tmp_path / "d.csv", directory)).exit_code == 0
    export = write(
        tmp_path / "export [draft].csv",
        "timestamp,user,event_type\n"
        + "".join(f"2026-03-02T09:00:00Z,p{i}@x.fr,post\n" for i in range(3)),
    )
    ingested = cli("ingest", export)
    assert ingested.exit_code == 0 and "export [draft].csv: 3 new" in ingested.stderr
    shown = cli("report", "--site", site)
    assert shown.exit_code == 0 and shown.stdout.count(site) >= 2  # table row and site panel
    assert "[bold]" not in shown.stdout


def test_status_does_not_need_the_configured_engine(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """With engine.name = "spark" and no PySpark, status still reports, warnings included."""
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "rse_adoption.metrics.spark", None)
    monkeypatch.setenv("RSE_ADOPTION_ENGINE", "spark")
    directory = "email,site\n" + "".join(
        f"p{i}@x.fr,{'Quiet' if i < 6 else 'Busy'}\n" for i in range(12)
    )
    assert cli("directory", write(tmp_path / "d.csv", directory)).exit_code == 0
    events = "timestamp,user,event_type\n" + "".join(
        f"2026-03-02T09:00:00Z,p{i}@x.fr,post\n" for i in range(6, 12)
    )
    assert cli("ingest", write(tmp_path / "e.csv", events)).exit_code == 0
    assert cli("report").exit_code == 78  # the report does need it...
    status = cli("status", "--json")
    assert status.exit_code == 0, status.stderr  # ...status does not
    codes = {w["code"]: w["message"] for w in status.json()["warnings"]}
    assert codes["site_without_activity"] == (
        "Quiet: no activity from 2025-12-03 to 2026-03-02 among its 6 people"
    )


def test_status_text_shows_activity_periods(cli) -> None:  # type: ignore[no-untyped-def]
    fixture = Path(__file__).parent / "fixtures" / "viva_engage_activity_user_detail_D7.csv"
    assert cli("ingest", fixture).exit_code == 0
    shown = cli("status", "--json").json()["activity_periods"]
    assert len(shown) == 1
    text = cli("status").stdout
    period = shown[0]
    assert f"activity       viva_engage 7 days to 2026-03-31: {period['rows']} people" in text, text
