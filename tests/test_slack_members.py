"""Without a directory, a Slack export's headcount is its workspace's member list
(users.json without bots, apps, Slackbot and deleted accounts), not only the people seen
active: a share of the people seen says nothing of the people who never came.

The small export of tests/fixtures/slack_export lists alice, bob, carol, dave, erin and
frank (no e-mail), and a bot; the tests below add a deleted account and Slackbot.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rse_adoption.ingest import slack_export
from rse_adoption.ingest.canonical import ReadContext, connect
from rse_adoption.privacy import KeyCache, load_or_create_secret, person_key
from rse_adoption.store import read_manifest

from .test_slack_workers import ingest as ingest_with_workers
from .test_slack_workers import write_export

FIXTURES = Path(__file__).parent / "fixtures"
MEMBERS = ["alice@example.com", "BOB@example.com", "carol@example.com", "dave@example.com"]
MEMBERS += ["erin@example.com", "U0FRANK"]  # frank has no e-mail: keyed by his Slack id


def export(
    tmp_path: Path, name: str = "export", *, users: list[dict[str, Any]] | None = None
) -> Path:
    """The fixture export with a deleted account and Slackbot in users.json (or `users`)."""
    folder = tmp_path / name
    shutil.copytree(FIXTURES / "slack_export", folder)
    listed = json.loads((folder / "users.json").read_text())
    listed += [
        {"id": "U0GONE", "deleted": True, "profile": {"email": "gone@example.com"}},
        {"id": "USLACKBOT", "name": "slackbot", "is_bot": False, "profile": {}},
        {"id": "U0APP", "is_app_user": True, "profile": {"email": "app@example.com"}},
    ]
    (folder / "users.json").write_text(json.dumps(users if users is not None else listed))
    return folder


def member_keys(data_dir: Path) -> set[int]:
    """The person keys of every member list the store holds."""
    files = [str(data_dir / f["path"]) for f in read_manifest(data_dir).member_files]
    rows = duckdb.execute("SELECT person_key FROM read_parquet($f)", {"f": files}).fetchall()
    return {r[0] for r in rows}


def keys_of(data_dir: Path, identifiers: list[str]) -> set[int]:
    secret = load_or_create_secret(data_dir)
    return {person_key(secret, i) for i in identifiers}


def test_the_demo_slack_export_counts_its_members_not_only_the_people_seen(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    assert cli("demo", "--out", tmp_path / "exports").exit_code == 0
    zipped = tmp_path / "exports" / "platforms" / "slack" / "slack-export.zip"
    with zipfile.ZipFile(zipped) as bundle:
        users = json.loads(bundle.read("users.json"))
    members = [
        u
        for u in users
        if not (u.get("is_bot") or u.get("is_app_user") or u.get("deleted"))
        and u["id"] != "USLACKBOT"
    ]
    assert len(members) < len(users)  # the demo's workspace has a bot
    assert cli("ingest", zipped).exit_code == 0
    report = cli("report", "--json").json()
    totals = report["totals"]
    assert report["headcount_source"] == "members"
    assert totals["headcount"] == len(members)  # 2,768, not the 837 people seen active
    contributors = totals["segments"]["contributor"]
    assert totals["contributor_share"] == pytest.approx(contributors / len(members))
    assert totals["contributor_share"] < 0.2  # not 53 % of the people seen
    assert any("member list of slack (2768 members" in n for n in report["notes"])
    assert "Headcount: platform member list." in " ".join(cli("report").stdout.split())
    french = " ".join(cli("report", "--lang", "fr").stdout.split())
    assert "liste des membres de la plateforme" in french
    markdown = cli("report", "--format", "md").stdout
    assert "Headcount source: platform member list." in markdown
    html = tmp_path / "report.html"
    assert cli("report", "--format", "html", "--out", html).exit_code == 0
    assert "the headcount is the platform&#39;s member list (bots" in html.read_text()
    status = cli("status", "--json").json()
    assert status["member_lists"] == [
        {"source_format": "slack", "listed_on": "2026-10-31", "rows": len(members)}
    ]
    assert "slack member list of 2026-10-31: 2,768 people" in cli("status").stdout


def test_bots_apps_slackbot_and_deleted_accounts_are_not_members(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    assert cli("ingest", export(tmp_path)).exit_code == 0
    data = tmp_path / "data"
    assert member_keys(data) == keys_of(data, MEMBERS)
    # every count shown: who counts as a member is checked here, privacy in the next test
    report = cli("report", "--as-of", "2026-03-31", "--json", "--min-group-size", "1").json()
    # six members, in "(no site)": Slack events name no site; dave only joined a channel
    assert report["headcount_source"] == "members"
    assert [(s["site"], s["headcount"]) for s in report["sites"]] == [("(no site)", 6)]
    assert report["totals"]["segments"] == {
        "inactive": 1,  # dave
        "visitor": 1,  # erin: direct messages only
        "reader": 0,
        "reactor": 1,  # carol
        "contributor": 3,  # alice, bob and frank
    }


def test_the_privacy_rule_still_hides_a_group_of_fewer_members(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    assert cli("ingest", export(tmp_path)).exit_code == 0
    report = cli("report", "--as-of", "2026-03-31", "--min-group-size", "7", "--json").json()
    (site,) = report["sites"]
    assert site["suppressed"] is True
    assert site["headcount"] is None and site["segments"] is None
    assert report["totals"]["headcount"] is None


def test_with_a_directory_the_directory_stays_the_headcount(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    directory = tmp_path / "directory.csv"
    directory.write_text("email;site\n" + "".join(f"p{i}@example.com;Lyon\n" for i in range(9)))
    assert cli("directory", directory).exit_code == 0
    assert cli("ingest", export(tmp_path)).exit_code == 0
    report = cli("report", "--as-of", "2026-03-31", "--json").json()
    assert report["headcount_source"] == "directory"
    assert report["totals"]["headcount"] == 9  # the directory's, not the six members


def test_forget_removes_the_person_from_the_member_list(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    assert cli("ingest", export(tmp_path)).exit_code == 0
    data = tmp_path / "data"
    before = read_manifest(data).member_files[0]
    erased = cli("forget", "dave@example.com", "--json").json()
    assert erased["member_rows_removed"] == 1 and erased["old_files_deleted"] is True
    assert member_keys(data) == keys_of(data, [m for m in MEMBERS if m != "dave@example.com"])
    # nothing of dave is left in any file under members/, the old list included
    assert not (data / before["path"]).exists()
    left = [str(p) for p in (data / "members").glob("*.parquet")]
    rows = duckdb.execute("SELECT person_key FROM read_parquet($f)", {"f": left}).fetchall()
    assert keys_of(data, ["dave@example.com"]).isdisjoint({r[0] for r in rows})
    assert read_manifest(data).member_files[0]["rows"] == 5
    assert read_manifest(data).erasures[-1]["member_rows_removed"] == 1
    report = cli("report", "--as-of", "2026-03-31", "--json").json()
    assert report["totals"]["headcount"] == 5


def test_ingesting_the_same_export_again_adds_nothing(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    folder = export(tmp_path)
    assert cli("ingest", folder).exit_code == 0
    data = tmp_path / "data"
    first = read_manifest(data).member_files
    assert cli("ingest", folder, "--json").json()["files_unchanged"] == 1
    assert read_manifest(data).member_files == first
    zipped = shutil.make_archive(str(tmp_path / "export"), "zip", folder)  # same export, zipped
    assert cli("ingest", zipped, "--json").json()["rows_ingested"] == 0
    (again,) = read_manifest(data).member_files
    assert (again["listed_on"], again["rows"]) == (first[0]["listed_on"], first[0]["rows"])
    assert member_keys(data) == keys_of(data, MEMBERS)
    assert len(list((data / "members").glob("*.parquet"))) == 1  # the replaced one is gone
    report = cli("report", "--as-of", "2026-03-31", "--json").json()
    assert report["totals"]["headcount"] == 6


def test_a_newer_export_replaces_the_list_and_an_older_one_does_not(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    older = export(tmp_path, "older")
    users = json.loads((older / "users.json").read_text())
    for user in users:
        if user["id"] == "U0ERIN":
            user["deleted"] = True  # erin left the workspace
    users.append({"id": "U0GRACE", "profile": {"email": "grace@example.com"}})
    newer = export(tmp_path, "newer", users=users)
    (newer / "general" / "2026-04-02.json").write_text(
        json.dumps([{"type": "message", "user": "U0GRACE", "ts": "1775120000.000100"}])
    )
    data = tmp_path / "data"
    assert cli("ingest", older).exit_code == 0
    assert cli("ingest", newer).exit_code == 0
    expected = [m for m in MEMBERS if m != "erin@example.com"] + ["grace@example.com"]
    (listed,) = read_manifest(data).member_files
    assert (listed["listed_on"], listed["rows"]) == ("2026-04-02", 6)
    assert member_keys(data) == keys_of(data, expected)
    # the older export, ingested again from a copy, keeps the newer list
    shutil.copytree(older, tmp_path / "older-copy")
    (tmp_path / "older-copy" / "users.json").write_text((older / "users.json").read_text() + "\n")
    assert cli("ingest", tmp_path / "older-copy").exit_code == 0
    assert read_manifest(data).member_files == [listed]
    # erin is still counted: she was seen in the events (as anyone seen is)
    report = cli("report", "--as-of", "2026-04-02", "--json").json()
    assert report["totals"]["headcount"] == 7


def test_a_partial_export_without_users_json_keeps_the_list_held(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    assert cli("ingest", export(tmp_path)).exit_code == 0
    data = tmp_path / "data"
    held = read_manifest(data).member_files
    partial = export(tmp_path, "partial")
    (partial / "users.json").unlink()
    (partial / "general" / "2026-04-02.json").write_text(
        json.dumps([{"type": "message", "user": "U0ALICE", "ts": "1775120000.000100"}])
    )
    assert cli("ingest", partial).exit_code == 0
    assert read_manifest(data).member_files == held


def test_a_partial_export_alone_has_no_member_list(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    partial = export(tmp_path)
    (partial / "users.json").unlink()
    assert cli("ingest", partial).exit_code == 0
    assert read_manifest(tmp_path / "data").member_files == []
    report = cli("report", "--as-of", "2026-03-31", "--min-group-size", "1", "--json").json()
    assert report["headcount_source"] == "activity"


def test_workers_give_the_same_members_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zipped = write_export(tmp_path / "export.zip")
    ingest_with_workers(zipped, tmp_path / "alone", 1, monkeypatch)
    ingest_with_workers(zipped, tmp_path / "shared", 3, monkeypatch)
    alone, shared = (read_manifest(tmp_path / d).member_files for d in ("alone", "shared"))
    assert [(f["listed_on"], f["rows"]) for f in alone] == [("2026-04-01", 11)]
    assert [(f["listed_on"], f["rows"]) for f in shared] == [("2026-04-01", 11)]
    assert member_keys(tmp_path / "alone") == member_keys(tmp_path / "shared")


def test_a_fetchers_download_gives_no_member_list(tmp_path: Path) -> None:
    """`fetch slack` writes a users.json of only the people its messages name: read as a
    member list, it would replace the workspace's with the people seen active."""
    folder = export(tmp_path)
    context = ReadContext(
        con=connect("UTC"), person_key=KeyCache(b"k" * 32), source_file="x", fetched=True
    )
    assert all(batch.members is None for batch in slack_export.read(folder, context))
    context.fetched = False
    (listed,) = [b.members for b in slack_export.read(folder, context) if b.members]
    assert (listed.listed_on.isoformat(), listed.keys.num_rows) == ("2026-03-31", 6)
