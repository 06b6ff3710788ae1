"""The formats ingest knows, and how a file is matched to one.

Each format is a module of this package satisfying `Format`: `NAME`, `sniff(path)` (is this
file mine? cheaply, from its header or layout), `missing_columns(path)` (what it lacks to
be mine) and `read(path, context)` (canonical batches and rejected rows). FORMATS lists
them in the order detection asks them; the first whose `sniff` says yes wins, and a file
none recognises gets `closest_format`'s explanation. A new format is one module and one
line here; the CLI's `--format` choices are FORMATS' names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from ..errors import RseError
from . import (
    FORMAT_NAMES,
    events,
    m365_reports,
    mapped,
    slack_analytics,
    slack_export,
    slack_member_days,
    teams,
    viva_engage,
    yammer_export,
)
from .canonical import Batch, ReadContext
from .mapped import Mapping
from .textio import read_sample


class Format(Protocol):
    """What every reader module provides (mypy checks each one registered below)."""

    NAME: str

    def sniff(self, path: Path) -> bool: ...

    def missing_columns(self, path: Path) -> list[str]: ...

    def read(self, path: Path, context: ReadContext) -> Iterator[Batch]: ...


class BundleFormat(Format, Protocol):
    """A format whose export is a zip or the folder it unzips to: `is_export_dir` says,
    cheaply, whether a folder is one (then read whole rather than file by file)."""

    def is_export_dir(self, folder: Path) -> bool: ...


#: Every format, in the order detection asks them: specific layouts first, the generic
#: event files last.
FORMATS: dict[str, Format] = {
    module.NAME: module
    for module in (
        slack_export,
        yammer_export,
        viva_engage,
        teams,
        slack_analytics,
        slack_member_days,
        events,
        mapped,
    )
}
if tuple(FORMATS) != FORMAT_NAMES:  # the CLI's --format choices come from FORMAT_NAMES
    raise ImportError(f"ingest formats {tuple(FORMATS)} differ from FORMAT_NAMES {FORMAT_NAMES}")
#: Formats whose export is a zip or the folder it unzips to: each says, cheaply, whether a
#: folder is one (`is_export_dir`), which is then read whole rather than file by file.
BUNDLE_FORMATS: tuple[BundleFormat, ...] = (slack_export, yammer_export)
#: The first bytes of files people drop into an exports folder that are no export at all.
_NOT_EXPORTS: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF, not a CSV export: download the report as CSV instead"),
    (
        b"\xd0\xcf\x11\xe0",
        "an Excel 97-2003 workbook (.xls), not a CSV export: save it as CSV (UTF-8) first",
    ),
    (b"{\\rtf", "a Rich Text document, not a CSV export"),
    (b"\x89PNG", "a PNG image, not an export"),
    (b"\xff\xd8\xff", "a JPEG image, not an export"),
)
_SLACK_API_RESPONSE = re.compile(rb'^\s*\{\s*"ok"\s*:\s*true\s*,.*"messages"\s*:\s*\[', re.S)


def what_file_is(path: Path) -> str | None:
    """What a file is when it is plainly no export (empty, a PDF, a spreadsheet, an image,
    Slack Web API messages, an employee directory, a mapping file), or an export a mapping
    beside it reads; None otherwise."""
    if not path.is_file():
        return None
    known = _directory_or_mapping(path)
    if known:
        return known
    try:
        head = read_sample(path, 4096)
    except RseError:
        return None
    if not head.removeprefix(b"\xef\xbb\xbf").strip():
        return "empty file (no header, no rows)"
    for magic, what in _NOT_EXPORTS:
        if head.startswith(magic):
            return what
    if head.startswith(b"PK\x03\x04") and b"[Content_Types].xml" in head and b"xl/" in head:
        return "an Excel workbook (.xlsx), not a CSV export: save it as CSV (UTF-8) first"
    if _SLACK_API_RESPONSE.match(head) or slack_export.holds_messages(head):
        return (
            "Slack Web API messages (a conversations.history response or a dump of one), not "
            "a workspace export: pull them with `rse-adoption fetch slack`, or ingest the "
            "workspace's export zip"
        )
    return None


#: The start of what `_directory_or_mapping` says of the files an ingest folder may hold
#: besides exports: the pipeline does not keep them as files to deal with.
NOT_AN_EXPORT = ("an employee directory", "a mapping file")


def _directory_or_mapping(path: Path) -> str | None:
    """An employee directory, a mapping file, or a CSV that a mapping file beside it reads."""
    from ..schema import DIRECTORY_COLUMN_ALIASES
    from .textio import match_columns, sniff_delimiter, sniff_text, split_line

    if path.suffix.lower() == ".toml":
        try:
            mapped.load_mapping(path)
        except (RseError, OSError, ValueError):
            return None
        return f"a mapping file: pass it as `--mapping {path}` to ingest the files it describes"
    try:
        info = sniff_text(path)
    except (RseError, OSError):
        return None
    headers = split_line(info.first_line, sniff_delimiter(info.first_line))
    found, _ = match_columns(headers, DIRECTORY_COLUMN_ALIASES)
    if "site" in found and {"user_id", "email"} & found.keys() and len(found) >= 2:
        if not any(h.strip().lower() in ("timestamp", "date", "event_type") for h in headers):
            return (
                "an employee directory, not an export: load it with "
                f"`rse-adoption directory {path}`"
            )
    for candidate in sorted(path.parent.glob("*.toml")):
        try:
            if mapped.sniff_mapped(path, mapped.load_mapping(candidate)):
                return f"read by the mapping beside it: ingest it with `--mapping {candidate}`"
        except (RseError, OSError, ValueError):
            continue
    return None


#: Files recognisably from a platform but not readable by any format (a Microsoft 365
#: report that is not per-person network activity, one day or one table of an export):
#: each explainer names what the file is and what to ingest instead, or returns None.
EXPLAINERS: tuple[Callable[[Path], str | None], ...] = (
    m365_reports.explain,
    slack_export.explain,
    yammer_export.explain,
)


@dataclass(frozen=True)
class DailyReport:
    """A one-day Microsoft 365 report a fetcher downloaded (fetch/m365.py), read like a
    file ingested by hand except that: its rows are the period of one day ending on `day`
    (ReadContext.day); it replaces that day's rows whole (Microsoft revises recent days);
    the fetcher decides whether it is new (the same bytes can be two empty days, so the
    content hash alone says nothing); concealed names refuse it (ConcealedNamesError,
    nothing stored); and `provenance` (report, day, refresh date...) goes into its ledger
    entry."""

    day: date
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadOptions:
    """What the user told ingest about the files: a forced format ("auto" to detect), the
    period of activity-count exports that do not state it, a column mapping, and whether
    they are a fetcher's one-day report or another fetcher's download (`fetched`: its
    provenance, for the ledger)."""

    format_name: str = "auto"
    period_end: date | None = None
    period_days: int | None = None
    mapping: Mapping | None = None
    daily: DailyReport | None = None
    fetched: dict[str, Any] | None = None


def detect(path: Path, options: ReadOptions | None = None) -> Format | None:
    """The first format that recognises the file, or None. A `--mapping` file is asked
    first: the user wrote it for their files."""
    if (
        options is not None
        and options.mapping is not None
        and mapped.sniff_mapped(path, options.mapping)
    ):
        return mapped
    for module in FORMATS.values():
        if module.sniff(path):
            return module
    return None


def closest_format(path: Path) -> str:
    """Why no format matched: what the file is when an explainer recognises it (EXPLAINERS),
    else the format missing the fewest columns, and those columns."""
    for explain in EXPLAINERS:
        known = explain(path)
        if known:
            return known
    plainly = what_file_is(path)
    if plainly:
        return plainly
    best: tuple[int, str, list[str]] | None = None
    for name, module in FORMATS.items():
        try:
            missing = module.missing_columns(path)
        except (RseError, OSError, UnicodeError, ValueError):
            continue
        if best is None or len(missing) < best[0]:
            best = (len(missing), name, missing)
    if best is None:
        return "not a recognised export (unreadable as CSV or JSON Lines)"
    return f"closest format '{best[1]}' lacks column(s): {', '.join(best[2])}"
