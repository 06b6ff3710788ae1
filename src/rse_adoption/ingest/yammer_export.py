"""Viva Engage (Yammer) network data export: the zip "Export network data" gives (or the
folder it unzips to), with Messages.csv, Users.csv, Groups.csv and others (ignored).

What becomes an event (docs/ingest.md repeats it):
- each message of Messages.csv is a `post` when it starts its thread (`thread_id` equals
  `id`, or is empty), else a `comment` aimed at the author of the message it replies to
  (`replied_to_id`, or the thread's first message): found in the export, else among the
  events the store holds from earlier exports (their event ids are message ids, their
  person the author), else nobody — a comment without target, counted in the file's
  result (`replies_without_target`) and said in a note;
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
import pyarrow.compute as pc

from ..errors import DataError
from ..messages import plural_message
from ..schema import EVENT_SCHEMA
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


def _people_and_groups(
    bundle: archive.Bundle,
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]], tuple[str, ...]]:
    """Users.csv's e-mail and location and Groups.csv's name by id, and a note for each
    of the two files the export lacks."""
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
    return users, groups, notes


def _messages(
    bundle: archive.Bundle, path: Path
) -> tuple[str, list[str], list[tuple[int, list[str]]]]:
    """(Messages.csv's name in the bundle, its header, its rows with their line numbers);
    a DataError naming the columns events need that it lacks."""
    member, header, records = _rows(bundle, "Messages.csv")
    missing = [c for c in MESSAGE_COLUMNS if c not in header]
    if missing:
        raise DataError(f"{path}: {member} lacks column(s) {', '.join(missing)}")
    return member, header, [(line, fields) for line, fields in records]


def read(path: Path, context: ReadContext) -> Iterator[Batch]:
    """Events of Messages.csv; quarantined: rows of the wrong width, without a sender or an
    id, or whose timestamp cannot be read (line numbers are Messages.csv's)."""
    archive.require_bundle(path, "Viva Engage (Yammer) network export", explain(path))
    with archive.Bundle(path) as bundle:
        if bundle.find("Messages.csv") is None:
            raise DataError(f"{path}: a Viva Engage (Yammer) network export lacks Messages.csv")
        users, groups, notes = _people_and_groups(bundle)
        member, header, rows = _messages(bundle, path)
        col = {name: header.index(name) for name in header}
        sender_of = {
            fields[col["id"]].strip(): fields[col["sender_id"]].strip()
            for _, fields in rows
            if len(fields) == len(header)
        }

        def cell(fields: list[str], name: str) -> str:
            return fields[col[name]].strip() if name in col else ""

        elsewhere = {
            parent
            for _, fields in rows
            if len(fields) == len(header)
            and (parent := _replied_to(fields, cell))
            and parent not in sender_of
        }
        stored = stored_authors(context, elsewhere)
        columns: dict[str, list[str | None]] = {f: [] for f in _FIELDS}
        #: Per row of the batch: the key of its replied-to message's author when the store
        #: gave it, and whether a reply's author is known nowhere.
        stored_target: list[int | None] = []
        unknown: list[bool] = []
        lines: list[int] = []
        raw_text: list[str] = []
        rejects: tuple[list[str], list[int], list[str], list[str]] = ([], [], [], [])
        record = 0
        without_target = 0

        def flush() -> Batch:
            nonlocal record, without_target
            n = len(lines)
            arrays = {f: pa.array(v, pa.string()) for f, v in columns.items()}
            converted = canonical.to_events(arrays, n, record, context, NAME)
            for index, reason in converted.reject_records:
                rejects[0].append(f"{path.name}:{member}")
                rejects[1].append(lines[index - record])
                rejects[2].append(reason)
                rejects[3].append(raw_text[index - record])
            events, orphans = _with_stored_targets(converted.events, record, stored_target, unknown)
            without_target += orphans
            record += n
            for values in columns.values():
                values.clear()
            for aligned in (lines, raw_text, stored_target, unknown):
                aligned.clear()
            return Batch(events=events)

        for line, fields in rows:
            if len(fields) != len(header):
                rejects[0].append(f"{path.name}:{member}")
                rejects[1].append(line)
                rejects[2].append(f"expected {len(header)} columns, found {len(fields)}")
                rejects[3].append(",".join(fields)[:2000])
                continue
            _add_message(fields, cell, users, groups, sender_of, columns)
            parent = _replied_to(fields, cell)
            stored_target.append(stored.get(parent) if parent else None)
            unknown.append(bool(parent) and parent not in sender_of and parent not in stored)
            lines.append(line)
            raw_text.append(",".join(fields)[:2000])
            if len(lines) >= BATCH_ROWS:
                yield flush()
        if lines:
            yield flush()
        if without_target:
            notes += (replies_without_target_note(without_target),)
        yield Batch(
            rejects=canonical.rejects_table(*rejects) if rejects[0] else None,
            notes=notes,
            replies_without_target=without_target,
        )


def replies_without_target_note(count: int) -> str:
    """The note on a file whose replies answer messages found nowhere."""
    return plural_message(
        "ingest.replies_without_target",
        "%(num)s reply answers a message neither in this export nor in the store: a "
        "comment without target (no interaction)",
        "%(num)s replies answer messages neither in this export nor in the store: "
        "comments without target (no interaction)",
        count,
    )


def _replied_to(fields: list[str], cell: Any) -> str | None:
    """The id of the message a reply answers (`replied_to_id`, else its thread's first
    message); None for a thread's first message."""
    message_id = cell(fields, "id")
    thread = cell(fields, "thread_id") or message_id
    if thread == message_id:
        return None
    return str(cell(fields, "replied_to_id") or thread)


def stored_authors(context: ReadContext, message_ids: set[str]) -> dict[str, int]:
    """Message id -> the key of its author, for the `message_ids` the store already holds
    as events of this format (event id = message id, person = its author): the messages
    earlier exports, or earlier ranges of `fetch viva-engage`, brought."""
    if not message_ids or context.stored_events is None:
        return {}
    files = context.stored_events(NAME)
    if not files:
        return {}
    con = context.con
    con.register("yammer_replied_to", pa.table({"id": sorted(message_ids)}))
    try:
        found = con.execute(
            "SELECT event_id, min(user_key) FROM read_parquet($files) "
            "WHERE source_format = $format AND event_id IN (SELECT id FROM yammer_replied_to) "
            "GROUP BY event_id",
            {"files": files, "format": NAME},
        ).fetchall()
    finally:
        con.unregister("yammer_replied_to")
    return {str(message_id): int(key) for message_id, key in found}


def _with_stored_targets(
    events: pa.Table, first_record: int, stored_target: list[int | None], unknown: list[bool]
) -> tuple[pa.Table, int]:
    """`events` (one batch, rejected rows left out) with the targets the store gave (none
    aimed at the reply's own author), and how many of its comments have no target because
    their replied-to message is known nowhere. `stored_target` and `unknown` are aligned
    with the batch's rows, which `source_record` numbers from `first_record` + 1."""
    at = pc.subtract(events.column("source_record"), first_record + 1)
    orphans = pc.and_(
        pc.take(pa.array(unknown, pa.bool_()), at), pc.equal(events.column("event_type"), "comment")
    )
    count = int(pc.sum(orphans).as_py() or 0)
    if all(key is None for key in stored_target):
        return events, count
    found = pc.take(pa.array(stored_target, pa.int64()), at)
    found = pc.if_else(
        pc.equal(found, events.column("user_key")), pa.scalar(None, pa.int64()), found
    )
    target = pc.coalesce(events.column("target_user_key"), found)
    index = events.schema.get_field_index("target_user_key")
    return events.set_column(index, EVENT_SCHEMA.field("target_user_key"), target), count


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
    replied_to = _replied_to(fields, cell)
    is_reply = replied_to is not None
    target = sender_of.get(replied_to) if replied_to else None
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
