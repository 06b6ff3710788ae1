"""Any other CSV or JSON Lines export (Talkspirit, LumApps, Workplace, Jive...), read
through a mapping file the user writes once (`ingest --mapping map.toml`).

The mapping names the source column of each canonical field, the source values of each
event type, and optionally the timestamps' strptime format and time zone, the delimiter
and a file-name pattern. Files whose header holds every mapped column of `timestamp`,
`user` and `event_type` are read as format `mapped`; the rows then go through the same
canonical transform as generic event files (keys, quarantine, de-duplication). The
format is documented with a worked example in docs/ingest.md.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError, DataError
from ..schema import EVENT_COLUMN_ALIASES, EVENT_TYPES
from . import events
from .canonical import IGNORE, Batch, ReadContext
from .textio import match_columns, normalise_header

NAME = "mapped"
REQUIRED = ("timestamp", "user", "event_type")
_DELIMITERS = {",": ",", ";": ";", "tab": "\t", "\\t": "\t", "\t": "\t", "|": "|"}


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file. `columns`: canonical field -> source header; `event_types`:
    lower-cased source value -> canonical type or "ignore"; `timestamp_formats`: strptime
    formats tried in order (none: the generic formats); `timezone` of timestamps without
    offset (None: the run's); `delimiter` (None: sniffed); `files`: glob patterns of the
    file names it applies to (empty: any file whose header fits)."""

    path: Path
    columns: dict[str, str]
    event_types: dict[str, str]
    timestamp_formats: tuple[str, ...] = ()
    timezone: str | None = None
    delimiter: str | None = None
    files: tuple[str, ...] = ()

    def spec(self) -> events.ReadSpec:
        return events.ReadSpec(
            name=NAME,
            aliases={f: (normalise_header(h),) for f, h in self.columns.items()},
            event_types=self.event_types,
            timestamp_formats=list(self.timestamp_formats) or None,
            delimiter=self.delimiter,
        )


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; a ConfigError (exit 78) names the key at fault."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the mapping file: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid TOML mapping file: {exc}") from None

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{path}: {key}: {problem}")

    known = {"columns", "event_types", "timestamps", "file"}
    for key in data:
        if key not in known:
            raise fail(key, f"unknown section; known: {', '.join(sorted(known))}")
    columns = data.get("columns")
    if not isinstance(columns, dict):
        raise fail("columns", "missing: a [columns] table naming the source column of each field")
    for field_name, header in columns.items():
        if field_name not in EVENT_COLUMN_ALIASES:
            raise fail(
                f"columns.{field_name}",
                f"unknown field; known: {', '.join(EVENT_COLUMN_ALIASES)}",
            )
        if not isinstance(header, str) or not header.strip():
            raise fail(f"columns.{field_name}", "must be the source column's name")
    for needed in REQUIRED:
        if needed not in columns:
            raise fail(f"columns.{needed}", "missing (timestamp, user and event_type are required)")
    event_types: dict[str, str] = {}
    for value, kind in (data.get("event_types") or {}).items():
        if not isinstance(kind, str) or kind.lower() not in (*EVENT_TYPES, IGNORE):
            raise fail(
                f"event_types.{value!r}",
                f"must be one of {', '.join(EVENT_TYPES)} or {IGNORE}, not {kind!r}",
            )
        event_types[value.strip().lower()] = kind.lower()
    stamps = data.get("timestamps") or {}
    formats = stamps.get("format", ())
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    for fmt in formats:
        if not isinstance(fmt, str) or "%" not in fmt:
            raise fail(
                "timestamps.format", f"{fmt!r} is not a strptime format such as %d/%m/%Y %H:%M"
            )
    timezone = stamps.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            raise fail("timestamps.timezone", f"unknown time zone {timezone!r}") from None
    file_section: dict[str, Any] = data.get("file") or {}
    delimiter = file_section.get("delimiter")
    if delimiter is not None and delimiter not in _DELIMITERS:
        raise fail("file.delimiter", "must be one of , ; tab |")
    patterns = file_section.get("names", ())
    patterns = (patterns,) if isinstance(patterns, str) else tuple(patterns)
    return Mapping(
        path=path,
        columns={f: h.strip() for f, h in columns.items()},
        event_types=event_types,
        timestamp_formats=formats,
        timezone=str(timezone) if timezone else None,
        delimiter=_DELIMITERS[delimiter] if delimiter else None,
        files=patterns,
    )


def _missing(path: Path, mapping: Mapping) -> list[str]:
    headers = events.headers_of(path)
    if mapping.delimiter and len(headers) <= 1:
        from .textio import sniff_text, split_line

        headers = split_line(sniff_text(path).first_line, mapping.delimiter)
    _, missing = match_columns(headers, mapping.spec().aliases)
    return [mapping.columns[f] for f in missing]


def sniff_mapped(path: Path, mapping: Mapping) -> bool:
    """The file's name fits the mapping's patterns (if any) and its header holds every
    mapped column."""
    if mapping.files and not any(fnmatch.fnmatch(path.name, p) for p in mapping.files):
        return False
    try:
        return not _missing(path, mapping)
    except (DataError, OSError, UnicodeError):
        return False


def sniff(path: Path) -> bool:
    """Never by itself: the format exists only with a mapping (see detect())."""
    return False


def missing_columns(path: Path) -> list[str]:
    """Not a candidate for "closest format": the columns are the mapping's, not ours."""
    raise DataError(f"{path}: format 'mapped' has no columns of its own (see --mapping)")


def read(path: Path, context: ReadContext) -> Iterator[Batch]:
    """The file read through `context.mapping`, in the mapping's time zone if it has one."""
    mapping: Mapping | None = context.mapping
    if mapping is None:
        raise DataError(f"{path}: format 'mapped' needs --mapping FILE")
    missing = _missing(path, mapping)
    if missing:
        raise DataError(
            f"{path}: lacks the column(s) {', '.join(missing)} named by {mapping.path.name}"
        )
    con = context.con
    previous = con.execute("SELECT current_setting('TimeZone')").fetchall()[0][0]
    if mapping.timezone:
        con.execute("SET TimeZone = ?", [mapping.timezone]).fetchall()
    try:
        yield from events.read_with(path, context, mapping.spec())
    finally:
        con.execute("SET TimeZone = ?", [previous]).fetchall()
