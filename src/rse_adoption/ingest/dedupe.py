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


def _new_events_sql(kind: str, columns: tuple[str, ...], against_committed: bool) -> str:
    """The staged events of one kind that are new: the first of each identity in the file
    (by record), none already committed."""
    anti = (
        f"ANTI JOIN read_parquet($committed) c ON {_same_event(columns)}"
        if against_committed
        else ""
    )
    return (
        f"(SELECT DISTINCT ON ({', '.join('s.' + c for c in columns)}) s.* "  # noqa: S608
        f"FROM read_parquet($staged) s {anti} WHERE s.{kind} "
        f"ORDER BY {', '.join('s.' + c for c in columns)}, s.source_record)"
    )


def _distinct_events(con: Any, params: dict[str, Any], where: str, columns: tuple[str, ...]) -> int:
    """How many distinct identities the staged events matching `where` hold. Counting
    distinct hashes first is twice as fast and nearly always settles it: when every row has
    its own hash there is nothing to remove. (The hash is DuckDB's, used within this query
    only, so its changes between versions do not matter.) Otherwise count exactly."""
    rows, hashes = con.execute(
        f"SELECT count(*), count(DISTINCT hash({', '.join(columns)})) "  # noqa: S608
        f"FROM read_parquet($staged) WHERE {where}",
        params,
    ).fetchall()[0]
    if hashes == rows:
        return int(rows)
    return int(
        con.execute(
            f"SELECT count(*) FROM (SELECT DISTINCT {', '.join(columns)} "  # noqa: S608
            f"FROM read_parquet($staged) WHERE {where})",
            params,
        ).fetchall()[0][0]
    )


def deduplicate(
    con: Any, tx: store.WriteTransaction, month: str, staged: Path, stats: StagedMonth
) -> tuple[Path | None, int, dict[str, str]]:
    """Move the staged month file into the store, minus events already known.

    Returns the final path (None when nothing is new), the number of rows kept and the
    UTC dates of its first and last event (recorded in the manifest for reports).
    """
    committed = store.path_list([tx.data_dir / p for p in tx.manifest.event_paths(month)])
    params: dict[str, Any] = {"staged": str(staged)}
    both = {**params, "committed": committed}
    kinds = [
        kind
        for kind, count in ((_WITH_ID, stats.with_id), (_WITHOUT_ID, stats.rows - stats.with_id))
        if count
    ]
    period = {
        "first_day": stats.first.date().isoformat(),
        "last_day": stats.last.date().isoformat(),
    }
    distinct = sum(_distinct_events(con, params, where, columns) for where, columns in kinds)
    known = committed and sum(
        con.execute(
            "SELECT count(*) FROM read_parquet($staged) s "  # noqa: S608
            f"SEMI JOIN read_parquet($committed) c ON {_same_event(columns)} "
            f"WHERE s.{where}",
            both,
        ).fetchall()[0][0]
        for where, columns in kinds
    )
    final = tx.new_data_path(f"events/month={month}")
    if distinct == stats.rows and not known:
        os.replace(staged, final)
        store.fsync_file(final)
        return final, stats.rows, period
    new_events = " UNION ALL ".join(
        _new_events_sql(where, columns, bool(committed)) for where, columns in kinds
    )
    kept, days = copy_events(con, new_events, both if committed else params, final)
    if days is None:
        return None, 0, period
    return final, kept, days
