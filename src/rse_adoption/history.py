"""Report history: per-site figures of each `report --history` run, kept after `prune` has
dropped the raw events they came from (aggregates only: suppressed sites keep no figure).

Each run appends one Parquet file under `history/`, named by the manifest. Reading takes,
for each (as_of, window_days, site), the figures of the latest run: re-running a report for
the same day replaces its line instead of adding one.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from . import store
from .config import Settings
from .report.model import GroupFigures, Report

HISTORY_SCHEMA = pa.schema(
    [
        pa.field("as_of", pa.date32(), nullable=False),
        pa.field("window_days", pa.int32(), nullable=False),
        pa.field("site", pa.string()),  # null: the totals of the sites shown
        pa.field("suppressed", pa.bool_(), nullable=False),
        pa.field("headcount", pa.int64()),
        pa.field("active_users", pa.int64()),
        pa.field("contributors", pa.int64()),
        pa.field("contributor_share", pa.float64()),
        pa.field("status", pa.string()),
        pa.field("ambassadors", pa.int64()),
        pa.field("generated_at", pa.string(), nullable=False),
    ]
)
TOTALS = "All sites shown"


def _row(g: GroupFigures, report: Report) -> dict[str, Any]:
    return {
        "as_of": report.as_of,
        "window_days": report.window_days,
        "site": g.site,
        "suppressed": g.suppressed,
        "headcount": g.headcount,
        "active_users": g.active_users,
        "contributors": g.segments.contributor if g.segments else None,
        "contributor_share": g.contributor_share,
        "status": g.status,
        "ambassadors": g.ambassadors,
        "generated_at": report.generated_at,
    }


def append_history(report: Report, settings: Settings, wait_seconds: float = 0.0) -> int:
    """Add the report's per-site and total figures to the history; returns the rows added."""
    rows = [_row(g, report) for g in (*report.sites, report.totals)]
    table = pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA)
    with store.writing(settings.data_dir, wait_seconds) as tx:
        target = tx.new_data_path("history")
        pq.write_table(table, target)
        store.fsync_file(target)
        manifest = tx.manifest.copy()
        manifest.history_files.append(
            {
                "path": tx.relative(target),
                "as_of": report.as_of.isoformat(),
                "window_days": report.window_days,
                "rows": table.num_rows,
            }
        )
        tx.commit(manifest)
    return table.num_rows


def read_history(settings: Settings) -> list[dict[str, Any]]:
    """History rows, oldest as_of first then by site (totals last), the latest run's figures
    for each (as_of, window_days, site)."""
    store.require_store(settings.data_dir)
    with store.reading(settings.data_dir) as manifest:
        files = [str(settings.data_dir / f["path"]) for f in manifest.history_files]
        if not files:
            return []
        con = duckdb.connect()
        try:
            result = con.execute(
                """
                SELECT * EXCLUDE (generated_at) FROM read_parquet($files)
                QUALIFY row_number() OVER (
                    PARTITION BY as_of, window_days, site ORDER BY generated_at DESC) = 1
                ORDER BY as_of, window_days, site IS NULL, site
                """,
                {"files": files},
            )
            names = [d[0] for d in result.description]
            rows = [dict(zip(names, values, strict=True)) for values in result.fetchall()]
        finally:
            con.close()
    for r in rows:
        r["as_of"] = r["as_of"].isoformat()
    return rows
