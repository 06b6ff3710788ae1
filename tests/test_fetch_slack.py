"""`fetch slack` against a local HTTPS server speaking Slack's Web API (fake_slack.py),
serving a workspace that can also write its own export zip. No test reaches the
internet, and none waits: the fetcher's clock and sleep are replaced."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rse_adoption import store
from rse_adoption.api import Store, open_store
from rse_adoption.config import Settings
from rse_adoption.errors import ConfigError
from rse_adoption.fetch import slack
from rse_adoption.fetch.slack import fetch_slack
from rse_adoption.ingest import slack_export, slack_fetched
from rse_adoption.ingest.pipeline import ingest_paths
from rse_adoption.status import store_status

from .conftest import Clock, Run, write
from .fake_slack import TEXT_MARK, TOKEN, FakeSlack, Workspace, make_workspace, serve

NOW = dt.datetime(2026, 10, 30, 12, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(slack, "monotonic", fake.monotonic)
    monkeypatch.setattr(slack, "sleep", fake.sleep)
    return fake


@pytest.fixture
def fake(server: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch) -> FakeSlack:
    """A fresh workspace on the shared server, trusted through SSL_CERT_FILE."""
    return serve(server, monkeypatch, NOW)


def settings_for(fake: FakeSlack, data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, slack_api_url=fake.url)  # type: ignore[attr-defined]


def run(
    fake: FakeSlack, data_dir: Path, now: dt.datetime = NOW, **options: Any
) -> slack.SlackFetchSummary:
    environ = options.pop("environ", {slack.TOKEN_ENV: fake.token})
    return fetch_slack(settings_for(fake, data_dir), environ=environ, now=now, **options)


def events_of(data_dir: Path) -> list[tuple[Any, ...]]:
    """Every stored event as (event id, instant, type, space, content, has a target)."""
    paths = [str(data_dir / p) for p in store.read_manifest(data_dir).event_paths()]
    if not paths:
        return []
    return duckdb.sql(
        "SELECT event_id, ts, event_type, space, content_id, target_user_key IS NOT NULL "
        "FROM read_parquet($p) ORDER BY ALL",
        params={"p": paths},
    ).fetchall()


def human_messages(space: Workspace, since: str | None = None) -> int:
    """Messages that make an event of their own (a person's, of a counted subtype)."""
    return sum(
        1
        for messages in space.messages.values()
        for m in messages
        if "user" in m
        and m.get("subtype", "") in slack_export.COUNTED_SUBTYPES
        and (since is None or float(m["ts"]) > float(since))
    )


# --- The done-when checks -------------------------------------------------------------


def test_fetch_then_report_is_the_exports_report_and_fetching_is_incremental(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    space = fake.workspace
    directory = write(tmp_path / "directory.csv", space.directory_csv())
    exported = open_store(tmp_path / "exported", create=True)
    exported.load_directory(directory)
    ingested = exported.ingest([space.export_zip(tmp_path / "export.zip")])
    assert ingested.files_failed == 0
    fetched = open_store(tmp_path / "fetched", create=True)
    fetched.load_directory(directory)

    summary = run(fake, tmp_path / "fetched")
    assert summary.exit_code == 0, summary.stopped
    assert summary.count("fetched") == 4 and summary.people == len(space.users)
    assert clock.waits == []
    # The same events, ids and all, and the same report, site by site.
    assert events_of(tmp_path / "fetched") == events_of(tmp_path / "exported")
    assert summary.to_dict()["events"] == ingested.rows_ingested
    report_of_export = exported.report().to_dict()
    report_of_fetch = fetched.report().to_dict()
    for report in (report_of_export, report_of_fetch):
        report.pop("generated_at")
    assert report_of_fetch == report_of_export
    assert [s["segments"] for s in report_of_fetch["sites"]] == [
        s["segments"] for s in report_of_export["sites"]
    ]
    assert len(report_of_fetch["sites"]) == 3
    # Pages were followed (the server answers at most 25 items a page).
    assert fake.requests["users.list"] == 2 and fake.requests["conversations.replies"] > 0

    # A second run adds nothing, and reads only the look-back window.
    fake.requests.clear()
    fake.log.clear()
    again = run(fake, tmp_path / "fetched")
    assert again.exit_code == 0
    assert again.to_dict()["events"] == 0 and again.count("fetched") == 0
    assert {c.status for c in again.channels} == {"unchanged"}
    oldest = {a["channel"]: a.get("oldest") for m, a in fake.log if m == "conversations.history"}
    window = (NOW - dt.timedelta(days=90)).timestamp()  # the report's 90 days at least
    assert all(o is not None and float(o) == pytest.approx(window) for o in oldest.values())
    assert fake.requests["conversations.replies"] == 0  # no thread has a new reply

    # New messages: new posts, a reply to a thread of 20 days ago, one to a new thread, a
    # bot's message and a join; the third run adds exactly the new people's messages.
    before = events_of(tmp_path / "fetched")
    last = max(m["ts"] for ms in space.messages.values() for m in ms)
    general, help_it = space.channel_id("general"), space.channel_id("help-it")
    old_thread = next(
        m
        for m in space.messages[help_it]
        if "user" in m
        and float(m["ts"]) < (NOW - dt.timedelta(days=20)).timestamp()
        and float(m["ts"]) > (NOW - dt.timedelta(days=25)).timestamp()
    )
    later = NOW + dt.timedelta(hours=2)
    new_post = space.post(general, "U000001", later)
    space.post(general, "U000002", later + dt.timedelta(minutes=5), thread=new_post)
    space.post(help_it, "U000003", later + dt.timedelta(minutes=6), thread=old_thread)
    space.post(help_it, "U000004", later + dt.timedelta(minutes=7), subtype="file_share")
    space.post(help_it, None, later + dt.timedelta(minutes=8), subtype="bot_message")
    space.post(general, "U000005", later + dt.timedelta(minutes=9), subtype="channel_join")
    third = run(fake, tmp_path / "fetched", now=later + dt.timedelta(hours=1))
    assert third.exit_code == 0, third.stopped
    assert third.to_dict()["events"] == human_messages(space, last) == 4
    added = sorted(set(events_of(tmp_path / "fetched")) - set(before))
    assert len(added) == 4 and set(before) <= set(events_of(tmp_path / "fetched"))
    assert [e[2] for e in added].count("comment") == 2
    # And the export of the workspace now says the same again.
    refreshed = exported.ingest([space.export_zip(tmp_path / "export2.zip")])
    assert refreshed.rows_ingested == 4
    assert events_of(tmp_path / "fetched") == events_of(tmp_path / "exported")


def test_an_export_then_a_fetch_or_the_reverse_count_each_message_once(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    space = fake.workspace
    export = space.export_zip(tmp_path / "export.zip")
    data = tmp_path / "data"
    first = ingest_paths([export], Settings(data_dir=data))
    assert first.rows_ingested > 0
    summary = run(fake, data)
    assert summary.exit_code == 0
    assert summary.to_dict()["events"] == 0  # every fetched message is a duplicate
    assert summary.count("fetched") == 4  # the progress is recorded all the same
    other = tmp_path / "other"
    run(fake, other)
    assert ingest_paths([export], Settings(data_dir=other)).rows_ingested == 0
    assert events_of(other) == events_of(data)


def test_the_reduced_messages_make_the_same_events_as_whole_ones(tmp_path: Path) -> None:
    """What the fetcher writes (message_facts, user_facts) keeps every field the reader
    reads: a workspace's export and its reduction give the same events."""
    space = make_workspace(NOW)
    whole = space.export_zip(tmp_path / "whole.zip")
    for messages in space.messages.values():
        messages[:] = [slack_export.message_facts(m) for m in messages]
    space.users[:] = [slack_export.user_facts(u) for u in space.users]
    reduced = space.export_zip(tmp_path / "reduced.zip")
    assert TEXT_MARK.encode() not in reduced.read_bytes()
    ingest_paths([whole], Settings(data_dir=tmp_path / "a"))
    ingest_paths([reduced], Settings(data_dir=tmp_path / "b"))
    assert events_of(tmp_path / "a") == events_of(tmp_path / "b") != []


def test_no_message_text_reaches_the_store(tmp_path: Path, fake: FakeSlack, clock: Clock) -> None:
    data = tmp_path / "data"
    assert run(fake, data).exit_code == 0
    for path in data.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert TEXT_MARK.encode() not in content, path
            assert fake.token.encode() not in content, path
    assert not list((data / ".fetch-tmp").glob("*/slack-*"))  # the scratch folders are gone
    assert not (data / ".fetch-tmp").exists()  # messages never pass through files at all


def test_an_edited_message_is_the_same_event_and_a_deleted_one_keeps_its_event(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    space, data = fake.workspace, tmp_path / "data"
    run(fake, data)
    stored = events_of(data)
    general = space.messages[space.channel_id("general")]
    recent = [m for m in general if "user" in m and "subtype" not in m and "thread_ts" not in m]
    edited, deleted = recent[-1], recent[-2]
    edited["text"] = "edited"
    edited["edited"] = {"user": edited["user"], "ts": "1800000000.000000"}
    general.remove(deleted)
    space.post(space.channel_id("general"), "U000007", NOW + dt.timedelta(minutes=1))
    summary = run(fake, data, now=NOW + dt.timedelta(minutes=2))
    assert summary.to_dict()["events"] == 1  # the new message only
    after = events_of(data)
    assert set(stored) <= set(after)
    assert any(e[0] == f"{space.channel_id('general')}:{deleted['ts']}" for e in after)


def test_since_bounds_the_first_read(tmp_path: Path, fake: FakeSlack, clock: Clock) -> None:
    since = (NOW - dt.timedelta(days=10)).date()
    summary = run(fake, tmp_path / "data", since=since)
    assert summary.exit_code == 0
    first = min(e[1] for e in events_of(tmp_path / "data"))
    assert first.date() >= since
    oldest = {a.get("oldest") for m, a in fake.log if m == "conversations.history"}
    start = dt.datetime(since.year, since.month, since.day, tzinfo=dt.UTC).timestamp()
    assert {float(o) for o in oldest if o is not None} == {start}


def test_channels_named_only_and_an_unknown_name_is_a_usage_error(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    summary = run(fake, tmp_path / "data", channels=["#general", "projects"])
    assert [c.channel for c in summary.channels] == ["general", "projects"]
    unknown = run(fake, tmp_path / "data", channels=["nope"])
    assert unknown.exit_code == 2
    assert "--channel nope: no public channel" in (unknown.stopped or "")


def test_a_channel_the_app_is_not_in_is_skipped_with_the_fix(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    fake.workspace.channels[1]["is_member"] = False
    summary = run(fake, tmp_path / "data")
    assert summary.exit_code == 0
    skipped = [c for c in summary.channels if c.status == "skipped"]
    assert [c.channel for c in skipped] == ["help-it"]
    assert "/invite" in (skipped[0].message or "")
    # With a user token the app tries, and Slack's not_in_channel skips it too.
    fake.token = "xoxp-user-token"
    summary = run(fake, tmp_path / "data")
    assert [c.status for c in summary.channels if c.channel == "help-it"] == ["skipped"]
    refused = next(c for c in summary.channels if c.channel == "help-it")
    assert "not_in_channel" in (refused.message or "")


# --- Throttling, budget, failures ------------------------------------------------------


def test_throttling_waits_as_told_and_goes_on(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    fake.failures = [429, 429, 503]
    fake.retry_after = "30"
    summary = run(fake, tmp_path / "data", channels=["general"])
    assert summary.exit_code == 0, summary.stopped
    assert clock.waits == [30.0, 30.0, 2.0]  # Retry-After twice, then the backoff's first step


def test_throttling_past_the_budget_stops_with_what_is_committed(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    data = tmp_path / "data"
    original = fake._conversations_history

    def throttled_from_the_third_channel(args: dict[str, str]) -> Any:
        if args["channel"] == "C00000002":
            fake.failures = [429]
        return original(args)

    fake._conversations_history = throttled_from_the_third_channel  # type: ignore[method-assign]
    fake.retry_after = "600"
    summary = run(fake, data, max_minutes=25)
    assert summary.exit_code == 75
    assert "time budget of 25 minutes" in (summary.stopped or "")
    assert "Slack asked to wait 600 s more" in (summary.stopped or "")
    assert [c.channel for c in summary.channels] == ["alerts", "general", "help-it"]
    committed = {e["slack_channel_name"] for e in store.read_manifest(data).ledger}
    assert committed == {"alerts", "general", "help-it"}
    assert sum(clock.waits) <= 25 * 60
    # The next run goes on: the committed channels from their last message, the others
    # from the start; the store ends as one whole run would have made it.
    fake._conversations_history = original  # type: ignore[method-assign]
    fake.failures = []
    fake.log.clear()
    after = run(fake, data)
    assert after.exit_code == 0
    assert [c.status for c in after.channels] == ["unchanged"] * 3 + ["fetched"]
    oldest = {a["channel"]: a.get("oldest") for m, a in fake.log if m == "conversations.history"}
    assert oldest["C00000002"] is None and oldest["C00000000"] is not None
    whole = tmp_path / "whole"
    run(fake, whole)
    assert events_of(data) == events_of(whole)


def test_throttling_without_end_is_exit_75(tmp_path: Path, fake: FakeSlack, clock: Clock) -> None:
    fake.failures = [429] * 200
    fake.retry_after = "1"
    summary = run(fake, tmp_path / "data")
    assert summary.exit_code == 75
    assert "throttling" in (summary.stopped or "")


def test_server_errors_past_the_retries_are_exit_75(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    fake.failures = [500] * 10
    summary = run(fake, tmp_path / "data")
    assert summary.exit_code == 75
    assert "keeps failing" in (summary.stopped or "")
    assert clock.waits == [2.0, 4.0, 8.0, 16.0]  # bounded exponential backoff


def test_slack_unreachable_is_exit_75(tmp_path: Path, clock: Clock) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(data_dir=tmp_path / "data", slack_api_url=f"https://127.0.0.1:{port}/api/")
    summary = fetch_slack(settings, environ={slack.TOKEN_ENV: TOKEN}, now=NOW)
    assert summary.exit_code == 75
    assert "unreachable" in (summary.stopped or "")
    assert not (tmp_path / "data" / store.MANIFEST).exists()


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        (
            lambda f: f.failures.append("invalid_auth"),
            "refused the token (conversations.list: invalid_auth)",
        ),
        (lambda f: f.failures.append("not_authed"), "(conversations.list: not_authed)"),
        (lambda f: f.scopes.discard("channels:history"), "add the scope channels:history"),
        (lambda f: f.scopes.discard("users:read.email"), "add the scope users:read.email"),
    ],
)
def test_access_refused_is_exit_77_and_names_the_fix(
    tmp_path: Path, fake: FakeSlack, clock: Clock, setup: Callable[[FakeSlack], None], words: str
) -> None:
    setup(fake)
    summary = run(fake, tmp_path / "data")
    assert summary.exit_code == 77
    assert words in (summary.stopped or "")
    assert events_of(tmp_path / "data") == []


def test_without_a_token_is_exit_78_before_any_request(tmp_path: Path, fake: FakeSlack) -> None:
    with pytest.raises(ConfigError) as missing:
        run(fake, tmp_path / "data", environ={})
    assert missing.value.exit_code == 78 and slack.TOKEN_ENV in str(missing.value)
    assert not fake.log


def test_a_channel_of_bots_only_is_no_error(tmp_path: Path, fake: FakeSlack, clock: Clock) -> None:
    summary = run(fake, tmp_path / "data", channels=["alerts"])
    assert summary.exit_code == 0
    assert [(c.status, c.events) for c in summary.channels] == [("fetched", 0)]
    assert run(fake, tmp_path / "data", channels=["alerts"]).channels[0].status == "unchanged"


def test_dry_run_stores_nothing(tmp_path: Path, fake: FakeSlack, clock: Clock) -> None:
    summary = run(fake, tmp_path / "data", dry_run=True)
    assert summary.exit_code == 0 and summary.to_dict()["events"] > 0
    assert not (tmp_path / "data" / store.MANIFEST).exists()


# --- Status, CLI, docs -------------------------------------------------------------------


def test_status_shows_each_channel_and_warns_when_stale(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    data = tmp_path / "data"
    run(fake, data)
    settings = Settings(data_dir=data)
    status = store_status(settings, today=NOW.date())
    channels = {c["channel"]: c for c in status.slack}
    assert sorted(channels) == ["alerts", "general", "help-it", "projects"]
    newest = max(m["ts"] for m in fake.workspace.messages[fake.workspace.channel_id("general")])
    assert channels["general"]["last_message"] == dt.datetime.fromtimestamp(
        float(newest), dt.UTC
    ).isoformat(timespec="seconds")
    assert channels["general"]["fetched_on"] == NOW.date().isoformat()
    assert "slack_stale" not in {w.code for w in status.warnings}
    later = store_status(settings, today=NOW.date() + dt.timedelta(days=9))
    assert "slack_stale" in {w.code for w in later.warnings}
    from rse_adoption.report.store_text import status_text

    assert "slack fetch    #general: last message " in status_text(status)


def test_json_of_the_cli_is_the_librarys_summary(
    tmp_path: Path, fake: FakeSlack, clock: Clock, cli: Callable[..., Run], monkeypatch: Any
) -> None:
    # a test server's host only from the environment: a file may name Slack's hosts alone
    config = write(tmp_path / "rse-adoption.toml", "[slack]\nlookback_days = 30\n")
    monkeypatch.setenv("RSE_ADOPTION_SLACK_API_URL", fake.url)  # type: ignore[attr-defined]
    monkeypatch.setenv(slack.TOKEN_ENV, fake.token)
    result = cli("fetch", "slack", "--config", config, "--channel", "general", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["fetched"] == 1 and data["channels"][0]["channel"] == "general"
    library = Store(tmp_path / "library", config=config).fetch_slack(channels=["general"])
    assert library.to_dict() == {**data, "requests": library.requests}
    quiet = cli("fetch", "slack", "--config", config, "--channel", "general", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == ""
    monkeypatch.setenv(slack.TOKEN_ENV, "xoxb-wrong")
    refused = cli("fetch", "slack", "--config", config)
    assert refused.exit_code == 77 and "invalid_auth" in refused.stderr


def test_the_token_never_shows(
    tmp_path: Path, fake: FakeSlack, server: tuple[Any, Path], clock: Clock
) -> None:
    """A hostile server echoing the token: no message, log or file of the store has it."""
    fake.echo_token = True
    wrong = "xoxb-wrong-but-secret-" + "9" * 20
    summary = run(fake, tmp_path / "data", environ={slack.TOKEN_ENV: wrong})
    assert summary.exit_code == 77 and wrong not in (summary.stopped or "")
    env = {
        "PATH": "/usr/bin:/bin",
        "SSL_CERT_FILE": str(server[1]),
        "RSE_ADOPTION_DATA_DIR": str(tmp_path / "cli"),
        "RSE_ADOPTION_SLACK_API_URL": fake.url,  # type: ignore[attr-defined]
        slack.TOKEN_ENV: wrong,
    }
    log = tmp_path / "fetch.log"
    done = subprocess.run(
        [sys.executable, "-m", "rse_adoption.cli", "fetch", "slack", "--log-file", str(log)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 77
    for text in (done.stdout, done.stderr, log.read_text()):
        assert wrong not in text
    assert "invalid_auth" in log.read_text()


def test_kill_9_halfway_leaves_every_committed_channel_whole_and_the_next_run_goes_on(
    tmp_path: Path, fake: FakeSlack, server: tuple[Any, Path]
) -> None:
    import signal
    import time

    data = tmp_path / "data"
    env = {
        "PATH": "/usr/bin:/bin",
        "SSL_CERT_FILE": str(server[1]),
        "RSE_ADOPTION_DATA_DIR": str(data),
        "RSE_ADOPTION_SLACK_API_URL": fake.url,  # type: ignore[attr-defined]
        slack.TOKEN_ENV: fake.token,
    }
    command = [sys.executable, "-m", "rse_adoption.cli", "fetch", "slack", "--quiet"]
    fake.delay = 0.03
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (data / store.MANIFEST).exists() and store.read_manifest(data).ledger:
            break
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    manifest = store.read_manifest(data)
    assert 1 <= len(manifest.ledger) < 4
    for entry in manifest.event_files:
        assert (data / entry["path"]).is_file()
    killed = events_of(data)
    assert len(killed) == len({e[0] for e in killed})  # no event twice
    fake.delay = 0
    done = subprocess.run(command, env=env, timeout=120)
    assert done.returncode == 0
    whole = tmp_path / "whole"
    assert (
        fetch_slack(settings_for(fake, whole), environ={slack.TOKEN_ENV: fake.token}).exit_code == 0
    )
    assert events_of(data) == events_of(whole)
    assert set(killed) <= set(events_of(data))
    assert not list((data / ".fetch-tmp").glob("*/slack-*"))  # the killed run's folder


def test_the_app_manifest_asks_for_the_scopes_the_code_needs() -> None:
    manifest = json.loads((ROOT / "examples" / "slack-app-manifest.json").read_text())
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(slack.SCOPES)
    doc = (ROOT / "docs" / "slack.md").read_text(encoding="utf-8")
    for scope in slack.SCOPES:
        assert f"`{scope}`" in doc


def test_json_summary_is_documented() -> None:
    doc = (ROOT / "docs" / "slack.md").read_text(encoding="utf-8")
    summary = slack.SlackFetchSummary().to_dict()
    for key in [*summary, *slack.ChannelResult("c", "C1", "fetched").__dict__]:
        assert f"`{key}`" in doc, key
    assert json.loads(json.dumps(summary))["channels"] == []


# --- Issue 27: hostile ids, races, late replies, floors, partial exports, bad answers ----


def reports_of(opened: Store) -> dict[int, Any]:
    """The 30- and 90-day reports of a store, without the moment they were made."""
    found = {}
    for days in (30, 90):
        report = opened.report(window_days=days).to_dict()
        report.pop("generated_at")
        found[days] = report
    return found


def whole_store(tmp_path: Path, space: Workspace, name: str) -> Path:
    """A store filled from the workspace's export as it is now."""
    data = tmp_path / name
    summary = ingest_paths([space.export_zip(tmp_path / f"{name}.zip")], Settings(data_dir=data))
    assert summary.files_failed == 0
    return data


@pytest.mark.parametrize("hostile", ["../../../../../victim", "c0000001", "C0001/..", ""])
def test_a_channel_id_that_is_no_slack_id_is_refused_and_nothing_outside_the_store_changes(
    tmp_path: Path, fake: FakeSlack, clock: Clock, hostile: str
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    space = fake.workspace
    channel = space.channels[1]  # help-it
    space.messages[hostile] = space.messages.pop(channel["id"])
    channel["id"] = hostile
    summary = run(fake, tmp_path / "data")
    assert summary.exit_code == 65  # bad data, the other channels stored
    assert (victim / "keep.txt").read_text() == "precious"
    refused = [c for c in summary.channels if c.status == "error"]
    assert [c.channel for c in refused] == ["help-it"]
    message = refused[0].message or ""
    assert "#help-it" in message and "no Slack id" in message and "\n" not in message
    assert summary.count("fetched") == 3
    assert not [e for e in events_of(tmp_path / "data") if e[0].startswith(hostile + ":")]
    assert not [m for m, a in fake.log if a.get("channel") == hostile]  # never asked


def test_messages_posted_while_a_run_reads_are_stored_by_the_next_run(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    """Item 5: the next run starts from when this one began reading (less a margin for
    Slack's clock), not from the newest message it saw."""
    space = fake.workspace
    general = space.channel_id("general")
    threads = sorted(
        (m for m in space.messages[general] if m.get("reply_count")), key=lambda m: float(m["ts"])
    )
    posted: list[dict[str, Any]] = []

    def busy_workspace(args: dict[str, str]) -> None:
        """Once the first thread of #general is read: a reply to it, a new post (the
        history is read already), and a reply to a thread the run reads later."""
        if posted or args["channel"] != general:
            return
        read = next(m for m in space.messages[general] if m["ts"] == args["ts"])
        later = threads[0] if threads[0] is not read else threads[1]
        moment = NOW + dt.timedelta(seconds=1)
        posted.append(space.post(general, "U000010", moment, thread=read))
        posted.append(space.post(general, "U000011", moment + dt.timedelta(seconds=1)))
        posted.append(
            space.post(general, "U000012", moment + dt.timedelta(seconds=2), thread=later)
        )

    fake.hooks["conversations.replies"] = busy_workspace
    data = tmp_path / "data"
    assert run(fake, data).exit_code == 0
    assert len(posted) == 3
    fake.hooks.clear()
    assert run(fake, data, now=NOW + dt.timedelta(hours=1)).exit_code == 0
    stored = {e[0] for e in events_of(data)}
    assert {f"{general}:{m['ts']}" for m in posted} <= stored
    assert events_of(data) == events_of(whole_store(tmp_path, space, "export"))


def test_late_replies_to_threads_of_the_report_window_are_found_at_the_cost_of_one_call(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    """Item 6, and the done-when: with default settings, late replies and races, the
    fetched store gives the export's 30- and 90-day reports."""
    space = fake.workspace
    directory = write(tmp_path / "directory.csv", space.directory_csv())
    fetched = open_store(tmp_path / "fetched", create=True)
    fetched.load_directory(directory)
    assert run(fake, tmp_path / "fetched").exit_code == 0
    help_it = space.channel_id("help-it")
    old_threads = [
        m
        for m in space.messages[help_it]
        if m.get("reply_count") and float(m["ts"]) < (NOW - dt.timedelta(days=45)).timestamp()
    ]
    late = NOW + dt.timedelta(minutes=30)
    for k, parent in enumerate(old_threads[:2]):  # threads of 45 to 60 days ago
        space.post(help_it, f"U00002{k}", late + dt.timedelta(minutes=k), thread=parent)
    fake.requests.clear()
    second = run(fake, tmp_path / "fetched", now=NOW + dt.timedelta(hours=1))
    assert second.exit_code == 0 and second.to_dict()["events"] == 2
    assert fake.requests["conversations.replies"] == 2  # only the threads that moved
    fake.requests.clear()
    third = run(fake, tmp_path / "fetched", now=NOW + dt.timedelta(hours=2))
    assert third.to_dict()["events"] == 0 and fake.requests["conversations.replies"] == 0
    exported = open_store(whole_store(tmp_path, space, "exported"))
    exported.load_directory(directory)
    assert events_of(tmp_path / "fetched") == events_of(tmp_path / "exported")
    reports = reports_of(fetched)
    assert reports == reports_of(exported)
    assert reports[30] != reports[90] and len(reports[30]["sites"]) == 3


def test_since_is_a_floor_kept_for_the_channel_until_a_later_since_lowers_it(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    data = tmp_path / "data"
    floor = (NOW - dt.timedelta(days=10)).date()
    assert run(fake, data, since=floor).exit_code == 0
    later = NOW + dt.timedelta(hours=1)
    fake.workspace.post(fake.workspace.channel_id("general"), "U000001", later)
    assert run(fake, data, now=later + dt.timedelta(minutes=1)).exit_code == 0
    assert min(e[1] for e in events_of(data)).date() >= floor  # no look-back before it
    lower = (NOW - dt.timedelta(days=40)).date()
    lowered = run(fake, data, now=later + dt.timedelta(minutes=2), since=lower)
    assert lowered.exit_code == 0
    first = min(e[1] for e in events_of(data)).date()
    assert lower <= first < floor
    assert [e for e in events_of(data) if e[1].date() >= lower] == events_of(data)


def test_a_partial_export_and_a_fetch_count_each_message_once_in_either_order(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    """Item 8: an export without channels.json keys its folders by channel name."""
    assert slack_fetched.FETCHED_SOURCE == slack.SOURCE
    space = fake.workspace
    partial = space.export_zip(tmp_path / "partial.zip", channels_json=False)
    whole = events_of(whole_store(tmp_path, space, "whole"))
    fetched_first = tmp_path / "fetched-first"
    assert run(fake, fetched_first).exit_code == 0
    then = ingest_paths([partial], Settings(data_dir=fetched_first))
    assert then.rows_ingested == 0 and then.duplicates > 0
    assert "keyed by the id of the channel of the same name" in (then.details[0].message or "")
    assert events_of(fetched_first) == whole
    export_first = tmp_path / "export-first"
    assert ingest_paths([partial], Settings(data_dir=export_first)).rows_ingested == len(whole)
    summary = run(fake, export_first)
    assert summary.exit_code == 0 and summary.to_dict()["events"] == 0
    assert "not counted again" in (summary.channels[1].message or "")
    assert len(events_of(export_first)) == len(whole)


def test_a_malformed_answer_is_exit_75_in_one_line_and_a_rerun_completes_the_store(
    tmp_path: Path, fake: FakeSlack, clock: Clock, cli: Callable[..., Run], monkeypatch: Any
) -> None:
    def garble_after_general(args: dict[str, str]) -> None:
        if args["channel"] == fake.workspace.channel_id("general"):
            fake.failures = [b'{"ok": true, "messages": [{"ts": "17']

    fake.hooks["conversations.history"] = garble_after_general
    # a test server's host only from the environment: a file may name Slack's hosts alone
    config = write(tmp_path / "rse-adoption.toml", "[slack]\nlookback_days = 30\n")
    monkeypatch.setenv("RSE_ADOPTION_SLACK_API_URL", fake.url)  # type: ignore[attr-defined]
    monkeypatch.setenv(slack.TOKEN_ENV, fake.token)
    failed = cli("fetch", "slack", "--config", config, "--quiet")
    assert failed.exit_code == 75
    assert "Traceback" not in failed.stderr
    assert failed.stderr.count("\n") == 1 and "not valid JSON" in failed.stderr
    fake.hooks.clear()
    fake.failures = []
    assert cli("fetch", "slack", "--config", config, "--quiet").exit_code == 0
    assert events_of(tmp_path / "data") == events_of(whole_store(tmp_path, fake.workspace, "w"))


def test_a_channel_named_like_an_export_listing_is_refused_alone(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    space, data = fake.workspace, tmp_path / "data"
    space.channels[1]["name"] = "users.json"
    summary = run(fake, data)
    assert summary.exit_code == 65
    refused = next(c for c in summary.channels if c.status == "error")
    assert refused.channel_id == "C00000001" and "users.json" in (refused.message or "")
    assert summary.count("fetched") == 3
    space.channels[1]["name"] = "help-it"
    assert run(fake, data).exit_code == 0
    assert events_of(data) == events_of(whole_store(tmp_path, space, "whole"))


def test_the_nightly_cost_benchmark_runs_at_toy_size(tmp_path: Path) -> None:
    """benchmarks/slack_nightly.py (docs/slack.md's figures) kept from rotting: a quiet
    night reads no thread, a busy one only the threads that moved."""
    proxies = {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"}
    env = {k: v for k, v in os.environ.items() if k not in proxies}
    script = ROOT / "benchmarks" / "slack_nightly.py"
    toy = ["--channels", "2", "--days", "40", "--per-day", "3", "--out", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, str(script), *toy], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(next(tmp_path.glob("slack-nightly-*.json")).read_text())
    assert "conversations.replies" not in result["quiet_night"]["by_method"]
    assert result["quiet_night"]["by_method"]["conversations.history"] == 2
    assert result["workload"]["late_replies"] > 0
    assert result["nightly"]["events_added"] > result["workload"]["late_replies"]


@pytest.mark.parametrize("body", [b'{"ok": true, "channels": [{"id"', b"[1]", b"", b"\xff\xfe{"])
def test_an_answer_that_is_no_json_object_is_exit_75_in_one_line(
    tmp_path: Path, fake: FakeSlack, clock: Clock, body: bytes
) -> None:
    fake.failures = [body]
    summary = run(fake, tmp_path / "data")
    assert summary.exit_code == 75
    assert "conversations.list" in (summary.stopped or "") and "not valid JSON" in (
        summary.stopped or ""
    )
    assert "\n" not in (summary.stopped or "")


def test_messages_with_fields_slack_never_gives_are_no_crash(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    space = fake.workspace
    general = space.channel_id("general")
    odd = [
        {"reply_count": "many", "latest_reply": 5},
        {"reply_count": 10**30, "latest_reply": "x"},
        {"user": ["U000001"], "subtype": 5},
        {"user": "U000001", "reactions": "lots"},
        {"user": "U000001", "reactions": [{"name": 3, "users": [1, None, "U000002"]}]},
        {"user": "U000001", "parent_user_id": {"id": 1}},
    ]
    for n, fields in enumerate(odd):
        ts = f"{int(NOW.timestamp()) - 3600}.{n:06d}"
        thread = {"thread_ts": ts} if "reply_count" in fields else {}
        space.messages[general].append({"type": "message", "ts": ts, **thread, **fields})
    summary = run(fake, tmp_path / "data")
    assert summary.exit_code == 0, summary.stopped
    assert summary.count("fetched") == 4


def test_a_ledger_written_before_marks_starts_the_next_run_at_its_newest_message() -> None:
    manifest = store.Manifest()
    entry = {"source": slack.SOURCE, "slack_channel": "C1", "slack_channel_name": "general"}
    manifest.ledger.append({**entry, "slack_latest_ts": "1700000000.000100"})
    held = slack.progress(manifest)["C1"]
    assert (held.mark, held.floor, held.latest_ts) == ("1700000000.000100", None, held.mark)
    manifest.ledger.append(
        {**entry, "slack_latest_ts": None, "slack_mark": "1700000500", "slack_since": "1690000000"}
    )
    held = slack.progress(manifest)["C1"]
    assert (held.mark, held.floor, held.latest_ts) == (
        "1700000500",
        "1690000000",
        "1700000000.000100",
    )
