"""Viva Engage (Yammer) network data export: the zip "Export network data" gives (or the
folder it unzips to), with Messages.csv, Users.csv, Groups.csv and others (ignored).

What becomes an event (docs/ingest.md repeats it):
- each message of Messages.csv is a `post` when it starts its thread (`thread_id` equals
  `id`, or is empty), else a `comment` aimed at the author of the message it replies to
  (`replied_to_id`, or the thread's first message);
- deleted messages still count: posting them happened, on `created_at`;
- messages of private conversations (`in_private_conversation` = true) are private
  activity, not public contribution: a `login`, which makes a visitor;
- the space is the group's name from Groups.csv (`All Company` for messages outside any
  group); the person is the sender's `email` from Users.csv (their Yammer id if it has
  none); the event id is the message id;
- the site is the sender's `location` in Users.csv: reports count people missing from the
  directory at that site (docs/metrics.md), since it describes the person, not the event.
The export has no reads or likes: nobody is a reader or a reactor from it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import DataError
from . import archive, canonical
from .canonical import Batch, ReadContext
from .textio import sniff_text

NAME = "yammer"
BATCH_ROWS = 100_000
NO_GROUP = "All Company"
MESSAGE_COLUMNS = ("id", "sender_id", "created_at")
_FIELDS = (
    "event_id",
    "timestamp",
    "user",
    "event_type",
    "site",
    "space",
    "content_id",
    "target_user",
)
#: `2019/07/08 13:31:14 +0000` and `... UTC`, seen in older exports, as ISO 8601.
_SLASHED = re.compile(
    r"(\d{4})/(\d{2})/(\d{2})[ T](\d{2}:\d{2}:\d{2})(?: ?(UTC|[+-]\d{2}:?\d{2}))?"
)


def sniff(path: Path) -> bool:
    """A zip or folder holding Messages.csv and Users.csv."""
    if not (path.is_dir() or archive.is_zip(path)):
        return False
    try:
        return not missing_columns(path)
    except DataError:
        return False


def is_export_dir(path: Path) -> bool:
    """A folder holding an unzipped network export (Messages.csv and Users.csv at its top):
    read whole, like its zip."""
    if not path.is_dir():
        return False
    names = {p.name.lower() for p in path.iterdir() if p.is_file()}
    return {"messages.csv", "users.csv"} <= names


def explain(path: Path) -> str | None:
    """What a lone Messages.csv of a network export is (None for any other file): it needs
    Users.csv and Groups.csv beside it, so say to ingest the whole export."""
    if path.name.lower() != "messages.csv":
        return None
    try:
        header = sniff_text(path).first_line.lower()
    except (DataError, OSError):
        return None
    if not all(column in header for column in MESSAGE_COLUMNS):
        return None
    return (
        "the Messages.csv of a Viva Engage (Yammer) network export: ingest the whole export "
        "instead, its zip or the folder holding Messages.csv and Users.csv"
    )


def missing_columns(path: Path) -> list[str]:
    if not (path.is_dir() or archive.is_zip(path)):
        raise DataError(f"{path}: not a zip archive or folder")
    with archive.Bundle(path) as bundle:
        return [m for m in ("Messages.csv", "Users.csv") if bundle.find(m) is None]


def _rows(
    bundle: archive.Bundle, basename: str
) -> tuple[str, list[str], Iterator[tuple[int, list[str]]]]:
    """(member, header keys, (line, fields) of each record) of a CSV member; UTF-8 with or
    without BOM, else cp1252."""
    member = bundle.find(basename)
    if member is None:
        return "", [], iter(())
    raw = bundle.read(member)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise DataError(f"{bundle.path}: {member}:1: malformed CSV: {exc}") from None

    def records() -> Iterator[tuple[int, list[str]]]:
        previous_end = reader.line_num
        try:
            for fields in reader:
                start, previous_end = previous_end + 1, reader.line_num
                if fields:
                    yield start, fields
        except csv.Error as exc:
            raise DataError(
                f"{bundle.path}: {member}:{previous_end + 1}: malformed CSV: {exc}"
            ) from None

    return member, [h.replace("\ufeff", "").strip().lower() for h in header], records()


def _table(
    bundle: archive.Bundle, basename: str, key: str, values: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    """`key` column -> the `values` columns, for a small lookup member (Users, Groups)."""
    _, header, records = _rows(bundle, basename)
    if key not in header:
        return {}
    at = header.index(key)
    positions = [header.index(v) if v in header else None for v in values]
    table = {}
    for _, fields in records:
        if len(fields) == len(header) and fields[at].strip():
            table[fields[at].strip()] = tuple(
                fields[p].strip() if p is not None else "" for p in positions
            )
    return table


def iso_timestamp(text: str) -> str:
    """Yammer's `created_at` as ISO 8601 (slashed dates and ` UTC`/`+0000` suffixes
    rewritten; other values passed on for the canonical parser)."""
    match = _SLASHED.fullmatch(text.strip())
    if not match:
        return text
    y, m, d, hms, zone = match.groups()
    if zone is None or zone == "UTC":
        suffix = "Z"
    else:
        suffix = zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    return f"{y}-{m}-{d}T{hms}{suffix}"


def read(path: Path, context: ReadContext) -> Iterator[Batch]:
    """Events of Messages.csv; quarantined: rows of the wrong width, without a sender or an
    id, or whose timestamp cannot be read (line numbers are Messages.csv's)."""
    archive.require_bundle(path, "Viva Engage (Yammer) network export", explain(path))
    with archive.Bundle(path) as bundle:
        if bundle.find("Messages.csv") is None:
            raise DataError(f"{path}: a Viva Engage (Yammer) network export lacks Messages.csv")
        users = _table(bundle, "Users.csv", "id", ("email", "location"))
        groups = _table(bundle, "Groups.csv", "id", ("name",))
        notes = tuple(
            note
            for member, note in (
                ("Users.csv", "no Users.csv: people are keyed by their Yammer id, without site"),
                ("Groups.csv", "no Groups.csv: spaces are named by group id"),
            )
            if bundle.find(member) is None
        )
        member, header, records = _rows(bundle, "Messages.csv")
        missing = [c for c in MESSAGE_COLUMNS if c not in header]
        if missing:
            raise DataError(f"{path}: {member} lacks column(s) {', '.join(missing)}")
        col = {name: header.index(name) for name in header}
        rows = [(line, fields) for line, fields in records]
        sender_of = {
            fields[col["id"]].strip(): fields[col["sender_id"]].strip()
            for _, fields in rows
            if len(fields) == len(header)
        }
        columns: dict[str, list[str | None]] = {f: [] for f in _FIELDS}
        lines: list[int] = []
        raw_text: list[str] = []
        rejects: tuple[list[str], list[int], list[str], list[str]] = ([], [], [], [])
        record = 0

        def cell(fields: list[str], name: str) -> str:
            return fields[col[name]].strip() if name in col else ""

        def flush() -> Batch:
            nonlocal record
            n = len(lines)
            arrays = {f: pa.array(v, pa.string()) for f, v in columns.items()}
            converted = canonical.to_events(arrays, n, record, context, NAME)
            for index, reason in converted.reject_records:
                rejects[0].append(f"{path.name}:{member}")
                rejects[1].append(lines[index - record])
                rejects[2].append(reason)
                rejects[3].append(raw_text[index - record])
            record += n
            for values in columns.values():
                values.clear()
            lines.clear()
            raw_text.clear()
            return Batch(events=converted.events)

        for line, fields in rows:
            if len(fields) != len(header):
                rejects[0].append(f"{path.name}:{member}")
                rejects[1].append(line)
                rejects[2].append(f"expected {len(header)} columns, found {len(fields)}")
                rejects[3].append(",".join(fields)[:2000])
                continue
            _add_message(fields, cell, users, groups, sender_of, columns)
            lines.append(line)
            raw_text.append(",".join(fields)[:2000])
            if len(lines) >= BATCH_ROWS:
                yield flush()
        if lines:
            yield flush()
        yield Batch(rejects=canonical.rejects_table(*rejects) if rejects[0] else None, notes=notes)


def _add_message(
    fields: list[str],
    cell: Any,
    users: dict[str, tuple[str, ...]],
    groups: dict[str, tuple[str, ...]],
    sender_of: dict[str, str],
    columns: dict[str, list[str | None]],
) -> None:
    message_id, sender = cell(fields, "id"), cell(fields, "sender_id")
    thread = cell(fields, "thread_id") or message_id
    private = cell(fields, "in_private_conversation").lower() in ("true", "1", "yes")
    is_reply = thread != message_id
    replied_to = cell(fields, "replied_to_id") or (thread if is_reply else "")
    target = sender_of.get(replied_to) if is_reply else None
    email, location = users.get(sender, ("", ""))
    target_email = users.get(target, ("",))[0] if target else ""
    group = cell(fields, "group_id")
    columns["event_id"].append(message_id or None)
    columns["timestamp"].append(iso_timestamp(cell(fields, "created_at")))
    columns["user"].append(email or sender or None)
    columns["event_type"].append("login" if private else ("comment" if is_reply else "post"))
    columns["site"].append(location or None)
    columns["space"].append(groups.get(group, (group,))[0] if group else NO_GROUP)
    columns["content_id"].append(thread or None)
    columns["target_user"].append((target_email or target) if target and target != sender else None)
