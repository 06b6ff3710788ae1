"""The fast path of the period-file reader: a plain UTF-8 CSV read by Arrow in blocks,
counts and dates as columns, person keys for the whole block at once (in worker processes
for large files). Any row it cannot read exactly as the row-by-row reader would stops it
(`_NotPlain`), and periods.read hands the rest of the file to that reader."""

from __future__ import annotations

import collections
import contextlib
import os
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import ACTIVITY_SCHEMA

#: A Microsoft 365 report with "conceal user, group and site names" on: user principal
#: names and display names become 32 uppercase hexadecimal characters.
from . import periods  # the row reader's parsers, read at call time (it imports this)
from .canonical import ReadContext
from .report_files import is_json
from .textio import (
    prefetched,
    sniff_delimiter,
    sniff_text,
    split_line,
)


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
    fmt: periods.PeriodFormat, path: Path, context: ReadContext, headers: list[str]
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
        self._quoted = _quoted_fields(delimiter)
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


#: Bytes of a mapped file checked at a time (`_check_mapped`).
CHECK_BYTES = 8 << 20


def _check_mapped(data: Any, delimiter: str) -> None:
    """`_PlainBytes`'s checks on a whole memory-mapped file, vectorised: a NUL byte, a
    carriage return not before a line feed (the file's last byte may be one), or a quote
    anywhere but around a whole field that holds no line break raise _NotPlain. Files of
    Microsoft 365 hold no quote and no carriage return (three searches for a byte, C
    speed); quotes (Slack writes its dates quoted) are checked by numpy a block of whole
    lines at a time, and only a block where a quote is not plainly a field's first or last
    character goes through `_PlainBytes`'s regular expression, which decides."""
    if data.find(b"\0") >= 0:
        raise _NotPlain("a NUL byte")
    returns, quotes = data.find(b"\r") >= 0, data.find(b'"') >= 0
    size, start = len(data), 0
    split = delimiter.encode()[0] if len(delimiter.encode()) == 1 else -1
    while (returns or quotes) and start < size:
        end = min(start + CHECK_BYTES, size)
        if end < size:  # whole lines only
            cut = data.rfind(b"\n", start, end) + 1
            end = cut if cut > start else (data.find(b"\n", end) + 1 or size)
        block = np.frombuffer(data, np.uint8, end - start, start)
        if returns:
            at = np.flatnonzero(block == 0x0D) + 1
            if not np.all(block[np.minimum(at, len(block) - 1)][at < len(block)] == 0x0A) or (
                np.any(at == len(block)) and end < size
            ):
                raise _NotPlain("a carriage return not before a line feed")
        if quotes and not (split >= 0 and _whole_quoted_fields(block, split)):
            lines = data[start:end]
            quoted = _quoted_fields(delimiter)
            if sum(m.group().count(b'"') for m in quoted.finditer(lines)) != lines.count(b'"'):
                raise _NotPlain("a quote inside a field, or a line break between quotes")
        del block
        start = end


def _quoted_fields(delimiter: str) -> re.Pattern[bytes]:
    """A field in quotes, whole, holding no line break (its quotes doubled inside)."""
    d = re.escape(delimiter.encode())
    return re.compile(rb'(?:^|(?<=%s))"(?:[^"\r\n]*"")*[^"\r\n]*"(?=%s|\r?\n|\r?$)' % (d, d), re.M)


