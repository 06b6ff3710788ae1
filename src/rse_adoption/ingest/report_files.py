"""The headers and records of activity-report files (CSV, or Microsoft Graph's JSON): what
the period readers (periods.py) and the recognition of other Microsoft 365 reports
(m365_reports.py) both read, cheaply and once per file version."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from ..errors import DataError
from .textio import open_binary, read_sample, sniff_delimiter, sniff_text, split_line

#: Refuse a JSON report larger than this (it is read whole; real ones are a few MB).
MAX_JSON_BYTES = 1 << 30


def header_key(name: str) -> str:
    """Headers compare without case, blanks or punctuation: `Posted Count`, `postedCount`
    and `posted_count` are one name."""
    return re.sub(r"[^0-9a-z]", "", name.replace("\ufeff", "").lower())


def is_json(path: Path) -> bool:
    return path.name.lower().removesuffix(".gz").endswith(".json") and read_sample(
        path, 4096
    ).lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"["))


def json_records(path: Path) -> list[dict[str, Any]]:
    """The objects of a Graph JSON report: `{"value": [...]}` (one page) or a bare list."""
    if not path.name.lower().endswith(".gz") and path.stat().st_size > MAX_JSON_BYTES:
        raise DataError(f"{path}: JSON report larger than {MAX_JSON_BYTES >> 20} MiB")
    with open_binary(path) as f:
        raw = f.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise DataError(f"{path}: JSON report larger than {MAX_JSON_BYTES >> 20} MiB")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON: {exc}") from None
    if isinstance(data, dict):
        data = data.get("value")
    if not isinstance(data, list):
        raise DataError(f'{path}: a JSON report holds a list under "value"')
    return data


def headers_of(path: Path) -> list[str]:
    """CSV header names, or the keys of a JSON report's first object. Every activity-count
    format asks during detection: the answer is read once per file version."""
    stat = path.stat()
    return list(_headers(path, stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=64)
def _headers(path: Path, size: int, mtime_ns: int) -> tuple[str, ...]:
    return tuple(_read_headers(path))


def _read_headers(path: Path) -> list[str]:
    if is_json(path):
        try:
            records = json_records(path)
        except DataError:
            return []
        first = records[0] if records and isinstance(records[0], dict) else {}
        return [str(k) for k in first]
    info = sniff_text(path)
    return split_line(info.first_line, sniff_delimiter(info.first_line))
