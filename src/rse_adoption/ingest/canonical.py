"""From raw text columns to canonical events: the one transform every reader shares.

Readers hand over text columns named by canonical field (`timestamp`, `user`,
`event_type`, ...). This module pseudonymises people, parses timestamps, maps event-type
aliases and computes the idempotence key, in DuckDB over the Arrow batch (vectorised and
multi-threaded), and splits the result into events and rejected records with a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import EVENT_SCHEMA, EVENT_TYPE_ALIASES, QUARANTINE_SCHEMA

#: Day-first formats tried after ISO 8601 (French Excel exports).
DAY_FIRST_FORMATS = ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"]
OPTIONAL_FIELDS = ("event_id", "site", "space", "content_id")


@dataclass
class ReadContext:
    """What a reader needs besides the file: a DuckDB connection (its session time zone is
    the one naive timestamps are read in), the person-key function, and the file's name as
    recorded in provenance. `encoding` forces a text encoding when set.
    `known_identifiers` holds the identifiers already in the connection's `person_keys`
    table: share one set between all contexts of a connection."""

    con: duckdb.DuckDBPyConnection
    person_key: Callable[[str], int]
    source_file: str
    known_identifiers: set[str]
    encoding: str | None = None


@dataclass
class Batch:
    """What readers yield: canonical events and/or quarantined rows (QUARANTINE_SCHEMA)."""

    events: pa.Table | None = None
    rejects: pa.Table | None = None


@dataclass
class Converted:
    """Events of one raw batch (with a `month` column) and (record index, reason) rejects."""

    events: pa.Table
    reject_records: list[tuple[int, str]] = field(default_factory=list)


def connect(
    timezone: str, memory_limit: str = "256MB", temp_dir: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up for ingest: bounded memory, spilling to `temp_dir`.

    DuckDB 2.0 refuses new work on a connection while an `execute()` result is unread, so
    every statement here and in the callers is fetched (`.fetchall()`) even when it
    returns nothing, and bound parameters go only in single-statement strings."""
    con = duckdb.connect()
    con.execute("SET TimeZone = ?", [timezone]).fetchall()
    con.execute(f"SET memory_limit = '{memory_limit}'").fetchall()
    con.execute("SET preserve_insertion_order = false").fetchall()
    if temp_dir:
        con.execute("SET temp_directory = ?", [temp_dir]).fetchall()
    aliases = pa.table(
        {"alias": list(EVENT_TYPE_ALIASES), "canonical_type": list(EVENT_TYPE_ALIASES.values())}
    )
    con.register("event_type_aliases", aliases)
    con.execute("CREATE TEMP TABLE person_keys (raw VARCHAR, key BIGINT)").fetchall()
    return con


def add_person_keys(
    con: duckdb.DuckDBPyConnection,
    person_key: Callable[[str], int],
    known: set[str],
    columns: list[pa.Array | pa.ChunkedArray],
) -> None:
    """Extend the run's `person_keys` table (trimmed identifier -> key) with the identifiers
    of `columns` not in `known` (the identifiers already in the table, updated here). The
    HMAC runs in Python once per distinct identifier; rows get their key through a join in
    the transform, so the per-row work stays vectorised."""
    trimmed = [pc.utf8_trim_whitespace(c) for c in columns]
    chunks = [chunk for t in trimmed for chunk in getattr(t, "chunks", [t])]
    # pa.chunked_array of ChunkedArrays iterates them in Python (1 s per 200k rows): pass chunks
    distinct = pc.unique(pa.chunked_array(chunks, type=pa.string()))
    raws = [r for r in distinct.to_pylist() if r and r not in known]
    if not raws:
        return
    known.update(raws)
    keys = pa.array([person_key(r) for r in raws], pa.int64())
    con.register("new_person_keys", pa.table({"raw": raws, "key": keys}))
    try:
        con.execute("INSERT INTO person_keys SELECT raw, key FROM new_person_keys").fetchall()
    finally:
        con.unregister("new_person_keys")


