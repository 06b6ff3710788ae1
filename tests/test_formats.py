"""Each platform's export, from the file as downloaded to the report's numbers.

Small fixtures in tests/fixtures follow the documented headers exactly; five people of
Lyon (alice, bob, carol, dave, erin) appear in all of them, so each test reads like the
table in docs/ingest.md ("What each format can tell").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from rse_adoption.store import read_manifest

from .conftest import SAMPLES, write

FIXTURES = Path(__file__).parent / "fixtures"
DIRECTORY = "email;site\n" + "".join(
    f"{name}@example.com;Lyon\n" for name in ("alice", "bob", "carol", "dave", "erin")
)


def segments(report: dict[str, Any], site: str = "Lyon") -> dict[str, int]:
    return next(s for s in report["sites"] if s["site"] == site)["segments"]


@pytest.fixture(autouse=True)
def every_count_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """The formats are checked figure for figure on five people: every count is shown
    (min_group_size 1); what the privacy rule hides is tested in test_privacy.py."""
    monkeypatch.setenv("RSE_ADOPTION_MIN_GROUP_SIZE", "1")


@pytest.fixture
def with_directory(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("directory", write(tmp_path / "directory.csv", DIRECTORY)).exit_code == 0


@pytest.mark.usefixtures("with_directory")
@pytest.mark.parametrize(
    "fixture",
    ["viva_engage_activity_user_detail_D7.csv", "viva_engage_activity_user_detail_D7.json"],
)
def test_viva_engage_report_of_the_same_period_uses_the_counts_exactly(cli, fixture) -> None:  # type: ignore[no-untyped-def]
    ingested = cli("ingest", FIXTURES / fixture, "--json").json()
    assert ingested["details"][0]["format"] == "viva_engage"
    report = cli("report", "--window", "7", "--json").json()  # as_of: the refresh date
    assert report["as_of"] == "2026-03-31"
    # Posted > 0 contributor (alice, erin), else Liked > 0 reactor (bob), else Read > 0
    # reader (carol), else inactive (dave): no logins, so no visitor. An empty count is 0.
    assert segments(report) == {
        "inactive": 1,
        "visitor": 0,
        "reader": 1,
        "reactor": 1,
        "contributor": 2,
    }
    assert report["activity_periods"] == [
        {
            "source_format": "viva_engage",
            "period_days": 7,
            "refresh_date": "2026-03-31",
            "people": 5,
        }
    ]


def test_viva_engage_rows_without_a_person_or_with_a_bad_count_are_quarantined(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("ingest", FIXTURES / "viva_engage_activity_user_detail_D7.csv", "--json").json()
    assert (result["rows_ingested"], result["quarantined"]) == (5, 2)
    rows = cli("quarantine", "--json").json()
    assert [(r["line"], r["reason"]) for r in rows] == [
        (7, "missing user"),
        (8, 'bad count "many" in Posted Count'),
    ]


@pytest.mark.usefixtures("with_directory")
def test_a_report_whose_window_is_not_an_exported_period_names_the_ones_that_are(cli) -> None:  # type: ignore[no-untyped-def]
    cli("ingest", FIXTURES / "viva_engage_activity_user_detail_D7.csv")
    result = cli("report", "--window", "30")
    assert result.exit_code == 65
    assert "use --window 7 --as-of 2026-03-31 (viva_engage)" in result.stderr
    other_day = cli("report", "--window", "7", "--as-of", "2026-03-30")
    assert other_day.exit_code == 65 and "--window 7 --as-of 2026-03-31" in other_day.stderr


@pytest.mark.usefixtures("with_directory")
def test_admin_center_export_has_display_headers_and_needs_its_period(cli) -> None:  # type: ignore[no-untyped-def]
    export = FIXTURES / "viva_engage_admin_center_export.csv"
    missing = cli("ingest", export)
    assert missing.exit_code == 65
    assert "give --period-end YYYY-MM-DD and --period-days N" in missing.stderr
    ok = cli("ingest", export, "--period-end", "2026-03-31", "--period-days", "7", "--json")
    assert ok.exit_code == 0 and ok.json()["details"][0]["format"] == "viva_engage"
    assert segments(cli("report", "--window", "7", "--json").json())["contributor"] == 2


@pytest.mark.usefixtures("with_directory")
def test_a_re_export_of_the_same_period_replaces_rows_and_periods_are_never_summed(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    original = (FIXTURES / "viva_engage_activity_user_detail_D7.csv").read_bytes()
    cli("ingest", FIXTURES / "viva_engage_activity_user_detail_D7.csv")
    # Microsoft corrected carol's counts: she posted. Same period, other bytes.
    fixed = original.replace(
        b"carol@example.com,Carol,active,,2026-03-28,0,",
        b"carol@example.com,Carol,active,,2026-03-28,2,",
    )
    again = cli(
        "ingest", write(tmp_path / "corrected.csv", fixed.decode("utf-8-sig")), "--json"
    ).json()
    assert (again["rows_ingested"], again["duplicates"]) == (1, 4)  # only carol changed
    assert "replaced those of an earlier export" in again["details"][0]["message"]
    assert segments(cli("report", "--window", "7", "--json").json())["contributor"] == 3
    # a 30-day export of the same people is a different period: kept apart, never added up
    month = original.replace(b",7\r\n", b",30\r\n").replace(b",3,10,1,", b",0,10,1,")
    cli("ingest", write(tmp_path / "d30.csv", month.decode("utf-8-sig")))
    files = read_manifest(tmp_path / "data").activity_files
    assert sorted((f["period_days"], f["rows"]) for f in files) == [(7, 5), (30, 5)]
    assert segments(cli("report", "--window", "7", "--json").json())["contributor"] == 3
    assert segments(cli("report", "--window", "30", "--json").json())["contributor"] == 1


@pytest.mark.usefixtures("with_directory")
def test_teams_channel_posts_and_replies_make_contributors_chats_calls_meetings_visitors(
    cli,
) -> None:  # type: ignore[no-untyped-def]
    cli("ingest", FIXTURES / "teams_user_activity_user_detail_D30.csv")
    report = cli("report", "--window", "30", "--json").json()
    # alice posted, bob replied: contributors; carol chatted and called: visitor; dave and
    # erin (absent from the report): inactive. Teams has no reads or reactions.
    assert segments(report) == {
        "inactive": 2,
        "visitor": 1,
        "reader": 0,
        "reactor": 0,
        "contributor": 2,
    }


@pytest.mark.usefixtures("with_directory")
def test_teams_v1_minimum_columns_count_channel_messages_as_contributions(cli) -> None:  # type: ignore[no-untyped-def]
    cli("ingest", FIXTURES / "teams_user_activity_user_detail_v1_D7.csv")
    # alice's 4 team chat messages are channel messages (Microsoft's definition): she
    # contributes; bob's "other action" (Yes) is activity, not contribution
    assert segments(cli("report", "--window", "7", "--json").json()) == {
        "inactive": 3,
        "visitor": 1,
        "reader": 0,
        "reactor": 0,
        "contributor": 1,
    }


TEAMS_OLDER_LAYOUT = (
    "Report Refresh Date,User Principal Name,Last Activity Date,Is Deleted,Deleted Date,"
    "Assigned Products,Team Chat Message Count,Private Chat Message Count,Call Count,"
    "Meeting Count,Has Other Action,Report Period\n"
    "2026-03-31,alice@example.com,2026-03-30,False,,MICROSOFT TEAMS,12,0,0,0,No,30\n"
    "2026-03-31,bob@example.com,2026-03-29,False,,MICROSOFT TEAMS,2,0,0,0,No,30\n"
    "2026-03-31,carol@example.com,2026-03-29,False,,MICROSOFT TEAMS,0,7,1,0,No,30\n"
)


@pytest.mark.usefixtures("with_directory")
def test_teams_older_layout_channel_messages_make_contributors(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """Without Post Messages and Reply Messages, Team Chat Message Count (channel messages)
    is what people posted in channels: alice (12) and bob (2) contribute."""
    cli("ingest", write(tmp_path / "teams.csv", TEAMS_OLDER_LAYOUT))
    assert segments(cli("report", "--window", "30", "--as-of", "2026-03-31", "--json").json()) == {
        "inactive": 2,
        "visitor": 1,  # carol: private chats and a call
        "reader": 0,
        "reactor": 0,
        "contributor": 2,
    }


def test_teams_channel_messages_are_never_added_to_posts_and_replies(tmp_path: Path) -> None:
    """With the newer columns, Team Chat Message Count is their total: not counted again."""
    import duckdb

    from rse_adoption.config import Settings
    from rse_adoption.ingest.pipeline import ingest_paths

    settings = Settings(data_dir=tmp_path / "data")
    ingest_paths([FIXTURES / "teams_user_activity_user_detail_D30.csv"], settings)
    rows = duckdb.sql(
        "SELECT posts, replies, other_activity FROM read_parquet($files) ORDER BY source_record",
        params={
            "files": [
                str(settings.data_dir / f["path"])
                for f in read_manifest(settings.data_dir).activity_files
            ]
        },
    ).fetchall()
    # alice: 1 post (her 4 team chat messages not added), 2 private chats + 1 meeting
    assert rows == [(1, 0, 3), (0, 2, 5), (0, 0, 4), (0, 0, 0)]


def test_slack_member_analytics_channel_messages_contribute_active_members_read(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "ingest",
        FIXTURES / "slack_member_analytics.csv",
        "--period-end",
        "2026-03-31",
        "--period-days",
        "30",
        "--json",
    ).json()
    assert result["details"][0]["format"] == "slack_analytics"
    report = cli("report", "--window", "30", "--min-group-size", "1", "--json").json()
    # keyed by Slack user id (no e-mail in the file), so organisation-wide: alice posted
    # in channels; bob only in direct messages but reacted; carol was active (Slack: read
    # or sent a message), so she read, as in the daily member analytics; dave not.
    assert report["totals"]["segments"] == {
        "inactive": 1,
        "visitor": 0,
        "reader": 1,
        "reactor": 1,
        "contributor": 1,
    }


@pytest.mark.usefixtures("with_directory")
@pytest.mark.parametrize("as_zip", [False, True])
def test_slack_export_posts_replies_reactions_and_nothing_from_bots(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    as_zip: bool,
) -> None:
    source = FIXTURES / "slack_export"
    if as_zip:
        source = Path(shutil.make_archive(str(tmp_path / "export"), "zip", source))
    ingested = cli("ingest", source, "--json").json()
    assert ingested["details"][0]["format"] == "slack"
    # alice's thread, bob's reply, carol's and bob's reactions, erin's direct message,
    # frank's post; not the bot's message or reaction, the join or the tombstone. The
    # message without ts is quarantined.
    assert (ingested["rows_ingested"], ingested["quarantined"]) == (6, 1)
    report = cli("report", "--as-of", "2026-03-31", "--json").json()
    assert segments(report) == {
        "inactive": 1,  # dave only joined the channel
        "visitor": 1,  # erin: direct messages are private activity
        "reader": 0,
        "reactor": 1,  # carol
        "contributor": 2,  # alice (thread), bob (reply, in the next day's file)
    }
    assert report["unlisted_active_users"] == 1  # frank: no e-mail in users.json
    # dates come from ts in UTC: alice's message is in the file of 2026-03-30 (UTC-8)
    assert report["data_period"] == {"first_day": "2026-03-31", "last_day": "2026-03-31"}


def test_the_same_slack_export_zipped_and_unzipped_is_stored_once(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    zipped = shutil.make_archive(str(tmp_path / "export"), "zip", FIXTURES / "slack_export")
    first = cli("ingest", zipped, "--json").json()
    second = cli("ingest", FIXTURES / "slack_export", "--json").json()
    assert second["rows_ingested"] == 0 and second["duplicates"] == first["rows_ingested"]


@pytest.mark.usefixtures("with_directory")
def test_yammer_network_export_and_its_users_locations(cli) -> None:  # type: ignore[no-untyped-def]
    ingested = cli("ingest", FIXTURES / "yammer_export", "--json").json()
    assert ingested["details"][0]["format"] == "yammer"
    assert (ingested["rows_ingested"], ingested["quarantined"]) == (5, 2)
    report = cli("report", "--as-of", "2026-03-31", "--json").json()
    # alice posted, bob replied, dave's deleted post still counts, carol only wrote in a
    # private conversation (visitor), erin nothing; zoe is missing from the directory but
    # her Users.csv location places her in Lyon.
    assert segments(report) == {
        "inactive": 1,
        "visitor": 1,
        "reader": 0,
        "reactor": 0,
        "contributor": 4,
    }
    assert any("Yammer profile" in note for note in report["notes"])
    reasons = [(r["line"], r["reason"]) for r in cli("quarantine", "--json").json()]
    assert reasons == [(7, "expected 13 columns, found 5"), (8, 'bad timestamp "yesterday"')]


@pytest.mark.usefixtures("with_directory")
def test_any_csv_through_a_mapping_file(cli) -> None:  # type: ignore[no-untyped-def]
    mapped = FIXTURES / "mapped"
    result = cli("ingest", mapped / "plateforme.csv", "--mapping", mapped / "map.toml", "--json")
    details = result.json()["details"][0]
    assert (details["format"], details["rows_ingested"], details["quarantined"]) == (
        "mapped",
        4,
        2,
    )
    assert details["ignored"] == 1  # "Paramètres": ignored as the mapping says
    reasons = sorted(r["reason"] for r in cli("quarantine", "--json").json())
    assert reasons == ['bad timestamp "bad date"', 'unknown event type "Teleportation"']
    report = cli("report", "--as-of", "2026-03-31", "--json").json()
    assert segments(report) == {
        "inactive": 1,
        "visitor": 1,
        "reader": 1,
        "reactor": 1,  # "J'aime" is a known alias even if the mapping omits it
        "contributor": 1,
    }


def test_mapping_times_are_read_in_the_mapping_time_zone(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    import duckdb

    mapped = FIXTURES / "mapped"
    cli("ingest", mapped / "plateforme.csv", "--mapping", mapped / "map.toml")
    files = [
        str(tmp_path / "data" / f["path"]) for f in read_manifest(tmp_path / "data").event_files
    ]
    first = duckdb.sql(
        "SELECT strftime(timezone('UTC', min(ts)), '%Y-%m-%d %H:%M') FROM read_parquet($f)",
        params={"f": files},
    ).fetchall()[0][0]
    assert first == "2026-03-31 07:00"  # 09:00 in Paris, summer time


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[columns]\ntimestamp = 'a'\nuser = 'b'\n", "columns.event_type: missing"),
        (
            "[columns]\ntimestamp='a'\nuser='b'\nevent_type='c'\n[event_types]\nX='publish'\n",
            "must be one of login",
        ),
        (
            "[columns]\ntimestamp='a'\nuser='b'\nevent_type='c'\n[timestamps]\ntimezone='Mars/Olympus'\n",
            "unknown time zone",
        ),
        ("[columns\n", "not a valid TOML"),
    ],
)
def test_a_bad_mapping_file_is_a_configuration_error(
    tmp_path: Path, cli, content: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    events = write(tmp_path / "e.csv", "a,b,c\n2026-03-01,x@y.z,post\n")
    result = cli("ingest", events, "--mapping", write(tmp_path / "map.toml", content))
    assert result.exit_code == 78 and message in result.stderr
    assert not (tmp_path / "data" / "manifest.json").exists()


# --- The real public files in ../shared/samples, read in place -----------------------

needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"the shared samples are not beside the project ({SAMPLES})"
)


@needs_samples
def test_real_concealed_microsoft_365_exports_explain_what_to_change(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    m365 = SAMPLES / "m365"
    ingested = cli(
        "ingest",
        m365 / "pnp_cli_viva_engage_activityuserdetail_D7_concealed.csv",
        m365 / "pnp_cli_teams_useractivityuserdetail_D7_concealed.csv",
        "--json",
    ).json()
    assert ingested["rows_ingested"] == 2
    assert all("displayConcealedNames" in d["message"] for d in ingested["details"])
    # without a directory: organisation-wide figures, with a plain note
    alone = cli("report", "--window", "7", "--min-group-size", "1", "--json").json()
    assert any("concealed names" in note for note in alone["notes"])
    status = cli("status", "--json").json()
    assert "concealed_names" in {w["code"] for w in status["warnings"]}
    # with a directory, nothing joins: say so instead of showing zero contributors
    cli("directory", write(tmp_path / "directory.csv", DIRECTORY))
    joined = cli("report", "--window", "7", "--as-of", "2022-11-09")
    assert joined.exit_code == 65
    assert "concealed names" in joined.stderr and "Reports" in joined.stderr


@needs_samples
def test_real_teams_export_with_reordered_columns_is_read_by_name(cli) -> None:  # type: ignore[no-untyped-def]
    cli("ingest", SAMPLES / "m365" / "pnp_cli_teams_useractivityuserdetail_D7_concealed.csv")
    report = cli("report", "--window", "7", "--min-group-size", "1", "--json").json()
    assert report["totals"]["segments"]["contributor"] == 1  # Post Messages 2, Reply 3


@needs_samples
def test_real_graph_json_example_is_read(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "ingest",
        SAMPLES / "m365" / "graph_docs_beta_yammer_activityuserdetail_json_example.json",
        "--json",
    ).json()
    assert (result["details"][0]["format"], result["rows_ingested"]) == ("viva_engage", 1)


@needs_samples
def test_real_m365_reports_without_per_person_rows_are_skipped_with_a_reason(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "ingest",
        SAMPLES / "m365" / "pnp_cli_viva_engage_activityusercounts_D7.csv",
        SAMPLES / "m365" / "pnp_cli_viva_engage_groupsactivitydetail_D7_concealed.csv",
        "--json",
    )
    assert result.exit_code == 65  # nothing could be read
    messages = [d["message"] for d in result.json()["details"]]
    assert all("per-person" in m for m in messages), messages


@needs_samples
def test_real_slack_export_is_read_and_bots_do_not_count(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("ingest", SAMPLES / "slack" / "slack-export-viewer-testarchive.zip", "--json")
    assert result.exit_code == 0
    # 49 plain messages, 3 file shares, 1 file comment by people, and one person's
    # reaction (on a bot's message); 97 bot messages, joins and bot additions do not count
    assert result.json()["rows_ingested"] == 54
    report = cli("report", "--as-of", "2016-03-29", "--min-group-size", "1", "--json").json()
    assert report["totals"]["segments"]["contributor"] == 4
    # the first messages sit in the day file 2016-01-14 (the workspace's UTC-8 day) but
    # were sent at 05:55 UTC on the 15th: dates come from ts, not from file names
    assert report["data_period"] == {"first_day": "2016-01-15", "last_day": "2016-03-28"}


@needs_samples
def test_real_zulip_slack_fixtures_read_the_one_channel_excerpt_and_skip_the_rest(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("ingest", SAMPLES / "slack" / "zulip-fixtures", "--json")
    assert result.exit_code == 0
    details = {Path(d["path"]).name: d for d in result.json()["details"]}
    # test_slack_importer/random/2017-06-25.json: a join (not counted) and one message
    excerpt = details["test_slack_importer"]
    assert (excerpt["format"], excerpt["rows_ingested"]) == ("slack", 1)
    assert excerpt["message"] == f"{NO_USERS_JSON}; {NO_CHANNELS_JSON.format(1)}"
    assert details["channels.json"]["status"] == "skipped"
    assert details["normal_thread.json"]["status"] == "skipped"


# --- Partial Slack exports, as people publish them ----------------------------------

NO_USERS_JSON = (
    "no users.json: people are keyed by their Slack user id, so they cannot be joined to "
    "the directory (they show as unlisted)"
)
NO_CHANNELS_JSON = (
    "no channels.json: its {} conversation folder(s) are read as channels (public contribution)"
)


def _slack_excerpt(tmp_path: Path, drop: tuple[str, ...], as_zip: bool) -> Path:
    folder = tmp_path / "excerpt"
    shutil.copytree(FIXTURES / "slack_export", folder)
    for name in drop:
        (folder / name).unlink()
    if as_zip:
        return Path(shutil.make_archive(str(tmp_path / "excerpt"), "zip", folder))
    return folder


@pytest.mark.parametrize("as_zip", [False, True])
@pytest.mark.parametrize("forced", [(), ("--format", "slack")])
def test_a_slack_export_without_users_json_is_read_keyed_by_user_id(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    as_zip: bool,
    forced: tuple[str, ...],
) -> None:
    source = _slack_excerpt(tmp_path, ("users.json",), as_zip)
    result = cli("ingest", source, *forced, "--json")
    assert result.exit_code == 0, result.stderr
    detail = result.json()["details"][0]
    # the same 6 events as the whole export, plus the bot's reaction: without users.json
    # nothing says U0BOT is a bot (its bot_message subtype still does not count)
    assert (detail["format"], detail["rows_ingested"], detail["quarantined"]) == ("slack", 7, 1)
    assert detail["message"] == NO_USERS_JSON


@pytest.mark.parametrize("as_zip", [False, True])
def test_a_slack_export_without_its_listings_reads_folders_as_channels(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    as_zip: bool,
) -> None:
    source = _slack_excerpt(tmp_path, ("channels.json", "dms.json"), as_zip)
    result = cli("ingest", source, "--json")
    assert result.exit_code == 0, result.stderr
    detail = result.json()["details"][0]
    # erin's direct message (folder D0ERIN) now reads as a channel post
    assert (detail["format"], detail["rows_ingested"]) == ("slack", 6)
    assert detail["message"] == NO_CHANNELS_JSON.format(2)


def test_a_slack_day_file_alone_says_to_ingest_the_whole_export(cli) -> None:  # type: ignore[no-untyped-def]
    day = FIXTURES / "slack_export" / "general" / "2026-03-31.json"
    hint = (
        "one day of a Slack export (channel 'general'): ingest the whole export instead, its "
        "zip or the folder holding users.json, channels.json and the channel folders"
    )
    detected = cli("ingest", day, "--json")
    assert detected.exit_code == 65
    assert detected.json()["details"][0]["message"] == f"2026-03-31.json: {hint}"
    forced = cli("ingest", day, "--format", "slack")
    assert forced.exit_code == 65
    assert (
        forced.stderr.splitlines()[0] == f"rse-adoption: error: {day}: not a Slack export: {hint}"
    )
    assert "zip" not in forced.stderr.split(": not a Slack export")[0]


def test_forcing_slack_on_a_plain_file_does_not_call_it_a_broken_zip(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    notes = write(tmp_path / "notes.csv", "a,b\n1,2\n")
    result = cli("ingest", notes, "--format", "slack")
    assert result.exit_code == 65
    assert result.stderr.splitlines()[0] == (
        f"rse-adoption: error: {notes}: not a Slack export: expected the Slack export's zip "
        "archive or the folder it unzips to"
    )


@pytest.mark.parametrize("as_zip", [False, True])
def test_a_slack_export_without_messages_is_an_error_not_an_empty_success(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    as_zip: bool,
) -> None:
    folder = tmp_path / "listings"
    folder.mkdir()
    for name in ("users.json", "channels.json"):
        shutil.copy(FIXTURES / "slack_export" / name, folder)
    source = Path(shutil.make_archive(str(tmp_path / "e"), "zip", folder)) if as_zip else folder
    result = cli("ingest", source)
    assert result.exit_code == 65
    assert result.stderr.splitlines()[0] == (
        f"rse-adoption: error: {source}: a Slack export without messages: it has no "
        "<channel>/<YYYY-MM-DD>.json day files (export again, choosing a date range with "
        "activity)"
    )
    assert read_manifest(tmp_path / "data").ledger == []  # read again once complete


def test_a_slack_export_of_only_joins_and_bots_is_an_error(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "quiet"
    (folder / "general").mkdir(parents=True)
    for name in ("users.json", "channels.json"):
        shutil.copy(FIXTURES / "slack_export" / name, folder)
    (folder / "general" / "2026-03-31.json").write_text(
        json.dumps(
            [
                {
                    "type": "message",
                    "subtype": "channel_join",
                    "user": "U0DAVE",
                    "ts": "1774950000.1",
                },
                {"type": "message", "subtype": "bot_message", "bot_id": "B1", "ts": "1774950001.1"},
            ]
        )
    )
    result = cli("ingest", folder)
    assert result.exit_code == 65
    assert result.stderr.splitlines()[0] == (
        f"rse-adoption: error: {folder}: none of the 2 message(s) of its 1 day file(s) is by a "
        "person (only joins, bots and other system messages): nothing to count"
    )


# --- Microsoft 365 reports that are not per-person network activity -----------------

# Headers as the Microsoft Graph v1.0 reference pages give them (reportroot-get<Report>).
OTHER_M365_REPORTS = {
    "getTeamsUserActivityCounts": (
        "Report Refresh Date,Report Date,Team Chat Messages,Post Messages,Reply Messages,"
        "Private Chat Messages,Calls,Meetings,Audio Duration,Video Duration,Screen Share "
        "Duration,Meetings Organized,Meetings Attended,Report Period",
        "Teams user activity counts or user counts (organisation totals per day)",
        "teams",
    ),
    "getTeamsUserActivityUserCounts": (
        "Report Refresh Date,Report Date,Team Chat Messages,Private Chat Messages,Calls,"
        "Meetings,Other Actions,Report Period",
        "Teams user activity counts or user counts (organisation totals per day)",
        "teams",
    ),
    "getTeamsDeviceUsageUserDetail": (
        "Report Refresh Date,User Principal Name,Last Activity Date,Is Deleted,Deleted Date,"
        "Used Web,Used Windows Phone,Used iOS,Used Mac,Used Android Phone,Used Windows,"
        "Report Period",
        "Teams device usage user detail (devices, not activity)",
        "teams",
    ),
    "getEmailActivityUserDetail": (
        "Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Last "
        "Activity Date,Send Count,Receive Count,Read Count,Meeting Created Count,Meeting "
        "Interacted Count,Assigned Products,Report Period",
        "Email activity user detail (e-mail)",
        "esn",
    ),
    "getOneDriveActivityUserDetail": (
        "Report Refresh Date,User Principal Name,Is Deleted,Deleted Date,Last Activity Date,"
        "Viewed Or Edited File Count,Synced File Count,Shared Internally File Count,Shared "
        "Externally File Count,Assigned Products,Report Period",
        "OneDrive activity user detail (files)",
        "esn",
    ),
    "getSharePointActivityUserDetail": (
        "Report Refresh Date,User Principal Name,Is Deleted,Deleted Date,Last Activity Date,"
        "Viewed Or Edited File Count,Synced File Count,Shared Internally File Count,Shared "
        "Externally File Count,Visited Page Count,Assigned Products,Report Period",
        "SharePoint activity user detail (files and pages)",
        "esn",
    ),
    "getOffice365ActivationsUserDetail": (
        "Report Refresh Date,User Principal Name,Display Name,Product Type,Last Activated Date,"
        "Windows,Mac,Windows 10 Mobile,iOS,Android,Activated On Shared Computer",
        "Microsoft 365 activations user detail (installed apps)",
        "esn",
    ),
    "getM365AppUserDetail": (
        "Report Refresh Date,User Principal Name,Last Activation Date,Last Activity Date,"
        "Report Period,Windows,Mac,Mobile,Web,Outlook,Word,Excel,PowerPoint,OneNote,Teams",
        "Microsoft 365 apps usage user detail (apps and platforms used)",
        "esn",
    ),
    "getOffice365ActiveUserDetail": (
        "Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Has "
        "Exchange License,Has OneDrive License,Has SharePoint License,Has Skype For Business "
        "License,Has Yammer License,Has Teams License,Exchange Last Activity Date,OneDrive "
        "Last Activity Date,SharePoint Last Activity Date,Skype For Business Last Activity "
        "Date,Yammer Last Activity Date,Teams Last Activity Date,Assigned Products",
        "Microsoft 365 active users detail (licences and last activity dates per service)",
        "esn",
    ),
}
INSTEAD = {
    "teams": 'export "Teams user activity user detail" instead',
    "esn": 'not enterprise social network activity; export "Viva Engage activity user '
    'detail" or "Teams user activity user detail" instead',
}


@pytest.mark.parametrize("report", sorted(OTHER_M365_REPORTS))
def test_other_microsoft_365_reports_are_named_with_the_report_to_export(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    report: str,
) -> None:
    header, name, instead = OTHER_M365_REPORTS[report]
    path = write(tmp_path / f"{report}.csv", "\ufeff" + header + "\n")
    result = cli("ingest", path, "--json")
    assert result.exit_code == 65
    assert result.json()["details"][0]["message"] == (
        f"{report}.csv: {name}: no per-person network activity, so no segments; {INSTEAD[instead]}"
    )


def test_forcing_a_format_on_another_microsoft_365_report_names_it(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    header = OTHER_M365_REPORTS["getEmailActivityUserDetail"][0]
    path = write(tmp_path / "email.csv", header + "\n2026-03-31,a@x.fr,A,False,,,1,2,3,0,0,,7\n")
    result = cli("ingest", path, "--format", "viva_engage")
    assert result.exit_code == 65
    assert result.stderr.splitlines()[0] == (
        f"rse-adoption: error: {path}: not a viva_engage export: Email activity user detail "
        f"(e-mail): no per-person network activity, so no segments; {INSTEAD['esn']}"
    )


# --- Hostile archives --------------------------------------------------------------


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


SLACK_MINIMAL = {
    "users.json": b'[{"id": "U1", "profile": {"email": "a@b.c"}}]',
    "channels.json": b'[{"id": "C1", "name": "general"}]',
}


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({**SLACK_MINIMAL, "../../etc/passwd": b"x"}, "unsafe member name"),
        ({**SLACK_MINIMAL, "/abs/2026-01-01.json": b"[]"}, "unsafe member name"),
        ({**SLACK_MINIMAL, "general/2026-01-01.json": b"[" + b" " * (64 << 20) + b"]"}, "zip bomb"),
    ],
)
def test_hostile_zips_are_refused_and_nothing_is_stored(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    members: dict[str, bytes],
    message: str,
) -> None:
    good = cli(
        "ingest",
        write(tmp_path / "e.csv", "timestamp,user,event_type\n2026-03-01T10:00:00Z,a@b.c,post\n"),
    )
    assert good.exit_code == 0
    before = (tmp_path / "data" / "manifest.json").read_text()
    archive = _zip(tmp_path / "export.zip", members)
    result = cli("ingest", archive, "--format", "slack")
    assert result.exit_code == 65 and message in result.stderr
    assert (tmp_path / "data" / "manifest.json").read_text() == before


def test_a_corrupt_zip_is_an_error_naming_it(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    archive = _zip(tmp_path / "export.zip", SLACK_MINIMAL)
    data = bytearray(archive.read_bytes())
    data[40:60] = b"\x00" * 20
    archive.write_bytes(bytes(data))
    result = cli("ingest", archive, "--format", "slack")
    assert result.exit_code == 65 and "export.zip" in result.stderr
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(archive.read_bytes()[:100])
    detected = cli("ingest", truncated)  # not skipped as "no format": an error naming it
    assert detected.exit_code == 65 and "cut.zip: not a readable zip archive" in detected.stderr


def test_forget_and_prune_reach_activity_periods(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    cli("ingest", FIXTURES / "viva_engage_activity_user_detail_D7.csv")
    erased = cli("forget", "alice@example.com", "--json").json()
    assert erased["activity_rows_removed"] == 1
    assert sum(f["rows"] for f in read_manifest(tmp_path / "data").activity_files) == 4
    pruned = cli("prune", "--keep-days", "30", "--json").json()  # the period ended long ago
    assert pruned["activity_rows_removed"] == 4
    assert read_manifest(tmp_path / "data").activity_files == []


# --- Every format carries the demo organisation ----------------------------------


@pytest.mark.parametrize(
    ("platform", "extra", "same"),
    [
        (
            "viva_engage/getYammerActivityUserDetail_D90.csv",
            (),
            ("contributor", "reactor", "reader"),
        ),
        ("viva_engage/yammerActivityUserDetail_D90.json", (), ("contributor", "reactor", "reader")),
        ("teams", (), ("contributor",)),
        ("slack/slack-export.zip", (), ("contributor", "reactor")),
        ("yammer", (), ("contributor",)),
        (
            "talkspirit/activite.csv",
            ("--mapping", "talkspirit/map.toml"),
            ("contributor", "reactor", "reader", "visitor", "inactive"),
        ),
    ],
)
def test_each_platform_export_of_the_demo_gives_the_event_files_segments(
    demo: dict[str, Path],
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    platform: str,
    extra: tuple[str, ...],
    same: tuple[str, ...],
) -> None:
    from typer.testing import CliRunner

    from rse_adoption.cli import app

    platforms = demo["exports"] / "platforms"
    reference = json.loads(
        CliRunner()
        .invoke(app, ["report", "--data-dir", str(demo["data"]), "--as-of", "2026-10-31", "--json"])
        .stdout
    )
    cli("directory", demo["exports"] / "directory.csv")
    args = [platforms / platform, *(platforms / a if a.endswith(".toml") else a for a in extra)]
    assert cli("ingest", *args).exit_code == 0
    report = cli("report", "--as-of", "2026-10-31", "--json").json()
    for ours, theirs in zip(report["sites"], reference["sites"], strict=True):
        assert ours["site"] == theirs["site"] and ours["headcount"] == theirs["headcount"]
        if ours["suppressed"]:
            continue
        for segment in same:  # what the format carries is exactly the events' figure
            assert ours["segments"][segment] == theirs["segments"][segment], (ours["site"], segment)


def test_the_demo_writes_the_same_bytes_for_the_same_seed(tmp_path: Path) -> None:
    from rse_adoption.demo import write_demo

    first = write_demo(tmp_path / "a", seed=7, scale=0.05)
    write_demo(tmp_path / "b", seed=7, scale=0.05)
    assert len(first["platforms"]) == 12 + 28  # type: ignore[arg-type]  # 28 daily reports
    for path in sorted((tmp_path / "a").rglob("*")):
        if path.is_file():
            twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
            assert twin.read_bytes() == path.read_bytes(), path.name


@pytest.mark.usefixtures("with_directory")
def test_the_mapping_can_come_from_the_configuration(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(FIXTURES / "mapped" / "map.toml", tmp_path / "talk.toml")
    config = write(tmp_path / "rse-adoption.toml", '[ingest]\nmapping = "talk.toml"\n')
    result = cli("ingest", FIXTURES / "mapped" / "plateforme.csv", "--config", config, "--json")
    assert result.json()["details"][0]["format"] == "mapped"
    shown = cli("config", "show", "--config", config, "--json").json()["settings"]
    mapping = next(item for item in shown if item["setting"] == "mapping_file")
    assert mapping["value"].endswith("talk.toml") and "rse-adoption.toml:2" in mapping["source"]


def test_a_slack_message_out_of_range_is_quarantined_with_its_instant_as_iso_text(
    tmp_path: Path,
) -> None:
    from rse_adoption.api import Store

    folder = _slack_excerpt(tmp_path, (), as_zip=False)
    day = sorted((folder / "general").glob("*.json"))[0]
    messages = json.loads(day.read_text())
    messages.append({"type": "message", "user": "U0ALICE", "ts": "500000000.000100"})
    day.write_text(json.dumps(messages))
    store = Store(tmp_path / "data")
    assert store.ingest([folder]).quarantined == 2  # the fixture's own bad message, and ours
    (row,) = [r for r in store.quarantine() if "out of range" in r["reason"]]
    assert row["reason"] == 'timestamp out of range "1985-11-05T00:53:20.000100+00:00"'
    assert json.loads(row["raw"])["timestamp"] == "1985-11-05T00:53:20.000100+00:00"
