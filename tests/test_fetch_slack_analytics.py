"""`fetch slack --analytics` against a local HTTPS server speaking Slack's Web API
(fake_slack.py: `admin.analytics.getFile` with Slack's keys, its gzip and its errors). No
test reaches the internet, and none waits: the fetcher's clock and sleep are replaced."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rse_adoption import store
from rse_adoption.api import Store, open_store
from rse_adoption.config import Settings
from rse_adoption.errors import ConfigError
from rse_adoption.fetch import slack, slack_analytics
from rse_adoption.fetch.slack import fetch_slack
from rse_adoption.fetch.slack_analytics import fetch_slack_analytics, horizon_start
from rse_adoption.ingest import slack_member_days
from rse_adoption.ingest.slack_export import COUNTED_SUBTYPES
from rse_adoption.status import store_status

from .conftest import Clock, Run, write
from .fake_slack import ADMIN_TOKEN, SITES, FakeSlack, Workspace, serve

NOW = dt.datetime(2026, 10, 30, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
#: Slack has not computed yesterday yet: the last day of analytics is the day before.
LAST = TODAY - dt.timedelta(days=2)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    for module in (slack, slack_analytics):
        monkeypatch.setattr(module, "monotonic", fake.monotonic)
        monkeypatch.setattr(module, "sleep", fake.sleep)
    return fake


@pytest.fixture
def fake(server: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch) -> FakeSlack:
    """The workspace of fake_slack, plus what only analytics show: members who read on
    some days without posting or reacting, direct messages, a huddle or two."""
    served = serve(server, monkeypatch, NOW)
    served.analytics_until = TODAY - dt.timedelta(days=1)
    space = served.workspace
    rng = random.Random(5)
    humans = [u["id"] for u in space.users if not u.get("is_bot") and u["id"] != "USLACKBOT"]
    # Members who never write in a channel: some read now and then (one writes direct
    # messages), some only join huddles; one does nothing at all.
    silent = [space.person(n) for n in range(100, 109)]
    for user in silent:
        space.users.append({"id": user, "name": user, "profile": {"email": f"{user}@corp.example"}})
    readers, visitors = silent[:4], silent[4:8]
    for back in range(60):
        day = (TODAY - dt.timedelta(days=back)).isoformat()
        space.readers[day] = set(rng.sample(humans, 6)) | {rng.choice(readers)}
        space.direct_messages[day] = {rng.choice(humans): 2, readers[0]: 1}
        space.huddles[day] = {rng.choice(humans), rng.choice(visitors)}
    return served


def settings_for(fake: FakeSlack, data_dir: Path, days: int = 35) -> Settings:
    return Settings(
        data_dir=data_dir,
        slack_api_url=fake.url,  # type: ignore[attr-defined]
        slack_analytics_days=days,
    )


def analytics(
    fake: FakeSlack, data_dir: Path, days: int = 35, **options: Any
) -> slack_analytics.AnalyticsSummary:
    environ = options.pop("environ", {slack_analytics.TOKEN_ENV: fake.admin_token})
    return fetch_slack_analytics(
        settings_for(fake, data_dir, days), environ=environ, today=TODAY, **options
    )


def messages(fake: FakeSlack, data_dir: Path) -> slack.SlackFetchSummary:
    summary = fetch_slack(
        settings_for(fake, data_dir), environ={slack.TOKEN_ENV: fake.token}, now=NOW
    )
    assert summary.exit_code == 0, summary.stopped
    return summary


def site_of(user_id: str) -> str:
    return SITES[int(user_id[1:]) % len(SITES)]


def true_segments(space: Workspace, first: dt.date, last: dt.date) -> dict[str, Counter[str]]:
    """Each site's segments over the days `first`..`last` from the workspace itself: who
    posted or replied (contributor), else reacted (reactor), else read or wrote a direct
    message (reader: Slack's `is_active`), else joined a huddle (visitor)."""
    level: dict[str, int] = {}

    def raise_to(user: str, value: int) -> None:
        level[user] = max(level.get(user, 0), value)

    def inside(ts: str) -> bool:
        return first <= dt.datetime.fromtimestamp(float(ts), dt.UTC).date() <= last

    for channel in space.messages.values():
        for message in channel:
            if not inside(message["ts"]):
                continue
            if "user" in message and message.get("subtype", "") in COUNTED_SUBTYPES:
                raise_to(message["user"], 4)
            for reaction in message.get("reactions", []):
                for user in reaction["users"]:
                    raise_to(user, 3)
    for n in range((last - first).days + 1):
        day = (first + dt.timedelta(days=n)).isoformat()
        for user in space.readers.get(day, set()) | set(space.direct_messages.get(day, {})):
            raise_to(user, 2)
        for user in space.huddles.get(day, set()):
            raise_to(user, 1)
    names = {4: "contributor", 3: "reactor", 2: "reader", 1: "visitor", 0: "inactive"}
    sites: dict[str, Counter[str]] = {s: Counter() for s in SITES}
    for user in space.users:
        if user.get("is_bot") or user["id"] == "USLACKBOT":
            continue
        sites[site_of(user["id"])][names[level.get(user["id"], 0)]] += 1
    return sites


def segments_of(data_dir: Path) -> tuple[dict[str, dict[str, int]], dict[str, Any]]:
    report = open_store(data_dir).report(as_of=LAST, window_days=28, min_group_size=1).to_dict()
    report.pop("generated_at")
    return {s["site"]: s["segments"] for s in report["sites"]}, report


# --- The done-when checks -------------------------------------------------------------


def test_messages_and_member_analytics_give_the_workspaces_segments_in_either_order(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    space = fake.workspace
    directory = write(tmp_path / "directory.csv", space.directory_csv())
    first_messages, first_analytics = tmp_path / "messages-first", tmp_path / "analytics-first"
    for data in (first_messages, first_analytics):
        open_store(data, create=True).load_directory(directory)

    messages(fake, first_messages)
    fetched = analytics(fake, first_messages)
    assert fetched.exit_code == 0, fetched.stopped
    # 35 days back from yesterday: yesterday is not computed yet, the 34 others stored.
    assert fetched.count("fetched") == 34 and fetched.count("skipped") == 1
    assert fetched.days[0].day == (TODAY - dt.timedelta(days=1)).isoformat()  # newest first
    assert fetched.days[0].message == "not available yet (file_not_yet_available)"
    assert {d.rows for d in fetched.days if d.status == "fetched"} == {len(space.users) - 2}
    assert clock.waits == []

    assert analytics(fake, first_analytics).exit_code == 0
    messages(fake, first_analytics)

    truth = true_segments(space, LAST - dt.timedelta(days=27), LAST)
    by_site, report = segments_of(first_messages)
    assert report["activity_grain"] == "day"
    for site, counts in truth.items():
        assert by_site[site] == {k: counts[k] for k in by_site[site]}, site
    totals = sum(truth.values(), Counter())
    assert totals["reader"] == 4 and totals["visitor"] == 4 and totals["inactive"] == 1, totals
    # Whichever source came first, the same report.
    assert segments_of(first_analytics)[1] == report

    # Without --as-of the window waits for the analytics, computed a day or two after the
    # messages: the default report counts both (and says why it ends there).
    default = open_store(first_messages).report(window_days=28, min_group_size=1).to_dict()
    assert default["as_of"] == LAST.isoformat() and default["activity_grain"] == "day"
    assert {s["site"]: s["segments"] for s in default["sites"]} == by_site
    assert any("last day the store's daily activity counts" in n for n in default["notes"])
    # the analytics add readers, not first posts: movement still counts the messages
    assert all(s["new_contributors"] is not None for s in default["sites"])
    assert all(s["previous"] is None for s in default["sites"])
    assert any("come from the events alone" in n for n in default["notes"])

    # A second run asks only the day Slack had not computed, and adds nothing.
    ledger = store.read_manifest(first_messages).ledger
    fake.requests.clear()
    again = analytics(fake, first_messages)
    assert again.exit_code == 0 and again.count("fetched") == 0
    assert fake.requests["admin.analytics.getFile"] == 1
    assert store.read_manifest(first_messages).ledger == ledger
    assert segments_of(first_messages)[1] == report


def test_a_member_is_keyed_as_their_fetched_messages_are(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    """Without a directory: the posters of a day in the analytics are the same keys as
    the authors of that day's post events (both by e-mail)."""
    data = tmp_path / "data"
    messages(fake, data)
    assert analytics(fake, data, days=10).exit_code == 0
    manifest = store.read_manifest(data)
    periods = [str(data / e["path"]) for e in manifest.activity_files]
    events = [str(data / p) for p in manifest.event_paths()]
    posters = duckdb.sql(
        "SELECT refresh_date, list_sort(list(DISTINCT person_key)) FROM read_parquet($p) "
        "WHERE posts > 0 GROUP BY 1 ORDER BY 1",
        params={"p": periods},
    ).fetchall()
    authors = dict(
        duckdb.sql(
            "SELECT ts::DATE, list_sort(list(DISTINCT user_key)) FROM read_parquet($p) "
            "WHERE event_type IN ('post', 'comment') GROUP BY 1",
            params={"p": events},
        ).fetchall()
    )
    assert len(posters) >= 5
    for day, keys in posters:
        assert keys == authors[day], day


def test_the_days_slack_has_not_and_the_start_of_its_data(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    fake.analytics_from = TODAY - dt.timedelta(days=5)
    summary = analytics(fake, tmp_path / "data")
    assert summary.exit_code == 0
    # yesterday not yet; four days stored; the fifth day back is before Slack's data, and
    # no older day is asked.
    assert [d.status for d in summary.days] == ["skipped", *["fetched"] * 4, "skipped"]
    assert "data_not_available" in (summary.days[-1].message or "")
    assert fake.requests["admin.analytics.getFile"] == 6


def test_the_horizon_is_slacks_13_months_bounded_by_the_setting_and_since(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    assert horizon_start(dt.date(2026, 10, 30)) == dt.date(2025, 10, 1)
    assert horizon_start(dt.date(2026, 3, 31)) == dt.date(2025, 3, 1)  # February 2025: 28
    fake.analytics_from = TODAY - dt.timedelta(days=3)  # a short history: few requests
    summary = analytics(fake, tmp_path / "data", days=400, dry_run=True)
    assert summary.first_day == "2025-10-01" and summary.last_day == "2026-10-29"
    assert fake.requests["admin.analytics.getFile"] == 4
    fake.analytics_from = None
    since = analytics(fake, tmp_path / "data", since=TODAY - dt.timedelta(days=3))
    assert [d.day for d in since.days] == ["2026-10-29", "2026-10-28", "2026-10-27"]
    with pytest.raises(ConfigError) as refused:
        analytics(fake, tmp_path / "data", since=TODAY)
    assert refused.value.exit_code == 2


def test_a_dry_run_stores_nothing(tmp_path: Path, fake: FakeSlack, clock: Clock) -> None:
    data = tmp_path / "data"
    open_store(data, create=True)
    before = store.read_manifest(data)
    summary = analytics(fake, data, days=4, dry_run=True)
    assert summary.exit_code == 0 and summary.count("fetched") == 3
    assert store.read_manifest(data) == before
    assert not any((data / ".fetch-tmp").glob("*/*.csv"))


# --- Slack's refusals and failures ----------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code", "said"),
    [
        ("member_analytics_disabled", 69, "member analytics are turned off"),
        ("org_level_email_display_disabled", 69, "Hide email addresses"),
        ("feature_not_enabled", 69, "not enabled"),
        ("feature_not_available", 69, "Business+ or Enterprise Grid"),
        ("not_an_enterprise", 69, "no Enterprise"),
        ("not_an_admin", 77, "Org Owner or Admin"),
        ("token_revoked", 77, "admin.analytics:read"),
        ("ratelimited", 75, "Slack kept throttling admin.analytics.getFile"),
        ("some_new_error", 65, "some_new_error"),
    ],
)
def test_what_slack_refuses_is_the_documented_exit_code(
    tmp_path: Path, fake: FakeSlack, clock: Clock, error: str, code: int, said: str
) -> None:
    fake.failures = [error] * 10
    summary = analytics(fake, tmp_path / "data", days=3)
    assert summary.exit_code == code
    assert said in (summary.stopped or "")
    assert error in (summary.stopped or "") or code == 75
    assert summary.count("fetched") == 0


def test_a_missing_scope_a_bot_token_or_a_wrong_one_is_77_and_names_the_scope(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    fake.admin_scopes = set()
    missing = analytics(fake, tmp_path / "data", days=3)
    assert missing.exit_code == 77
    assert "missing_scope" in (missing.stopped or "")
    assert "admin.analytics:read" in (missing.stopped or "")
    fake.admin_scopes = {"admin.analytics:read"}
    bot = analytics(
        fake, tmp_path / "data", days=3, environ={slack_analytics.TOKEN_ENV: fake.token}
    )
    assert bot.exit_code == 77 and "not_allowed_token_type" in (bot.stopped or "")
    fake.echo_token = True
    wrong = "xoxp-wrong-but-secret-" + "7" * 20
    refused = analytics(fake, tmp_path / "data", days=3, environ={slack_analytics.TOKEN_ENV: wrong})
    assert refused.exit_code == 77 and wrong not in json.dumps(refused.to_dict())
    with pytest.raises(ConfigError) as none:
        analytics(fake, tmp_path / "data", environ={})
    assert none.value.exit_code == 78 and slack_analytics.TOKEN_ENV in str(none.value)


def test_throttling_waits_what_slack_asks_then_goes_on(
    tmp_path: Path, fake: FakeSlack, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rse_adoption.fetch import retry

    monkeypatch.setattr(retry, "jitter", lambda: 0.0)
    fake.failures = [429, 429, 503]
    summary = analytics(fake, tmp_path / "data", days=3)
    assert summary.exit_code == 0, summary.stopped
    assert summary.count("fetched") == 2
    assert clock.waits[:2] == [30.0, 30.0] and len(clock.waits) == 3
    # A budget too short for what Slack asks: 75, what was fetched stays.
    fake.failures = [429]
    fake.retry_after = "3600"
    short = analytics(fake, tmp_path / "other", days=3, max_minutes=1)
    assert short.exit_code == 75 and "time budget" in (short.stopped or "")


def test_a_corrupt_day_is_that_days_error_and_is_asked_again(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    data = tmp_path / "data"
    broken = (TODAY - dt.timedelta(days=3)).isoformat()
    whole = gzip.compress(b'{"date": "%s", "email_address": "a@b.c"}\n' % broken.encode())
    fake.analytics_bodies[broken] = whole[: len(whole) // 2]  # cut short
    summary = analytics(fake, data, days=5)
    assert summary.exit_code == 65
    errors = [d for d in summary.days if d.status == "error"]
    assert [d.day for d in errors] == [broken]
    assert "not a gzip of JSON lines" in (errors[0].message or "")
    assert summary.count("fetched") == 3
    status = store_status(settings_for(fake, data), today=TODAY)
    assert status.slack_analytics[0]["missing_days"] == [broken]
    assert "slack_analytics_gap" in [w.code for w in status.warnings]
    # Not a gzip at all, then a row of another day: errors too.
    fake.analytics_bodies[broken] = b"<html>proxy error</html>"
    assert analytics(fake, data, days=5).days[1].status == "error"
    fake.analytics_bodies[broken] = gzip.compress(b'{"date": "2020-01-01"}\n')
    other = analytics(fake, data, days=5)
    assert "another day" in (other.days[1].message or "")
    # Mended: the next run asks that day alone and fills the gap.
    del fake.analytics_bodies[broken]
    fake.requests.clear()
    mended = analytics(fake, data, days=5)
    assert mended.exit_code == 0 and mended.count("fetched") == 1
    assert fake.requests["admin.analytics.getFile"] == 2  # and yesterday, not yet there
    status = store_status(settings_for(fake, data), today=TODAY)
    assert status.slack_analytics[0]["missing_days"] == []


def test_a_row_that_is_not_a_member_is_quarantined_with_its_line(
    tmp_path: Path, fake: FakeSlack, clock: Clock
) -> None:
    day = (TODAY - dt.timedelta(days=2)).isoformat()
    rows = fake.workspace.member_analytics(dt.date.fromisoformat(day))
    rows[3]["messages_posted_count"] = "many"
    lines = [json.dumps(r) for r in rows[:5]] + ["[1, 2]"]
    fake.analytics_bodies[day] = gzip.compress(("\n".join(lines) + "\n").encode())
    summary = analytics(fake, tmp_path / "data", days=2)
    assert summary.exit_code == 0, summary.stopped
    assert (summary.days[1].rows, summary.days[1].quarantined) == (4, 2)
    quarantined = open_store(tmp_path / "data").quarantine()
    assert sorted(q["line"] for q in quarantined) == [5, 7]  # the CSV's lines (header: 1)


# --- The command line, status, docs ---------------------------------------------------


def test_the_cli_json_is_the_librarys_summary_and_status_shows_the_days(
    tmp_path: Path,
    fake: FakeSlack,
    clock: Clock,
    cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = write(tmp_path / "rse-adoption.toml", "[slack]\nanalytics_days = 4\n")
    monkeypatch.setenv("RSE_ADOPTION_SLACK_API_URL", fake.url)  # type: ignore[attr-defined]
    monkeypatch.setenv(slack_analytics.TOKEN_ENV, ADMIN_TOKEN)
    fake.analytics_until = dt.datetime.now(dt.UTC).date()  # the command's today: the real one
    result = cli("fetch", "slack", "--analytics", "--config", config, "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["analytics"] is True and data["fetched"] == 4 and data["errors"] == 0
    assert ADMIN_TOKEN not in result.stdout + result.stderr
    library = Store(tmp_path / "library", config=config).fetch_slack_analytics()
    assert library.to_dict() == {**data, "requests": library.requests}
    status = cli("status", "--json", "--config", config)
    held = status.json()["slack_analytics"]
    assert len(held) == 1 and held[0]["missing_days"] == [] and held[0]["days"] == 4
    mixed = cli("fetch", "slack", "--analytics", "--channel", "general")
    assert mixed.exit_code == 2 and "--channel" in mixed.stderr
    monkeypatch.setenv(slack_analytics.TOKEN_ENV, "xoxp-wrong")
    refused = cli("fetch", "slack", "--analytics", "--config", config, "--data-dir", tmp_path / "x")
    assert refused.exit_code == 77 and "invalid_auth" in refused.stderr


def test_the_format_reads_the_apis_keys_by_hand_too(tmp_path: Path) -> None:
    """A CSV with the API's keys, ingested by hand as one day: the same mapping."""
    path = write(
        tmp_path / "members.csv",
        ",".join(slack_member_days.KEYS)
        + "\n2026-10-01,a@corp.example,1,3,1,0,0,0,0"
        + "\n2026-10-01,b@corp.example,1,0,0,2,0,0,0"
        + "\n2026-10-01,c@corp.example,1,0,0,0,0,0,0"
        + "\n2026-10-01,d@corp.example,0,0,0,0,1,0,0"
        + "\n2026-10-01,e@corp.example,0,0,0,0,0,0,0\n",
    )
    opened = open_store(tmp_path / "data", create=True)
    done = opened.ingest([path], period_days=1)
    assert done.files_failed == 0
    report = opened.report(as_of=dt.date(2026, 10, 1), window_days=1, min_group_size=1)
    segments = report.to_dict()["totals"]["segments"]
    assert segments == {
        "contributor": 1,
        "reactor": 1,
        "reader": 1,
        "visitor": 1,
        "inactive": 1,
    }


def test_json_summary_is_documented() -> None:
    doc = (ROOT / "docs" / "slack.md").read_text(encoding="utf-8")
    summary = slack_analytics.AnalyticsSummary("2026-01-01", "2026-01-02").to_dict()
    for key in [*summary, *slack_analytics.AnalyticsDay("2026-01-01", "fetched").__dict__]:
        assert f"`{key}`" in doc, key
    assert slack_analytics.FORMAT == slack_member_days.NAME


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"ok": true}', "answered JSON where a file was expected"),
        (b'{"ok": tru', "is not valid JSON"),
    ],
)
def test_an_answer_that_is_no_file_is_exit_75_and_keeps_what_was_stored(
    tmp_path: Path, fake: FakeSlack, clock: Clock, body: bytes, said: str
) -> None:
    data = tmp_path / "data"
    assert analytics(fake, data, days=3).count("fetched") == 2
    fake.failures = [body]
    summary = analytics(fake, data, days=5)  # two more days: the first answer is garbled
    assert summary.exit_code == 75 and said in (summary.stopped or "")
    assert "every day fetched before is committed" in (summary.stopped or "")
    assert len(slack_analytics.held_days(store.read_manifest(data))) == 2