def _whole_quoted_fields(block: np.ndarray, delimiter: int) -> bool:
    """Whether the quotes of `block` (whole lines) pair up, in order, around whole fields
    holding no quote and no line break: each pair opens a field (at a line's start or
    after the delimiter) and closes it (before the delimiter, a line break or the end).
    Then each pair is one of `_quoted_fields`' matches and nothing else is; False leaves
    the decision to that regular expression (a doubled quote inside a field, say)."""
    at = np.flatnonzero(block == 0x22)
    if len(at) % 2:
        return False
    opens, closes = at[0::2], at[1::2]
    last = len(block) - 1
    before = block[np.maximum(opens - 1, 0)]
    after = block[np.minimum(closes + 1, last)]
    after2 = block[np.minimum(closes + 2, last)]
    opened = (opens == 0) | (before == delimiter) | (before == 0x0A)
    closed = (
        (closes == last)
        | (after == delimiter)
        | (after == 0x0A)
        | ((after == 0x0D) & ((closes + 1 == last) | (after2 == 0x0A)))
    )
    breaks = np.flatnonzero((block == 0x0A) | (block == 0x0D))
    inside = np.searchsorted(breaks, opens) != np.searchsorted(breaks, closes)
    return bool(opened.all() and closed.all() and not inside.any())


def _mapped(raw: Any) -> Any:
    """A read-only memory map of the open file `raw`, or None (a decompressed stream, an
    empty file, a file that cannot be mapped): then the bytes are read and checked as
    they stream (`_PlainBytes`)."""
    import io
    import mmap

    if not isinstance(raw, io.BufferedReader):
        return None
    try:
        return mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None


