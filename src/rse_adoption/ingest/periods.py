"""Per-person counts over a period: the shared reader of Microsoft 365 usage reports
(Viva Engage, Teams) and Slack member analytics, and their merge into the store.

These exports are not events: each row says how many messages a person posted, liked or
read over the `period_days` days ending on `refresh_date`. They are kept at that grain in
the activity-period table (schema.ACTIVITY_SCHEMA) rather than turned into invented
events. A format module describes its columns (`PeriodFormat`: canonical field -> header
names, compared without case, blanks or punctuation, so the Graph CSV headers, the admin
center's display headers and the JSON camelCase keys all match) and this module reads CSV
or Graph JSON, parses dates and counts, pseudonymises people, flags concealed names and
quarantines bad rows with their line.

Idempotence is by key, not by file: (format, period, refresh date, person). Committing a
file's rows replaces the stored rows of the same key, so a re-export of the same period
with other bytes replaces them, and overlapping periods are kept apart, never summed.
"""

from __future__ import annotations

import collections
import functools
import json
import os
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import store
from ..errors import DataError
from ..event_files import copy_rows
from ..schema import ACTIVITY_SCHEMA
from .canonical import Batch, ReadContext, rejects_table
from .m365_reports import explain
from .report_files import MAX_JSON_BYTES, header_key, headers_of, is_json, json_records
from .textio import (
    iter_csv_records,
    prefetched,
    read_sample,
    sniff_delimiter,
    sniff_text,
    split_line,
)

#: A Microsoft 365 report with "conceal user, group and site names" on: user principal
#: names and display names become 32 uppercase hexadecimal characters.
CONCEALED_NAME = re.compile(r"[0-9A-F]{32}")
#: Count fields of the activity-period table.
COUNT_FIELDS = ("posts", "replies", "reactions", "reads", "other_activity")


@dataclass(frozen=True)
class PeriodFormat:
    """How one export names its columns.

    `columns`: canonical field -> accepted header names. Fields: `user` (required),
    `refresh_date`, `period` (both optional: `--period-end`/`--period-days` stand in),
    the COUNT_FIELDS, and `other:*` fields summed into other_activity (yes/no flags count
    as 1/0). `required`: the fields whose headers make a file this format's."""

    name: str
    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    concealable: bool = False
    #: Turns the parsed counts of one row into the stored counts (e.g. Slack's direct
    #: messages moved from posts to other activity). Default: unchanged.
    adjust: Callable[[dict[str, int | None]], dict[str, int | None]] | None = None
    #: The same as `adjust`, on whole columns (pyarrow int64 arrays; None for a column the
    #: file lacks): what lets the Arrow reader read the format. A format with `adjust` and
    #: without it is read row by row.
    adjust_columns: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def match(fmt: PeriodFormat, headers: list[str]) -> tuple[dict[str, int], list[str]]:
    """Canonical field -> position of its header; and the required fields missing."""
    keys = [header_key(h) for h in headers]
    found: dict[str, int] = {}
    for f, names in fmt.columns.items():  # the first alias present wins (Email before User ID)
        for name in names:
            if header_key(name) in keys:
                position = keys.index(header_key(name))
                if position not in found.values():
                    found[f] = position
                    break
    missing = [fmt.columns[f][0] for f in fmt.required if f not in found]
    return found, missing


def oversized_json(path: Path) -> str | None:
    """Why a `.json` file cannot be read, when it is one JSON document (not JSON Lines)
    larger than MAX_JSON_BYTES: such a document is read whole. None otherwise."""
    if not path.name.lower().endswith(".json") or path.stat().st_size <= MAX_JSON_BYTES:
        return None
    first = read_sample(path, 1 << 16).split(b"\n", 1)
    if len(first) == 2:
        try:
            if isinstance(json.loads(first[0].decode("utf-8-sig")), dict):
                return None  # JSON Lines: read line by line, any size
        except (ValueError, UnicodeDecodeError):
            pass
    return (
        f"{path}: a JSON document larger than {MAX_JSON_BYTES >> 20} MiB (and not JSON "
        "Lines): not an export this tool reads whole"
    )


def missing_columns(fmt: PeriodFormat, path: Path) -> list[str]:
    return match(fmt, headers_of(path))[1]


