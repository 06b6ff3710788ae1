"""The actions' section on a terminal: the table holds the actions with an estimate; those
without one are one line per reason below it, so a report whose actions cannot be measured
yet (the demo's ambassadors, who started before the data) does not print a screen of empty
columns, and every line fits the terminal's width."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rse_adoption import open_store
from rse_adoption.cli import app
from rse_adoption.demo.scenario import Campaigns, generated_sites, make_scenario, write_scenario

LAUNCH = date(2026, 5, 1)
SITES = generated_sites(7, 6, headcount=(200, 600))


def _day(week: int) -> str:
    return (LAUNCH + timedelta(weeks=week)).isoformat()


@pytest.mark.parametrize("width", [80, 150])
def test_actions_without_an_estimate_are_one_line_per_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    campaigns = Campaigns({SITES[0].name: 12}, lift=3, reach=0.6)
    scenario = make_scenario(SITES, launch=LAUNCH, weeks=26, seed=7, campaigns=campaigns)
    directory, events = write_scenario(scenario, tmp_path)
    store = open_store(tmp_path / "data", create=True)
    store.load_directory(directory)
    store.ingest([events])
    actions = tmp_path / "actions.csv"
    actions.write_text(
        "date,site,kind,label\n"
        f"{_day(12)},{SITES[0].name},campaign,push\n"
        f"{_day(2)},{SITES[1].name},webinar,early\n"
        f"{_day(3)},{SITES[2].name},webinar,early too\n",
        encoding="utf-8",
    )
    store.load_interventions(actions)
    monkeypatch.setenv("COLUMNS", str(width))
    result = CliRunner().invoke(app, ["effects", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= width
    assert not any("…" in line for line in lines)  # every cell whole, wrapped if need be
    text = " ".join(line.strip() for line in lines)
    assert "Actions and their effect" in text and "push" in text  # the estimate's row
    reason = "too little data before the action"
    assert text.count(f"Actions not estimable ({reason}") == 1  # both early ones, one line
    assert f"{SITES[1].name}, early," in text and f"{SITES[2].name}, early too," in text
    assert "early" not in "".join(line for line in lines if "│" in line)  # not in the table
