"""De-duplication of one staged month against itself and the store (docs/ingest.md).

Two events are the same when they have the same source event id within their format, or,
without one, the same canonical content. Compared as values, not hashed: exact, with no key
column to compute and store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import store
from ..event_files import copy_events


@dataclass
class StagedMonth:
    """What staging learnt of one month's events, so that de-duplication need not scan
    for it: how many, how many carry an event id, and the first and last instants."""

    first: datetime
    last: datetime
    rows: int = 0
    with_id: int = 0


#: What makes two events the same (docs/ingest.md): the source's event id within its
#: format when there is one, else the whole canonical content. Compared as values, not
#: hashed: exact, and no key column to compute and store. Events with and without an id
#: are compared separately (the two filters below), each on plain columns.
_WITH_ID = ("event_id IS NOT NULL", ("source_format", "event_id"))
_WITHOUT_ID = (
    "event_id IS NULL",
    ("ts", "user_key", "event_type", "space", "content_id", "target_user_key"),
)


def _same_event(columns: tuple[str, ...]) -> str:
    """Join condition of tables `s` and `c` on `columns` (nulls compare equal)."""
    return " AND ".join(f"s.{c} IS NOT DISTINCT FROM c.{c}" for c in columns)


def _repeats_sql(where: str, columns: tuple[str, ...]) -> str:
    """The `source_record` of every staged event matching `where` that repeats an earlier
    record of the file with the same identity (`columns`; nulls equal).

    Rows are grouped by a hash of their identity first (DuckDB's, within this query only):
    one aggregate over a single integer, which is all it takes when every hash is unique,
    as it nearly always is. Only rows whose hash occurs twice are then compared exactly,
    column by column."""
    identity = ", ".join(columns)
    return (
        f"SELECT source_record FROM (SELECT source_record, row_number() OVER "  # noqa: S608
        f"(PARTITION BY {identity} ORDER BY source_record) AS nth "
        f"FROM read_parquet($staged) WHERE {where} AND hash({identity}) IN "
        f"(SELECT hash({identity}) AS h FROM read_parquet($staged) WHERE {where} "
        f"GROUP BY h HAVING count(*) > 1)) WHERE nth > 1"
    )


def _known_sql(where: str, columns: tuple[str, ...]) -> str:
    """The `source_record` of every staged event matching `where` already committed."""
    return (
        "SELECT s.source_record FROM read_parquet($staged) s "  # noqa: S608
        f"SEMI JOIN read_parquet($committed) c ON {_same_event(columns)} WHERE s.{where}"
    )


def deduplicate(
    con: Any, tx: store.WriteTransaction, month: str, staged: Path, stats: StagedMonth
) -> tuple[Path | None, int, dict[str, str]]:
    """Move the staged month file into the store, minus events already known.

    The first record of each identity in the file is kept, its repeats and the events
    already committed for the month are not. When nothing is dropped (the usual case) the
    staged file becomes the store's as it is; otherwise the kept rows are copied, without
    sorting. Returns the final path (None when nothing is new), the number of rows kept and
    the UTC dates of its first and last event (recorded in the manifest for reports).
    """
    committed = store.path_list([tx.data_dir / p for p in tx.manifest.event_paths(month)])
    params: dict[str, Any] = {"staged": str(staged)}
    if committed:
        params["committed"] = committed
    kinds = [
        kind
        for kind, count in ((_WITH_ID, stats.with_id), (_WITHOUT_ID, stats.rows - stats.with_id))
        if count
    ]
    period = {
        "first_day": stats.first.date().isoformat(),
        "last_day": stats.last.date().isoformat(),
    }
    dropping = [_repeats_sql(where, columns) for where, columns in kinds]
    if committed:
        dropping += [_known_sql(where, columns) for where, columns in kinds]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE dropped AS {' UNION '.join(dropping)}",  # noqa: S608
        params,
    ).fetchall()
    try:
        dropped = con.execute("SELECT count(*) FROM dropped").fetchall()[0][0]
        final = tx.new_data_path(f"events/month={month}")
        if not dropped:
            os.replace(staged, final)
            store.fsync_file(final)
            return final, stats.rows, period
        kept_sql = "SELECT * FROM read_parquet($staged) ANTI JOIN dropped USING (source_record)"
        kept, days = copy_events(con, kept_sql, {"staged": str(staged)}, final)
    finally:
        con.execute("DROP TABLE IF EXISTS dropped").fetchall()
    if days is None:
        return None, 0, period
    return final, kept, days