def sniff(fmt: PeriodFormat, path: Path) -> bool:
    try:
        return not missing_columns(fmt, path)
    except (DataError, OSError, UnicodeError):
        return False


def _records(path: Path, context: ReadContext) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Header and (line, fields) of every row, CSV or JSON alike (a JSON object's line is
    its position in the list, counting from 1)."""
    if is_json(path):
        records = json_records(path)
        headers: list[str] = []
        for obj in records:
            if isinstance(obj, dict):
                headers.extend(str(k) for k in obj if str(k) not in headers)

        def rows() -> Iterator[tuple[int, list[str]]]:
            for position, obj in enumerate(records, start=1):
                if not isinstance(obj, dict):
                    yield position, []
                    continue
                yield position, [_json_text(obj.get(h)) for h in headers]

        return headers, rows()
    info = sniff_text(path)
    delimiter = sniff_delimiter(info.first_line)
    records_iter = iter_csv_records(path, context.encoding or info.encoding, delimiter)
    first = next(records_iter, None)
    return (first[1] if first else []), records_iter


def _json_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return "+".join(str(v) for v in value)
    return str(value)


#: The largest count the activity-period table holds (int64).
MAX_COUNT = (1 << 63) - 1
_FLAGS = {"true": 1, "yes": 1, "oui": 1, "false": 0, "no": 0, "non": 0, "": 0}


def parse_count(raw: str) -> int:
    """A count: an integer; an empty cell is 0 (Microsoft writes some zeros as empty);
    `True`/`False` and `Yes`/`No` are 1/0. ValueError otherwise, and for a count too large
    to store (above 2⁶³ − 1: before, a crash when the rows became a table)."""
    if raw.isdigit() and raw.isascii():  # the usual cell, read directly
        value = int(raw)
    else:
        text = raw.strip()
        flag = _FLAGS.get(text.lower())
        if flag is not None:
            return flag
        number = float(text.replace("\u202f", "").replace(" ", ""))
        if not 0 <= number < float("inf") or number != int(number):
            raise ValueError(text)  # negative, NaN, infinite (before: a crash) or not whole
        value = int(number)
    if value > MAX_COUNT:
        raise ValueError(raw)
    return value


@functools.lru_cache(maxsize=4096)
def parse_date(raw: str) -> date:
    """`YYYY-MM-DD` (Microsoft 365), `DD/MM/YYYY` (re-saved by French Excel), or
    `Mar 17, 2025` (Slack analytics); a time part is ignored."""
    text = raw.strip()
    for fmt, part in (("%Y-%m-%d", text[:10]), ("%d/%m/%Y", text[:10]), ("%b %d, %Y", text)):
        try:
            return datetime.strptime(part, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def parse_period(raw: str) -> int:
    """Days of a report period: `7`, `D7`, `30`, `D30`... (any positive number of days)."""
    text = raw.strip().upper().removeprefix("D")
    days = int(text)
    if not 1 <= days <= 3660:
        raise ValueError(raw)
    return days


#: Rows turned into an Arrow table at a time (bounds the reader's memory).
BATCH_ROWS = 100_000


@dataclass
class _Rows:
    columns: dict[str, list[Any]] = field(
        default_factory=lambda: {f.name: [] for f in ACTIVITY_SCHEMA}
    )
    users: list[str] = field(default_factory=list)
    reject_lines: list[int] = field(default_factory=list)
    reject_reasons: list[str] = field(default_factory=list)
    reject_raw: list[str] = field(default_factory=list)

    def reject(self, line: int, reason: str, fields: list[str], delimiter: str = ",") -> None:
        self.reject_lines.append(line)
        self.reject_reasons.append(reason)
        self.reject_raw.append(delimiter.join(fields)[:2000])


def read(fmt: PeriodFormat, path: Path, context: ReadContext) -> Iterator[Batch]:
    """The file's activity-period rows, a batch at a time; the last batch carries the
    quarantined rows.

    A plain CSV file (see `_plain_csv`) is read by Arrow (`_arrow_tables`); any row Arrow
    cannot read exactly as the row-by-row reader would (a row of another width, a cell
    that is not a plain count or a known date, a blank user, bytes that are not UTF-8, a
    quote...) sends the file to the row-by-row reader (`_read_rows`), which takes over
    after the rows already given and quarantines each bad row with its line and reason."""
    headers, records = _records(path, context)
    positions = _check_header(fmt, path, headers, context)
    options = _plain_csv(fmt, path, context, headers)
    if options is None:
        yield from _read_rows(fmt, path, context, headers, positions, records)
        return
    records.close()  # type: ignore[attr-defined]
    tables = _arrow_tables(fmt, path, context, positions, options, len(headers))
    given = 0
    while True:
        try:
            table = next(tables)
        except StopIteration:
            break
        except (_NotPlain, pa.ArrowInvalid):
            tables.close()
            headers, records = _records(path, context)
            yield from _read_rows(fmt, path, context, headers, positions, records, given)
            return
        given += table.num_rows
        yield Batch(periods=table)
    yield Batch()


def _check_header(
    fmt: PeriodFormat, path: Path, headers: list[str], context: ReadContext
) -> dict[str, int]:
    """Canonical field -> column position; DataError when the file is not `fmt`'s or its
    period is unknown."""
    positions, missing = match(fmt, headers)
    if missing:
        why = explain(path) or f"missing column(s) {', '.join(missing)}"
        raise DataError(f"{path}: not a {fmt.name} export: {why}")
    if context.day is None:
        lacks_end = "refresh_date" not in positions and context.period_end is None
        lacks_days = "period" not in positions and context.period_days is None
        if lacks_end and lacks_days:
            raise DataError(
                f"{path}: this {fmt.name} export does not say its period; give "
                "--period-end YYYY-MM-DD and --period-days N (the last day and the length of "
                "the period chosen when it was exported)"
            )
        if lacks_end:
            raise DataError(
                f"{path}: this {fmt.name} export has no 'Report Refresh Date' column, so the "
                "last day of its period is unknown (its rows give the period's length); "
                "give --period-end YYYY-MM-DD"
            )
        if lacks_days:
            raise DataError(
                f"{path}: this {fmt.name} export has no 'Report Period' column, so the "
                "length of its period is unknown; give --period-days N"
            )
    return positions


def _read_rows(
    fmt: PeriodFormat,
    path: Path,
    context: ReadContext,
    headers: list[str],
    positions: dict[str, int],
    records: Iterator[tuple[int, list[str]]],
    given: int = 0,
) -> Iterator[Batch]:
    """The row-by-row reader: every record parsed in Python. The first `given` good rows
    are not given again (the Arrow reader gave them before handing the file over)."""
    rows = _Rows()
    width = len(headers)
    record_number = 0
    for line, fields in records:
        if len(fields) != width:
            rows.reject(line, f"expected {width} columns, found {len(fields)}", fields)
            continue
        record_number += 1
        if record_number <= given:
            continue
        problem = _add_row(fmt, positions, fields, context, rows, record_number)
        if problem:
            rows.reject(line, problem, fields)
        elif len(rows.users) >= BATCH_ROWS:
            yield Batch(periods=_periods_table(rows, context))
    periods = _periods_table(rows, context) if rows.users else None
    rejects = (
        rejects_table(
            [path.name] * len(rows.reject_lines),
            rows.reject_lines,
            rows.reject_reasons,
            rows.reject_raw,
        )
        if rows.reject_lines
        else None
    )
    yield Batch(periods=periods, rejects=rejects)


class _NotPlain(Exception):
    """A row the Arrow reader cannot read exactly as the row-by-row reader would."""


#: Bytes of the file Arrow parses at a time (a batch of about 100,000 rows of a Viva
#: Engage report): memory stays bounded whatever the file's size.
ARROW_BLOCK_BYTES = 8 << 20


@dataclass(frozen=True)
class _CsvOptions:
    delimiter: str
    encoding: str


def _plain_csv(
    fmt: PeriodFormat, path: Path, context: ReadContext, headers: list[str]
) -> _CsvOptions | None:
    """How Arrow reads the file, or None when the row-by-row reader must: JSON, a text
    encoding other than UTF-8, a header not on the first line, or a format whose counts
    are adjusted row by row only."""
    if is_json(path) or (fmt.adjust is not None and fmt.adjust_columns is None):
        return None
    info = sniff_text(path)
    encoding = context.encoding or info.encoding
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf-8-sig", "utf8"):
        return None
    delimiter = sniff_delimiter(info.first_line)
    if not info.first_line or split_line(info.first_line, delimiter) != headers:
        return None
    return _CsvOptions(delimiter, encoding)


class _PlainBytes:
    """The file's bytes for Arrow's CSV reader, checked on the way: a NUL byte, a carriage
    return not before a line feed, or a quote anywhere but around a whole field that holds
    no line break (where Python's csv module and Arrow may split a line differently) raise
    _NotPlain before Arrow sees the block holding it."""

    def __init__(self, raw: Any, delimiter: str) -> None:
        self._raw = raw
        self._last = b""
        self._line = b""  # the last line read, unfinished
        d = re.escape(delimiter.encode())
        self._quoted = re.compile(
            rb'(?:^|(?<=%s))"(?:[^"\r\n]*"")*[^"\r\n]*"(?=%s|\r?\n|\r?$)' % (d, d), re.M
        )
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        block: bytes = self._raw.read(size)
        if b"\0" in block:
            raise _NotPlain("a NUL byte")
        if b"\r" in block or self._last == b"\r":
            text = self._last + block
            if text.count(b"\r") != text.count(b"\r\n") + text.endswith(b"\r"):
                raise _NotPlain("a carriage return not before a line feed")
        if b'"' in block or b'"' in self._line:
            pending = self._line + block
            cut = pending.rfind(b"\n") + 1 if block else len(pending)
            lines, self._line = pending[:cut], pending[cut:]
            quoted = sum(m.group().count(b'"') for m in self._quoted.finditer(lines))
            if quoted != lines.count(b'"'):
                raise _NotPlain("a quote inside a field, or a line break between quotes")
        else:  # only the unfinished last line is kept, for the next block's check
            cut = block.rfind(b"\n")
            self._line = block[cut + 1 :] if cut >= 0 else self._line + block
        if len(self._line) > 2 * ARROW_BLOCK_BYTES:
            raise _NotPlain("a line longer than Arrow's blocks")
        self._last = block[-1:]
        return block

    def close(self) -> None:
        self.closed = True
        self._raw.close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def _arrow_tables(
    fmt: PeriodFormat,
    path: Path,
    context: ReadContext,
    positions: dict[str, int],
    options: _CsvOptions,
    width: int,
) -> Generator[pa.Table, None, None]:
    """The file's rows as ACTIVITY_SCHEMA tables, a block of the file at a time; _NotPlain
    or ArrowInvalid at the first row the row-by-row reader would read otherwise."""
    import pyarrow.csv as pacsv

    from .textio import open_binary

    names = [str(i) for i in range(width)]
    used = sorted(set(positions.values()))
    workers = key_workers(path)
    with open_binary(path) as raw:
        reader = pacsv.open_csv(
            pa.PythonFile(_PlainBytes(raw, options.delimiter), mode="r"),
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, block_size=ARROW_BLOCK_BYTES, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(delimiter=options.delimiter),
            convert_options=pacsv.ConvertOptions(
                include_columns=[names[p] for p in used],
                column_types={names[p]: pa.string() for p in used},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        record = 0
        pending: collections.deque[tuple[dict[str, Any], Callable[[], pa.Array]]]
        pending = collections.deque()
        with context.person_key.workers(workers) as hasher:
            for batch in prefetched(iter(reader), 1):
                if batch.num_rows:
                    cells = {f: batch.column(str(p)) for f, p in positions.items()}
                    columns, users = _arrow_columns(fmt, cells, context, record)
                    pending.append((columns, hasher.submit(users, stripped=True)))
                    record += batch.num_rows
                    if len(pending) > max(1, workers):
                        yield _with_keys(*pending.popleft())
            while pending:
                yield _with_keys(*pending.popleft())


def _with_keys(columns: dict[str, Any], keys: Callable[[], pa.Array]) -> pa.Table:
    columns["person_key"] = keys()
    return pa.table([columns[name] for name in ACTIVITY_SCHEMA.names], schema=ACTIVITY_SCHEMA)


#: Bytes of a period file from which its person keys are computed in worker processes:
#: below, starting them (tens of milliseconds) costs more than they save.
PARALLEL_BYTES = 16 << 20
#: Worker processes at most; RSE_ADOPTION_WORKERS sets how many (1: none), as for Slack.
MAX_WORKERS = 2


def key_workers(path: Path) -> int:
    """How many worker processes compute the person keys of `path` (0: this process)."""
    try:
        if path.stat().st_size < PARALLEL_BYTES:
            return 0
    except OSError:
        return 0
    raw = os.environ.get("RSE_ADOPTION_WORKERS", "").strip()
    if raw.isdigit():
        return int(raw) if int(raw) > 1 else 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, MAX_WORKERS))


def _arrow_columns(
    fmt: PeriodFormat, cells: dict[str, pa.Array], context: ReadContext, record: int
) -> tuple[dict[str, pa.Array], pa.Array]:
    """One batch of rows (canonical field -> text cells) as the ACTIVITY_SCHEMA columns but
    the person key, and the users to key; the first row is record `record` + 1. _NotPlain
    if any row is not read exactly as `_add_row` would."""
    n = len(cells["user"])
    user = _stripped(cells["user"])
    if not pc.all(pc.greater(pc.utf8_length(user), 0)).as_py():
        raise _NotPlain("missing user")
    if context.day is not None:
        refresh: Any = pa.scalar(context.day, pa.date32())
        period: Any = pa.scalar(1, pa.int32())
    else:
        refresh = (
            _parsed(cells["refresh_date"], parse_date, pa.date32())
            if "refresh_date" in cells
            else pa.scalar(context.period_end, pa.date32())
        )
        period = (
            _parsed(cells["period"], parse_period, pa.int32())
            if "period" in cells
            else pa.scalar(context.period_days, pa.int32())
        )
    counts: dict[str, Any] = {}
    other: Any = None
    for name, values in cells.items():
        if name in ("user", "refresh_date", "period"):
            continue
        value = _counts(values)
        if name.startswith("other:"):
            other = value if other is None else pc.add_checked(other, value)
        else:
            counts[name] = value
    if other is not None:
        mine = counts.get("other_activity")
        counts["other_activity"] = other if mine is None else pc.add_checked(mine, other)
    if fmt.adjust_columns is not None:
        counts = fmt.adjust_columns(counts)
    concealed = (
        pc.match_substring_regex(user, "^" + CONCEALED_NAME.pattern + "$")
        if fmt.concealable
        else pa.nulls(n, pa.bool_()).fill_null(False)
    )

    def column(value: Any, kind: pa.DataType) -> pa.Array:
        if value is None:
            return pa.nulls(n, kind)
        if isinstance(value, pa.Scalar):
            return pa.repeat(value, n)
        return value

    arrays = {
        "source_format": pa.repeat(pa.scalar(fmt.name), n),
        "refresh_date": column(refresh, pa.date32()),
        "period_days": column(period, pa.int32()),
        **{name: column(counts.get(name), pa.int64()) for name in COUNT_FIELDS},
        "concealed": concealed,
        "source_file": pa.repeat(pa.scalar(context.source_file), n),
        "source_record": pa.array(np.arange(record + 1, record + n + 1, dtype=np.int64)),
    }
    return arrays, user


#: Cells whose ends need no Python `strip`: printable ASCII, not blank, at both ends.
_NOTHING_TO_STRIP = r"^[!-~](.*[!-~])?$"


def _stripped(values: pa.Array) -> pa.Array:
    """`values` as Python's `str.strip` leaves them (Arrow and Python do not agree on
    every blank character: the few cells with anything else at an end go through Python)."""
    plain = pc.match_substring_regex(values, _NOTHING_TO_STRIP)
    if pc.all(plain).as_py():
        return values
    texts = values.to_pylist()
    for i in np.flatnonzero(~plain.to_numpy(zero_copy_only=False)):
        texts[i] = texts[i].strip()
    return pa.array(texts, pa.string())


def _parsed(values: pa.Array, parse: Callable[[str], Any], kind: pa.DataType) -> pa.Array:
    """`parse` of each cell, each distinct cell parsed once (a report has one refresh date
    and one period); _NotPlain if one cannot be."""
    distinct = pc.unique(values)
    try:
        parsed = pa.array([parse(v) for v in distinct.to_pylist()], kind)
    except ValueError as exc:
        raise _NotPlain(str(exc)) from None
    return parsed.take(pc.index_in(values, distinct))


#: The longest run of digits read by Arrow as a count (int64 holds any 18 digits).
_COUNT_DIGITS = 18


def _counts(values: pa.Array) -> pa.Array:
    """`parse_count` of each cell, as int64: cells of ASCII digits (or empty: 0) are cast
    by Arrow, any other cell (`True`, `2.0`, `1 234`...) is parsed by `parse_count`, once
    per distinct cell; _NotPlain if one cannot be."""
    empty = pc.equal(pc.binary_length(values), 0)
    digits = pc.or_(empty, pc.ascii_is_decimal(values))
    longest = pc.max(pc.binary_length(values)).as_py() or 0
    if pc.all(digits).as_py() and longest <= _COUNT_DIGITS:
        return pc.if_else(empty, None, values).cast(pa.int64()).fill_null(0)
    try:
        return _parsed(values, parse_count, pa.int64())
    except (pa.ArrowInvalid, OverflowError) as exc:
        raise _NotPlain(str(exc)) from None


def _periods_table(rows: _Rows, context: ReadContext) -> pa.Table:
    """The rows gathered since the last call, keyed and as an Arrow table; `rows` is
    emptied (Python lists take ten times the memory of the table)."""
    rows.columns["person_key"] = context.person_key.many(rows.users, remember=False)
    table = pa.table(rows.columns, schema=ACTIVITY_SCHEMA)
    for values in rows.columns.values():
        values.clear()
    rows.users.clear()
    return table


def _add_row(
    fmt: PeriodFormat,
    positions: dict[str, int],
    fields: list[str],
    context: ReadContext,
    rows: _Rows,
    record_number: int,
) -> str | None:
    """Parse one row into `rows`; the reason it cannot be, or None."""

    def cell(name: str) -> str | None:
        position = positions.get(name)
        return None if position is None else fields[position]

    user = (cell("user") or "").strip()
    if not user:
        return "missing user"
    # A report fetched for one day (Graph's `date=`) is the period of that day: its own
    # "Report Refresh Date" is the latest date of Microsoft's data, not the day asked for.
    day = context.day.isoformat() if context.day is not None else None
    raw_refresh = day or cell("refresh_date")
    try:
        refresh = parse_date(raw_refresh) if raw_refresh is not None else context.period_end
    except ValueError:
        return f"bad date {json.dumps(raw_refresh)}"
    raw_period = "1" if day else cell("period")
    try:
        period = parse_period(raw_period) if raw_period is not None else context.period_days
    except ValueError:
        return f"bad report period {json.dumps(raw_period)}"
    counts: dict[str, int | None] = {}
    other = 0
    for name, position in positions.items():
        if name in ("user", "refresh_date", "period"):
            continue
        try:
            value = parse_count(fields[position])
        except ValueError:
            return f"bad count {json.dumps(fields[position][:40])} in {fmt.columns[name][0]}"
        if name.startswith("other:"):
            other += value
        else:
            counts[name] = value
    if any(n.startswith("other:") for n in positions):
        counts["other_activity"] = counts.get("other_activity", 0) or 0
        counts["other_activity"] = (counts["other_activity"] or 0) + other
    if fmt.adjust is not None:
        counts = fmt.adjust(counts)
    if any(value is not None and value > MAX_COUNT for value in counts.values()):
        return f"counts adding up to more than {MAX_COUNT}"  # before: a crash
    out = rows.columns
    out["source_format"].append(fmt.name)
    out["refresh_date"].append(refresh)
    out["period_days"].append(period)
    for name in COUNT_FIELDS:
        out[name].append(counts.get(name))
    out["concealed"].append(bool(fmt.concealable and CONCEALED_NAME.fullmatch(user)))
    out["source_file"].append(context.source_file)
    out["source_record"].append(record_number)
    rows.users.append(user)
    return None


_NAMED_PERIOD = re.compile(r"(\d{4}-\d{2}-\d{2})\D{1,3}(\d{4}-\d{2}-\d{2})")


def period_from_name(name: str) -> tuple[date, int] | None:
    """(last day, days) of a period a file's name states as its first and last day
    (`member-analytics_2026-08-03_2026-10-31.csv`), or None. Used only for exports whose
    rows do not say their period (Slack member analytics); --period-end/--period-days win."""
    found = _NAMED_PERIOD.search(name)
    if found is None:
        return None
    try:
        first, last = (date.fromisoformat(found.group(i)) for i in (1, 2))
    except ValueError:
        return None
    days = (last - first).days + 1
    return (last, days) if 1 <= days <= 3660 else None


def split_conflicts(
    con: duckdb.DuckDBPyConnection, table: pa.Table, file_name: str
) -> tuple[pa.Table, pa.Table | None]:
    """(`table` less the rows of people listed more than once in one period with different
    counts, those rows as quarantined ones). Such rows contradict each other (a sanitised
    export that gives everyone the same name, two exports pasted together): keeping one
    would be a silent guess. Exact repeats stay (the merge counts them as duplicates).
    A file of one period listing nobody twice (the usual case) needs no query."""
    if each_person_once(table):
        return table, None
    counts = ", ".join(COUNT_FIELDS)
    con.register("incoming", table)
    try:
        conflicting = con.sql(
            f"""
            SELECT source_format, period_days, refresh_date, person_key,
                   count(*) AS n, list(source_record ORDER BY source_record) AS records
            FROM incoming
            GROUP BY ALL
            HAVING count(DISTINCT ({counts}, concealed)) > 1
            """  # noqa: S608 -- only constants are formatted in
        ).to_arrow_table()
        if not conflicting.num_rows:
            return table, None
        con.register("conflicting", conflicting)
        kept = con.sql(
            "SELECT i.* FROM incoming i ANTI JOIN conflicting c USING "
            "(source_format, period_days, refresh_date, person_key) ORDER BY i.source_record"
        ).to_arrow_table()
        con.unregister("conflicting")
    finally:
        con.unregister("incoming")
    reasons = []  # one quarantined row per row dropped, so that the file's rows add up
    for n, records in zip(
        conflicting["n"].to_pylist(), conflicting["records"].to_pylist(), strict=True
    ):
        shown = ", ".join(str(r) for r in records[:5]) + (", …" if len(records) > 5 else "")
        reasons += [
            f"record {record}: one person listed on {n} rows of the same period with "
            f"different counts (records {shown}): none of them kept; is the export "
            "sanitised, or two exports joined?"
            for record in records
        ]
    rejects = rejects_table(
        [file_name] * len(reasons),
        [None] * len(reasons),  # type: ignore[list-item]
        reasons,
        [None] * len(reasons),  # type: ignore[list-item]
    )
    return kept.cast(ACTIVITY_SCHEMA), rejects


def each_person_once(table: pa.Table) -> bool:
    """Whether all of `table`'s rows are of one (format, period, refresh date) and no person
    is listed twice: then the merge needs no de-duplication (a file of a million people
    merges in a fraction of the time)."""
    for name in ("source_format", "period_days", "refresh_date"):
        if pc.count_distinct(table[name]).as_py() > 1:
            return False
    keys = np.sort(table["person_key"].to_numpy())
    return not np.any(keys[1:] == keys[:-1])


@dataclass
class MergeResult:
    """What committing a file's activity rows did to the table."""

    rows_new: int = 0
    rows_replaced: int = 0
    rows_unchanged: int = 0
    #: Rows of a person listed again in the same file and period (the last one is kept).
    rows_repeated: int = 0
    concealed_rows: int = 0


