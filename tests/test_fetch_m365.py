"""`fetch m365` against a local HTTPS server speaking Microsoft's protocol (fake_graph.py):
token endpoint, report endpoints, the 302 to the download, throttling, failures. No test
reaches the internet, and none waits: the fetcher's clock and sleep are replaced."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rse_adoption import store
from rse_adoption.config import Settings
from rse_adoption.errors import ConfigError
from rse_adoption.fetch import graph, m365
from rse_adoption.fetch.m365 import fetch_m365, held_days
from rse_adoption.ingest.pipeline import ingest_paths
from rse_adoption.ingest.registry import DailyReport
from rse_adoption.status import store_status

from .conftest import Clock, Run, write
from .fake_graph import (
    CLIENT_ID,
    TENANT,
    VIVA_HEADER,
    FakeMicrosoft,
    csv_for,
    make_client_certificate,
    people_of,
)

TODAY = dt.date(2026, 10, 30)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(graph, "monotonic", fake.monotonic)
    monkeypatch.setattr(graph, "sleep", fake.sleep)
    return fake


@pytest.fixture
def ms(server: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMicrosoft]:
    """A fresh fake Microsoft on the shared server, trusted through SSL_CERT_FILE."""
    httpserver, ca = server
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = httpserver.url_for("/").rstrip("/")
    fake = FakeMicrosoft(url=url, today=TODAY)
    httpserver.clear()
    httpserver.expect_request(re_any()).respond_with_handler(fake.handle)
    yield fake
    assert fake.assertions == []


def re_any() -> Any:
    import re

    return re.compile(".*")


def settings_for(fake: FakeMicrosoft, data_dir: Path, **extra: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        m365_tenant_id=TENANT,
        m365_client_id=CLIENT_ID,
        m365_graph_url=f"{fake.url}/v1.0",
        m365_authority_url=fake.url,
        **extra,
    )


def run(
    fake: FakeMicrosoft, data_dir: Path, today: dt.date = TODAY, **options: Any
) -> m365.FetchSummary:
    environ = options.pop("environ", {graph.SECRET_ENV: fake.secret})
    return fetch_m365(settings_for(fake, data_dir), environ=environ, today=today, **options)


def one_day_periods(data_dir: Path, report: str) -> dict[str, int]:
    """Day -> rows of the one-day activity periods of `report` the store holds."""
    manifest = store.read_manifest(data_dir)
    return {
        f["refresh_date"]: int(f["rows"])
        for f in manifest.activity_files
        if f["source_format"] == report and int(f["period_days"]) == 1
    }


def activity_rows(data_dir: Path) -> list[tuple[Any, ...]]:
    """Every stored activity row (format, day, person key, counts), sorted."""
    manifest = store.read_manifest(data_dir)
    paths = [str(data_dir / f["path"]) for f in manifest.activity_files]
    if not paths:
        return []
    return duckdb.sql(
        "SELECT source_format, refresh_date, period_days, person_key, posts, replies, "
        "reactions, reads, other_activity FROM read_parquet($p) ORDER BY ALL",
        params={"p": paths},
    ).fetchall()


def expected_rows(report: str, day: dt.date) -> int:
    return len(set(people_of(report, day)))


# --- The reader: a one-day report is an activity period of one day ---------------------


def test_a_daily_csv_with_the_documented_header_is_a_one_day_period(tmp_path: Path) -> None:
    """Saved from Graph with `date=` and ingested by hand: its Report Period (1) and
    Report Refresh Date make the period, as for any export."""
    day = dt.date(2026, 10, 2)
    path = tmp_path / "yammer-day.csv"
    path.write_bytes(csv_for("viva_engage", day, day))
    summary = ingest_paths([path], Settings(data_dir=tmp_path / "data"))
    assert summary.details[0].status == "ingested"
    assert one_day_periods(tmp_path / "data", "viva_engage") == {
        "2026-10-02": expected_rows("viva_engage", day)
    }


def test_a_fetched_day_is_the_period_of_that_day_whatever_the_refresh_date(
    tmp_path: Path,
) -> None:
    """Graph's Report Refresh Date is the latest date of its data: two days fetched on
    the same date carry the same one, yet are two periods, each of its own day."""
    data = tmp_path / "data"
    refresh = dt.date(2026, 10, 5)
    for day in (dt.date(2026, 10, 1), dt.date(2026, 10, 2)):
        path = tmp_path / f"teams-{day}.csv"
        path.write_bytes(csv_for("teams", day, refresh))
        result = ingest_paths(
            [path], Settings(data_dir=data), format_name="teams", daily=DailyReport(day)
        ).details[0]
        assert result.status == "ingested", result.message
    assert one_day_periods(data, "teams") == {
        "2026-10-01": expected_rows("teams", dt.date(2026, 10, 1)),
        "2026-10-02": expected_rows("teams", dt.date(2026, 10, 2)),
    }


def test_a_revised_day_replaces_the_day_whole(tmp_path: Path) -> None:
    """Microsoft revises recent days: a newer version replaces the day's rows, nobody's old
    row is kept (an export by hand keeps the people the new file does not list)."""
    data = tmp_path / "data"
    day = dt.date(2026, 10, 1)
    first = write(
        tmp_path / "v1.csv",
        f"{VIVA_HEADER}\n2026-10-02,a@x.example,A,,,,1,1,1,,1\n"
        "2026-10-02,b@x.example,B,,,,1,1,1,,1\n",
    )
    second = write(tmp_path / "v2.csv", f"{VIVA_HEADER}\n2026-10-05,a@x.example,A,,,,2,1,1,,1\n")
    for path in (first, second):
        ingest_paths(
            [path], Settings(data_dir=data), format_name="viva_engage", daily=DailyReport(day)
        )
    rows = activity_rows(data)
    assert [(r[1], r[2], r[4]) for r in rows] == [(day, 1, 2)]
    # Revised to nobody active that day: no row of it remains (the day is still held).
    empty = write(tmp_path / "v3.csv", f"{VIVA_HEADER}\n")
    ingest_paths(
        [empty], Settings(data_dir=data), format_name="viva_engage", daily=DailyReport(day)
    )
    assert activity_rows(data) == []


# --- The fetcher -----------------------------------------------------------------------


def test_28_days_fill_the_store_and_the_next_day_adds_one(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock
) -> None:
    data = tmp_path / "data"
    summary = run(ms, data)
    assert summary.exit_code == 0, summary.stopped
    assert summary.count("fetched") == 56 and summary.count("error") == 0
    for report in ("viva_engage", "teams"):
        days = one_day_periods(data, report)
        assert len(days) == 28
        assert min(days) == str(TODAY - dt.timedelta(days=28))
        assert max(days) == str(TODAY - dt.timedelta(days=1))
        for day, rows in days.items():
            assert rows == expected_rows(report, dt.date.fromisoformat(day))
    # One token for the run; the URL form is the unquoted date; no waiting unasked.
    assert ms.requests["token"] == 1
    assert clock.waits == []
    paths = [p for _, p, _ in ms.log if "/reports/" in p]
    assert (
        f"/v1.0/reports/getYammerActivityUserDetail(date={TODAY - dt.timedelta(days=28)})" in paths
    )
    # The ledger records, per report and day, the refresh date, rows and SHA-256.
    entry = next(e for e in store.read_manifest(data).ledger if e.get("m365_report") == "teams")
    assert entry["day"] == str(TODAY - dt.timedelta(days=28))
    assert entry["refresh_date"] == str(TODAY - dt.timedelta(days=1))
    assert len(entry["sha256"]) == 64 and entry["rows_read"] == expected_rows(
        "teams", TODAY - dt.timedelta(days=28)
    )
    rows_before = activity_rows(data)

    # The next day: Microsoft's data reaches one day further and revises the last days.
    tomorrow = TODAY + dt.timedelta(days=1)
    ms.today = tomorrow
    ms.requests.clear()
    again = run(ms, data, today=tomorrow)
    assert again.exit_code == 0, again.stopped
    for report in ("viva_engage", "teams"):
        days = one_day_periods(data, report)
        assert len(days) == 29
        assert max(days) == str(TODAY)
    new_days = {d.day for d in again.days if d.status == "fetched"}
    # The new day, and the provisional ones (data refreshed less than 3 days after them).
    assert new_days == {str(TODAY - dt.timedelta(days=n)) for n in range(0, 4)}
    assert ms.requests["report:viva_engage"] == ms.requests["report:teams"] == 4
    # Settled days did not change; nothing was added twice.
    old = {r for r in rows_before if r[1] <= TODAY - dt.timedelta(days=4)}
    assert old <= set(activity_rows(data))
    rows = activity_rows(data)
    assert len(rows) == len({(r[0], r[1], r[2], r[3]) for r in rows})

    # And once more the same day: nothing new at all.
    third = run(ms, data, today=tomorrow)
    assert {d.status for d in third.days} == {"unchanged"}


def test_a_refresh_date_that_is_the_day_asked_for_works_too(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock
) -> None:
    """Whatever a `date=` report's Report Refresh Date holds (the docs do not say), the
    backfill gets every day and a day is fetched again for a bounded number of runs."""
    data = tmp_path / "data"
    ms.refresh_is_day = True
    assert run(ms, data).count("fetched") == 56
    assert len(one_day_periods(data, "teams")) == 28
    # The runs of the next days fetch again the days first fetched less than three days
    # before (all of them for two nights, then only the two youngest), plus the new day.
    for later, requests in ((1, 28), (2, 28), (3, 3), (4, 3)):
        ms.today = TODAY + dt.timedelta(days=later)
        ms.requests.clear()
        summary = run(ms, data, today=ms.today)
        assert ms.requests["report:teams"] == requests, later
        assert summary.count("fetched") == 2  # the new day; the others are unchanged
        assert len(one_day_periods(data, "teams")) == 28 + later


def test_days_not_in_yet_are_skipped_and_fetched_later(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock
) -> None:
    """Microsoft's data ends two days ago: the day after is "not available yet"."""
    data = tmp_path / "data"
    ms.refresh = TODAY - dt.timedelta(days=2)
    summary = run(ms, data, since=TODAY - dt.timedelta(days=4))
    statuses = {(d.report, d.day): d.status for d in summary.days}
    assert statuses[("teams", str(TODAY - dt.timedelta(days=1)))] == "skipped"
    assert statuses[("teams", str(TODAY - dt.timedelta(days=2)))] == "fetched"
    assert len(one_day_periods(data, "teams")) == 3
    assert summary.exit_code == 0


