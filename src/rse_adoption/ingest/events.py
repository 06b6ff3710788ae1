"""Generic event files (CSV or JSON Lines, optionally .gz) in the project's own columns.

A file is ours when its header names a timestamp, a person and an event type under any of
the aliases in schema.EVENT_COLUMN_ALIASES. CSV is parsed by pyarrow's streaming reader
(the fast path, all columns as text, empty fields as null); the per-row meaning — person
keys, timestamp formats, event-type aliases — is computed by canonical.to_events over each
Arrow batch. Rows that
cannot become events are quarantined with their physical line number, found by a second,
slower pass over the file only when there is something to quarantine.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import DataError
from ..schema import EVENT_COLUMN_ALIASES
from . import canonical
from .canonical import Batch, ReadContext
from .textio import (
    EncodingMismatch,
    bounded_lines,
    iter_csv_records,
    match_columns,
    open_binary,
    prefetched,
    read_sample,
    sniff_delimiter,
    sniff_text,
    split_line,
)

NAME = "events"
REQUIRED = ("timestamp", "user", "event_type")
# Small read blocks keep the streaming reader's read-ahead (and so peak memory) small;
# blocks are then grouped so that each conversion sees enough rows to be efficient (person
# keys are looked up once per distinct identifier per batch).
CSV_BLOCK_BYTES = 1 << 20
TRANSFORM_ROWS = 200_000
JSONL_BATCH_ROWS = 100_000
#: Raw tables parsed ahead of the conversion (in a thread; see textio.prefetched).
READ_AHEAD = 2


def _is_jsonl(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson")):
        return True
    if name.endswith(".json"):
        return read_sample(path, 1).startswith(b"{")
    return False


def _jsonl_first_keys(path: Path) -> list[str]:
    sample = read_sample(path, 65536).decode("utf-8-sig", errors="replace")
    first = sample.split("\n", 1)[0]
    try:
        obj = json.loads(first)
    except ValueError:
        return []
    return list(obj) if isinstance(obj, dict) else []


def headers_of(path: Path) -> list[str]:
    """The header names of a CSV or the keys of the first JSON Lines object."""
    if _is_jsonl(path):
        return _jsonl_first_keys(path)
    info = sniff_text(path)
    delimiter = sniff_delimiter(info.first_line)
    return split_line(info.first_line, delimiter)


def missing_columns(path: Path) -> list[str]:
    """Canonical columns this format needs that the file's header lacks."""
    _, missing = match_columns(headers_of(path), EVENT_COLUMN_ALIASES)
    return [m for m in REQUIRED if m in missing]


def sniff(path: Path) -> bool:
    """A CSV or JSON Lines file naming at least a timestamp, a person and an event type."""
    try:
        return not missing_columns(path)
    except (DataError, OSError, UnicodeError):
        return False


@dataclass(frozen=True)
class ReadSpec:
    """How to read one kind of event file: the format's name (recorded as
    `source_format`), header aliases per canonical field, and what a mapping file adds —
    event-type values, strptime formats, a forced delimiter."""

    name: str = NAME
    aliases: dict[str, tuple[str, ...]] = field(default_factory=lambda: EVENT_COLUMN_ALIASES)
    event_types: dict[str, str] | None = None
    timestamp_formats: list[str] | None = None
    delimiter: str | None = None

    def convert(
        self, columns: dict[str, Any], rows: int, record: int, context: ReadContext
    ) -> canonical.Converted:
        return canonical.to_events(
            columns,
            rows,
            record,
            context,
            self.name,
            event_type_map=self.event_types,
            timestamp_formats=self.timestamp_formats,
        )


def read(path: Path, context: ReadContext) -> Iterator[Batch]:
    """Canonical batches of the file; the last batch carries every quarantined row."""
    return read_with(path, context, ReadSpec())


def read_with(path: Path, context: ReadContext, spec: ReadSpec) -> Iterator[Batch]:
    """Canonical batches of an event file read as `spec` says."""
    if _is_jsonl(path):
        yield from _read_jsonl(path, context, spec)
        return
    info = sniff_text(path)
    yield from _read_csv(path, context, context.encoding or info.encoding, info.first_line, spec)


