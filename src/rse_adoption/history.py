"""Report history: per-site figures of each `report --history` run, kept after `prune` has
dropped the raw events they came from (aggregates only: suppressed sites keep no figure).

Each run appends one Parquet file under `history/`, named by the manifest. Reading takes,
for each (as_of, window_days, site), the figures of the latest run: re-running a report for
the same day replaces its line instead of adding one. A site's figures do not depend on
which other sites a report shows, but its totals row does, so totals are keyed by the
report's scope too: `scope` is null for a report of every site, else the sorted names of
the sites it was asked for (`report --site`), and a report of Lyon alone never replaces the
organisation's totals. Files written before `scope` existed read as whole-organisation rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from . import store
from .config import Settings
from .model import GroupFigures, Report

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
        # movement (docs/metrics.md#movement): null where hidden, unknown, or in files
        # written before these columns existed
        pa.field("newly_active", pa.int64()),
        pa.field("new_contributors", pa.int64()),
        pa.field("lost_contributors", pa.int64()),
        pa.field("returning_contributors", pa.int64()),
        pa.field("generated_at", pa.string(), nullable=False),
        # null: every site; else the sites the report was asked for (sorted).
        pa.field("scope", pa.list_(pa.string())),
    ]
)
#: The columns of `history --json` rows, in order (the library's HistoryResult.to_pandas()).
HISTORY_COLUMNS: tuple[str, ...] = tuple(f.name for f in HISTORY_SCHEMA if f.name != "generated_at")


def _row(g: GroupFigures, report: Report, scope: list[str] | None) -> dict[str, Any]:
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
        "newly_active": g.newly_active,
        "new_contributors": g.new_contributors,
        "lost_contributors": g.lost_contributors,
        "returning_contributors": g.returning_contributors,
        "generated_at": report.generated_at,
        "scope": scope,
    }


def append_history(
    report: Report, settings: Settings, *, partial: bool, wait_seconds: float = 0.0
) -> int:
    """Add the report's per-site and total figures to the history; returns the rows added.
    `partial`: the report was asked for some sites only (its totals are theirs)."""
    scope = sorted(g.site for g in report.sites if g.site is not None) if partial else None
    rows = [_row(g, report, scope) for g in (*report.sites, report.totals)]
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
    """History rows, oldest as_of first then by site (totals last): for each (as_of,
    window_days, site) the latest run's figures, and for totals one row per scope (null:
    every site). `select_history` picks what a reader asked for."""
    with store.reading(settings.data_dir) as manifest:
        files = [str(settings.data_dir / f["path"]) for f in manifest.history_files]
        if not files:
            return []
        # Read with today's schema: files written before a column existed give nulls.
        rows_read = ds.dataset(files, schema=HISTORY_SCHEMA, format="parquet").to_table()
        con = duckdb.connect()
        try:
            con.register("history_rows", rows_read)
            result = con.execute(
                """
                SELECT * EXCLUDE (generated_at, scope),
                       CASE WHEN site IS NULL THEN scope END AS scope
                FROM history_rows
                QUALIFY row_number() OVER (
                    PARTITION BY as_of, window_days, site, CASE WHEN site IS NULL THEN scope END
                    ORDER BY generated_at DESC) = 1
                ORDER BY as_of, window_days, site IS NULL, site, scope
                """
            )
            names = [d[0] for d in result.description]
            rows = [dict(zip(names, values, strict=True)) for values in result.fetchall()]
        finally:
            con.close()
    for r in rows:
        r["as_of"] = r["as_of"].isoformat()
    return rows


def select_history(
    rows: list[dict[str, Any]], sites: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """`sites` (known names): those sites' rows and the totals recorded for exactly those
    sites; None: every site's rows and the whole organisation's totals."""
    scope = sorted(sites) if sites else None
    wanted = set(sites or ())
    return [
        r
        for r in rows
        if (r["site"] is None and r["scope"] == scope)
        or (r["site"] is not None and (not wanted or r["site"] in wanted))
    ]