def _arrow_tables(
    fmt: periods.PeriodFormat,
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
        mapped = _mapped(raw)
        if mapped is not None:  # checked whole, then read by Arrow from the map (no copy)
            try:
                _check_mapped(mapped, options.delimiter)
                source: Any = pa.py_buffer(mapped)
            finally:
                with contextlib.suppress(BufferError):
                    mapped.close()  # (Arrow's buffer of it, if any, keeps it open)
            source = pa.BufferReader(source)
        else:
            source = pa.PythonFile(_PlainBytes(raw, options.delimiter), mode="r")
        reader = pacsv.open_csv(
            source,
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
        constants: dict[Any, pa.Array] = {}
        pending: collections.deque[tuple[dict[str, Any], Callable[[], pa.Array]]]
        pending = collections.deque()
        with context.person_key.workers(workers) as hasher:
            for batch in prefetched(iter(reader), 1):
                if batch.num_rows:
                    cells = {f: batch.column(str(p)) for f, p in positions.items()}
                    columns, users = _arrow_columns(fmt, cells, context, record, constants)
                    pending.append((columns, hasher.submit(users, stripped=True)))
                    record += batch.num_rows
                    if len(pending) > 2 * max(1, workers):
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
    fmt: periods.PeriodFormat,
    cells: dict[str, pa.Array],
    context: ReadContext,
    record: int,
    constants: dict[Any, pa.Array] | None = None,
) -> tuple[dict[str, pa.Array], pa.Array]:
    """One batch of rows (canonical field -> text cells) as the ACTIVITY_SCHEMA columns but
    the person key, and the users to key; the first row is record `record` + 1. _NotPlain
    if any row is not read exactly as `_add_row` would. `constants`: the columns of one
    value (the format, the file's name, absent counts...) made for an earlier batch, sliced
    for this one rather than made again (a million rows' file name is 30 MB to write)."""
    made = {} if constants is None else constants
    n = len(cells["user"])
    user = _stripped(cells["user"])
    if n and not np.diff(_cells(user)[0]).min() > 0:
        raise _NotPlain("missing user")
    if context.day is not None:
        refresh: Any = pa.scalar(context.day, pa.date32())
        period: Any = pa.scalar(1, pa.int32())
    else:
        refresh = (
            _parsed(cells["refresh_date"], periods.parse_date, pa.date32())
            if "refresh_date" in cells
            else pa.scalar(context.period_end, pa.date32())
        )
        period = (
            _parsed(cells["period"], periods.parse_period, pa.int32())
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

    def column(value: Any, kind: pa.DataType) -> pa.Array:
        if value is None or isinstance(value, pa.Scalar):
            key = (kind, None if value is None else value.as_py())
            if key not in made or len(made[key]) < n:
                made[key] = pa.nulls(n, kind) if value is None else pa.repeat(value.cast(kind), n)
            return made[key].slice(0, n)
        return value

    concealed = _concealed(user) if fmt.concealable else None
    if concealed is None:
        concealed = column(pa.scalar(False), pa.bool_())

    arrays = {
        "source_format": column(pa.scalar(fmt.name), pa.string()),
        "refresh_date": column(refresh, pa.date32()),
        "period_days": column(period, pa.int32()),
        **{name: column(counts.get(name), pa.int64()) for name in periods.COUNT_FIELDS},
        "concealed": concealed,
        "source_file": column(pa.scalar(context.source_file), pa.string()),
        "source_record": pa.array(np.arange(record + 1, record + n + 1, dtype=np.int64)),
    }
    return arrays, user


def _cells(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(the offsets of `values`' cells, n + 1 of them, into the bytes; the bytes) of a string
    array without nulls, as numpy views of its buffers (nothing copied)."""
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], np.int32)[values.offset : values.offset + len(values) + 1]
    data = buffers[2]
    return offsets, (np.zeros(1, np.uint8) if data is None else np.frombuffer(data, np.uint8))


def _printable_ends(values: pa.Array) -> np.ndarray:
    """Whether each cell starts and ends with printable ASCII other than a space (then
    `str.strip` leaves it as it is), from the bytes at either end of each cell: no
    regular expression over the whole text."""
    offsets, data = _cells(values)
    filled = offsets[1:] > offsets[:-1]
    plain = np.zeros(len(values), bool)
    first, last = data[offsets[:-1][filled]], data[offsets[1:][filled] - 1]
    plain[filled] = ((first - 0x21) < 0x5E) & ((last - 0x21) < 0x5E)  # uint8: 0x21 to 0x7E
    return plain


def _stripped(values: pa.Array) -> pa.Array:
    """`values` as Python's `str.strip` leaves them (Arrow and Python do not agree on
    every blank character: the few cells with anything else at an end go through Python)."""
    plain = _printable_ends(values)
    if plain.all():
        return values
    texts = values.to_pylist()
    for i in np.flatnonzero(~plain):
        texts[i] = texts[i].strip()
    return pa.array(texts, pa.string())


#: The length of a concealed name.
_CONCEALED_LENGTH = 32


def _concealed(user: pa.Array) -> pa.Array | None:
    """Whether each user is a concealed name (32 uppercase hexadecimal characters), None
    when none is: the regular expression only runs when a cell has 32 bytes."""
    offsets, _ = _cells(user)
    if not np.any(np.diff(offsets) == _CONCEALED_LENGTH):
        return None
    return pc.match_substring_regex(user, "^" + periods.CONCEALED_NAME.pattern + "$")


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
    """`periods.parse_count` of each cell, as int64: cells of ASCII digits (or empty: 0) are cast
    by Arrow, any other cell (`True`, `2.0`, `1 234`...) is parsed by `periods.parse_count`, once
    per distinct cell; _NotPlain if one cannot be. (Whether every cell is digits is read from
    the column's bytes at once: any byte outside 0-9 sends the column to the slower way.)"""
    offsets, data = _cells(values)
    lengths = np.diff(offsets)
    body = data[offsets[0] : offsets[-1]] if len(values) else data[:0]
    if len(values) and lengths.max() <= _COUNT_DIGITS and bool(np.all((body - 0x30) < 10)):
        if lengths.min() > 0:
            return values.cast(pa.int64())
        starts = offsets[:-1].astype(np.int64)
        value = np.zeros(len(values), np.int64)
        for k in range(int(lengths.max())):  # empty cells (0): each cell's k-th digit
            more = lengths > k
            digit = data[np.where(more, starts + k, 0)].astype(np.int64) - 0x30
            value = np.where(more, value * 10 + digit, value)
        return pa.array(value)
    try:
        return _parsed(values, periods.parse_count, pa.int64())
    except (pa.ArrowInvalid, OverflowError) as exc:
        raise _NotPlain(str(exc)) from None
