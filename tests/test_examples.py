"""Every file of examples/ works as its comments say: the configuration loads and covers
every setting, the cron lines and the systemd unit run (on the demo organisation, with
their /srv paths moved into a scratch folder), the mapping reads the export it describes,
and the notebook-style analysis runs end to end."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rse_adoption.config import FILE_KEYS, effective_settings

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CLI = f"{shlex.quote(sys.executable)} -m rse_adoption.cli"


def test_the_configuration_example_loads_and_names_every_setting(tmp_path: Path) -> None:
    settings, sources = effective_settings(config=EXAMPLES / "rse-adoption.toml", environ={})
    assert settings.data_dir == EXAMPLES / "rse-data"  # relative to the file
    assert (settings.timezone, settings.window_days, settings.min_group_size) == (
        "UTC",
        90,
        5,
    )
    assert dict(settings.site_aliases)["St-Etienne"] == "Saint-Étienne"
    assert sources["window_days"] == f"{EXAMPLES / 'rse-adoption.toml'}:22"
    text = (EXAMPLES / "rse-adoption.toml").read_text(encoding="utf-8")
    for table, key in FILE_KEYS:  # a setting added to the code is added to the example
        assert re.search(rf"^(# )?{key} = ", text, re.M), f"{table}.{key}"


@pytest.fixture
def srv(tmp_path: Path, demo) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """/srv/rse, /srv/exports and /srv/www of the examples, as scratch folders holding the
    demo organisation's exports and the example configuration."""
    root = tmp_path / "srv"
    shutil.copytree(demo["exports"] / "events", root / "exports" / "esn")
    (root / "exports" / "hr").mkdir(parents=True)
    shutil.copy(demo["exports"] / "directory.csv", root / "exports" / "hr" / "directory.csv")
    (root / "rse").mkdir()
    shutil.copy(EXAMPLES / "rse-adoption.toml", root / "rse" / "rse-adoption.toml")
    return {"root": root, "www": root / "www", "data": root / "rse" / "rse-data"}


def _moved(command: str, srv: dict[str, Path]) -> str:
    """A command of the examples with its /srv paths in the scratch folder and the
    installed command replaced by this interpreter's."""
    command = re.sub(r"(\./|/srv/rse/)\.venv/bin/rse-adoption", CLI, command)
    return command.replace("/srv/", f"{srv['root']}/")


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSE_ADOPTION_")}
    return subprocess.run(
        ["sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _expect_nightly_run(srv: dict[str, Path]) -> None:
    assert (srv["www"] / "report.html").stat().st_size > 10_000
    report = (srv["www"] / "report.json").read_text(encoding="utf-8")
    assert '"headcount_source": "directory"' in report
    history = _run(f"{CLI} history --json", srv["root"] / "rse")
    assert history.returncode == 0 and '"site": "Lyon"' in history.stdout


def test_the_cron_lines_run(srv: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    lines = [
        line
        for line in (EXAMPLES / "cron" / "rse-adoption").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#") and "=" not in line.split()[0]
    ]
    # A fetch needs its vendor's API, which no test reaches: its line's shape only.
    fetches = [line for line in lines if " fetch " in line]
    assert [line.split(" fetch ")[1].split(" --quiet")[0] for line in fetches] == [
        "m365",
        "viva-engage",
        "slack --analytics",
    ]
    for line in fetches:
        assert line.split()[5] == "rse" and " --quiet" in line
        # a secret comes from a private env file; the Viva Engage sign-in from its token cache
        assert ". ./" in line or "viva-engage" in line
    lines = [line for line in lines if line not in fetches]
    assert len(lines) == 2
    for line in lines:
        minute, hour, day, month, weekday, user, command = line.split(maxsplit=6)
        assert user == "rse" and minute.isdigit() and hour.isdigit()
        done = _run(_moved(command, srv), srv["root"])
        assert done.returncode == 0, done.stderr
        assert done.stdout == "" or "status" in command  # a good night is silent
    _expect_nightly_run(srv)
    assert srv["data"].is_dir()  # data_dir of the example configuration, beside it


def test_the_systemd_unit_runs(srv: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    unit = (EXAMPLES / "systemd" / "rse-adoption.service").read_text(encoding="utf-8")
    workdir = re.search(r"^WorkingDirectory=(.+)$", unit, re.M)
    assert workdir is not None
    starts = re.findall(r"^ExecStart=(.+)$", unit, re.M)
    assert len(starts) == 5
    for command in starts:
        done = _run(_moved(command, srv), Path(_moved(workdir.group(1), srv)))
        assert done.returncode == 0, done.stderr
    _expect_nightly_run(srv)
    timer = (EXAMPLES / "systemd" / "rse-adoption.timer").read_text(encoding="utf-8")
    assert "OnCalendar=*-*-* 02:30:00" in timer and "WantedBy=timers.target" in timer


def test_the_talkspirit_mapping_reads_its_export(tmp_path: Path, cli, demo) -> None:  # type: ignore[no-untyped-def]
    export = demo["exports"] / "platforms" / "talkspirit" / "activite.csv"
    result = cli(
        "ingest", export, "--mapping", EXAMPLES / "mappings" / "talkspirit.toml", "--json"
    ).json()
    assert [d["format"] for d in result["details"]] == ["mapped"]
    assert result["rows_ingested"] > 1000 and result["quarantined"] == 0
    assert result["details"][0]["ignored"] > 0  # "A modifié son profil" is not ESN activity


@pytest.mark.slow
def test_the_analysis_runs_end_to_end(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "analysis.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 0, done.stderr
    assert "People to convert before each site tips" in done.stdout
    for name in ("contributor-share-through-the-window.png", "ambassadors-and-participation.png"):
        assert (tmp_path / name).stat().st_size > 1000, name
    import pandas as pd

    import rse_adoption as rse

    # the CSV holds the report's own changes, none the privacy rule hides
    changes = pd.read_csv(tmp_path / "change-since-previous-window.csv")
    report = rse.open_store(tmp_path / "rse-data").report()
    shown = {g.site: g.change_points for g in report.sites if g.change_points is not None}
    assert dict(zip(changes["site"], changes["change_points"], strict=True)) == pytest.approx(
        {site: round(points, 3) for site, points in shown.items()}, abs=1e-3
    )


def test_the_example_configuration_holds_only_defaults() -> None:
    """examples/rse-adoption.toml claims every setting with its default: copying it must
    change nothing (it set launch_date and timezone, which moved a forecast by months)."""
    import tomllib

    from rse_adoption.config import FILE_KEYS, Settings

    written = tomllib.loads((EXAMPLES / "rse-adoption.toml").read_text(encoding="utf-8"))
    defaults = Settings()
    for (table, key), (field, _) in FILE_KEYS.items():
        section = written.get(table, {}) if table else written
        if key in section:
            value = getattr(defaults, field)
            assert section[key] == (str(value) if field == "data_dir" else value), f"{table}.{key}"