_TRANSFORM_SQL = """
WITH parsed AS (
    SELECT
        b.rec,
        nullif(trim(b.event_id), '') AS event_id,
        trim(b.ts_raw) AS ts_text,
        b.type_raw,
        uk.key AS user_key,
        tk.key AS target_user_key,
        nullif(trim(b.site), '') AS site,
        nullif(trim(b.space), '') AS space,
        nullif(trim(b.content_id), '') AS content_id,
        coalesce(
            try_cast(trim(b.ts_raw) AS TIMESTAMPTZ),
            try_strptime(trim(b.ts_raw), $day_first)::TIMESTAMPTZ,
            CASE WHEN regexp_full_match(trim(b.ts_raw), '[0-9]{9,11}([.][0-9]+)?')
                 THEN to_timestamp(CAST(trim(b.ts_raw) AS DOUBLE)) END
        ) AS ts,
        a.canonical_type AS event_type
    FROM raw_batch b
    LEFT JOIN event_type_aliases a ON a.alias = lower(trim(b.type_raw))
    LEFT JOIN person_keys uk ON uk.raw = trim(b.user_raw)
    LEFT JOIN person_keys tk ON tk.raw = trim(b.target_raw)
)
SELECT
    rec,
    CASE
        WHEN user_key IS NULL THEN 'missing user'
        WHEN ts_text IS NULL OR ts_text = '' THEN 'missing timestamp'
        WHEN ts IS NULL THEN 'bad timestamp ' || to_json(left(ts_text, 60))
        WHEN ts < TIMESTAMPTZ '1990-01-01 00:00:00+00' OR ts >= TIMESTAMPTZ '2100-01-01 00:00:00+00'
            THEN 'timestamp out of range ' || to_json(left(ts_text, 60))
        WHEN type_raw IS NULL OR trim(type_raw) = '' THEN 'missing event type'
        WHEN event_type IS NULL THEN 'unknown event type ' || to_json(left(type_raw, 60))
    END AS reason,
    CASE
        WHEN event_id IS NOT NULL THEN unhex(md5($source_format || ':id:' || event_id))
        ELSE unhex(md5(concat_ws('|', epoch_us(ts), user_key, event_type,
                                 coalesce(space, ''), coalesce(content_id, ''),
                                 coalesce(target_user_key::VARCHAR, ''))))
    END AS event_key,
    event_id,
    ts,
    user_key,
    event_type,
    site,
    space,
    content_id,
    target_user_key,
    strftime(timezone('UTC', ts), '%Y-%m') AS month
FROM parsed
"""


def to_events(
    columns: dict[str, pa.Array | pa.ChunkedArray],
    num_rows: int,
    first_record: int,
    context: ReadContext,
    source_format: str,
) -> Converted:
    """Canonical events of one batch of raw text columns.

    `columns` maps canonical field names (schema.EVENT_COLUMN_ALIASES keys) to text arrays;
    absent optional fields are null. `first_record` is the 0-based index, among the file's
    well-formed records, of the batch's first row: rejects are reported with that index so
    that the reader can turn it into a line number.
    """
    null_text = pa.nulls(num_rows, pa.string())

    def text(name: str) -> pa.Array | pa.ChunkedArray:
        return columns.get(name, null_text)

    raw = pa.table(
        {
            "rec": pa.array(np.arange(first_record, first_record + num_rows, dtype=np.int64)),
            "event_id": text("event_id"),
            "ts_raw": text("timestamp"),
            "type_raw": text("event_type"),
            "user_raw": text("user"),
            "target_raw": text("target_user"),
            "site": text("site"),
            "space": text("space"),
            "content_id": text("content_id"),
        }
    )
    con = context.con
    con.register("raw_batch", raw)
    try:
        add_person_keys(
            con,
            context.person_key,
            context.known_identifiers,
            [c for c in (columns.get("user"), columns.get("target_user")) if c is not None],
        )
        result = con.sql(
            _TRANSFORM_SQL,
            params={"day_first": DAY_FIRST_FORMATS, "source_format": source_format},
        ).to_arrow_table()
    finally:
        con.unregister("raw_batch")
    reasons = result.column("reason")
    bad = pc.is_valid(reasons)
    reject_records: list[tuple[int, str]] = []
    if pc.any(bad).as_py():
        rejected = result.filter(bad)
        reject_records = list(
            zip(
                rejected.column("rec").to_pylist(),
                rejected.column("reason").to_pylist(),
                strict=True,
            )
        )
        result = result.filter(pc.invert(bad))
    return Converted(
        events=_as_event_table(result, source_format, context.source_file),
        reject_records=reject_records,
    )


def _as_event_table(result: pa.Table, source_format: str, source_file: str) -> pa.Table:
    n = result.num_rows
    ts = result.column("ts").cast(pa.timestamp("us", tz="UTC"))
    columns = {
        "event_key": result.column("event_key"),
        "event_id": result.column("event_id"),
        "ts": ts,
        "user_key": result.column("user_key"),
        "event_type": result.column("event_type"),
        "site": result.column("site"),
        "space": result.column("space"),
        "content_id": result.column("content_id"),
        "target_user_key": result.column("target_user_key"),
        "source_format": pa.repeat(pa.scalar(source_format), n),
        "source_file": pa.repeat(pa.scalar(source_file), n),
        "source_record": pc.add(result.column("rec"), 1),
    }
    table = pa.table(columns).cast(EVENT_SCHEMA)
    return table.append_column("month", result.column("month").cast(pa.string()))


def rejects_table(
    files: list[str], lines: list[int], reasons: list[str], raws: list[str]
) -> pa.Table:
    return pa.table(
        {"source_file": files, "line": lines, "reason": reasons, "raw": raws},
        schema=QUARANTINE_SCHEMA,
    )
