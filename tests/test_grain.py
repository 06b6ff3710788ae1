"""Day and week grain: activity periods that tile the report's window give what events give
(segments, the weekly series, habit, the forecast, transitions), and the report says which
grain it used (`activity_grain`, docs/metrics.md "Grain").

The demo writes its organisation's last 28 days as daily Viva Engage reports; the reference
is the demo's own event log over the same 28 days.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rse_adoption.metrics import grain
from rse_adoption.metrics.segments import Window
from rse_adoption.report.json_report import schema
from rse_adoption.store import Manifest

from .conftest import write

LAST_DAY = "2026-10-31"
FIRST_DAY = "2026-10-04"
VIVA_HEADER = (
    "Report Refresh Date,User Principal Name,Display Name,User State,State Change Date,"
    "Last Activity Date,Posted Count,Read Count,Liked Count,Assigned Products,Report Period"
)
PEOPLE = ("alice", "bob", "carol", "dave", "erin")
DIRECTORY = "email;site\n" + "".join(f"{name}@example.com;Lyon\n" for name in PEOPLE)


def viva_csv(end: dt.date, days: int, counts: dict[str, tuple[int, int, int]]) -> str:
    """A Viva Engage activity user detail report of `days` days ending `end`: person ->
    (posted, read, liked)."""
    lines = [VIVA_HEADER]
    for name, (posted, read, liked) in counts.items():
        lines.append(f"{end},{name}@example.com,,active,,{end},{posted},{read},{liked},E3,{days}")
    return "\r\n".join(lines) + "\r\n"


def site(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["sites"] if s["site"] == name)


# --- The demo's 28 daily files against its event log ----------------------------------


@pytest.fixture(scope="module")
def login_free_events(demo: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's events of the 28 days, without logins (Viva Engage has none), as a
    generic event CSV: the same activity the daily files carry, as an event log."""
    from rse_adoption.demo import event_batches, make_organisation

    table = pa.concat_tables(event_batches(make_organisation(seed=42)))
    day = pc.utf8_slice_codeunits(table.column("timestamp"), 0, 10)
    keep = pc.and_(
        pc.and_(pc.greater_equal(day, FIRST_DAY), pc.less_equal(day, LAST_DAY)),
        pc.not_equal(table.column("event_type"), "login"),
    )
    part = table.filter(keep)
    iso = pc.binary_join_element_wise(
        pc.replace_substring(part.column("timestamp"), " ", "T"), pa.scalar("Z"), pa.scalar("")
    )
    path = tmp_path_factory.mktemp("events") / "events-without-logins.csv"
    pacsv.write_csv(part.set_column(0, "timestamp", iso), path)
    return path


