"""Retention: `rse-adoption prune [--keep-days N]` drops raw events older than N days.

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

from . import store
from .config import Settings
from .errors import ConfigError, NoInputError


@dataclass
class PruneSummary:
    cutoff: str  # first UTC day kept
    events_removed: int = 0
    files_removed: int = 0
    files_rewritten: int = 0
    quarantine_rows_removed: int = 0
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
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
    if not settings.data_dir.is_dir():
        raise NoInputError(f"{settings.data_dir}: no store here")
    cutoff = (today or datetime.now(UTC).date()) - timedelta(days=days)
    summary = PruneSummary(cutoff=cutoff.isoformat(), dry_run=dry_run)
    with store.writing(settings.data_dir, wait_seconds, dry_run=dry_run) as tx:
        manifest = tx.manifest.copy()
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'").fetchall()
            manifest.event_files = _prune_events(con, tx, manifest.event_files, cutoff, summary)
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
        if summary.events_removed or summary.quarantine_rows_removed:
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
        source = str(tx.data_dir / entry["path"])
        target = tx.new_data_path(f"events/month={entry['month']}")
        quoted = str(target).replace("'", "''")
        rows = con.execute(
            "COPY (SELECT * FROM read_parquet($file) WHERE ts >= $cutoff::TIMESTAMPTZ) "  # noqa: S608
            f"TO '{quoted}' (FORMAT parquet)",  # a path the store made
            {"file": source, "cutoff": cutoff.isoformat()},
        ).fetchall()[0][0]
        first = con.execute(
            "SELECT min(ts)::DATE FROM read_parquet($file)", {"file": str(target)}
        ).fetchall()[0][0]
        store.fsync_file(target)
        summary.events_removed += int(entry["rows"]) - int(rows)
        summary.files_rewritten += 1
        kept.append(
            {
                **entry,
                "path": tx.relative(target),
                "rows": int(rows),
                "first_day": first.isoformat(),
            }
        )
    return kept
