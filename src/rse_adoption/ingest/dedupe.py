"""De-duplication of one staged month against itself and the store (docs/ingest.md).

Two events are the same when they have the same source event id within their format, or,
without one, the same canonical content. Compared as values, not hashed: exact, with no key
column to compute and store.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import store
from ..event_files import copy_events


@dataclass
class StagedMonth:
    """What staging learnt of one month's events, so that de-duplication need not scan
    for it: how many were written, how many carry an event id, the first and last
    instants, and — while the month's rows come in time order — the repeats already
    dropped (`drop_repeats`); while the month has few event ids, the ids (`note_ids`)."""

    first: datetime
    last: datetime
    rows: int = 0
    with_id: int = 0
    #: Every row of the month so far came at or after the one before it in the file.
    in_order: bool = True
    #: Rows without an event id dropped at staging as repeats of an earlier row.
    repeats: int = 0
    #: The last instant written (µs since the epoch) and the id-less rows (identity
    #: columns and source_record) at that instant.
    last_instant: int | None = None
    tail: pa.Table | None = None
    #: The month's event ids so far, while the file's months hold at most ID_CHECK_ROWS
    #: of them together (None past that): `deduplicate` asks Arrow whether they are
    #: distinct, not a query.
    ids: list[pa.Array] | None = field(default_factory=list)


#: Event ids of one file's months held in memory at most, to check them for repeats in
#: Arrow (a few MiB): past that, a month's check is DuckDB's, over its staged file.
ID_CHECK_ROWS = 200_000


def note_ids(part: pa.Table, month: StagedMonth, months: Iterable[StagedMonth]) -> None:
    """Keep the event ids of `part` (`month`'s next rows) for `ids_distinct`, while the
    file's `months` (this one too) hold at most ID_CHECK_ROWS of them; past that, let go
    of the month's."""
    if month.ids is None:
        return
    ids = part.column("event_id").drop_null()
    held = sum(len(chunk) for other in months for chunk in other.ids or ())
    if held + len(ids) > ID_CHECK_ROWS:
        month.ids = None
    else:
        month.ids.extend(ids.chunks)


def ids_distinct(month: StagedMonth) -> bool:
    """Whether the month's event ids, kept by `note_ids`, are all different (False when
    they were not kept): then no event of it repeats another by id, whatever its format,
    and the query looking for such repeats is not needed. Small files (a night's fetch, an
    excerpt) spare one DuckDB query per month this way."""
    if month.ids is None:
        return False
    if not month.ids:
        return True
    ids = pa.chunked_array(month.ids)
    return bool(pc.count_distinct(ids).as_py() == len(ids))


#: What makes two events the same (docs/ingest.md): the source's event id within its
#: format when there is one, else the whole canonical content. Compared as values, not
#: hashed: exact, and no key column to compute and store. Events with and without an id
#: are compared separately (the two filters below), each on plain columns.
_WITH_ID = ("event_id IS NOT NULL", ("source_format", "event_id"))
_WITHOUT_ID = (
    "event_id IS NULL",
    ("ts", "user_key", "event_type", "space", "content_id", "target_user_key"),
)


#: Rows of one instant carried from part to part at most (see drop_repeats).
TAIL_ROWS = 200_000


def drop_repeats(part: pa.Table, month: StagedMonth) -> pa.Table:
    """`part` (one month's next rows, in file order) without the id-less rows that repeat
    an earlier row of the month, while the month's rows come in time order.

    Two events with the same canonical content have the same instant, so in a file in time
    order a repeat can only be among the rows of one instant: the runs of equal instants of
    this part, and the rows of the month's last instant so far (`month.tail`). Only those
    rows are compared, exactly (Arrow's group-by, nulls equal); the first of each identity
    by record is kept. Exports come in time order, so the month-wide check at commit is
    then not needed for id-less rows. At the first row out of order the month is marked
    `in_order = False` and left to that check (`deduplicate`)."""
    if not month.in_order:
        return part
    instants = part.column("ts").cast(pa.int64()).to_numpy()
    previous = month.last_instant
    if np.any(instants[1:] < instants[:-1]) or (previous is not None and instants[0] < previous):
        month.in_order, month.tail = False, None
        return part
    month.last_instant = int(instants[-1])
    no_id = part.column("event_id").is_null().to_numpy(zero_copy_only=False)
    repeated = np.zeros(len(instants), dtype=bool)
    repeated[1:] = instants[1:] == instants[:-1]
    repeated[:-1] |= repeated[1:].copy()
    if month.tail is not None:
        repeated |= instants == previous
    candidates = _same_instant_and_person(part, instants, repeated & no_id, month.tail)
    if candidates.any():
        pool = part.filter(pa.array(candidates)).select([*_WITHOUT_ID[1], "source_record"])
        if month.tail is not None:
            pool = pa.concat_tables([month.tail, pool])
        firsts = pool.group_by(list(_WITHOUT_ID[1]), use_threads=False).aggregate(
            [("source_record", "min")]
        )
        first = pc.is_in(part.column("source_record"), value_set=firsts["source_record_min"])
        drop = candidates & ~first.to_numpy(zero_copy_only=False)
        if drop.any():
            part = part.filter(pa.array(~drop))
            instants, no_id = instants[~drop], no_id[~drop]
            month.repeats += int(drop.sum())
    tail = part.filter(pa.array((instants == month.last_instant) & no_id))
    tail = tail.select([*_WITHOUT_ID[1], "source_record"])
    if previous == month.last_instant and month.tail is not None:  # one instant goes on
        tail = pa.concat_tables([month.tail, tail])
    month.tail = tail if tail.num_rows else None
    if tail.num_rows > TAIL_ROWS:  # dates without times: one instant is a whole day or more
        month.in_order, month.tail = False, None  # the month-wide check, in bounded memory
    return part


def _same_instant_and_person(
    part: pa.Table, instants: np.ndarray, candidates: np.ndarray, tail: pa.Table | None
) -> np.ndarray:
    """`candidates` narrowed to the rows whose instant (`instants`, µs, the part's) and
    person occur together more than once among the candidates and `tail`: a repeat has
    both. Counted on one integer mixing the two (a hash: equal pairs always meet, a rare
    collision only keeps a row to compare exactly), so that the exact comparison sees few
    rows."""
    rows = np.flatnonzero(candidates)
    if not len(rows):
        return candidates

    def mixed(moments: np.ndarray, people: np.ndarray) -> np.ndarray:
        return moments * np.int64(-7046029254386353131) ^ people  # wraps: a hash

    keys = mixed(instants[rows], part.column("user_key").to_numpy()[rows])
    if tail is not None:
        tail_keys = mixed(
            tail.column("ts").cast(pa.int64()).to_numpy(), tail.column("user_key").to_numpy()
        )
        pooled = np.concatenate([tail_keys, keys])
    else:
        pooled = keys
    counted = pc.value_counts(pa.array(pooled))
    shared = counted.field("values").filter(pc.greater(counted.field("counts"), 1))
    narrowed = np.zeros_like(candidates)
    if len(shared):
        narrowed[rows[pc.is_in(pa.array(keys), value_set=shared).to_numpy(False)]] = True
    return narrowed


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
    done = {_WITHOUT_ID[0]: stats.in_order, _WITH_ID[0]: ids_distinct(stats)}
    dropping = [
        _repeats_sql(where, columns)
        for where, columns in kinds
        if not done[where]  # else done by drop_repeats, or no id occurs twice
    ]
    if committed:
        dropping += [_known_sql(where, columns) for where, columns in kinds]
    final = tx.new_data_path(f"events/month={month}")
    if not dropping:
        os.replace(staged, final)
        store.fsync_file(final)
        return final, stats.rows, period
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE dropped AS {' UNION '.join(dropping)}",  # noqa: S608
        params,
    ).fetchall()
    try:
        dropped = con.execute("SELECT count(*) FROM dropped").fetchall()[0][0]
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
