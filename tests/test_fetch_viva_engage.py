"""`fetch viva-engage` against a local HTTPS server speaking Microsoft's protocol
(fake_viva_engage.py): the device-code sign-in and its token cache, the network data
export's zip, throttling, refusals and broken downloads. No test reaches the internet, and
none waits: the fetcher's clock and sleep are replaced."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rse_adoption import redact, store
from rse_adoption.config import Settings
from rse_adoption.errors import ConfigError
from rse_adoption.fetch import graph, retry, viva_engage
from rse_adoption.fetch.viva_engage import fetch_viva_engage, login_viva_engage
from rse_adoption.fetch.viva_engage_auth import TOKEN_ENV
from rse_adoption.status import store_status

from .conftest import Clock, Run
from .fake_viva_engage import (
    BODY,
    CLIENT_ID,
    TENANT,
    FakeVivaEngage,
    Message,
    Person,
    zip_for,
)

NOW = dt.datetime(2026, 10, 30, 6, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(graph, "monotonic", fake.monotonic)
    monkeypatch.setattr(graph, "sleep", fake.sleep)
    monkeypatch.setattr(retry, "jitter", lambda: 0.0)
    return fake


def network() -> tuple[list[Message], list[Person], dict[int, str]]:
    """Three days of a small network: a thread on day 1 answered on days 1 and 3 (the
    answer on day 3 is in another range than its thread), a private conversation, a
    deleted post, and a message outside any group."""
    start = NOW - 3 * DAY
    people = [
        Person(1, "alice@contoso.example", "Lyon"),
        Person(2, "bob@contoso.example", "Paris"),
        Person(3, "carol@contoso.example", "Lyon"),
    ]
    messages = [
        Message(101, 1, start + dt.timedelta(hours=2), 101, group=10),
        Message(102, 2, start + dt.timedelta(hours=3), 101, replied_to=101, group=10),
        Message(103, 3, start + DAY + dt.timedelta(hours=1), 103, private=True),
        Message(104, 2, start + DAY + dt.timedelta(hours=2), 104, deleted=True),
        Message(105, 3, start + 2 * DAY + dt.timedelta(hours=5), 101, replied_to=101, group=10),
        Message(106, 1, start + 2 * DAY + dt.timedelta(hours=6), 106),
    ]
    return messages, people, {10: "Qualité"}


@pytest.fixture
def ve(server: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVivaEngage]:
    httpserver, ca = server
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    messages, people, groups = network()
    fake = FakeVivaEngage(
        url=httpserver.url_for("/").rstrip("/"), messages=messages, people=people, groups=groups
    )
    httpserver.clear()
    import re

    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake.handle)
    yield fake
    assert fake.assertions == []


def settings_for(fake: FakeVivaEngage, data_dir: Path, **extra: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        viva_engage_tenant_id=TENANT,
        viva_engage_client_id=CLIENT_ID,
        viva_engage_api_url=f"{fake.url}/api/v1",
        m365_authority_url=fake.url,
        **extra,
    )


def run(
    fake: FakeVivaEngage, data_dir: Path, now: dt.datetime = NOW, **options: Any
) -> viva_engage.VivaEngageFetchSummary:
    environ = options.pop("environ", {TOKEN_ENV: fake.token})
    return fetch_viva_engage(settings_for(fake, data_dir), environ=environ, now=now, **options)


def events(data_dir: Path) -> list[tuple[Any, ...]]:
    """Every stored event: (event id, type, space, content, has a target), sorted."""
    manifest = store.read_manifest(data_dir)
    paths = [str(data_dir / f["path"]) for f in manifest.event_files]
    if not paths:
        return []
    return duckdb.sql(
        "SELECT event_id, event_type, space, content_id, target_user_key IS NOT NULL "
        "FROM read_parquet($p) ORDER BY ALL",
        params={"p": paths},
    ).fetchall()


def no_body_anywhere(data_dir: Path) -> None:
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert b"must never reach the store" not in path.read_bytes(), path


# --- The export, range by range ------------------------------------------------------


def test_the_export_is_fetched_range_by_range_and_read_by_the_yammer_reader(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    """Every message of the three days becomes an event: posts, comments aimed at the
    author they answer (a reply two ranges after its thread included), the private
    conversation a login, the deleted post still a post."""
    data = tmp_path / "data"
    summary = run(ve, data, since=(NOW - 3 * DAY).date())
    assert summary.exit_code == 0, summary.stopped
    assert summary.count("fetched") == 4  # three days and the six hours of today
    assert summary.to_dict()["events"] == 6
    assert events(data) == [
        ("101", "post", "Qualité", "101", False),
        ("102", "comment", "Qualité", "101", True),
        ("103", "login", "All Company", "103", False),
        ("104", "post", "All Company", "104", False),
        ("105", "comment", "Qualité", "101", True),
        ("106", "post", "All Company", "106", False),
    ]
    # One export of the network's users and groups, one of the look-back, one per range.
    models = [tuple(e["model"]) for e in ve.exports]
    assert models == [("User", "Group")] + [("Message",)] * 5
    assert ve.exports[1]["until"] == ve.exports[2]["since"]
    assert all(e["include"] == ["csv"] for e in ve.exports)
    no_body_anywhere(data)
    assert not [p for p in (data / ".fetch-tmp").rglob("*") if p.name != ".lock"]


def test_each_range_is_committed_with_its_mark_and_a_rerun_adds_nothing(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    run(ve, data, since=(NOW - 3 * DAY).date())
    held = viva_engage.fetched_ranges(store.read_manifest(data))
    assert held[0][0] == dt.datetime(2026, 10, 27, tzinfo=dt.UTC) and held[-1][1] == NOW
    before = events(data)
    ve.exports.clear()
    again = run(ve, data, now=NOW + dt.timedelta(hours=2))
    assert again.exit_code == 0
    # From the end of the last range, less the overlap, to now: one range.
    assert [(r.since, r.until) for r in again.ranges] == [
        ("2026-10-30T05:00:00Z", "2026-10-30T08:00:00Z")
    ]
    assert again.to_dict()["events"] == 0
    assert events(data) == before


def test_a_nightly_run_asks_one_export_of_its_day_and_overlap() -> None:
    start = NOW - viva_engage.OVERLAP
    assert viva_engage.ranges_between(start, NOW + DAY) == [(start, NOW + DAY)]
    assert len(viva_engage.ranges_between(start, NOW + DAY + dt.timedelta(hours=2))) == 2


def test_a_first_run_reads_the_report_window(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    summary = run(ve, tmp_path / "data")
    assert summary.since == "2026-08-01T00:00:00Z"  # 90 days before NOW, midnight
    assert summary.count("fetched") == 91


def test_a_dry_run_reads_everything_and_stores_nothing(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    summary = run(ve, data, since=(NOW - 3 * DAY).date(), dry_run=True)
    assert summary.exit_code == 0 and summary.to_dict()["messages"] == 6
    assert not (data / store.MANIFEST).exists()


# --- Whom a reply answers: the export, else the store ---------------------------------


def authors(data_dir: Path) -> dict[str, int | None]:
    """Event id -> its person's key, and "id>" -> its target's key (None without)."""
    manifest = store.read_manifest(data_dir)
    paths = [str(data_dir / f["path"]) for f in manifest.event_files]
    found = duckdb.sql(
        "SELECT event_id, user_key, target_user_key FROM read_parquet($p)", params={"p": paths}
    ).fetchall()
    return {i: user for i, user, _ in found} | {f"{i}>": target for i, _, target in found}


def old_thread(days: int) -> list[Message]:
    """A post by alice `days` days before NOW; bob answers it today, carol answers a
    message no export and no store holds (95)."""
    posted = NOW - days * DAY
    return [
        Message(90, 1, posted, 90, group=10),
        Message(110, 2, NOW - dt.timedelta(hours=2), 90, replied_to=90, group=10),
        Message(111, 3, NOW - dt.timedelta(hours=1), 95, replied_to=95, group=10),
    ]


def test_a_reply_today_to_a_message_stored_40_days_ago_is_aimed_at_its_author(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    """Issue 33: the replied-to message is neither in today's export nor in its 14-day
    look-back, but the store holds it (a run 40 days ago): the reply's target is its
    author. A reply to a message held nowhere stays without target and is counted."""
    data = tmp_path / "data"
    ve.messages = old_thread(40)
    earlier = run(ve, data, now=NOW - 39 * DAY, since=(NOW - 41 * DAY).date())
    assert earlier.exit_code == 0 and earlier.to_dict()["events"] == 1
    ve.exports.clear()
    today = run(ve, data, since=NOW.date())
    assert today.exit_code == 0, today.stopped
    keys = authors(data)
    assert keys["110>"] == keys["90"]  # bob's reply is aimed at alice
    assert keys["111>"] is None  # 95 is known nowhere
    # The look-back (the 14 days before today) was read, and holds nothing of it.
    assert today.lookback == ("2026-10-16T00:00:00Z", "2026-10-30T00:00:00Z")
    assert today.to_dict()["replies_without_target"] == 1
    assert today.ranges[0].replies_without_target == 1
    assert "1 reply answers a message neither in this export nor in the store" in (
        today.ranges[0].message or ""
    )
    # Rerunning adds nothing and changes no target.
    before = events(data)
    again = run(ve, data, since=NOW.date())
    assert again.to_dict()["events"] == 0
    assert events(data) == before and authors(data) == keys


def test_a_reply_in_a_later_range_takes_its_target_from_the_store(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    """Ranges are committed one by one: the reply of day 3 (105) finds the thread of day 1
    (101) in the store, not in a copy of it added to its range, which would have counted it
    as a duplicate."""
    data = tmp_path / "data"
    summary = run(ve, data, since=(NOW - 3 * DAY).date())
    keys = authors(data)
    assert keys["105>"] == keys["101"] and keys["102>"] == keys["101"]
    assert summary.to_dict()["duplicates"] == 0
    assert summary.to_dict()["replies_without_target"] == 0


def test_a_nightly_run_reads_no_look_back_when_the_store_holds_the_days_before(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    ve.messages = old_thread(10)[:2]
    first = run(ve, data, now=NOW - DAY, since=(NOW - 20 * DAY).date())
    assert first.lookback is not None  # a first run: the store holds nothing before it
    ve.exports.clear()
    nightly = run(ve, data)
    assert nightly.lookback is None and nightly.to_dict()["lookback"] is None
    # One export of users and groups, one of the day's messages: no look-back.
    assert [tuple(e["model"]) for e in ve.exports] == [("User", "Group"), ("Message",)]
    keys = authors(data)
    assert keys["110>"] == keys["90"]


def test_the_look_back_stops_where_the_ranges_held_begin() -> None:
    held = store.Manifest(
        ledger=[
            {
                "source": viva_engage.SOURCE,
                "viva_engage_since": "2026-10-25T00:00:00Z",
                "viva_engage_until": "2026-10-30T06:00:00Z",
            }
        ]
    )
    start = NOW - viva_engage.OVERLAP
    assert viva_engage.lookback(held, start) == (
        start - 14 * DAY,
        dt.datetime(2026, 10, 25, tzinfo=dt.UTC),
    )
    assert viva_engage.lookback(held, NOW - 20 * DAY) == (NOW - 34 * DAY, NOW - 20 * DAY)
    empty = store.Manifest()
    assert viva_engage.lookback(empty, start) == (start - 14 * DAY, start)


def test_ingesting_an_export_by_hand_aims_replies_through_the_store_too(
    tmp_path: Path, cli: Callable[..., Run]
) -> None:
    """The same reader, the same look-up: an export zip of today, ingested after one of
    40 days ago, aims bob's reply at alice; the reply to a message held nowhere is counted
    in the file's result and said in its note."""
    old, reply, orphan = old_thread(40)
    _, people, groups = network()
    (tmp_path / "september.zip").write_bytes(zip_for([old], people, groups))
    (tmp_path / "today.zip").write_bytes(zip_for([reply, orphan], people, groups))
    first = cli("ingest", tmp_path / "september.zip", "--json")
    assert first.exit_code == 0, first.stderr
    done = cli("ingest", tmp_path / "today.zip", "--json")
    assert done.exit_code == 0, done.stderr
    keys = authors(tmp_path / "data")
    assert keys["110>"] == keys["90"] and keys["111>"] is None
    detail = done.json()["details"][0]
    assert detail["replies_without_target"] == 1
    assert "1 reply answers a message neither in this export nor in the store" in (
        detail["message"] or ""
    )
    # Both exports in one run, the older one first: the same targets.
    other = cli(
        "ingest", tmp_path / "september.zip", tmp_path / "today.zip", "--data-dir",
        tmp_path / "other",
    )  # fmt: skip
    assert other.exit_code == 0, other.stderr
    in_one_run = authors(tmp_path / "other")  # another store: another secret, other keys
    assert in_one_run["110>"] == in_one_run["90"] and in_one_run["111>"] is None


