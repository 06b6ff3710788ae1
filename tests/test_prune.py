"""`rse-adoption prune`: raw events older than the retention leave the store, whole months
or part of one, atomically; a dry run changes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from rse_adoption.config import Settings
from rse_adoption.ingest.pipeline import ingest_paths
from rse_adoption.prune import prune
from rse_adoption.store import read_manifest

from .conftest import write

EVENTS = "timestamp,user,event_type\n" + "".join(
    f"2026-{month:02d}-{day:02d}T12:00:00Z,p{day}@x.fr,post\n"
    for month in (1, 2, 3, 4)
    for day in (5, 20, 25)
)


def stored_days(data: Path) -> list[str]:
    files = [str(data / p) for p in read_manifest(data).event_paths()]
    rows = duckdb.execute(
        "SELECT strftime(timezone('UTC', ts), '%Y-%m-%d') FROM read_parquet($f) ORDER BY ts",
        {"f": files},
    ).fetchall()
    return [r[0] for r in rows]


def disk_files(data: Path) -> set[str]:
    return {p.relative_to(data).as_posix() for p in (data / "events").rglob("*.parquet")}


def test_prune_drops_old_months_and_trims_the_boundary_month(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    ingest_paths([write(tmp_path / "e.csv", EVENTS + "bad,p1@x.fr,post\n")], settings)
    assert len(stored_days(settings.data_dir)) == 12
    before = (settings.data_dir / "manifest.json").read_bytes()

    dry = prune(settings, keep_days=30, today=date(2026, 4, 20), dry_run=True)
    assert (dry.cutoff, dry.events_removed, dry.files_removed, dry.files_rewritten) == (
        "2026-03-21",
        8,  # January and February whole, 5 and 20 March
        2,
        1,
    )
    assert (settings.data_dir / "manifest.json").read_bytes() == before
    assert disk_files(settings.data_dir) == set(read_manifest(settings.data_dir).event_paths())

    done = prune(settings, keep_days=30, today=date(2026, 4, 20))
    assert done.events_removed == 8 and done.quarantine_rows_removed == 0  # ingested today
    assert stored_days(settings.data_dir) == [
        "2026-03-25",
        "2026-04-05",
        "2026-04-20",
        "2026-04-25",
    ]
    manifest = read_manifest(settings.data_dir)
    assert sorted(f["first_day"] for f in manifest.event_files) == ["2026-03-25", "2026-04-05"]
    assert disk_files(settings.data_dir) == set(manifest.event_paths())  # old files deleted
    assert prune(settings, keep_days=30, today=date(2026, 4, 20)).events_removed == 0

    later = prune(settings, keep_days=1, today=date(2099, 1, 1))
    assert later.quarantine_rows_removed == 1 and read_manifest(settings.data_dir).event_files == []


def test_prune_cli_uses_the_configured_retention(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("ingest", write(tmp_path / "e.csv", EVENTS)).exit_code == 0
    kept = cli("prune", "--dry-run", "--json", "--keep-days", "100000").json()
    assert kept["events_removed"] == 0 and kept["dry_run"] is True
    config = write(tmp_path / "rse.toml", "[retention]\nkeep_days = 1\n")
    gone = cli("prune", "--config", config, "--json").json()
    assert gone["events_removed"] == 12
    assert cli("prune", "--keep-days", "0").exit_code == 2
    assert cli("prune", "--data-dir", tmp_path / "nowhere").exit_code == 66
