"""Opening text exports as people download them: gzip or not, BOM or not, `,` or `;`.

Encoding is decided in a fixed order — UTF-8 byte-order mark, then strict UTF-8, then
cp1252 (what Excel writes on French Windows) — because guessing libraries mislabel short
French files. The decision is taken on the first SAMPLE_BYTES; a reader that later meets
invalid UTF-8 retries the whole file as cp1252 (see `EncodingMismatch`).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from ..errors import DataError, NoInputError

SAMPLE_BYTES = 1 << 20
DELIMITERS = (",", ";", "\t", "|")
T = TypeVar("T")


class EncodingMismatch(Exception):
    """Raised by a reader when bytes past the sample are not valid in the chosen encoding."""


@dataclass(frozen=True)
class TextInfo:
    """What a sniff learned about a text file: encoding (a Python codec name), whether it
    is gzip-compressed, and the first line (the header, BOM removed)."""

    encoding: str
    gzip: bool
    first_line: str


def is_gzip(path: Path) -> bool:
    return path.suffix.lower() == ".gz"


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes, decompressed if it is a .gz file."""
    try:
        if is_gzip(path):
            return gzip.open(path, "rb")  # type: ignore[return-value]
        return open(path, "rb")
    except FileNotFoundError:
        raise NoInputError(f"{path}: no such file") from None
    except PermissionError:
        raise NoInputError(f"{path}: permission denied") from None


def read_sample(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    try:
        with open_binary(path) as f:
            return f.read(size)
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: cannot be read: {exc}") from None


def detect_encoding(sample: bytes, *, complete: bool) -> str:
    """BOM, then strict UTF-8, then cp1252. `complete` says the sample is the whole file
    (otherwise a multi-byte character cut at the sample's end is not an error)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def sniff_text(path: Path) -> TextInfo:
    """Encoding and header line of a text export, reading at most SAMPLE_BYTES."""
    sample = read_sample(path)
    encoding = detect_encoding(sample, complete=len(sample) < SAMPLE_BYTES)
    text = sample.decode(encoding, errors="replace")
    first_line = text.split("\n", 1)[0].rstrip("\r")
    return TextInfo(encoding=encoding, gzip=is_gzip(path), first_line=first_line)


def split_line(line: str, delimiter: str) -> list[str]:
    """The fields of one CSV line (a header, typically). Never raises: a line the csv
    module rejects (a stray carriage return, say) is split on the delimiter."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return line.split(delimiter)


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most fields (`,` on a tie)."""
    best, best_count = ",", 0
    for delim in DELIMITERS:
        count = len(split_line(header_line, delim))
        if count > best_count:
            best, best_count = delim, count
    return best


def normalise_header(name: str) -> str:
    return name.replace("\ufeff", "").strip().strip('"').strip().lower()


def match_columns(
    headers: list[str], aliases: dict[str, tuple[str, ...]]
) -> tuple[dict[str, int], list[str]]:
    """Map canonical fields to header positions. Returns (found, missing canonical fields)."""
    normalised = [normalise_header(h) for h in headers]
    found: dict[str, int] = {}
    for canonical, names in aliases.items():
        for name in names:
            if name in normalised:
                index = normalised.index(name)
                if index not in found.values():
                    found[canonical] = index
                    break
    missing = [c for c in aliases if c not in found]
    return found, missing


#: Longest physical line read through Python (CSV second pass, Microsoft 365 reports,
#: JSON Lines). Real exports have lines of a few KiB; a longer one is a corrupt file, and
#: reading it whole (a 2 GB line) would cost gigabytes of memory.
MAX_LINE_BYTES = 16 << 20


def bounded_lines(raw: BinaryIO, path: Path, limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The physical lines of `raw` (with their line ending), each at most `limit` bytes:
    DataError naming the file and line otherwise."""
    line_no = 0
    while True:
        line = raw.readline(limit + 1)
        if not line:
            return
        line_no += 1
        if len(line) > limit and not line.endswith(b"\n"):
            raise DataError(
                f"{path}:{line_no}: line longer than {limit >> 20} MiB: not an export "
                "(a corrupt file?)"
            )
        yield line


def iter_csv_records(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Every CSV record with the physical line number (1-based) it starts on.

    Blank lines are skipped, as the fast reader skips them, so record positions agree.
    Lines longer than MAX_LINE_BYTES are a DataError (see bounded_lines).
    """
    with open_binary(path) as raw:
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        text = (decoder.decode(line) for line in bounded_lines(raw, path))
        reader = csv.reader(text, delimiter=delimiter)
        previous_end = 0
        try:
            for fields in reader:
                start = previous_end + 1
                previous_end = reader.line_num
                if not fields:
                    continue
                yield start, fields
        except csv.Error as exc:
            raise DataError(f"{path}:{previous_end + 1}: malformed CSV: {exc}") from None


def prefetched(items: Iterator[T], depth: int) -> Generator[T, None, None]:
    """The items of `items`, produced in a thread up to `depth` ahead of the consumer.

    For a producer that releases the GIL (pyarrow's CSV parser, zlib): parsing the next
    batch overlaps converting this one. An exception in the producer is raised here, at the
    item where it happened; closing this generator early stops the producer, whatever it
    was doing (waiting for room, or about to hand over its last item or its error)."""
    slots: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(entry: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                slots.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over((True, item)):
                    return
            hand_over((False, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            hand_over((False, exc))

    producer = threading.Thread(target=produce, name="prefetch", daemon=True)
    producer.start()
    try:
        while True:
            more, item = slots.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        producer.join()