def test_28_daily_files_give_the_event_logs_segments_weekly_series_and_forecast(
    demo: dict[str, Path], login_free_events: Path, tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    daily = demo["exports"] / "platforms" / "viva_engage" / "daily"
    assert len(list(daily.glob("*.csv"))) == 28
    assert cli("directory", demo["exports"] / "directory.csv").exit_code == 0
    assert cli("ingest", daily).exit_code == 0
    # every count shown: the grains are compared figure for figure, not what k hides
    window = ("--window", "28", "--as-of", LAST_DAY, "--json", "--min-group-size", "1")
    report = cli("report", *window).json()
    events = tmp_path / "events-store"
    assert cli("directory", demo["exports"] / "directory.csv", "--data-dir", events).exit_code == 0
    assert cli("ingest", login_free_events, "--data-dir", events).exit_code == 0
    same_activity = cli("report", *window, "--data-dir", events).json()
    assert cli("report", *window, "--data-dir", demo["data"]).exit_code == 0
    full_log = cli("report", *window, "--data-dir", demo["data"]).json()

    jsonschema.validate(report, schema())
    assert report["activity_grain"] == "day"
    assert same_activity["activity_grain"] == full_log["activity_grain"] == "events"
    assert [(p["period_days"], p["refresh_date"]) for p in report["activity_periods"]] == [
        (1, (dt.date(2026, 10, 4) + dt.timedelta(days=i)).isoformat()) for i in range(28)
    ]
    shown = [s for s in report["sites"] if not s["suppressed"]]
    assert len(shown) >= 5
    for ours in shown:
        theirs = site(same_activity, ours["site"])
        # the same activity as events: every figure of the segments and the series
        assert ours["segments"] == theirs["segments"], ours["site"]
        assert ours["series"] == theirs["series"], ours["site"]
        assert [p["week_start"] for p in ours["series"]] == [
            "2026-09-28",
            "2026-10-05",
            "2026-10-12",
            "2026-10-19",
            "2026-10-26",
        ]
        assert ours["forecast"] is not None and ours["forecast"]["weeks_used"] == 2
        assert ours["habitual_contributors"] is not None
        # against the whole event log (logins included): what Viva Engage carries is equal
        full = site(full_log, ours["site"])
        for segment in ("contributor", "reactor", "reader"):
            assert ours["segments"][segment] == full["segments"][segment]
        assert ours["segments"]["visitor"] == 0  # no logins in Viva Engage
        assert [p["contributors"] for p in ours["series"]] == [
            p["contributors"] for p in full["series"]
        ]
    assert report["totals"]["segments"] == same_activity["totals"]["segments"]
    assert sum(s["segments"]["contributor"] for s in shown) > 100


def test_without_the_directory_the_days_still_give_the_series(demo: dict[str, Path], cli) -> None:  # type: ignore[no-untyped-def]
    """No --as-of and no directory: the default as_of is the last day the files tile."""
    daily = demo["exports"] / "platforms" / "viva_engage" / "daily"
    assert cli("ingest", daily).exit_code == 0
    report = cli("report", "--window", "28", "--json").json()
    assert (report["as_of"], report["activity_grain"]) == (LAST_DAY, "day")
    assert report["totals"]["series"] and report["totals"]["series"][-1]["contributors"] > 0


# --- Small stores: week, period, events, gaps, overlaps ---------------------------------


@pytest.fixture
def lyon(tmp_path: Path, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Lyon's 5 people, every count shown: these tests check what each grain counts."""
    monkeypatch.setenv("RSE_ADOPTION_MIN_GROUP_SIZE", "1")
    assert cli("directory", write(tmp_path / "directory.csv", DIRECTORY)).exit_code == 0


def _ingest(cli, tmp_path: Path, name: str, text: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("ingest", write(tmp_path / "exports" / name, text, "utf-8-sig"), "--quiet")
    assert result.exit_code == 0, result.stderr


@pytest.mark.usefixtures("lyon")
def test_seven_day_periods_ending_on_sundays_give_the_week_grain(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # Four ISO weeks ending Sunday 2026-10-25. alice posts in weeks 1 and 3, bob reads
    # then posts in week 4, carol only likes, dave reads once, erin nothing.
    sundays = [dt.date(2026, 10, 4) + dt.timedelta(weeks=i) for i in range(4)]
    weekly = [
        {"alice": (2, 1, 0), "bob": (0, 3, 0), "carol": (0, 0, 1), "dave": (0, 1, 0)},
        {"bob": (0, 1, 0), "carol": (0, 0, 2)},
        {"alice": (1, 0, 0)},
        {"bob": (1, 0, 0), "erin": (0, 0, 0)},
    ]
    for sunday, counts in zip(sundays, weekly, strict=True):
        _ingest(cli, tmp_path, f"D7_{sunday}.csv", viva_csv(sunday, 7, counts))
    report = cli("report", "--window", "28", "--as-of", "2026-10-25", "--json").json()
    assert report["activity_grain"] == "week"
    lyon = site(report, "Lyon")
    assert lyon["segments"] == {
        "inactive": 1,
        "visitor": 0,
        "reader": 1,
        "reactor": 1,
        "contributor": 2,
    }
    assert [
        (p["week_start"], p["contributors"], p["active_users"], p["contributors_to_date"])
        for p in lyon["series"]
    ] == [
        ("2026-09-28", 1, 4, 1),
        ("2026-10-05", 0, 2, 1),
        ("2026-10-12", 1, 1, 1),
        ("2026-10-19", 1, 1, 2),
    ]
    assert lyon["forecast"] is not None
    # A few one-day periods do not tile the window: the weeks still do, and a note says why
    # the days are not used (and they add nothing: erin stays inactive).
    day = dt.date(2026, 10, 20)
    _ingest(cli, tmp_path, "daily.csv", viva_csv(day, 1, {"erin": (5, 0, 0)}))
    again = cli("report", "--window", "28", "--as-of", "2026-10-25", "--json").json()
    assert again["activity_grain"] == "week"
    assert site(again, "Lyon")["segments"] == lyon["segments"]
    assert any(
        "one-day periods do not cover" in n and "so its seven-day periods are used" in n
        for n in again["notes"]
    )
    # A window that is not whole ISO weeks is not tiled by them.
    shifted = cli("report", "--window", "28", "--as-of", "2026-10-24", "--json")
    assert shifted.exit_code == 65
    assert "--window 28 --as-of 2026-10-25 (viva_engage, each ISO week)" in shifted.stderr


@pytest.mark.usefixtures("lyon")
def test_a_single_period_equal_to_the_window_has_no_weekly_detail(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    counts = {"alice": (3, 1, 0), "bob": (0, 4, 0), "carol": (0, 0, 1)}
    _ingest(cli, tmp_path, "D90.csv", viva_csv(dt.date(2026, 10, 31), 90, counts))
    report = cli("report", "--window", "90", "--as-of", "2026-10-31", "--json").json()
    jsonschema.validate(report, schema())
    assert report["activity_grain"] == "period"
    lyon = site(report, "Lyon")
    assert lyon["segments"]["contributor"] == 1 and lyon["segments"]["reader"] == 1
    assert lyon["series"] is None and lyon["forecast"] is None
    assert lyon["habitual_contributors"] is None and report["totals"]["series"] is None
    assert any("No weekly detail at this grain" in n for n in report["notes"])
    text = cli("report", "--window", "90", "--as-of", "2026-10-31", "--site", "Lyon")
    assert text.exit_code == 0 and "no weekly detail at the period grain" in text.stdout
    html = cli("report", "--window", "90", "--as-of", "2026-10-31", "--format", "html")
    assert html.exit_code == 0 and 'id="trends"' not in html.stdout


@pytest.mark.usefixtures("lyon")
def test_events_alone_are_the_events_grain(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    events = "timestamp,user,event_type\n2026-10-30T09:00:00Z,alice@example.com,post\n"
    _ingest(cli, tmp_path, "events.csv", events)
    report = cli("report", "--window", "28", "--json").json()
    assert report["activity_grain"] == "events"
    assert site(report, "Lyon")["series"][-1]["contributors"] == 1


def _days(
    cli, tmp_path: Path, first: dt.date, count: int, skip: set[int] = frozenset(), **who
) -> None:  # type: ignore[no-untyped-def]
    """One daily Viva Engage file per day from `first`; `who`: person -> (posted, read,
    liked) on every day."""
    for i in range(count):
        if i in skip:
            continue
        day = first + dt.timedelta(days=i)
        _ingest(cli, tmp_path, f"daily/{day}.csv", viva_csv(day, 1, who))


@pytest.mark.usefixtures("lyon")
def test_a_missing_day_is_not_tiled_and_the_report_says_which(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _days(cli, tmp_path, dt.date(2026, 10, 4), 28, skip={9}, alice=(1, 0, 0))
    gap = cli("report", "--window", "28", "--as-of", LAST_DAY, "--json")
    assert gap.exit_code == 65
    assert "missing the day 2026-10-13" in gap.stderr
    # the shorter windows the days do tile are named
    assert "--window 18 --as-of 2026-10-31 (viva_engage, each day)" in gap.stderr
    tiled = cli("report", "--window", "18", "--as-of", LAST_DAY, "--json").json()
    assert tiled["activity_grain"] == "day"
    # with events in the store, the report goes on with events and a note names the gap
    events = "timestamp,user,event_type\n2026-10-30T09:00:00Z,bob@example.com,read\n"
    _ingest(cli, tmp_path, "events.csv", events)
    report = cli("report", "--window", "28", "--as-of", LAST_DAY, "--json").json()
    assert report["activity_grain"] == "events"
    assert any("missing the day 2026-10-13" in n for n in report["notes"])
    assert site(report, "Lyon")["segments"]["contributor"] == 0


@pytest.mark.usefixtures("lyon")
def test_overlapping_periods_are_never_summed(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # alice posts every day, bob reads every day; a D7 and a D28 of the same days, and the
    # last day exported twice (the second replaces the first), are in the store too.
    _days(cli, tmp_path, dt.date(2026, 10, 4), 28, alice=(1, 0, 0), bob=(0, 1, 0))
    end = dt.date(2026, 10, 31)
    _ingest(cli, tmp_path, "D7.csv", viva_csv(end, 7, {"alice": (7, 0, 0), "carol": (1, 0, 0)}))
    _ingest(cli, tmp_path, "D28.csv", viva_csv(end, 28, {"alice": (28, 0, 0), "dave": (1, 0, 0)}))
    _ingest(cli, tmp_path, "again.csv", viva_csv(end, 1, {"alice": (3, 0, 0), "bob": (0, 2, 0)}))
    report = cli("report", "--window", "28", "--as-of", LAST_DAY, "--json").json()
    assert report["activity_grain"] == "day"
    lyon = site(report, "Lyon")
    # the one-day periods only: carol and dave (only in the D7 and D28) are not added
    assert lyon["segments"] == {
        "inactive": 3,
        "visitor": 0,
        "reader": 1,
        "reactor": 0,
        "contributor": 1,
    }
    assert [(p["contributors"], p["active_users"]) for p in lyon["series"]] == [(1, 2)] * 5
    assert lyon["series"][-1]["contributors_to_date"] == 1
    assert {p["period_days"] for p in report["activity_periods"]} == {1}
    assert len(report["activity_periods"]) == 28


@pytest.mark.usefixtures("lyon")
def test_transitions_at_day_grain_read_the_previous_windows_days(
    tmp_path: Path, cli, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RSE_ADOPTION_MIN_GROUP_SIZE", "1")
    first = dt.date(2026, 10, 19)  # two windows of 7 days: 19-25 then 26 Oct-1 Nov
    for i in range(14):
        day = first + dt.timedelta(days=i)
        counts = {"alice": (0, 1, 0), "bob": (1, 0, 0)} if i < 7 else {"alice": (1, 0, 0)}
        _ingest(cli, tmp_path, f"daily/{day}.csv", viva_csv(day, 1, counts))
    result = cli("transitions", "--window", "7", "--as-of", "2026-11-01", "--json")
    assert result.exit_code == 0, result.stderr
    lyon = next(r for r in result.json()["sites"] if r["site"] == "Lyon")
    assert lyon["matrix"]["reader"]["contributor"] == 1  # alice
    assert lyon["matrix"]["contributor"]["inactive"] == 1  # bob
    assert lyon["matrix"]["inactive"]["inactive"] == 3


# --- The rule itself -------------------------------------------------------------------


def _entry(source_format: str, end: dt.date, days: int) -> dict[str, Any]:
    return {
        "path": f"activity/{source_format}-{days}-{end}.parquet",
        "source_format": source_format,
        "period_days": days,
        "refresh_date": end.isoformat(),
        "rows": 1,
    }


@given(
    window_days=st.integers(min_value=1, max_value=35),
    held=st.sets(st.integers(min_value=0, max_value=40)),
    teams_held=st.sets(st.integers(min_value=0, max_value=40)),
)
def test_grain_is_day_exactly_when_every_day_is_held_and_files_are_never_reused(
    window_days: int, held: set[int], teams_held: set[int]
) -> None:
    """Days are offsets back from as_of (0 = as_of). A format is used at day grain iff it
    holds each day of the window; each period used once; the weekly files start where the
    gapless run of every tiling format starts."""
    as_of = dt.date(2026, 10, 31)
    manifest = Manifest(
        activity_files=[_entry("viva_engage", as_of - dt.timedelta(days=d), 1) for d in held]
        + [_entry("teams", as_of - dt.timedelta(days=d), 1) for d in teams_held]
    )
    window = Window(as_of=as_of, days=window_days)
    cover = grain.coverage(manifest, window)
    needed = set(range(window_days))
    tiles = {"viva_engage": needed <= held, "teams": needed <= teams_held}
    assert cover.formats == {f: "day" for f, ok in tiles.items() if ok}
    assert cover.grain == ("day" if any(tiles.values()) else "events")
    paths = [f["path"] for f in cover.window_files]
    assert len(paths) == len(set(paths)) == window_days * sum(tiles.values())
    if cover.weekly_start is not None:
        for name, days in (("viva_engage", held), ("teams", teams_held)):
            if tiles[name]:
                run = next(d for d in range(window_days, 60) if d not in days)
                assert cover.weekly_start >= as_of - dt.timedelta(days=run - 1)
        assert all(f["refresh_date"] <= as_of.isoformat() for f in cover.weekly_files)
    missing = [n for n in cover.notes if "missing the day" in n]
    partial = [
        f
        for f, days in (("viva_engage", held), ("teams", teams_held))
        if not tiles[f] and needed & days
    ]
    assert len(missing) == len(partial)