def _read_csv(
    path: Path, context: ReadContext, encoding: str, first_line: str, spec: ReadSpec
) -> Iterator[Batch]:
    delimiter = spec.delimiter or sniff_delimiter(first_line)
    headers = split_line(first_line, delimiter)
    positions, _ = match_columns(headers, spec.aliases)
    header_names = [f"c{i}" for i in range(len(headers))]
    invalid_rows = 0

    def on_invalid(row: pacsv.InvalidRow) -> str:
        nonlocal invalid_rows
        invalid_rows += 1
        return "skip"

    arrow_encoding = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
    stream = open_binary(path)
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                column_names=header_names,
                skip_rows=1,
                encoding=arrow_encoding,
                block_size=CSV_BLOCK_BYTES,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header_names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        record = 0
        reject_records: list[tuple[int, str]] = []
        raws = prefetched(_grouped(_batches(reader), TRANSFORM_ROWS), READ_AHEAD)
        with contextlib.closing(raws):  # the parser stops before the stream closes
            for raw in raws:
                columns = {name: raw.column(index) for name, index in positions.items()}
                batch = spec.convert(columns, raw.num_rows, record, context)
                record += raw.num_rows
                reject_records.extend(batch.reject_records)
                yield Batch(events=batch.events, ignored=batch.ignored)
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "utf8" in message.lower() or "utf-8" in message.lower():
            if encoding == "cp1252":
                raise DataError(f"{path}: cannot be decoded as UTF-8 or cp1252") from None
            raise EncodingMismatch(message) from None
        if "straddl" in message:  # one record longer than a read block
            raise DataError(
                f"{path}: a record longer than {CSV_BLOCK_BYTES >> 20} MiB: not an export "
                "(a corrupt file?)"
            ) from None
        raise DataError(f"{path}: not a readable CSV file: {message.splitlines()[0]}") from None
    finally:
        stream.close()
    if reject_records or invalid_rows:
        yield Batch(
            rejects=_locate_rejects(path, encoding, delimiter, len(headers), reject_records)
        )


def _grouped(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Consecutive batches joined into tables of at least `rows` rows (the last may be
    smaller), in file order."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(pending)
            pending, count = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _batches(reader: pacsv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        yield batch


def _locate_rejects(
    path: Path,
    encoding: str,
    delimiter: str,
    width: int,
    reject_records: list[tuple[int, str]],
) -> pa.Table:
    """Physical line numbers of rejected records, and the rows of the wrong width.

    `reject_records` are (index among well-formed records, reason). The second pass reads
    the file with Python's csv module, which reports the line each record starts on.
    """
    wanted = dict(reject_records)
    files, lines, reasons, raws = [], [], [], []
    good_index = 0
    records = iter_csv_records(path, encoding, delimiter)
    next(records, None)  # header
    for line, fields in records:
        if len(fields) != width:
            reason = f"expected {width} columns, found {len(fields)}"
        else:
            reason = wanted.get(good_index)  # type: ignore[assignment]
            good_index += 1
            if reason is None:
                continue
        files.append(path.name)
        lines.append(line)
        reasons.append(reason)
        raws.append(delimiter.join(fields)[:2000])
    return canonical.rejects_table(files, lines, reasons, raws)


def _read_jsonl(path: Path, context: ReadContext, spec: ReadSpec) -> Iterator[Batch]:
    """JSON Lines: one object per physical line, so line numbers are exact in one pass."""
    fields = list(spec.aliases)
    bad_lines: list[int] = []
    bad_reasons: list[str] = []
    bad_raw: list[str] = []
    buffer: dict[str, list[str | None]] = {f: [] for f in fields}
    buffer_lines: list[int] = []
    buffer_text: list[str] = []
    key_names: dict[str, str] = {}
    record = 0

    def flush() -> Batch:
        nonlocal record
        n = len(buffer_lines)
        columns = {f: pa.array(buffer[f], pa.string()) for f in key_names}
        batch = spec.convert(columns, n, record, context)
        for index, reason in batch.reject_records:
            bad_lines.append(buffer_lines[index - record])
            bad_reasons.append(reason)
            bad_raw.append(buffer_text[index - record][:2000])
        record += n
        for values in buffer.values():
            values.clear()
        buffer_lines.clear()
        buffer_text.clear()
        return Batch(events=batch.events, ignored=batch.ignored)

    encoding = context.encoding or "utf-8"
    with open_binary(path) as raw:
        for line_no, line in enumerate(bounded_lines(raw, path), start=1):
            try:
                text = line.decode(encoding).strip().lstrip("\ufeff")
            except UnicodeDecodeError:
                if encoding == "cp1252":
                    raise DataError(
                        f"{path}:{line_no}: cannot be decoded as UTF-8 or cp1252"
                    ) from None
                raise EncodingMismatch(f"{path}:{line_no}: invalid UTF-8") from None
            if not text:
                continue
            try:
                obj = json.loads(text)
                problem = None if isinstance(obj, dict) else "not a JSON object"
            except ValueError as exc:
                problem = f"invalid JSON: {getattr(exc, 'msg', exc)}"
            if problem is not None:
                bad_lines.append(line_no)
                bad_reasons.append(problem)
                bad_raw.append(text[:2000])
                continue
            if not key_names:
                names = list(obj)
                found, _ = match_columns(names, spec.aliases)
                key_names = {f: names[i] for f, i in found.items()}
            for f, name in key_names.items():
                buffer[f].append(_json_scalar(obj.get(name)))
            buffer_lines.append(line_no)
            buffer_text.append(text)
            if len(buffer_lines) >= JSONL_BATCH_ROWS:
                yield flush()
    if buffer_lines:
        yield flush()
    if bad_lines:
        order = sorted(range(len(bad_lines)), key=bad_lines.__getitem__)
        yield Batch(
            rejects=canonical.rejects_table(
                [path.name] * len(order),
                [bad_lines[i] for i in order],
                [bad_reasons[i] for i in order],
                [bad_raw[i] for i in order],
            )
        )


def _json_scalar(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)
