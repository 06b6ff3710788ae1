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
    assert result.exit_code == 66 and "no store here" in result.stderr  # an empty folder
    directory = tmp_path / "d.csv"
    directory.write_text("email,site\na@x.fr,Lyon\n", encoding="utf-8")
    store = tmp_path / "store"
    assert (
        CliRunner().invoke(app, ["directory", str(directory), "--data-dir", str(store)]).exit_code
        == 0
    )
    result = CliRunner().invoke(app, ["forecast", "--backtest", "--data-dir", str(store)])
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


# --- the report's self-calibration (issue 30) ---------------------------------------------


def test_the_calibration_widens_the_side_the_range_missed_on() -> None:
    """Twelve past checks whose crossings all came 3 weeks before the expected date, with
    ranges reaching 2 weeks before it: the range missed every time on the early side. The
    conformal factor widens that side enough to hold at least 90 % of them; the late side
    held every time and narrows (within its bounds)."""
    from rse_adoption.metrics.backtest import calibrate

    cases = [
        _case("expected", 7, expected=28, earliest=14, latest=56, covered=0) for _ in range(12)
    ]
    result = calibrate(cases, date(2027, 6, 7), cuts=6)
    assert (result.scope, result.checks, result.held, result.cuts) == ("organisation", 12, 0, 6)
    # the crossings' weeks ended 15 days before the expected date; the side was 14 wide
    assert result.earlier == round(15 / 14, 3) and result.later == 0.5
    too_few = calibrate(cases[:9], date(2027, 6, 7), cuts=2)
    assert (too_few.scope, too_few.checks, too_few.needed) == ("generic", 9, 10)
    assert (too_few.earlier, too_few.later) == (1.0, 1.0)


def test_a_calibrated_range_moves_each_side_by_its_factor() -> None:
    from rse_adoption.metrics.forecast import calibrated
    from rse_adoption.model import Forecast, ForecastCalibration, ForecastMark

    monday = date(2026, 1, 5)
    mark = ForecastMark(0.15, "expected", date(2026, 6, 1), date(2026, 5, 4), date(2026, 7, 6))
    result = Forecast("bass", (mark,), {}, 20, None)
    adjusted = calibrated(
        result, ForecastCalibration("organisation", 12, 7, 10, 2.0, 0.5), monday, 10
    )
    (moved,) = adjusted.marks
    # 28 days before ×2, 35 after ×0.5 (17.5, rounded to 18)
    assert moved.earliest == date(2026, 4, 6) and moved.latest == date(2026, 6, 19)
    assert moved.expected == mark.expected and adjusted.calibration is not None
    generic = ForecastCalibration("generic", 3, 2, 10)
    assert calibrated(result, generic, monday, 10).marks == (mark,)


def test_the_report_says_how_its_range_did_on_this_organisation(
    stores: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 44 weeks of history the report backtests itself, says how the range did next
    to each date in every format and language, and caches the check in the store: a
    second report of the same store state does not forecast the past again."""
    import csv
    import io

    from rse_adoption.metrics import backtest

    data = stores[1]
    (data / backtest.CACHE_FILE).unlink(missing_ok=True)
    env = {"RSE_ADOPTION_LAUNCH_DATE": LAUNCH.isoformat()}
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, ["report", "--data-dir", str(data), *args], env=env)
        assert result.exit_code == 0, result.stderr
        return result.stdout

    report = json.loads(run("--json"))
    calibrations = [s["forecast"]["calibration"] for s in report["sites"] if s["forecast"]]
    first = calibrations[0]
    assert all(c == first for c in calibrations) and first["scope"] == "organisation"
    assert first["checks"] >= backtest.MIN_CHECKS and 0 <= first["held"] <= first["checks"]
    # each forecast's calibration came with schema 1.7
    assert tuple(int(n) for n in report["schema_version"].split(".")) >= (1, 7)
    assert (data / backtest.CACHE_FILE).exists()

    def no_second_backtest(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached check was not used")

    monkeypatch.setattr(backtest, "judge_cases", no_second_backtest)
    held = f"held {first['held']} of {first['checks']} past checks here"
    assert held in run("--format", "md")
    # the terminal wraps the forecast column: the phrase may break after "held"
    table = run("--format", "table")
    assert "held" in table and f"{first['held']} of {first['checks']} past checks here" in table
    assert held in run("--format", "html")
    assert f"a tenu {first['held']} des {first['checks']} vérifications passées" in run(
        "--format", "md", "--lang", "fr"
    )
    rows = list(csv.DictReader(io.StringIO(run("--format", "csv"))))
    assert {r["forecast_calibration"] for r in rows if r["forecast_method"]} == {"organisation"}
    assert {r["forecast_checks_held"] for r in rows if r["forecast_method"]} == {str(first["held"])}
    # the check is the organisation's whatever --site asks (docs/privacy.md: overall
    # figures never depend on --site): a report of one site reads the same cached check
    page = run("--format", "html", "--site", rows[0]["site"])
    assert held in page
    one = json.loads(run("--json", "--site", rows[0]["site"]))
    assert [s["forecast"]["calibration"] for s in one["sites"] if s["forecast"]] == [first]
    entries = json.loads((data / backtest.CACHE_FILE).read_text())
    assert len(entries) == 1


def test_with_too_little_history_the_report_says_so(demo: dict[str, Path]) -> None:
    """The demo's store holds too few weeks to check the range: the report says so and
    keeps the generic calibration."""
    runner = CliRunner()
    result = runner.invoke(app, ["report", "--json", "--data-dir", str(demo["data"])])
    assert result.exit_code == 0, result.stderr
    shown = [s["forecast"] for s in json.loads(result.stdout)["sites"] if s["forecast"]]
    assert shown and all(f["calibration"]["scope"] == "generic" for f in shown)
    assert all(f["calibration"]["checks"] < f["calibration"]["needed"] for f in shown)
    table = runner.invoke(app, ["report", "--format", "md", "--data-dir", str(demo["data"])])
    assert "too little history to check it here" in table.stdout