def test_json_of_the_cli_is_the_librarys_summary(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock, cli: Callable[..., Run], monkeypatch: Any
) -> None:
    config = write(
        tmp_path / "rse-adoption.toml",
        f'[m365]\ntenant_id = "{TENANT}"\nclient_id = "{CLIENT_ID}"\n',
    )
    # The fake's host is no host of Microsoft's: only the environment may name it.
    monkeypatch.setenv("RSE_ADOPTION_M365_GRAPH_URL", f"{ms.url}/v1.0")
    monkeypatch.setenv("RSE_ADOPTION_M365_AUTHORITY_URL", ms.url)
    monkeypatch.setenv(graph.SECRET_ENV, ms.secret)
    today = dt.datetime.now(dt.UTC).date()
    ms.today = today
    since = str(today - dt.timedelta(days=3))
    result = cli(
        "fetch", "m365", "--config", config, "--since", since, "--report", "teams", "--json"
    )
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["fetched"] == 3 and data["reports"] == ["teams"]
    assert [d["status"] for d in data["days"]] == ["fetched"] * 3
    library = fetch_m365(
        settings_for(ms, tmp_path / "library"),
        reports=["teams"],
        since=dt.date.fromisoformat(since),
        environ={graph.SECRET_ENV: ms.secret},
        today=today,
    ).to_dict()
    assert library == {**data, "requests": library["requests"]}


def test_throttling_waits_as_told_and_goes_on(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock
) -> None:
    ms.failures = [429, 503, 500]
    ms.retry_after = "120"
    summary = run(ms, tmp_path / "data", since=TODAY - dt.timedelta(days=2), reports=["teams"])
    assert summary.exit_code == 0, summary.stopped
    assert summary.count("fetched") == 2
    # 429 and 503: Retry-After; the 500: the backoff's first step; nothing else.
    assert clock.waits == [120.0, 120.0, graph.BACKOFF_FIRST_SECONDS]


