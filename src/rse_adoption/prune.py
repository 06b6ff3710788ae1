"""Retention: `rse-adoption prune [--keep-days N]` drops raw events older than N days,
and activity periods (per-person counts) whose period ended before the cutoff.

Raw events are per-person data; reports only need the window (90 days by default) and
the weekly series inside it. Events whose UTC timestamp falls before the cutoff (00:00 UTC
on `today - keep_days`) are removed: whole monthly files when all their events are older,
otherwise the file is rewritten without them. Quarantined rows (raw lines, with
identifiers) of files ingested before the cutoff go too. The ledger stays, so the same
export files are still recognised and not ingested again. One atomic commit, like ingest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from . import person_summary, store
from .config import Settings
from .errors import ConfigError
from .event_files import copy_events
from .metrics.engine import connect_duckdb as utc_connection


@dataclass
class PruneSummary:
    cutoff: str  # first UTC day kept
    events_removed: int = 0
    files_removed: int = 0
    files_rewritten: int = 0
    quarantine_rows_removed: int = 0
    activity_rows_removed: int = 0
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def prune(
    settings: Settings,
    *,
    keep_days: int | None = None,
    today: date | None = None,
    dry_run: bool = False,
    wait_seconds: float = 0.0,
) -> PruneSummary:
    """Remove events older than `keep_days` (default: the configured retention) before
    `today` (UTC, default now)."""
    days = settings.retention_days if keep_days is None else keep_days
    if days < 1:
        raise ConfigError(f"the retention must be at least 1 day, got {days}")
    store.require_store(settings.data_dir)
    cutoff = (today or datetime.now(UTC).date()) - timedelta(days=days)
    summary = PruneSummary(cutoff=cutoff.isoformat(), dry_run=dry_run)
    with store.writing(settings.data_dir, wait_seconds, dry_run=dry_run) as tx:
        manifest = tx.manifest.copy()
        con = utc_connection()
        try:
            manifest.event_files = _prune_events(con, tx, manifest.event_files, cutoff, summary)
            if summary.events_removed:  # first days as the kept events say
                person_summary.refresh(tx, con, manifest)
        finally:
            con.close()
        old_files = {
            e["name"] for e in manifest.ledger if date.fromisoformat(e["ingested_at"][:10]) < cutoff
        }
        kept_quarantine = []
        for entry in manifest.quarantine_files:
            if entry.get("source_file") in old_files:
                summary.quarantine_rows_removed += int(entry["rows"])
            else:
                kept_quarantine.append(entry)
        manifest.quarantine_files = kept_quarantine
        kept_activity = []
        for entry in manifest.activity_files:  # per-person counts of a period ended before
            if date.fromisoformat(entry["refresh_date"]) < cutoff:
                summary.activity_rows_removed += int(entry["rows"])
                summary.files_removed += 1
            else:
                kept_activity.append(entry)
        manifest.activity_files = kept_activity
        if (
            summary.events_removed
            or summary.quarantine_rows_removed
            or summary.activity_rows_removed
        ):
            tx.commit(manifest)
            if not dry_run:
                store.remove_orphans_unless_read(tx.data_dir, manifest)
    return summary


def _prune_events(
    con: duckdb.DuckDBPyConnection,
    tx: store.WriteTransaction,
    entries: list[dict[str, Any]],
    cutoff: date,
    summary: PruneSummary,
) -> list[dict[str, Any]]:
    kept = []
    for entry in entries:
        if date.fromisoformat(entry["last_day"]) < cutoff:
            summary.events_removed += int(entry["rows"])
            summary.files_removed += 1
            continue
        if date.fromisoformat(entry["first_day"]) >= cutoff:
            kept.append(entry)
            continue
        target = tx.new_data_path(f"events/month={entry['month']}")
        rows, days = copy_events(
            con,
            "SELECT * FROM read_parquet($file) WHERE ts >= $cutoff::TIMESTAMPTZ",
            {"file": str(tx.data_dir / entry["path"]), "cutoff": cutoff.isoformat()},
            target,
        )
        summary.events_removed += int(entry["rows"]) - rows
        summary.files_rewritten += 1
        if days is not None:
            kept.append({**entry, "path": tx.relative(target), "rows": rows, **days})
    return kept
