"""The forecast's backtest (`rse-adoption forecast --backtest`) and the calibration it
measures, on generated organisations with a known diffusion (demo/scenario.py) that the
model was not tuned on (docs/metrics.md, "Backtest" and "Calibration")."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rse_adoption import open_store
from rse_adoption.cli import app
from rse_adoption.demo.scenario import (
    generated_sites,
    make_scenario,
    staggered_starts,
    write_scenario,
)
from rse_adoption.metrics.backtest import summarise
from rse_adoption.model import BacktestCase

LAUNCH = date(2026, 5, 1)
#: (seed, sites, weeks, headcount range, q range): seeds and ranges the forecast's
#: constants were not chosen on (benchmarks/forecast_calibration.py lists those)
ORGANISATIONS = (
    (301, 10, 40, (100, 1500), (0.10, 0.50)),
    (302, 8, 44, (300, 3000), (0.06, 0.30)),
    (303, 10, 36, (150, 2500), (0.30, 0.70)),
)


def _store(
    root: Path, seed: int, n: int, weeks: int, headcount: tuple[int, int], q: tuple[float, float]
) -> Path:
    sites = generated_sites(seed, n, headcount=headcount, q=q)
    scenario = make_scenario(
        sites,
        launch=LAUNCH,
        weeks=weeks,
        seed=seed,
        ambassador_weeks=staggered_starts(seed, sites, weeks),
    )
    directory, events = write_scenario(scenario, root)
    store = open_store(root / "data", create=True)
    store.load_directory(directory)
    store.ingest([events])
    return root / "data"


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return [_store(tmp_path_factory.mktemp(f"org{spec[0]}"), *spec) for spec in ORGANISATIONS]


def test_the_forecast_earns_its_range_on_organisations_it_was_not_tuned_on(
    stores: list[Path],
) -> None:
    """The ~80 % range holds the crossing in 70–90 % of the marks the data can judge,
    fewer than 10 % of the marks crossed later had been called unreachable, and no range
    is inverted (the issue's figures: 5/9 covered, 14/23 called unreachable, 1 inverted)."""
    cases: list[BacktestCase] = []
    for data in stores:
        result = open_store(data, launch_date=LAUNCH.isoformat()).forecast_backtest(every_weeks=2)
        cases += result.cases
    summary = summarise(cases)
    assert summary.decided >= 100, summary
    assert summary.coverage is not None and 0.70 <= summary.coverage <= 0.90, summary
    assert summary.crossed >= 100
    assert summary.crossed_called_unreachable / summary.crossed < 0.10, summary
    assert summary.inverted == 0
    # the dates are not skewed: half the crossings come before the expected date, within a
    # week (issue 30: the median error was the right size, the mean +30 days); the misses
    # are not all on one side
    assert summary.median_error_days is not None and abs(summary.median_error_days) <= 7
    assert summary.missed_early <= 2 * summary.missed_late + 5, summary
    # every dated mark is ordered: earliest ≤ expected ≤ latest
    for c in cases:
        if c.status == "expected":
            assert c.earliest is not None and c.expected is not None and c.earliest <= c.expected
            assert c.latest is None or c.expected <= c.latest


def test_the_command_prints_the_library_result(stores: list[Path]) -> None:
    data = stores[0]
    env = {"RSE_ADOPTION_LAUNCH_DATE": LAUNCH.isoformat()}
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["forecast", "--backtest", "--json", "--data-dir", str(data), "--site", "site 02"],
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    library = open_store(data, launch_date=LAUNCH.isoformat()).forecast_backtest(sites=["Site 02"])
    assert printed == library.to_dict()
    assert printed["sites"] == ["Site 02"] and printed["every_weeks"] == 4
    assert printed["launch_date"] == "2026-05-01"
    assert set(printed["summary"]) >= {"coverage", "crossed_called_unreachable", "inverted"}
    text = runner.invoke(app, ["forecast", "--backtest", "--data-dir", str(data)], env=env)
    assert text.exit_code == 0 and "~80 % range held the crossing" in text.stdout
    assert "all sites" in text.stdout
    frame = library.to_pandas()
    assert len(frame) == len(printed["cases"])
    refused = runner.invoke(app, ["forecast", "--data-dir", str(data)])
    assert refused.exit_code == 2 and "--backtest" in refused.stderr


def test_an_empty_store_has_nothing_to_backtest(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["forecast", "--backtest", "--data-dir", str(tmp_path)])
    assert result.exit_code != 0 and "nothing to backtest" in result.stderr


def _case(status: str, crossed: int | None, **dates: int | None) -> BacktestCase:
    cut = date(2026, 7, 5)

    def day(offset: int | None) -> date | None:
        return cut + timedelta(days=offset) if offset is not None else None

    covered = dates.pop("covered", None)
    followed = dates.pop("followed", None)
    return BacktestCase(
        site="A",
        cut=cut,
        share=0.1,
        share_at_cut=0.05,
        status=status,
        expected=day(dates.get("expected")),
        earliest=day(dates.get("earliest")),
        latest=day(dates.get("latest")),
        crossed=day(crossed),
        covered=None if covered is None else bool(covered),
        error_days=(dates["expected"] - crossed)
        if crossed is not None and dates.get("expected") is not None
        else None,
        followed_weeks=followed,
    )


def test_the_summary_counts_what_it_says() -> None:
    cases = [
        _case("expected", 20, expected=14, earliest=7, latest=28, covered=1),
        _case("expected", 60, expected=14, earliest=7, latest=28, covered=0),
        _case("expected", None, expected=14, earliest=7, latest=None),
        _case("not_at_current_pace", 100),
        _case("not_at_current_pace", 300),
        _case("not_at_current_pace", None),
    ]
    s = summarise(cases)
    assert (s.dated, s.decided, s.covered, s.coverage, s.open_ended) == (3, 2, 1, 0.5, 1)
    assert (s.crossed, s.crossed_called_unreachable) == (4, 2)
    # 100 days is within 26 weeks; 300 is not
    assert (s.unreachable_calls, s.unreachable_reached) == (3, 1)
    assert (s.median_abs_error_days, s.mean_error_days, s.max_late_days, s.max_early_days) == (
        26.0,
        -26.0,
        -6,
        46,
    )
    assert s.median_error_days == -26.0
    assert s.inverted == 0
    # the miss crossed after the range's latest date
    assert (s.missed_early, s.missed_late) == (0, 1)


def test_an_unreachable_call_is_judged_only_over_the_weeks_after_its_cut() -> None:
    """The issue's "Of 12 such calls, 0 were reached within 26 weeks" counted calls made
    8 weeks before the data's end as unreached: only a call followed by the whole 26 weeks,
    or reached within them, counts."""
    cases = [
        _case("not_at_current_pace", None, followed=30),  # 30 weeks followed: unreached
        _case("not_at_current_pace", None, followed=8),  # 8 weeks: the data cannot tell
        _case("not_at_current_pace", 40, followed=8),  # reached within 8 weeks: counted
        _case("expected", 8, expected=28, earliest=21, latest=35, covered=0),  # before earliest
    ]
    s = summarise(cases)
    assert (s.unreachable_calls, s.unreachable_reached, s.unreachable_pending) == (2, 1, 1)
    assert (s.missed_early, s.missed_late) == (1, 0)
