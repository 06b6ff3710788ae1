"""Committing a file's activity-period rows (Microsoft 365, Slack member analytics...):
merged into the store's periods with their conflicts quarantined, or a fetched day
replacing that day whole (docs/ingest.md). Split from ingest/pipeline.py, which calls
these for each period file it commits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import store
from ..errors import ConcealedNamesError
from ..messages import CONCEALED_NAMES_FIX
from . import periods

if TYPE_CHECKING:
    from .pipeline import FileResult, Staged
    from .registry import DailyReport, Format


def concealed_names_message(rows: int) -> str:
    """What to tell a user whose Microsoft 365 export hides user names."""
    return (
        f"{rows} row(s) have concealed user names (32-character hashes): the tenant hides "
        "names in usage reports, so these people cannot be joined to the directory or to "
        f"sites. {CONCEALED_NAMES_FIX}"
    )


def merge_periods(
    tx: store.WriteTransaction,
    con: Any,
    path: Path,
    staged: Staged,
    manifest: store.Manifest,
    result: FileResult,
    notes: list[str],
    *,
    whole: bool,
) -> None:
    """Merge the file's activity-period rows into `manifest`, their conflicting rows (one
    person, one period, other counts) quarantined first; count them into `result`."""
    incoming, conflicts = periods.split_conflicts(con, pa.concat_tables(staged.periods), path.name)
    if conflicts is not None:
        staged.rejects.append(conflicts)
        notes.append(
            f"{conflicts.num_rows} row(s) list a person already listed in the same period "
            "with different counts: quarantined, none of them kept (rse-adoption quarantine)"
        )
    merged = periods.merge_periods(
        con, tx, manifest, incoming, whole=whole, staged=staged.period_rows
    )
    result.rows_read += (
        merged.rows_new + merged.rows_replaced + merged.rows_unchanged + merged.rows_repeated
    )
    result.rows_ingested += merged.rows_new + merged.rows_replaced
    result.duplicates += merged.rows_unchanged + merged.rows_repeated
    if merged.rows_replaced:
        notes.append(f"{merged.rows_replaced} row(s) replaced those of an earlier export")
    if merged.concealed_rows:
        notes.append(concealed_names_message(merged.concealed_rows))


def replace_day(
    tx: store.WriteTransaction,
    module: Format,
    path: Path,
    staged: Staged,
    manifest: store.Manifest,
    daily: DailyReport,
) -> None:
    """A fetched day replaces that day's rows whole: concealed names refuse it before
    anything is committed. A day with nobody active (a header-only CSV, or a day revised
    to that) is a one-day period of zero rows: the day is held, with zero activity, for
    the reports as for `status` (the manifest's periods are the one record of the days
    held, fetch/m365.py `held_days`)."""
    concealed = sum(int(pc.sum(t["concealed"]).as_py() or 0) for t in staged.periods)
    if concealed:
        raise ConcealedNamesError(f"{path.name}: {concealed_names_message(concealed)}")
    if not staged.periods:
        from ..schema import ACTIVITY_SCHEMA

        same = (module.NAME, 1, daily.day.isoformat())
        target = tx.new_data_path("activity")
        pq.write_table(ACTIVITY_SCHEMA.empty_table(), target)
        store.fsync_file(target)
        manifest.activity_files = [
            e
            for e in manifest.activity_files
            if (e["source_format"], int(e["period_days"]), e["refresh_date"]) != same
        ]
        manifest.activity_files.append(
            {
                "path": tx.relative(target),
                "source_format": module.NAME,
                "period_days": 1,
                "refresh_date": daily.day.isoformat(),
                "rows": 0,
                "concealed_rows": 0,
            }
        )
