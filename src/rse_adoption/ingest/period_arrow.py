"""The fast path of the period-file reader: a plain UTF-8 CSV read by Arrow in blocks,
counts and dates as columns, person keys for the whole block at once (in worker processes
for large files). Any row it cannot read exactly as the row-by-row reader would stops it
(`_NotPlain`), and periods.read hands the rest of the file to that reader."""

from __future__ import annotations

import collections
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
    fmt: periods.PeriodFormat, cells: dict[str, pa.Array], context: ReadContext, record: int
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
    concealed = (
        pc.match_substring_regex(user, "^" + periods.CONCEALED_NAME.pattern + "$")
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
        **{name: column(counts.get(name), pa.int64()) for name in periods.COUNT_FIELDS},
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
    """`periods.parse_count` of each cell, as int64: cells of ASCII digits (or empty: 0) are cast
    by Arrow, any other cell (`True`, `2.0`, `1 234`...) is parsed by `periods.parse_count`, once
    per distinct cell; _NotPlain if one cannot be."""
    empty = pc.equal(pc.binary_length(values), 0)
    digits = pc.or_(empty, pc.ascii_is_decimal(values))
    longest = pc.max(pc.binary_length(values)).as_py() or 0
    if pc.all(digits).as_py() and longest <= _COUNT_DIGITS:
        return pc.if_else(empty, None, values).cast(pa.int64()).fill_null(0)
    try:
        return _parsed(values, periods.parse_count, pa.int64())
    except (pa.ArrowInvalid, OverflowError) as exc:
        raise _NotPlain(str(exc)) from None