def test_throttling_past_the_budget_stops_with_what_is_committed(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock, cli: Callable[..., Run]
) -> None:
    data = tmp_path / "data"
    ms.retry_after = "600"
    # Three days fetched, then Microsoft throttles for 10 minutes at every request.
    original = ms._report

    def throttled_after_three(request: Any, function: str, argument: str) -> Any:
        if ms.requests["report:viva_engage"] >= 3:
            ms.failures = [429]
        return original(request, function, argument)

    ms._report = throttled_after_three  # type: ignore[method-assign]
    summary = run(ms, data, reports=["viva_engage"], max_minutes=25)
    assert summary.exit_code == 75
    assert "time budget of 25 minutes" in (summary.stopped or "")
    assert summary.count("fetched") == 3
    assert len(one_day_periods(data, "viva_engage")) == 3
    assert sum(clock.waits) <= 25 * 60
    # The next run fetches only what is missing.
    ms._report = original  # type: ignore[method-assign]
    ms.failures = []
    ms.requests.clear()
    after = run(ms, data, reports=["viva_engage"])
    assert after.exit_code == 0
    assert ms.requests["report:viva_engage"] == 25
    assert len(one_day_periods(data, "viva_engage")) == 28


def test_server_errors_past_the_retries_are_exit_75(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock
) -> None:
    ms.failures = [500] * 10
    summary = run(ms, tmp_path / "data", since=TODAY - dt.timedelta(days=1), reports=["teams"])
    assert summary.exit_code == 75
    assert "keeps failing" in (summary.stopped or "")
    assert clock.waits == [2.0, 4.0, 8.0, 16.0, 32.0]  # bounded exponential backoff


def test_microsoft_unreachable_is_exit_75(tmp_path: Path, clock: Clock) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(data_dir=tmp_path / "data", m365_graph_url=f"https://127.0.0.1:{port}/v1.0")
    summary = fetch_m365(settings, environ={graph.TOKEN_ENV: "t"}, today=TODAY, reports=["teams"])
    assert summary.exit_code == 75
    assert "unreachable" in (summary.stopped or "")
    assert not (tmp_path / "data" / store.MANIFEST).exists()


def test_a_day_microsoft_refuses_is_reported_and_skipped(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock
) -> None:
    since = TODAY - dt.timedelta(days=30)  # two days before Microsoft's range
    summary = run(
        ms, tmp_path / "data", since=since, until=TODAY - dt.timedelta(days=27), reports=["teams"]
    )
    assert summary.exit_code == 0
    assert [d.status for d in summary.days] == ["refused", "refused", "fetched", "fetched"]
    assert "HTTP 400: BadRequest: Invalid date" in (summary.days[0].message or "")


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("401", "refused the token (HTTP 401, InvalidAuthenticationToken"),
        ("403", "needs the application permission Reports.Read.All"),
    ],
)
def test_graph_refusing_access_is_exit_77(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock, mode: str, words: str
) -> None:
    ms.graph_mode = mode
    summary = run(ms, tmp_path / "data")
    assert summary.exit_code == 77
    assert words in (summary.stopped or "")
    assert summary.days == []


def test_credentials_refused_is_exit_77_and_the_secret_never_shows(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock
) -> None:
    summary = run(ms, tmp_path / "data", environ={graph.SECRET_ENV: "wrong-" + ms.secret})
    assert summary.exit_code == 77
    assert "invalid_client: AADSTS7000215" in (summary.stopped or "")
    # The fake echoes the secret it received: it must not reach the message.
    assert ms.secret not in (summary.stopped or "")
    assert "***" in (summary.stopped or "")


def test_sign_in_failing_or_an_unknown_tenant(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock
) -> None:
    ms.token_mode = "500"
    down = run(ms, tmp_path / "data")
    assert down.exit_code == 75
    assert f"sign-in service at {ms.url.removeprefix('https://')} keeps failing" in (
        down.stopped or ""
    )
    assert "HTTP 500, 6 tries" in (down.stopped or "")
    ms.token_mode = "ok"
    settings = Settings(
        data_dir=tmp_path / "data",
        m365_tenant_id="no-such-tenant",
        m365_client_id=CLIENT_ID,
        m365_graph_url=f"{ms.url}/v1.0",
        m365_authority_url=ms.url,
    )
    unknown = fetch_m365(settings, environ={graph.SECRET_ENV: ms.secret}, today=TODAY)
    assert unknown.exit_code == 77 and "tenant no-such-tenant" in (unknown.stopped or "")


def test_a_certificate_credential_signs_in(tmp_path: Path, ms: FakeMicrosoft, clock: Clock) -> None:
    pem, thumbprint = make_client_certificate(tmp_path)
    settings = settings_for(
        ms,
        tmp_path / "data",
        m365_client_certificate=str(pem),
        m365_client_certificate_thumbprint=thumbprint,
    )
    summary = fetch_m365(
        settings, environ={}, today=TODAY, reports=["teams"], since=TODAY - dt.timedelta(days=1)
    )
    assert summary.exit_code == 0, summary.stopped
    assert ms.requests["token"] == 1


def test_a_ready_token_skips_msal(tmp_path: Path, ms: FakeMicrosoft, clock: Clock) -> None:
    summary = fetch_m365(
        Settings(data_dir=tmp_path / "data", m365_graph_url=f"{ms.url}/v1.0"),
        environ={graph.TOKEN_ENV: ms.token},
        today=TODAY,
        since=TODAY - dt.timedelta(days=1),
    )
    assert summary.exit_code == 0, summary.stopped
    assert ms.requests["token"] == ms.requests["discovery"] == 0
    assert summary.count("fetched") == 2


def test_concealed_names_store_nothing_and_say_it_once(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock, cli: Callable[..., Run], monkeypatch: Any
) -> None:
    ms.graph_mode = "concealed"
    ms.today = dt.datetime.now(dt.UTC).date()
    config = write(
        tmp_path / "rse-adoption.toml",
        f'[m365]\ntenant_id = "{TENANT}"\nclient_id = "{CLIENT_ID}"\n',
    )
    # The fake's host is no host of Microsoft's: only the environment may name it.
    monkeypatch.setenv("RSE_ADOPTION_M365_GRAPH_URL", f"{ms.url}/v1.0")
    monkeypatch.setenv("RSE_ADOPTION_M365_AUTHORITY_URL", ms.url)
    monkeypatch.setenv(graph.SECRET_ENV, ms.secret)
    result = cli("fetch", "m365", "--config", config)
    assert result.exit_code == 65
    assert result.stderr.count("concealed user names") == 1
    assert "Display concealed user, group, and site names" in result.stderr
    manifest = store.read_manifest(tmp_path / "data")
    assert manifest.activity_files == [] and manifest.ledger == []
    assert ms.requests["download"] == 1  # the run stopped at the first report