def merge_periods(
    con: duckdb.DuckDBPyConnection,
    tx: store.WriteTransaction,
    manifest: store.Manifest,
    table: pa.Table,
    *,
    whole: bool = False,
) -> MergeResult:
    """Write `table`'s rows into `manifest` (not yet committed): for each (format, period
    days, refresh date) present, one new file holding the stored rows of other people and
    the new rows, replacing the previous file. A person listed twice in the same file and
    period keeps their last row. With `whole` (a day fetched again after Microsoft revised
    it), the new rows replace the period's rows entirely: nobody's old row is kept."""
    result = MergeResult(concealed_rows=int(pc.sum(table["concealed"]).as_py() or 0))
    distinct = table if each_person_once(table) else None
    con.register("incoming", table)
    try:
        partitions = con.execute(
            "SELECT DISTINCT source_format, period_days, refresh_date FROM incoming ORDER BY ALL"
        ).fetchall()
        for source_format, period_days, refresh_date in partitions:
            _merge_partition(
                con,
                tx,
                manifest,
                source_format,
                period_days,
                refresh_date,
                result,
                whole,
                distinct,
            )
    finally:
        con.unregister("incoming")
    return result


def _merge_partition(
    con: duckdb.DuckDBPyConnection,
    tx: store.WriteTransaction,
    manifest: store.Manifest,
    source_format: str,
    period_days: int,
    refresh_date: date,
    result: MergeResult,
    whole: bool = False,
    distinct: pa.Table | None = None,
) -> None:
    """`distinct`: the incoming rows, when they are this partition's only and list nobody
    twice (`each_person_once`): then no window picks each person's last row, and nothing
    counts repeats."""
    same = [
        entry
        for entry in manifest.activity_files
        if entry["source_format"] == source_format
        and int(entry["period_days"]) == period_days
        and entry["refresh_date"] == refresh_date.isoformat()
    ]
    params: dict[str, Any] = {
        "format": source_format,
        "days": period_days,
        "refresh": refresh_date.isoformat(),
    }
    new_rows = (
        "SELECT * FROM incoming WHERE source_format = $format AND period_days = $days "
        "AND refresh_date = $refresh::DATE "
        "QUALIFY row_number() OVER (PARTITION BY person_key ORDER BY source_record DESC) = 1"
    )
    if distinct is not None:  # this partition's rows only, each person once
        new_rows = new_rows.split(" QUALIFY ")[0]
    counts = ", ".join(COUNT_FIELDS)
    if same:
        params["old"] = store.path_list([tx.data_dir / e["path"] for e in same])
        unchanged, replaced, total = con.execute(
            f"""
            WITH n AS ({new_rows}), o AS (SELECT * FROM read_parquet($old))
            SELECT count(*) FILTER (WHERE o.person_key IS NOT NULL
                                      AND (n.{counts.replace(", ", ", n.")}) IS NOT DISTINCT FROM
                                          (o.{counts.replace(", ", ", o.")})),
                   count(o.person_key), count(*)
            FROM n LEFT JOIN o USING (person_key)
            """,  # noqa: S608 -- only constants are formatted in
            params,
        ).fetchall()[0]
        select = (
            f"SELECT * FROM ({new_rows}) UNION ALL "  # noqa: S608
            f"SELECT * FROM read_parquet($old) WHERE person_key NOT IN "
            f"(SELECT person_key FROM incoming WHERE source_format = $format "
            f"AND period_days = $days AND refresh_date = $refresh::DATE)"
        )
        if whole:
            select = new_rows
            del params["old"]
    elif distinct is not None:
        total, unchanged, replaced = distinct.num_rows, 0, 0
        select = new_rows
    else:
        total = con.execute(f"SELECT count(*) FROM ({new_rows})", params).fetchall()[0][0]  # noqa: S608
        unchanged = replaced = 0
        select = new_rows
    result.rows_unchanged += int(unchanged)
    result.rows_replaced += int(replaced) - int(unchanged)
    result.rows_new += int(total) - int(replaced)
    if distinct is None:
        result.rows_repeated += int(
            con.execute(
                "SELECT count(*) FROM incoming WHERE source_format = $format "
                "AND period_days = $days AND refresh_date = $refresh::DATE",
                {k: params[k] for k in ("format", "days", "refresh")},
            ).fetchall()[0][0]
        ) - int(total)
    target = tx.new_data_path("activity")
    written = copy_rows(con, f"SELECT * FROM ({select}) ORDER BY person_key", params, target)  # noqa: S608
    if distinct is not None and select == new_rows:
        concealed = int(pc.sum(distinct["concealed"]).as_py() or 0)
    else:
        concealed = int(
            con.execute(
                "SELECT count(*) FILTER (WHERE concealed) FROM read_parquet($file)",
                {"file": str(target)},
            ).fetchall()[0][0]
        )
    store.fsync_file(target)
    manifest.activity_files = [e for e in manifest.activity_files if e not in same]
    manifest.activity_files.append(
        {
            "path": tx.relative(target),
            "source_format": source_format,
            "period_days": period_days,
            "refresh_date": refresh_date.isoformat(),
            "rows": written,
            "concealed_rows": concealed,
        }
    )


def plugin(
    fmt: PeriodFormat,
) -> tuple[
    Callable[[Path], bool],
    Callable[[Path], list[str]],
    Callable[[Path, ReadContext], Iterator[Batch]],
]:
    """The (sniff, missing_columns, read) functions a format module exposes, for `fmt`."""
    return (
        lambda path: sniff(fmt, path),
        lambda path: missing_columns(fmt, path),
        lambda path, context: read(fmt, path, context),
    )
