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

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import DataError
from ..schema import ACTIVITY_SCHEMA
from . import period_arrow  # the fast path; it reads this module's parsers at call time
from .canonical import Batch, ReadContext, rejects_table
from .m365_reports import explain
from .period_merge import COUNT_FIELDS as COUNT_FIELDS
from .period_merge import MergeResult as MergeResult
from .period_merge import each_person_once as each_person_once
from .period_merge import merge_periods as merge_periods
from .period_merge import period_from_name as period_from_name
from .period_merge import split_conflicts as split_conflicts
from .report_files import MAX_JSON_BYTES, header_key, headers_of, is_json, json_records
from .textio import (
    iter_csv_records,
    read_sample,
    sniff_delimiter,
    sniff_text,
)

#: A Microsoft 365 report with "conceal user, group and site names" on: user principal
#: names and display names become 32 uppercase hexadecimal characters.
CONCEALED_NAME = re.compile(r"[0-9A-F]{32}")
#: Count fields of the activity-period table.


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
    options = period_arrow._plain_csv(fmt, path, context, headers)
    if options is None:
        yield from _read_rows(fmt, path, context, headers, positions, records)
        return
    records.close()  # type: ignore[attr-defined]
    tables = period_arrow._arrow_tables(fmt, path, context, positions, options, len(headers))
    given = 0
    while True:
        try:
            table = next(tables)
        except StopIteration:
            break
        except (period_arrow._NotPlain, pa.ArrowInvalid):
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