def test_missing_configuration_is_exit_78(
    tmp_path: Path, cli: Callable[..., Run], monkeypatch: Any
) -> None:
    monkeypatch.delenv(graph.SECRET_ENV, raising=False)
    monkeypatch.delenv(graph.TOKEN_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    result = cli("fetch", "m365")
    assert result.exit_code == 78
    assert "[m365] tenant_id" in result.stderr and graph.SECRET_ENV in result.stderr
    with pytest.raises(ConfigError, match="client_secret is never read from a file"):
        from rse_adoption.config import effective_settings

        effective_settings(
            config=write(tmp_path / "x.toml", '[m365]\nclient_secret = "abc"\n'), environ={}
        )


def test_dry_run_stores_nothing(tmp_path: Path, ms: FakeMicrosoft, clock: Clock) -> None:
    summary = run(ms, tmp_path / "data", dry_run=True, since=TODAY - dt.timedelta(days=2))
    assert summary.exit_code == 0 and summary.count("fetched") == 4
    assert not (tmp_path / "data").exists()


def test_keep_raw_saves_the_csvs_outside_the_store_only(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock
) -> None:
    raw = tmp_path / "raw"
    summary = run(ms, tmp_path / "data", keep_raw=raw, since=TODAY - dt.timedelta(days=1))
    assert summary.count("fetched") == 2
    kept = sorted(p.name for p in raw.iterdir())
    assert len(kept) == 2 and all(name.endswith(".csv") for name in kept)
    assert all((raw / name).stat().st_mode & 0o077 == 0 for name in kept)
    with pytest.raises(ConfigError, match="inside the store"):
        run(ms, tmp_path / "data", keep_raw=tmp_path / "data" / "raw")
    # Without it nothing raw remains anywhere in the store.
    run(ms, tmp_path / "other", since=TODAY - dt.timedelta(days=1))
    assert not [p for p in (tmp_path / "other").rglob("*.csv")]


def test_status_shows_the_days_held_and_warns_of_gaps_and_staleness(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock
) -> None:
    data = tmp_path / "data"
    run(ms, data, until=TODAY - dt.timedelta(days=5))
    run(ms, data, since=TODAY - dt.timedelta(days=3))
    status = store_status(Settings(data_dir=data), today=TODAY)
    fetched = {c["report"]: c for c in status.to_dict()["m365"]}
    assert fetched["teams"]["last_day"] == str(TODAY - dt.timedelta(days=1))
    assert fetched["teams"]["missing_days"] == [str(TODAY - dt.timedelta(days=4))]
    codes = [w.code for w in status.warnings]
    assert "m365_gap" in codes and "m365_stale" not in codes
    later = store_status(Settings(data_dir=data), today=TODAY + dt.timedelta(days=10))
    assert "m365_stale" in [w.code for w in later.warnings]


# --- Whole runs, as cron starts them ----------------------------------------------------


def _environment(ms: FakeMicrosoft, ca: Path, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSE_ADOPTION_")}
    env.update(
        SSL_CERT_FILE=str(ca),
        RSE_ADOPTION_DATA_DIR=str(data),
        RSE_ADOPTION_M365_TENANT_ID=TENANT,
        RSE_ADOPTION_M365_CLIENT_ID=CLIENT_ID,
        RSE_ADOPTION_M365_GRAPH_URL=f"{ms.url}/v1.0",
        RSE_ADOPTION_M365_AUTHORITY_URL=ms.url,
        **{graph.SECRET_ENV: ms.secret},
    )
    return env


def _command() -> list[str]:
    return [sys.executable, "-m", "rse_adoption.cli", "fetch", "m365"]


def test_a_secret_never_appears_in_output_log_or_store(
    tmp_path: Path, ms: FakeMicrosoft, server: tuple[Any, Path]
) -> None:
    ms.today = dt.datetime.now(dt.UTC).date()
    data, log = tmp_path / "data", tmp_path / "fetch.log"
    env = _environment(ms, server[1], data)
    since = str(ms.today - dt.timedelta(days=2))
    outputs = []
    for secret, extra in (
        (ms.secret, ["--since", since]),  # success
        (ms.secret, ["--since", since, "--json"]),  # unchanged, as JSON
        ("wrong" + ms.secret, ["--since", since]),  # refused: the fake echoes it
    ):
        env[graph.SECRET_ENV] = secret
        done = subprocess.run(
            [*_command(), *extra, "--log-file", str(log)],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        outputs.append((done.returncode, done.stdout, done.stderr))
    assert [code for code, _, _ in outputs] == [0, 0, 77]
    texts = [t for _, out, err in outputs for t in (out, err)] + [log.read_text()]
    for text in texts:
        assert ms.secret not in text
    assert "AADSTS7000215" in log.read_text()
    for path in data.rglob("*"):
        if path.is_file():
            assert ms.secret.encode() not in path.read_bytes(), path


def test_kill_9_halfway_loses_and_duplicates_nothing(
    tmp_path: Path, ms: FakeMicrosoft, server: tuple[Any, Path]
) -> None:
    ms.today = dt.datetime.now(dt.UTC).date()
    ms.download_delay = 0.05
    data = tmp_path / "data"
    env = _environment(ms, server[1], data)
    first = ms.today - dt.timedelta(days=8)
    args = [*_command(), "--since", str(first), "--quiet"]
    # Kill at a few moments: during the first download, and after 3 and 9 days committed.
    killed_at: list[int] = []
    for committed in (0, 3, 9):
        process = subprocess.Popen(args, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ledger = store.read_manifest(data).ledger if (data / store.MANIFEST).exists() else []
            if len(ledger) >= committed and (committed or ms.requests["download"]):
                break
            time.sleep(0.01)
        assert process.poll() is None, "the run ended before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait()
        _assert_whole(data)
        killed_at.append(len(store.read_manifest(data).ledger))
    assert killed_at[0] < 16 and killed_at[-1] < 16, killed_at  # each run was cut short
    ms.download_delay = 0
    done = subprocess.run(args, env=env, timeout=120)
    assert done.returncode == 0
    _assert_whole(data)
    for report in ("viva_engage", "teams"):
        days = one_day_periods(data, report)
        assert sorted(days) == [str(first + dt.timedelta(days=n)) for n in range(8)]
        for day, rows in days.items():
            assert rows == expected_rows(report, dt.date.fromisoformat(day))
    assert not list((data / m365.SCRATCH).glob("*/*.csv"))  # the killed runs' downloads


def test_two_runs_at_once_store_each_day_once(
    tmp_path: Path, ms: FakeMicrosoft, server: tuple[Any, Path]
) -> None:
    ms.today = dt.datetime.now(dt.UTC).date()
    ms.download_delay = 0.02
    data = tmp_path / "data"
    env = _environment(ms, server[1], data)
    first = ms.today - dt.timedelta(days=5)
    args = [*_command(), "--since", str(first), "--quiet"]
    runs = [subprocess.Popen(args, env=env) for _ in range(2)]
    assert [r.wait(timeout=120) for r in runs] == [0, 0]
    _assert_whole(data)
    for report in ("viva_engage", "teams"):
        assert sorted(one_day_periods(data, report)) == [
            str(first + dt.timedelta(days=n)) for n in range(5)
        ]


def _assert_whole(data: Path) -> None:
    """Every file the manifest names exists; each (report, day) is one file without a
    person twice."""
    if not (data / store.MANIFEST).exists():
        return
    manifest = store.read_manifest(data)
    for entry in manifest.activity_files:
        assert (data / entry["path"]).is_file()
    keys = [
        (f["source_format"], f["period_days"], f["refresh_date"]) for f in manifest.activity_files
    ]
    assert len(keys) == len(set(keys))
    rows = activity_rows(data)
    assert len(rows) == len({(r[0], r[1], r[2], r[3]) for r in rows})
    for report in ("viva_engage", "teams"):
        held = held_days(manifest, report)
        for day, rows_held in one_day_periods(data, report).items():
            assert dt.date.fromisoformat(day) in held  # its ledger entry came with it
            assert rows_held == expected_rows(report, dt.date.fromisoformat(day))


def test_json_summary_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "m365.md").read_text(encoding="utf-8")
    summary = m365.FetchSummary(["teams"], "2026-10-01", "2026-10-02").to_dict()
    for key in [*summary, *json.loads(json.dumps(m365.DayResult("t", "d", "fetched").__dict__))]:
        assert f"`{key}`" in doc, key


# --- The grain: a fetched store reports like the event log of the same activity ----------


def _expected_levels(first: dt.date, days: int) -> tuple[dict[str, int], dict[int, set[str]]]:
    """From the fake's own rows (csv_for), computed here without the store: each person's
    highest level over the days (4 contributor, 3 reactor, 2 reader, 1 visitor), and the
    contributors of each week (index from the Monday of `first`'s week)."""
    level: dict[str, int] = {}
    weekly: dict[int, set[str]] = {}
    monday = first - dt.timedelta(days=first.weekday())
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        for report in ("viva_engage", "teams"):
            for n, upn in enumerate(people_of(report, day)):
                if report == "viva_engage":  # posted n % 3, read n + 2, liked n % 2
                    value = 4 if n % 3 else 3 if n % 2 else 2
                else:  # post messages n % 2, replies n % 3; private chats n + 1
                    value = 4 if n % 2 + n % 3 else 1
                level[upn] = max(level.get(upn, 0), value)
                if value == 4:
                    weekly.setdefault((day - monday).days // 7, set()).add(upn)
    return level, weekly


def test_a_fetched_store_reports_day_grain_like_the_same_days_ingested_by_hand(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock, cli: Callable[..., Run]
) -> None:
    """The done-when of issue 14: 28 fetched days give, for the 28-day window, each site's
    segments, a weekly series and a forecast; the same CSVs ingested by hand give the same
    report; both equal the figures computed here from the fake's rows."""
    users = sorted(
        {
            u
            for d in range(40)
            for r in ("viva_engage", "teams")
            for u in people_of(r, TODAY - dt.timedelta(days=d))
        }
    )
    sites = {u: "Lyon" if i < 6 else "Paris" for i, u in enumerate(users)}
    directory = write(
        tmp_path / "directory.csv", "email;site\n" + "".join(f"{u};{s}\n" for u, s in sites.items())
    )
    fetched, by_hand = tmp_path / "fetched", tmp_path / "by-hand"
    for data in (fetched, by_hand):
        assert cli("directory", directory, "--data-dir", data).exit_code == 0
    assert run(ms, fetched).exit_code == 0
    first = TODAY - dt.timedelta(days=28)
    files = []
    for offset in range(28):
        day = first + dt.timedelta(days=offset)
        for report in ("viva_engage", "teams"):  # saved from the admin center or Graph
            files.append(write(tmp_path / "csv" / f"{report}_{day}.csv", ""))
            files[-1].write_bytes(csv_for(report, day, refresh=day))
    assert cli("ingest", *files, "--data-dir", by_hand, "--quiet").exit_code == 0

    # every count shown (the fake's sites are small): this compares figures, not privacy
    window = ("--window", "28", "--as-of", str(TODAY - dt.timedelta(days=1)), "--json")
    window += ("--min-group-size", "1")
    reports = [cli("report", *window, "--data-dir", d).json() for d in (fetched, by_hand)]
    for report in reports:
        report.pop("generated_at")
    assert reports[0] == reports[1]
    report = reports[0]
    assert report["activity_grain"] == "day" and len(report["activity_periods"]) == 56
    level, weekly = _expected_levels(first, 28)
    names = {4: "contributor", 3: "reactor", 2: "reader", 1: "visitor", 0: "inactive"}
    monday = first - dt.timedelta(days=first.weekday())
    for name in ("Lyon", "Paris"):
        people = [u for u, s in sites.items() if s == name]
        group = next(s for s in report["sites"] if s["site"] == name)
        expected = {segment: 0 for segment in names.values()}
        for upn in people:
            expected[names[level.get(upn, 0)]] += 1
        assert group["segments"] == expected
        assert [(p["week_start"], p["contributors"]) for p in group["series"]] == [
            (str(monday + dt.timedelta(weeks=w)), len(weekly.get(w, set()) & set(people)))
            for w in range(5)
        ]
        assert group["forecast"] is not None


# --- Issue 27: a hostile endpoint, a flaky network --------------------------------------


def test_a_token_a_gateway_echoes_reaches_no_output_and_the_log_is_private(
    tmp_path: Path, ms: FakeMicrosoft, server: tuple[Any, Path]
) -> None:
    """A gateway answers 401 with the Authorization header it got in its body: the access
    token msal obtained, and any other credential the process holds (here the Slack
    token of the environment, which the gateway happens to know), reach neither standard
    error, nor `--json`, nor `--log-file`; the log is created 0600."""
    ms.today = dt.datetime.now(dt.UTC).date()
    ms.graph_mode = "echo401"
    slack_token = "xoxb-1111-2222-" + "s" * 24
    ms.echo_extra = slack_token
    data, log = tmp_path / "data", tmp_path / "fetch.log"
    env = {**_environment(ms, server[1], data), "RSE_ADOPTION_SLACK_TOKEN": slack_token}
    since = str(ms.today - dt.timedelta(days=1))
    done = subprocess.run(
        [*_command(), "--since", since, "--json", "--log-file", str(log)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 77, done.stderr
    logged = log.read_text(encoding="utf-8")
    for text in (done.stdout, done.stderr, logged):
        assert ms.token not in text
        assert ms.token.split(".")[0] not in text
        assert slack_token not in text and ms.secret not in text
    assert "Authorization: Bearer *** (context ***)" in logged
    assert json.loads(done.stdout)["exit_code"] == 77
    errors = [line for line in done.stderr.splitlines() if line.startswith("rse-adoption:")]
    assert "Traceback" not in done.stderr and len(errors) == 1
    assert log.stat().st_mode & 0o777 == 0o600


def test_a_download_redirected_to_http_is_refused(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock
) -> None:
    ms.redirect_scheme = "http"
    data = tmp_path / "data"
    summary = run(ms, data, since=TODAY - dt.timedelta(days=2), reports=["teams"])
    assert summary.exit_code == 65
    assert [d.status for d in summary.days] == ["error", "error"]
    assert "not https (http://127.0.0.1" in (summary.days[0].message or "")
    assert ms.requests["download"] == 0  # nothing went out in clear text
    assert one_day_periods(data, "teams") == {}


def test_a_gzip_bomb_stops_at_the_bound_and_stores_nothing_of_that_day(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few kB on the wire inflating to 8 MiB, with the bound at 1 MiB for the test: the
    day is an error (exit 65), nothing of it is stored, the other day is; a rerun
    without the fault fetches the day."""
    monkeypatch.setattr(graph, "MAX_REPORT_BYTES", 1024 * 1024)
    bomb_day = TODAY - dt.timedelta(days=5)
    ms.download_mode, ms.fault_days = "bomb", {str(bomb_day)}
    data = tmp_path / "data"
    summary = run(
        ms, data, since=bomb_day, until=bomb_day + dt.timedelta(days=1), reports=["teams"]
    )
    assert summary.exit_code == 65
    statuses = {d.day: (d.status, d.message) for d in summary.days}
    status, message = statuses[str(bomb_day)]
    assert status == "error" and "larger than 1 MiB once inflated" in (message or "")
    assert statuses[str(bomb_day + dt.timedelta(days=1))][0] == "fetched"
    assert sorted(one_day_periods(data, "teams")) == [str(bomb_day + dt.timedelta(days=1))]
    assert not list((data / m365.SCRATCH).rglob("*.csv"))
    ms.download_mode = "csv"
    again = run(ms, data, since=bomb_day, until=bomb_day + dt.timedelta(days=1), reports=["teams"])
    assert again.exit_code == 0
    assert len(one_day_periods(data, "teams")) == 2


@pytest.mark.parametrize(
    ("mode", "body", "words"),
    [
        ("corrupt-gzip", b"", "is corrupt"),
        ("body", b'{"value": [{"reportRefreshDate": "2026-10-2', "is not the report's CSV (JSON)"),
    ],
)
def test_a_broken_download_is_one_line_and_a_rerun_completes_the_store(
    tmp_path: Path,
    ms: FakeMicrosoft,
    clock: Clock,
    cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    body: bytes,
    words: str,
) -> None:
    ms.today = dt.datetime.now(dt.UTC).date()
    broken = ms.today - dt.timedelta(days=4)
    ms.download_mode, ms.download_body, ms.fault_days = mode, body, {str(broken)}
    for name, value in _environment(
        ms, Path(os.environ["SSL_CERT_FILE"]), tmp_path / "data"
    ).items():
        if name.startswith("RSE_ADOPTION_"):
            monkeypatch.setenv(name, value)
    args = ("fetch", "m365", "--since", str(broken), "--until", str(broken + dt.timedelta(days=1)))
    result = cli(*args, "--report", "viva_engage")
    assert result.exit_code == 65
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and words in errors[0] and "Traceback" not in result.stderr
    assert sorted(one_day_periods(tmp_path / "data", "viva_engage")) == [
        str(broken + dt.timedelta(days=1))
    ]
    ms.download_mode = "csv"
    assert cli(*args, "--report", "viva_engage").exit_code == 0
    days = one_day_periods(tmp_path / "data", "viva_engage")
    assert days == {
        str(broken + dt.timedelta(days=n)): expected_rows(
            "viva_engage", broken + dt.timedelta(days=n)
        )
        for n in range(2)
    }


@pytest.mark.parametrize(
    ("mode", "words"),
    [("malformed", "answered with a malformed body"), ("bomb", "with more than 1024 kB")],
)
def test_a_malformed_token_answer_is_transient_and_one_line(
    tmp_path: Path,
    ms: FakeMicrosoft,
    clock: Clock,
    cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    words: str,
) -> None:
    """The token endpoint answers 200 with a body that starts with `{` and breaks off (a
    proxy cut it), or with a gzip bomb: exit 75 with one line, no traceback, no "refused
    the app", nothing read past the bound."""
    ms.token_mode = mode
    for name, value in _environment(
        ms, Path(os.environ["SSL_CERT_FILE"]), tmp_path / "data"
    ).items():
        if name.startswith("RSE_ADOPTION_"):
            monkeypatch.setenv(name, value)
    result = cli("fetch", "m365", "--since", str(TODAY - dt.timedelta(days=1)))
    assert result.exit_code == 75, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("rse-adoption:")]
    assert len(errors) == 1 and words in errors[0]
    assert "refused" not in errors[0]


@pytest.mark.parametrize("retry_after", ["0", "Wed, 21 Oct 2015 07:28:00 GMT", "-5", "soon"])
def test_retry_after_zero_or_past_waits_at_least_the_growing_minimum(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock, retry_after: str
) -> None:
    ms.failures, ms.retry_after = [429, 429, 503], retry_after
    summary = run(ms, tmp_path / "data", since=TODAY - dt.timedelta(days=1), reports=["teams"])
    assert summary.exit_code == 0, summary.stopped
    expected = [1.0, 2.0, 4.0] if retry_after != "soon" else [60.0, 60.0, 60.0]
    assert clock.waits == expected


def test_throttling_without_end_stops_after_a_bounded_number_of_tries(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock
) -> None:
    from rse_adoption.fetch import retry

    ms.failures, ms.retry_after = [429] * 1000, "0"
    summary = run(ms, tmp_path / "data", since=TODAY - dt.timedelta(days=1), reports=["teams"])
    assert summary.exit_code == 75
    assert "kept throttling" in (summary.stopped or "")
    assert f"{retry.THROTTLED_TRIES} tries" in (summary.stopped or "")
    assert ms.requests["report:teams"] == retry.THROTTLED_TRIES
    assert clock.waits == [min(60.0, 2.0**n) for n in range(retry.THROTTLED_TRIES - 1)]


def test_backoff_jitter_only_lengthens_and_spreads_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    from rse_adoption.fetch import retry

    monkeypatch.setattr(retry, "jitter", lambda: 0.999)
    assert 2.0 < retry.backoff(1) < 2.5 and 60.0 < retry.backoff(30) < 75.0
    assert retry.throttle_wait("120", 1) == 120.0  # honoured as said: it is above the floor
    assert 1.0 < retry.throttle_wait("0", 1) < 1.25


def test_a_connection_failure_past_the_budget_does_not_say_microsoft_asked(
    tmp_path: Path, clock: Clock
) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(data_dir=tmp_path / "data", m365_graph_url=f"https://127.0.0.1:{port}/v1.0")
    summary = fetch_m365(
        settings, environ={graph.TOKEN_ENV: "t" * 20}, today=TODAY, reports=["teams"], max_minutes=1
    )
    assert summary.exit_code == 75
    stopped = summary.stopped or ""
    assert "asked" not in stopped
    assert f"Microsoft Graph at 127.0.0.1:{port} is unreachable (ConnectError" in stopped
    assert "5 tries so far); the next try was due in 32 s" in stopped


def test_a_sign_in_failure_names_the_host_the_cause_and_the_tries(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        data_dir=tmp_path / "data",
        m365_tenant_id=TENANT,
        m365_client_id=CLIENT_ID,
        m365_graph_url=f"{ms.url}/v1.0",
        m365_authority_url=f"https://127.0.0.1:{port}",
    )
    summary = fetch_m365(settings, environ={graph.SECRET_ENV: ms.secret}, today=TODAY)
    assert summary.exit_code == 75
    stopped = summary.stopped or ""
    assert f"Microsoft's sign-in service at 127.0.0.1:{port} is unreachable" in stopped
    assert "ConnectError: " in stopped and f"{graph.TRANSIENT_ATTEMPTS} tries" in stopped
    assert ms.requests["report:teams"] == 0


HOSTILE_URLS = [
    ("graph_url", "https://evil.example/v1.0"),
    ("graph_url", "https://graph.microsoft.com.evil.example/v1.0"),
    ("graph_url", "https://user@graph.microsoft.com/v1.0"),
    ("graph_url", "https://graph.microsoft.com:8443/v1.0"),
    ("authority_url", "https://login.evil.example"),
]


@pytest.mark.parametrize(("key", "url"), HOSTILE_URLS)
def test_a_configuration_file_cannot_send_the_token_to_another_host(
    tmp_path: Path, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, key: str, url: str
) -> None:
    monkeypatch.setenv(graph.TOKEN_ENV, "a-ready-bearer-token-of-the-tenant")
    monkeypatch.chdir(tmp_path)  # cron's working folder, where someone left a file
    write(tmp_path / "rse-adoption.toml", f'[m365]\n{key} = "{url}"\n')
    result = cli("fetch", "m365")
    assert result.exit_code == 78
    assert f"rse-adoption.toml:2: m365.{key} = '{url}': a configuration file may only" in (
        result.stderr
    )
    env_name = f"RSE_ADOPTION_M365_{key.upper()}"
    assert f"set {env_name} in the environment instead" in result.stderr


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("graph_url", "https://graph.microsoft.com/v1.0"),
        ("graph_url", "https://graph.microsoft.us/v1.0"),  # US Government L4
        ("graph_url", "https://dod-graph.microsoft.us/v1.0"),  # US Government L5 (DoD)
        ("graph_url", "https://microsoftgraph.chinacloudapi.cn/v1.0"),  # 21Vianet
        ("authority_url", "https://login.microsoftonline.com"),
        ("authority_url", "https://login.microsoftonline.us"),
        ("authority_url", "https://login.chinacloudapi.cn"),
        ("authority_url", "https://login.partner.microsoftonline.cn"),
    ],
)
def test_the_documented_national_clouds_are_accepted_from_a_file(
    tmp_path: Path, key: str, url: str
) -> None:
    from rse_adoption.config import effective_settings

    config = write(tmp_path / "rse-adoption.toml", f'[m365]\n{key} = "{url}"\n')
    settings, sources = effective_settings(config=config, environ={})
    assert getattr(settings, f"m365_{key}") == url
    assert sources[f"m365_{key}"].endswith("rse-adoption.toml:2")


def test_another_host_from_the_environment_is_used_and_said(
    tmp_path: Path,
    ms: FakeMicrosoft,
    clock: Clock,
    cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in _environment(
        ms, Path(os.environ["SSL_CERT_FILE"]), tmp_path / "data"
    ).items():
        if name.startswith("RSE_ADOPTION_"):
            monkeypatch.setenv(name, value)
    ms.today = dt.datetime.now(dt.UTC).date()
    result = cli("fetch", "m365", "--since", str(ms.today - dt.timedelta(days=1)))
    assert result.exit_code == 0, result.stderr
    host = ms.url.removeprefix("https://")
    assert (
        f"using Microsoft Graph at {host} (env RSE_ADOPTION_M365_GRAPH_URL; not one of "
        "Microsoft Graph's own hosts), Microsoft Entra sign-in at "
        f"{host} (env RSE_ADOPTION_M365_AUTHORITY_URL; not one of"
    ) in result.stderr


def test_a_day_with_nobody_active_is_a_day_of_zero_activity_for_reports_and_status(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock, cli: Callable[..., Run]
) -> None:
    """Issue 27, item 9: a header-only daily CSV is a day held with zero activity — the
    28-day report covers it at day grain, and `status` agrees that nothing is missing."""
    data = tmp_path / "data"
    quiet_day = TODAY - dt.timedelta(days=10)
    ms.empty_days = {str(quiet_day)}
    summary = run(ms, data)
    assert summary.exit_code == 0 and summary.count("fetched") == 56
    assert one_day_periods(data, "teams")[str(quiet_day)] == 0
    window = ("--window", "28", "--as-of", str(TODAY - dt.timedelta(days=1)), "--json")
    report = cli("report", *window, "--data-dir", data)
    assert report.exit_code == 0, report.stderr
    assert report.json()["activity_grain"] == "day"
    status = store_status(Settings(data_dir=data), today=TODAY)
    assert all(c["missing_days"] == [] for c in status.to_dict()["m365"])
    assert "m365_gap" not in [w.code for w in status.warnings]
    # Held and settled: the next run does not ask for it again.
    again = run(ms, data)
    assert str(quiet_day) not in {d.day for d in again.days}


def test_a_quiet_day_fetched_by_an_earlier_version_is_fetched_again(
    tmp_path: Path, ms: FakeMicrosoft, clock: Clock
) -> None:
    """A store where such a day has its ledger entry but no period (an earlier version):
    the day is not held — status names it missing — and the next run mends it."""
    data = tmp_path / "data"
    quiet_day = TODAY - dt.timedelta(days=3)
    ms.empty_days = {str(quiet_day)}
    days = {"since": quiet_day - dt.timedelta(days=1), "until": quiet_day + dt.timedelta(days=1)}
    run(ms, data, reports=["teams"], **days)
    with store.writing(data, 0) as tx:  # what the earlier version left
        manifest = tx.manifest.copy()
        manifest.activity_files = [
            e for e in manifest.activity_files if e["refresh_date"] != str(quiet_day)
        ]
        tx.commit(manifest)
    status = store_status(Settings(data_dir=data), today=TODAY)
    assert str(quiet_day) in status.to_dict()["m365"][0]["missing_days"]
    again = run(ms, data, reports=["teams"], **days)
    assert [d.day for d in again.days if d.status == "fetched"] == [str(quiet_day)]
    assert one_day_periods(data, "teams")[str(quiet_day)] == 0


def test_kept_raw_files_ingested_by_hand_rebuild_the_fetched_store(
    tmp_path: Path,
    ms: FakeMicrosoft,
    clock: Clock,
    cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 27, item 10: two nights of `fetch m365 --keep-raw` (every day of a night
    carries the same Report Refresh Date; the second night revises the provisional days,
    so some days have two kept versions; one day has nobody active), then `ingest` of the
    kept folder into a new store: the same days, the same rows, the same report."""
    monkeypatch.setenv("RSE_ADOPTION_SECRET", "one-secret-for-both-stores")  # same keys
    fetched, rebuilt, raw = tmp_path / "fetched", tmp_path / "rebuilt", tmp_path / "raw"
    ms.empty_days = {str(TODAY - dt.timedelta(days=6))}
    assert run(ms, fetched, keep_raw=raw).exit_code == 0
    tomorrow = TODAY + dt.timedelta(days=1)
    ms.today = tomorrow
    assert run(ms, fetched, today=tomorrow, keep_raw=raw).exit_code == 0
    kept = sorted(p.name for p in raw.iterdir())
    assert len(kept) > 58  # revised days have two versions
    result = cli("ingest", raw, "--data-dir", rebuilt)
    assert result.exit_code == 0, result.stderr
    for report in ("viva_engage", "teams"):
        assert one_day_periods(rebuilt, report) == one_day_periods(fetched, report)
        assert len(one_day_periods(rebuilt, report)) == 29
        held = held_days(store.read_manifest(rebuilt), report)
        assert sorted(held) == sorted(held_days(store.read_manifest(fetched), report))
    assert activity_rows(rebuilt) == activity_rows(fetched)
    window = ("--window", "28", "--as-of", str(TODAY), "--json")
    reports = [cli("report", *window, "--data-dir", d).json() for d in (fetched, rebuilt)]
    for report in reports:
        report.pop("generated_at")
    assert reports[0] == reports[1]
    # Again, and in another order: nothing changes.
    again = cli("ingest", *sorted(raw.iterdir(), reverse=True), "--data-dir", rebuilt, "--json")
    assert again.exit_code == 0
    assert {d["status"] for d in again.json()["details"]} == {"unchanged"}
    assert activity_rows(rebuilt) == activity_rows(fetched)


def test_a_run_starting_at_any_moment_never_removes_a_live_scratch_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 27, item 14: before each step by which the first run makes and locks its
    folder, a second run starts (and cleans what it takes for abandoned): the first
    run's folder survives, locked, and nothing of a dead run's remains."""
    from rse_adoption.fetch import scratch

    data = tmp_path / "data"
    data.mkdir()
    (data / store.MANIFEST).write_text("{}")
    dead = data / m365.SCRATCH / ("0" * 32)
    dead.mkdir(parents=True)
    (dead / "left.csv").write_text("personal data")
    busy = False
    armed = True

    def another_run_starts() -> None:
        nonlocal busy
        if busy or not armed:
            return
        busy = True
        try:
            with scratch.scratch_folder(data, dry_run=False):
                pass
        finally:
            busy = False

    def interleaved(function: Callable[..., Any]) -> Callable[..., Any]:
        def step(*args: Any, **kwargs: Any) -> Any:
            another_run_starts()
            return function(*args, **kwargs)

        return step

    monkeypatch.setattr(scratch.os, "open", interleaved(os.open))
    monkeypatch.setattr(scratch.fcntl, "flock", interleaved(scratch.fcntl.flock))
    with scratch.scratch_folder(data, dry_run=False) as folder:
        armed = False
        (folder / "day.csv").write_text("a download")
        with scratch.scratch_folder(data, dry_run=False) as other:
            assert other != folder
        assert (folder / "day.csv").read_text() == "a download"
    assert not dead.exists()
    assert list((data / m365.SCRATCH).iterdir()) == []


def test_forgetting_the_only_person_of_a_day_keeps_the_day_held(tmp_path: Path) -> None:
    """With the periods the one record of the days held, a day emptied by `forget` must
    stay a day of zero activity, or the next fetch would take it for missing and fetch the
    forgotten person back."""
    from rse_adoption.forget import forget_person

    data = tmp_path / "data"
    day = TODAY - dt.timedelta(days=2)
    alone = write(tmp_path / "day.csv", f"{VIVA_HEADER}\n{day},a@x.example,A,,,,1,1,1,,1\n")
    provenance = {"m365_report": "viva_engage", "day": str(day), "refresh_date": str(day)}
    ingest_paths(
        [alone],
        Settings(data_dir=data),
        format_name="viva_engage",
        daily=DailyReport(day, {**provenance, "fetched_on": str(day)}),
    )
    forget_person(["a@x.example"], Settings(data_dir=data))
    assert one_day_periods(data, "viva_engage") == {str(day): 0}
    assert day in held_days(store.read_manifest(data), "viva_engage")