# --- Sign-in ----------------------------------------------------------------------------


def test_login_writes_a_private_token_cache_and_later_runs_refresh_it_silently(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    cache = tmp_path / "secrets" / "viva.json"
    settings = settings_for(ve, data, viva_engage_token_cache=str(cache))
    shown: list[str] = []
    ve.expires_in = 60  # msal renews a token that expires within five minutes
    assert login_viva_engage(settings, shown.append, environ={}) == "admin@contoso.example"
    assert "ABCD-EFGH" in shown[0]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    first = cache.read_text()
    assert ve.requests["token:device_code"] == 1
    summary = fetch_viva_engage(settings, environ={}, now=NOW, since=(NOW - DAY).date())
    assert summary.exit_code == 0, summary.stopped
    assert ve.requests["token:refresh_token"] >= 1
    assert cache.read_text() != first  # the renewed tokens are kept
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert not list(cache.parent.glob(".*.tmp"))


def test_a_revoked_sign_in_exits_77_naming_the_verified_administrator(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    settings = settings_for(ve, tmp_path / "data")
    ve.expires_in = 60
    login_viva_engage(settings, lambda _: None, environ={})
    ve.token_mode = "refuse"
    summary = fetch_viva_engage(settings, environ={}, now=NOW)
    assert summary.exit_code == 77
    assert "Verified Administrator" in (summary.stopped or "")
    assert "--login" in (summary.stopped or "")
    assert "yammer-refresh-token" not in (summary.stopped or "")


def test_a_sign_in_service_that_keeps_failing_exits_75(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    settings = settings_for(ve, tmp_path / "data")
    ve.expires_in = 60
    login_viva_engage(settings, lambda _: None, environ={})
    ve.token_mode = "500"
    summary = fetch_viva_engage(settings, environ={}, now=NOW)
    assert summary.exit_code == 75
    assert "sign-in service" in (summary.stopped or "")


def test_no_sign_in_is_a_configuration_error_before_any_request(
    ve: FakeVivaEngage, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        fetch_viva_engage(settings_for(ve, tmp_path / "data"), environ={}, now=NOW)
    assert caught.value.exit_code == 78
    assert "--login" in str(caught.value)
    with pytest.raises(ConfigError, match="client_id"):
        fetch_viva_engage(Settings(data_dir=tmp_path / "data"), environ={}, now=NOW)
    assert ve.requests == {}


# --- Refusals and failures ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["401", "403"])
def test_a_refused_token_or_a_non_admin_exits_77(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path, mode: str
) -> None:
    ve.export_mode = mode
    summary = run(ve, tmp_path / "data", since=(NOW - DAY).date())
    assert summary.exit_code == 77
    assert "Verified Administrator" in (summary.stopped or "")
    if mode == "403":
        assert "access_as_user" in (summary.stopped or "")


def test_throttling_waits_what_retry_after_asks_then_goes_on(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    ve.failures = [429, 503, 500]
    summary = run(ve, tmp_path / "data", since=(NOW - DAY).date())
    assert summary.exit_code == 0, summary.stopped
    assert clock.waits[:2] == [5.0, 5.0] and clock.waits[2] == retry.BACKOFF_FIRST_SECONDS


def test_throttling_past_the_budget_exits_75_keeping_the_ranges_committed(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    ve.retry_after = "120"

    def throttle_after_two(result: viva_engage.RangeResult) -> None:
        if len(ve.exports) >= 4:
            ve.failures = [429] * 50

    summary = run(
        ve, data, since=(NOW - 3 * DAY).date(), max_minutes=5, on_range=throttle_after_two
    )
    assert summary.exit_code == 75
    assert "time budget" in (summary.stopped or "")
    assert summary.count("fetched") == 2
    held = viva_engage.fetched_ranges(store.read_manifest(data))
    assert held[-1][1] == dt.datetime(2026, 10, 29, tzinfo=dt.UTC)
    ve.failures = []
    again = run(ve, data)
    assert again.exit_code == 0
    assert again.since == "2026-10-28T23:00:00Z"  # where the first run stopped, less the overlap
    assert [e[0] for e in events(data)] == ["101", "102", "103", "104", "105", "106"]


@pytest.mark.parametrize("mode", ["truncated", "nocolumns", "nousers"])
def test_an_unreadable_export_exits_65_and_stores_nothing_of_it(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path, mode: str
) -> None:
    data = tmp_path / "data"
    ve.export_mode = mode
    summary = run(ve, data, since=(NOW - DAY).date())
    assert summary.exit_code == 65
    assert "nothing of" in (summary.stopped or "")
    assert events(data) == []
    assert not viva_engage.fetched_ranges(store.read_manifest(data))
    assert not [p for p in (data / ".fetch-tmp").rglob("*") if p.name != ".lock"]


def test_a_redirect_is_followed_to_https_only_and_without_the_token(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    ve.export_mode = "redirect"
    summary = run(ve, tmp_path / "data", since=(NOW - 3 * DAY).date())
    assert summary.exit_code == 0 and summary.to_dict()["events"] == 6
    ve.export_mode = "redirect_http"
    refused = run(ve, tmp_path / "other", since=(NOW - DAY).date())
    assert refused.exit_code == 65
    assert "not https" in (refused.stopped or "")
    assert events(tmp_path / "other") == []


# --- The command ----------------------------------------------------------------------


@pytest.fixture
def ve_env(ve: FakeVivaEngage, monkeypatch: pytest.MonkeyPatch) -> FakeVivaEngage:
    monkeypatch.setenv("RSE_ADOPTION_VIVA_ENGAGE_API_URL", f"{ve.url}/api/v1")
    monkeypatch.setenv("RSE_ADOPTION_M365_AUTHORITY_URL", ve.url)
    monkeypatch.setenv("RSE_ADOPTION_VIVA_ENGAGE_TENANT_ID", TENANT)
    monkeypatch.setenv("RSE_ADOPTION_VIVA_ENGAGE_CLIENT_ID", CLIENT_ID)
    return ve


def test_the_command_logs_in_once_then_fetches_and_reports_json(
    ve_env: FakeVivaEngage, clock: Clock, cli: Callable[..., Run], tmp_path: Path
) -> None:
    login = cli("fetch", "viva-engage", "--login")
    assert login.exit_code == 0, login.stderr
    assert "ABCD-EFGH" in login.stderr
    assert (tmp_path / "data" / ".viva-engage-token.json").is_file()
    done = cli("fetch", "viva-engage", "--since", "2026-12-01", "--json")
    assert done.exit_code == 0, done.stderr
    result = done.json()
    assert result["exit_code"] == 0 and result["fetched"] >= 1
    assert ve_env.token not in done.stdout + done.stderr


def test_the_command_never_prints_a_token_a_server_echoes(
    ve_env: FakeVivaEngage,
    clock: Clock,
    cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    redact.forget_all()
    monkeypatch.setenv(TOKEN_ENV, ve_env.token)
    ve_env.export_mode = "echo401"
    done = cli("fetch", "viva-engage", "--json")
    assert done.exit_code == 77
    assert ve_env.token not in done.stdout + done.stderr
    assert "Verified Administrator" in done.stderr


def test_a_configuration_file_may_name_only_viva_engages_own_hosts(
    tmp_path: Path, cli: Callable[..., Run]
) -> None:
    config = tmp_path / "rse-adoption.toml"
    config.write_text('[viva_engage]\napi_url = "https://yammer.evil.example/api/v1"\n')
    done = cli("fetch", "viva-engage", "--config", config)
    assert done.exit_code == 78
    assert "RSE_ADOPTION_VIVA_ENGAGE_API_URL" in done.stderr
    config.write_text('[viva_engage]\ntoken = "abcdefghijkl"\n')
    refused = cli("fetch", "viva-engage", "--config", config)
    assert refused.exit_code == 78 and "abcdefghijkl" not in refused.stderr


# --- Status -----------------------------------------------------------------------------


def test_status_shows_the_ranges_held_and_their_gaps(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    run(ve, data, now=NOW - 20 * DAY, since=(NOW - 22 * DAY).date())
    run(ve, data, since=(NOW - 3 * DAY).date())
    status = store_status(Settings(data_dir=data), today=NOW.date())
    assert status.viva_engage == {
        "first": "2026-10-08T00:00:00Z",
        "last": "2026-10-30T06:00:00Z",
        "gaps": [{"from": "2026-10-10T06:00:00Z", "to": "2026-10-27T00:00:00Z"}],
        "stale": False,
    }
    assert "viva_engage_gap" in [w.code for w in status.warnings]
    later = store_status(Settings(data_dir=data), today=NOW.date() + 5 * DAY)
    assert "viva_engage_stale" in [w.code for w in later.warnings]
    assert json.dumps(status.to_dict())  # serialisable as `status --json` prints it
    from rse_adoption.report.store_text import status_text

    text = status_text(status)
    assert "engage fetch" in text and "1 gap(s)" in text
    assert "collecte engage" in status_text(status, "fr")


def test_the_token_cache_is_never_world_readable_even_with_a_loose_umask(
    ve: FakeVivaEngage, clock: Clock, tmp_path: Path
) -> None:
    old = os.umask(0)
    try:
        settings = settings_for(ve, tmp_path / "data")
        login_viva_engage(settings, lambda _: None, environ={})
    finally:
        os.umask(old)
    cache = tmp_path / "data" / ".viva-engage-token.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert BODY not in cache.read_text()
