"""`rse-adoption forget`: one person's data leaves the store, atomically, and the store
records that an erasure happened without recording who."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from rse_adoption.store import read_manifest

from .conftest import write

DIRECTORY = "email;matricule;site\n" + "".join(f"p{i}@x.fr;E{i:03d};Lyon\n" for i in range(8))
EVENTS = (
    "timestamp,user,event_type,target_user\n"
    "2026-03-02T09:00:00Z,p1@x.fr,post,\n"
    "2026-03-02T10:00:00Z,E001,comment,p2@x.fr\n"  # p1 under the employee id
    "2026-03-03T10:00:00Z,p2@x.fr,reaction,p1@x.fr\n"  # someone else reacting to p1
    "2026-04-03T10:00:00Z,p3@x.fr,read,\n"
    "not a date,p1@x.fr,post,\n"  # quarantined with p1's e-mail in its raw text
)


def store_rows(data: Path) -> list[tuple[object, ...]]:
    manifest = read_manifest(data)
    files = [str(data / p) for p in manifest.event_paths()]
    return duckdb.execute(
        "SELECT event_type, target_user_key IS NULL FROM read_parquet($f) ORDER BY ts",
        {"f": files},
    ).fetchall()


def test_forget_removes_the_person_and_records_no_identity(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    assert cli("directory", write(tmp_path / "d.csv", DIRECTORY)).exit_code == 0
    ingested = cli("ingest", write(tmp_path / "e.csv", EVENTS), "--json").json()
    assert (ingested["rows_ingested"], ingested["quarantined"]) == (4, 1)

    dry = cli("forget", "p1@x.fr", "--dry-run", "--json").json()
    assert dry == {
        "events_removed": 2,
        "links_removed": 1,
        "activity_rows_removed": 0,
        "member_rows_removed": 0,
        "directory_rows_removed": 1,
        "quarantine_rows_removed": 1,
        "files_rewritten": 0,
        "dry_run": True,
        "old_files_deleted": None,  # a dry run deletes nothing
    }
    assert len(store_rows(data)) == 4 and read_manifest(data).erasures == []

    done = cli("forget", "P1@x.fr ", "--json")
    assert done.exit_code == 0 and done.json()["events_removed"] == 2
    assert store_rows(data) == [("reaction", True), ("read", True)]  # link to p1 blanked
    manifest = read_manifest(data)
    assert manifest.directory is not None and manifest.directory["rows"] == 7
    assert sum(f["rows"] for f in manifest.quarantine_files) == 0
    assert len(manifest.erasures) == 1
    text = (data / "manifest.json").read_text()
    assert "p1@x.fr" not in text.lower() and "e001" not in text.lower()
    assert set(manifest.erasures[0]) == {
        "at",
        "events_removed",
        "links_removed",
        "activity_rows_removed",
        "member_rows_removed",
        "directory_rows_removed",
        "quarantine_rows_removed",
    }
    # the old files are gone from disk, not only from the manifest
    live = manifest.live_paths()
    on_disk = {
        p.relative_to(data).as_posix()
        for folder in ("events", "directory", "quarantine", "summary")
        for p in (data / folder).rglob("*.parquet")
    }
    assert on_disk == live
    report = cli("report", "--format", "json", "--min-group-size", "1").json()
    assert report["sites"][0]["headcount"] == 7
    again = cli("forget", "p1@x.fr", "--json").json()
    assert again["events_removed"] == 0 and again["directory_rows_removed"] == 0
    assert json.loads((data / "manifest.json").read_text())["erasures"][1]["events_removed"] == 0


def test_forget_needs_an_identifier_and_a_store(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("forget", " ").exit_code == 65
    assert cli("forget", "a@x.fr", "--data-dir", tmp_path / "none").exit_code == 66
    assert not (tmp_path / "none").exists()
