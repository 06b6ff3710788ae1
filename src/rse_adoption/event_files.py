"""Writing a new data file of the store from a DuckDB query (de-duplication at ingest,
`forget`, `prune`): one place for the COPY, the empty case, the dates the manifest records
and the fsync that must precede any commit naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from . import store


def copy_rows(
    con: duckdb.DuckDBPyConnection, select_sql: str, params: dict[str, Any], target: Path
) -> int:
    """Write the rows of `select_sql` (bound with `params`) to the Parquet file `target`
    and return how many there are (the file is written even when there are none)."""
    quoted = str(target).replace("'", "''")  # COPY's target cannot be a bound parameter
    return int(
        con.execute(f"COPY ({select_sql}) TO '{quoted}' (FORMAT parquet)", params).fetchall()[0][0]
    )


def copy_events(
    con: duckdb.DuckDBPyConnection, select_sql: str, params: dict[str, Any], target: Path
) -> tuple[int, dict[str, str] | None]:
    """Write the rows of `select_sql` (bound with `params`) to `target`, a fresh path the
    store made. Returns the number of rows and the UTC dates of the first and last event
    (`{"first_day", "last_day"}`, as the manifest records them); with no row the file is
    removed and the dates are None."""
    rows = copy_rows(con, select_sql, params, target)
    if not rows:
        target.unlink(missing_ok=True)
        return 0, None
    first, last = con.execute(
        "SELECT timezone('UTC', min(ts))::DATE, timezone('UTC', max(ts))::DATE "
        "FROM read_parquet($file)",
        {"file": str(target)},
    ).fetchall()[0]
    store.fsync_file(target)
    return rows, {"first_day": first.isoformat(), "last_day": last.isoformat()}
