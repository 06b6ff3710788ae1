"""From raw text columns to canonical events: the one transform every reader shares.

Readers hand over text columns named by canonical field (`timestamp`, `user`,
`event_type`, ...). This module pseudonymises people, parses timestamps and maps event-type
aliases, and splits the result into events and rejected records with a reason. The work is
vectorised over the Arrow batch: lookups (person keys, event types) are pyarrow hash
look-ups against small tables of distinct values, and timestamps are parsed by DuckDB, the
only engine here that reads every ISO 8601 variant, day-first dates and epochs alike.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..privacy import NO_KEY, KeyCache
from ..schema import EVENT_SCHEMA, EVENT_TYPE_ALIASES, QUARANTINE_SCHEMA

#: Day-first formats tried after ISO 8601 (French Excel exports).
DAY_FIRST_FORMATS = ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"]
#: Timestamps outside [1990, 2100) are typing errors, not events.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
UTC_MICROS = pa.timestamp("us", tz="UTC")


@dataclass
class ReadContext:
    """What a reader needs besides the file: a DuckDB connection (its session time zone is
    the one naive timestamps are read in), the run's person-key cache, and the file's name
    as recorded in provenance. `encoding` forces a text encoding when set. `period_end` and
    `period_days` give the period of an activity-count export that does not state it
    (`ingest --period-end/--period-days`). `mapping` is the `--mapping` file's content for
    the `mapped` format. `day` marks a one-day report fetched for that day (Graph's
    `date=` form): its rows are the period of one day ending on `day`, whatever the file's
    own refresh date and period columns hold. `fetched` marks a fetcher's download (not a
    file a person chose), which a reader does not refuse for holding nothing to count.
    `slack_channels` maps the name of each Slack channel `fetch slack` stored to its id:
    the Slack reader keys an export's folder by it when the export lacks channels.json.
    `stored_events(format)` gives the paths of the store's event files of that format, as
    committed before this file: the Yammer reader finds there the author of a message a
    reply answers when the export does not hold it."""

    con: duckdb.DuckDBPyConnection
    person_key: KeyCache
    source_file: str
    encoding: str | None = None
    period_end: date | None = None
    period_days: int | None = None
    mapping: Any = None
    day: date | None = None
    fetched: bool = False
    slack_channels: dict[str, str] = field(default_factory=dict)
    stored_events: Callable[[str], list[str]] | None = None


@dataclass
class Members:
    """A platform's member list as an export gives it: the members' person keys
    (schema.MEMBER_SCHEMA) and the day it describes (the export's last day)."""

    keys: pa.Table
    listed_on: date


@dataclass
class Batch:
    """What readers yield: canonical events, activity-period rows (ACTIVITY_SCHEMA) and/or
    quarantined rows (QUARANTINE_SCHEMA)."""

    events: pa.Table | None = None
    rejects: pa.Table | None = None
    periods: pa.Table | None = None
    #: Rows a mapping file told to ignore (neither events nor quarantined).
    ignored: int = 0
    #: What the user should know about how the file was read (one line each), shown as a
    #: note on its result: e.g. a partial Slack export keyed by user id.
    notes: tuple[str, ...] = ()
    #: The platform's member list, when the export has one (a Slack export's users.json).
    members: Members | None = None
    #: Replies whose replied-to message is neither in the export nor in the store: comments
    #: stored without a target (the Yammer reader).
    replies_without_target: int = 0


@dataclass
class Converted:
    """Events of one raw batch and the (record index, reason) of its rejected rows."""

    events: pa.Table
    reject_records: list[tuple[int, str]] = field(default_factory=list)
    ignored: int = 0


def connect(
    timezone: str, memory_limit: str = "256MB", temp_dir: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up for ingest: bounded memory, spilling to `temp_dir`.

    DuckDB 2.0 refuses new work on a connection while an `execute()` result is unread, so
    every statement here and in the callers is fetched (`.fetchall()`) even when it
    returns nothing, and bound parameters go only in single-statement strings.
    Insertion order is preserved (the default): timestamps parsed here are zipped back
    with the batch's other columns by position."""
    con = duckdb.connect()
    con.execute("SET TimeZone = ?", [timezone]).fetchall()
    con.execute(f"SET memory_limit = '{memory_limit}'").fetchall()
    if temp_dir:
        con.execute("SET temp_directory = ?", [temp_dir]).fetchall()
    return con


_PARSE_TS_SQL = """
SELECT coalesce(
    try_cast(ts_raw AS TIMESTAMPTZ),
    try_strptime(trim(ts_raw), $day_first)::TIMESTAMPTZ,
    CASE WHEN regexp_full_match(trim(ts_raw), '[0-9]{9,11}([.][0-9]+)?')
         THEN to_timestamp(CAST(trim(ts_raw) AS DOUBLE)) END
) AS ts
FROM ts_batch
"""


def parse_timestamps(
    con: duckdb.DuckDBPyConnection,
    text: pa.Array | pa.ChunkedArray,
    formats: list[str] | None = None,
) -> pa.Array:
    """UTC timestamps (µs) of `text`, null where unreadable, in the same order.

    Accepted: ISO 8601 with or without offset (naive means the connection's time zone),
    `DD/MM/YYYY HH:MM[:SS]` and `DD/MM/YYYY` (same zone), and Unix epochs in seconds.
    A batch whose every value is ISO 8601 with an offset is read by Arrow's cast (5x
    faster); any other batch by DuckDB, which gives the same instants for those values.
    A batch of naive ISO 8601 is read by Arrow too (`_naive_iso`).
    `formats` (strptime formats, from a mapping file) replaces all of that: only they are
    tried, in the connection's time zone unless the format has an offset (`%z`)."""
    if pa.types.is_timestamp(text.type):  # read by the format already (Slack's epochs)
        return _contiguous(text.cast(UTC_MICROS))
    if formats:
        con.register("ts_batch", pa.table({"ts_raw": text}))
        try:
            parsed = con.sql(
                "SELECT try_strptime(trim(ts_raw), $formats)::TIMESTAMPTZ AS ts FROM ts_batch",
                params={"formats": formats},
            ).to_arrow_table()
        finally:
            con.unregister("ts_batch")
        return _contiguous(parsed.column("ts").cast(UTC_MICROS))
    try:  # fast path: Arrow reads ISO 8601 with an explicit offset, and only that
        return _contiguous(pc.cast(text, UTC_MICROS))
    except pa.ArrowInvalid:
        pass
    local = _naive_iso(con, text)
    if local is not None:
        return local
    con.register("ts_batch", pa.table({"ts_raw": text}))
    try:
        parsed = con.sql(_PARSE_TS_SQL, params={"day_first": DAY_FIRST_FORMATS}).to_arrow_table()
    finally:
        con.unregister("ts_batch")
    return _contiguous(parsed.column("ts").cast(UTC_MICROS))


def _naive_iso(con: duckdb.DuckDBPyConnection, text: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    """UTC instants of a batch whose every value is naive ISO 8601 (a date, or a time with
    at least minutes), in the connection's time zone; None for any other batch.

    Arrow reads the text (5x faster than DuckDB), and DuckDB gives the offset of each
    distinct minute of the batch (a day of a log holds at most 1,440): every instant is
    DuckDB's own — its zone rules, repeated and skipped hours included — whatever zone
    files the system has (tests/test_properties.py). An hour alone (`2026-03-02T09`), which
    Arrow reads and DuckDB does not, leaves the batch to DuckDB."""
    try:
        long = pc.greater(pc.utf8_length(text), 10)
        if pc.any(pc.and_(long, pc.invert(pc.match_substring(text, ":")))).as_py():
            return None
        naive = _contiguous(pc.cast(text, pa.timestamp("us")))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    minutes = pc.floor_temporal(naive, unit="minute")
    con.register("ts_minutes", pa.table({"m": pc.unique(minutes)}))
    try:
        shifts = con.sql(
            "SELECT m, epoch_us(CAST(m AS TIMESTAMPTZ)) - epoch_us(m) AS shift FROM ts_minutes"
        ).to_arrow_table()
    finally:
        con.unregister("ts_minutes")
    at = pc.index_in(minutes, value_set=shifts["m"])
    shift = pc.take(shifts["shift"], at)
    return _contiguous(pc.add(naive.cast(pa.int64()), shift).cast(UTC_MICROS))


def _contiguous(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def column_keys(column: pa.Array | pa.ChunkedArray, person_key: KeyCache) -> pa.Array:
    """The key of each identifier of an Arrow column; null where it is null or blank.

    While the run has met few people (up to `KNOWN_SET_ROWS`, or the batch's length), the
    column is looked up in one vectorised pass against the identifiers already keyed
    (`_KnownIdentifiers`). Past that, rebuilding that set per batch would cost more than it
    saves: the column is dictionary-encoded and only its distinct values go through the
    cache. Either way the HMAC runs once per person per run."""
    column = _contiguous(column)
    if column.null_count == len(column):  # a column the file does not have
        return pa.nulls(len(column), pa.int64())
    known = _KNOWN.setdefault(person_key, _KnownIdentifiers())
    if len(known.values) <= max(KNOWN_SET_ROWS, len(column)):
        return known.keys_of(column, person_key)
    encoded = pc.dictionary_encode(column)
    # an int64 array: pyarrow takes it 15x faster than a list of large Python integers
    keys = np.array(person_key.many(encoded.dictionary.to_pylist()), dtype=np.int64)
    return pc.take(pa.array(keys, mask=keys == NO_KEY), encoded.indices)


#: Up to how many identifiers a run keeps in an Arrow look-up set (see column_keys).
KNOWN_SET_ROWS = 250_000


class _KnownIdentifiers:
    """The identifiers a run has keyed, as an Arrow array beside their keys (null for
    blank ones), so that a column is keyed by `pc.index_in` without Python objects."""

    def __init__(self) -> None:
        self.values = pa.array([], pa.string())
        self.keys = pa.array([], pa.int64())

    def keys_of(self, column: pa.Array, person_key: KeyCache) -> pa.Array:
        index = pc.index_in(column, value_set=self.values)
        if index.null_count > column.null_count:  # identifiers met for the first time
            unseen = pc.and_(pc.is_null(index), pc.is_valid(column))
            new = pc.unique(column.filter(unseen)).cast(pa.string())
            keys = np.array(person_key.many(new.to_pylist()), dtype=np.int64)
            index = pc.coalesce(index, pc.add(pc.index_in(column, value_set=new), len(self.values)))
            self.values = pa.concat_arrays([self.values, new])
            self.keys = pa.concat_arrays([self.keys, pa.array(keys, mask=keys == NO_KEY)])
        return pc.take(self.keys, index)


#: Each run's look-up set, by its key cache (one per ingest run; gone with it).
_KNOWN: weakref.WeakKeyDictionary[KeyCache, _KnownIdentifiers] = weakref.WeakKeyDictionary()


#: What a mapping file's [event_types] may map a value to besides the canonical types:
#: rows to drop without quarantining them (activity the user decided not to count).
IGNORE = "ignore"


def canonical_event_types(
    text: pa.Array | pa.ChunkedArray, extra: dict[str, str] | None = None
) -> pa.Array:
    """The canonical event type of each value (aliases, any case and blanks), null if
    unknown. `extra` (lower-cased value -> type or IGNORE, from a mapping file) is looked
    up first. The mapping runs once per distinct value, the look-up is vectorised."""
    encoded = pc.dictionary_encode(_contiguous(text))
    extra = extra or {}
    mapped = pa.array(
        [
            extra.get(v.strip().lower()) or EVENT_TYPE_ALIASES.get(v.strip().lower())
            for v in encoded.dictionary.to_pylist()
        ],
        pa.string(),
    )
    return pc.take(mapped, encoded.indices)


def _blank_to_null(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Values trimmed of surrounding whitespace, empty ones as null. Readers give empty
    fields as null already; `if_else` on text is slow (0.5 µs a row), so it only runs
    when some value was blank."""
    trimmed = pc.utf8_trim_whitespace(text)
    shortest = pc.min(pc.binary_length(trimmed)).as_py()  # None when all are null
    if shortest is None or shortest > 0:
        return trimmed
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def to_events(
    columns: dict[str, pa.Array | pa.ChunkedArray],
    num_rows: int,
    first_record: int,
    context: ReadContext,
    source_format: str,
    *,
    event_type_map: dict[str, str] | None = None,
    timestamp_formats: list[str] | None = None,
) -> Converted:
    """Canonical events of one batch of raw text columns.

    `columns` maps canonical field names (schema.EVENT_COLUMN_ALIASES keys) to text arrays;
    absent optional fields are null. `first_record` is the 0-based index, among the file's
    well-formed records, of the batch's first row: rejects are reported with that index so
    that the reader can turn it into a line number. `event_type_map` and
    `timestamp_formats` come from a mapping file (see canonical_event_types and
    parse_timestamps); rows whose type maps to IGNORE are dropped and counted, not
    rejected.
    """
    null_text = pa.nulls(num_rows, pa.string())

    def text(name: str) -> pa.Array | pa.ChunkedArray:
        return columns.get(name, null_text)

    user_key = column_keys(text("user"), context.person_key)
    target_user_key = column_keys(text("target_user"), context.person_key)
    ts = parse_timestamps(context.con, text("timestamp"), timestamp_formats)
    event_type = canonical_event_types(text("event_type"), event_type_map)
    ignored = pc.fill_null(pc.equal(event_type, IGNORE), False)
    ignored_rows = int(pc.sum(ignored).as_py() or 0)
    if ignored_rows:
        event_type = pc.if_else(ignored, pa.scalar(None, pa.string()), event_type)
    in_range = pc.and_(
        pc.greater_equal(ts, pa.scalar(EARLIEST, UTC_MICROS)),
        pc.less(ts, pa.scalar(LATEST, UTC_MICROS)),
    )
    good = pc.and_(
        pc.and_(pc.is_valid(user_key), pc.fill_null(in_range, False)), pc.is_valid(event_type)
    )
    events = pa.table(
        {
            "event_id": _blank_to_null(text("event_id")),
            "ts": ts,
            "user_key": user_key,
            "event_type": event_type,
            "site": _blank_to_null(text("site")),
            "space": _blank_to_null(text("space")),
            "content_id": _blank_to_null(text("content_id")),
            "target_user_key": target_user_key,
            "source_format": pa.repeat(pa.scalar(source_format), num_rows),
            "source_file": pa.repeat(pa.scalar(context.source_file), num_rows),
            "source_record": pa.array(
                np.arange(first_record + 1, first_record + num_rows + 1, dtype=np.int64)
            ),
        }
    )
    reject_records: list[tuple[int, str]] = []
    if not pc.all(good).as_py():
        bad = pc.and_(pc.invert(good), pc.invert(ignored))
        reject_records = _reject_reasons(
            pc.indices_nonzero(bad).to_pylist(), first_record, columns, user_key, ts
        )
        events = events.filter(good)
    return Converted(
        events=events.cast(EVENT_SCHEMA), reject_records=reject_records, ignored=ignored_rows
    )


def _reject_reasons(
    rows: list[int],
    first_record: int,
    columns: dict[str, pa.Array | pa.ChunkedArray],
    user_key: pa.Array,
    ts: pa.Array,
) -> list[tuple[int, str]]:
    """(record index, reason) of each rejected row (`rows`: positions in the batch). The
    first failing check gives the reason: person, timestamp, then event type."""
    picked = pa.array(rows, pa.int64())

    def values(array: pa.Array | pa.ChunkedArray | None) -> list[Any]:
        return [None] * len(rows) if array is None else pc.take(array, picked).to_pylist()

    raw_ts, raw_type = values(columns.get("timestamp")), values(columns.get("event_type"))
    reasons = []
    for row, key, when, text_ts, text_type in zip(
        rows, values(user_key), values(ts), raw_ts, raw_type, strict=True
    ):
        text_ts = _as_text(text_ts).strip()
        if key is None:
            reason = "missing user"
        elif not text_ts:
            reason = "missing timestamp"
        elif when is None:
            reason = f"bad timestamp {_quoted(text_ts)}"
        elif not EARLIEST <= when < LATEST:
            reason = f"timestamp out of range {_quoted(text_ts)}"
        elif not (text_type or "").strip():
            reason = "missing event type"
        else:
            reason = f"unknown event type {_quoted(text_type)}"
        reasons.append((first_record + row, reason))
    return reasons


def _as_text(value: object) -> str:
    """A raw value as the reject reason quotes it: text as read; an instant a format read
    already (Slack's epochs) in ISO 8601 to the microsecond."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return str(value)


def _quoted(value: str) -> str:
    return json.dumps(value[:60], ensure_ascii=False)


def rejects_table(
    files: list[str], lines: list[int], reasons: list[str], raws: list[str]
) -> pa.Table:
    return pa.table(
        {"source_file": files, "line": lines, "reason": reasons, "raw": raws},
        schema=QUARANTINE_SCHEMA,
    )
