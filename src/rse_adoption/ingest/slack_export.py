"""Slack workspace export: the zip an admin downloads (or the folder it unzips to), with
users.json, channels.json and one folder per conversation holding a JSON file per day.

What becomes an event (docs/ingest.md repeats it):
- a message by a person in a public channel (channels.json) or a private channel
  (groups.json) is a `post`, or a `comment` when it is a thread reply (`thread_ts`
  differs from its own `ts`), aimed at the thread's author (`parent_user_id`);
- each person listed in a message's `reactions` is a `reaction` to the message's author,
  at the message's time (Slack does not record when a reaction was added; on popular
  messages `users` is truncated, so only the listed people count);
- messages in direct messages and group DMs (dms.json, mpims.json) are private activity,
  not public contribution: a `login`, which makes a visitor;
- counted subtypes: none (a plain message), `file_share`, `thread_broadcast`,
  `me_message`, and `file_comment` (a comment). Every other subtype — `bot_message`,
  `bot_add`, `channel_join`, `channel_leave`, `tombstone`, topic and purpose changes... —
  and every bot user (`is_bot`, USLACKBOT) never counts;
- the instant is each message's `ts` (epoch seconds, UTC), never the day-file's name,
  which follows the workspace's time zone;
- people are keyed by their e-mail from users.json (the directory join) or, when the
  export has none, by their Slack user id; event ids are `channel:ts` (and the reacting
  user and emoji for reactions), so re-exports of overlapping dates add nothing twice.
Slack has no reads and no logins: nobody is a reader from a Slack export.

People publish excerpts — one channel's day files, without users.json or channels.json.
What is there is read (people keyed by Slack user id, unlisted folders as channels), and
the file's result says so in a note. An export without any message is an error (exit 65):
it would otherwise look like a successful ingest that added nothing.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import DataError
from . import archive, canonical
from .canonical import Batch, ReadContext
from .textio import prefetched

NAME = "slack"
COUNTED_SUBTYPES = frozenset({"", "file_share", "thread_broadcast", "me_message", "file_comment"})
BATCH_ROWS = 100_000
#: A day of one channel is a few MiB at most; larger is a corrupt or hostile member.
MAX_DAY_FILE_BYTES = 256 << 20
_DAY_FILE = re.compile(r"\d{4}-\d{2}-\d{2}\.json")
_FIELDS = ("event_id", "timestamp", "user", "event_type", "space", "content_id", "target_user")


#: Files at the top of a Slack export listing its people and conversations.
LISTINGS = frozenset({"users.json", "channels.json", "groups.json", "dms.json", "mpims.json"})
#: What a Slack export holds its messages in, as said to users.
DAY_FILES = "<channel>/<YYYY-MM-DD>.json day files"
#: Bytes of a day file read to recognise it (its first message is well within).
HEAD_BYTES = 1 << 16
_FIRST_MESSAGE = re.compile(rb'^\s*\[\s*\{[^\]]*?"ts"\s*:', re.DOTALL)


@functools.lru_cache(maxsize=1 << 17)
def _parts(member: str) -> tuple[str, ...]:
    """A member name's parts (`./` and doubled slashes ignored); each name is split once,
    however often detection and reading ask."""
    return PurePosixPath(member).parts


def is_day_file(member: str) -> bool:
    """A `<conversation>/<YYYY-MM-DD>.json` member, where an export keeps messages."""
    parts = _parts(member)
    return len(parts) == 2 and bool(_DAY_FILE.fullmatch(parts[1]))


def holds_messages(head: bytes) -> bool:
    """The start of a JSON list whose first object has a `ts`: Slack messages."""
    return bool(_FIRST_MESSAGE.match(head.removeprefix(b"\xef\xbb\xbf")))


def _layout(path: Path) -> tuple[set[str], Callable[[], bytes] | None]:
    """The lower-cased names of the files at the top of a zip or folder, and a reader of
    the head of its first day file (None without one). A folder is looked at one level
    down only, so that asking every folder of a large tree stays cheap."""
    if path.is_dir():
        top = {p.name.lower() for p in path.iterdir() if p.is_file()}
        for sub in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for child in sorted(sub.iterdir()):
                if child.is_file() and _DAY_FILE.fullmatch(child.name):
                    return top, functools.partial(_file_head, child)
        return top, None
    with archive.Bundle(path) as bundle:
        names = bundle.names()
        top = {n.lower() for n in names if "/" not in n}
        day = next((n for n in names if is_day_file(n)), None)
        return top, (functools.partial(_member_head, path, day) if day else None)


def _file_head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(HEAD_BYTES)


def _member_head(path: Path, member: str) -> bytes:
    with archive.Bundle(path) as bundle:
        return bundle.head(member, HEAD_BYTES)


def _is_export(top: set[str], first_day: Callable[[], bytes] | None) -> bool:
    """users.json and channels.json at the top (a whole export, even one without
    messages, which read() then reports); or day files, with any of Slack's listings at the
    top or Slack messages in the first of them (an excerpt of a channel, as people
    publish)."""
    if {"users.json", "channels.json"} <= top:
        return True
    if first_day is None:
        return False
    return bool(top & LISTINGS) or holds_messages(first_day())


def sniff(path: Path) -> bool:
    """A zip or folder laid out as a Slack export, whole or partial (see _is_export)."""
    if not (path.is_dir() or archive.is_zip(path)):
        return False
    try:
        return _is_export(*_layout(path))
    except (DataError, OSError):
        return False


def is_export_dir(path: Path) -> bool:
    """A folder holding an unzipped Slack export: read whole, like its zip."""
    return path.is_dir() and sniff(path)


def missing_columns(path: Path) -> list[str]:
    """What a zip or folder lacks to be a Slack export (DataError if it is neither: then it
    is not a candidate at all)."""
    if not (path.is_dir() or archive.is_zip(path)):
        raise DataError(f"{path}: not a zip archive or folder")
    top, first_day = _layout(path)
    if first_day is None:
        return [*sorted({"users.json", "channels.json"} - top), DAY_FILES]
    return [] if _is_export(top, first_day) else ["users.json", "channels.json"]


def explain(path: Path) -> str | None:
    """What a lone file is when it is one day of a Slack export (None otherwise): it holds
    one channel's day without the export's people or conversations, so say to ingest the
    whole export instead."""
    if not (path.is_file() and _DAY_FILE.fullmatch(path.name)):
        return None
    try:
        if not holds_messages(_file_head(path)):
            return None
    except OSError:
        return None
    return (
        f"one day of a Slack export (channel {path.parent.name!r}): ingest the whole export "
        "instead, its zip or the folder holding users.json, channels.json and the channel "
        "folders"
    )


def _load_json(bundle: archive.Bundle, name: str) -> Any:
    try:
        return json.loads(bundle.read(name).decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{bundle.path}: {name} is not valid JSON: {exc}") from None


def _people(bundle: archive.Bundle) -> tuple[dict[str, str], set[str]]:
    """Slack user id -> identifier (e-mail, else the id), and the ids of bots. Without
    users.json: nobody is known, so everyone is keyed by their id and only USLACKBOT is
    known as a bot."""
    name = bundle.find("users.json")
    if name is None or "/" in name:
        return {}, {"USLACKBOT"}
    users = _load_json(bundle, name)
    if not isinstance(users, list):
        raise DataError(f"{bundle.path}: users.json is not a list of users")
    identifiers: dict[str, str] = {}
    bots = {"USLACKBOT"}
    for user in users:
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            continue
        profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
        email = profile.get("email") if isinstance(profile, dict) else None
        identifiers[user["id"]] = (
            email.strip() if isinstance(email, str) and email.strip() else user["id"]
        )
        if user.get("is_bot") or user.get("is_app_user"):
            bots.add(user["id"])
    return identifiers, bots


def _conversations(bundle: archive.Bundle) -> dict[str, tuple[str, bool]]:
    """Folder name -> (conversation id, public) for every conversation list present:
    channels.json and groups.json are channels (contribution spaces); dms.json and
    mpims.json are private conversations."""
    folders: dict[str, tuple[str, bool]] = {}
    for listing, public in (
        ("channels.json", True),
        ("groups.json", True),
        ("mpims.json", False),
        ("dms.json", False),
    ):
        name = bundle.find(listing)
        if name is None or "/" in name:
            continue
        entries = _load_json(bundle, name)
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                continue
            name_of = entry.get("name")
            folder = name_of if isinstance(name_of, str) else str(entry["id"])
            folders[folder] = (str(entry["id"]), public)
    return folders


def _seconds(ts: object) -> float | None:
    """Epoch seconds of a Slack `ts` (text like "1762000000.000100"), None if unreadable
    or outside the dates a timestamp can hold."""
    try:
        seconds = float(ts)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if EARLIEST_SECONDS <= seconds < LATEST_SECONDS else None


#: datetime's range (years 1 to 9999), in epoch seconds.
EARLIEST_SECONDS, LATEST_SECONDS = -62_135_596_800.0, 253_402_300_800.0


def _iso(seconds: float) -> str:
    """The instant of epoch seconds as ISO 8601 text (quarantined rows show it so)."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds")


def _instants(seconds: list[Any]) -> pa.Array:
    """UTC timestamps (µs) of epoch seconds, rounded to the microsecond: exact for Slack's
    six decimals (a float's error there is under 0.3 µs)."""
    micros = np.round(np.array(seconds, dtype=np.float64) * 1e6).astype(np.int64)
    return pa.array(micros, pa.timestamp("us", tz="UTC"))


class _Events:
    """The event columns of the messages read so far, and the rows quarantined."""

    def __init__(self, path: Path, people: dict[str, str]) -> None:
        self.path = path
        self.people = people
        self.columns: dict[str, list[Any]] = {f: [] for f in _FIELDS}
        self.rejects: tuple[list[str], list[int | None], list[str], list[str]] = ([], [], [], [])
        self.record = 0
        self.flushed = 0

    def __len__(self) -> int:
        return len(self.columns["event_id"])

    def reject(self, member: str, line: int | None, reason: str, raw: str) -> None:
        self.rejects[0].append(f"{self.path.name}:{member}")
        self.rejects[1].append(line)
        self.rejects[2].append(reason)
        self.rejects[3].append(raw[:2000])

    def add(
        self,
        event_id: str,
        when: float,
        user: str,
        kind: str,
        space: str,
        content: str,
        target: str | None,
    ) -> None:
        columns = self.columns
        columns["event_id"].append(event_id)
        columns["timestamp"].append(when)
        columns["user"].append(self.people.get(user, user))
        columns["event_type"].append(kind)
        columns["space"].append(space)
        columns["content_id"].append(content)
        columns["target_user"].append(self.people.get(target, target) if target else None)

    def flush(self, context: ReadContext) -> Batch:
        """The events gathered since the last flush, as a canonical batch."""
        n = len(self)
        arrays = {
            f: _instants(v) if f == "timestamp" else pa.array(v, pa.string())
            for f, v in self.columns.items()
        }
        converted = canonical.to_events(arrays, n, self.record, context, NAME)
        for index, reason in converted.reject_records:
            raw = {f: self.columns[f][index - self.record] for f in _FIELDS}
            raw["timestamp"] = _iso(raw["timestamp"])
            self.reject("", None, reason, json.dumps(raw))
        self.record += n
        self.flushed += n
        for values in self.columns.values():
            values.clear()
        return Batch(events=converted.events)


def read(path: Path, context: ReadContext) -> Iterator[Batch]:
    """Events of every counted message and reaction; quarantined: day files that are not
    JSON lists, and messages without a readable `ts` (line = the message's position in its
    day file, from 1). A fetcher's folder (`context.fetched`) may hold nothing to count: a
    quiet channel, or one where only bots spoke, is no mistake there."""
    archive.require_bundle(path, "Slack export", explain(path))
    with archive.Bundle(path) as bundle:
        days = [member for member in bundle.names() if is_day_file(member)]
        if not days:
            raise DataError(
                f"{path}: a Slack export without messages: it has no {DAY_FILES} (export "
                "again, choosing a date range with activity)"
            )
        people, bots = _people(bundle)
        conversations = _conversations(bundle)
        top = {n.lower() for n in bundle.names() if "/" not in n}
        notes = _partial_export_notes(top, {_parts(d)[0] for d in days})
        events = _Events(path, people)
        messages_seen = 0
        # only <conversation>/<YYYY-MM-DD>.json files hold messages; they are read and
        # inflated in a thread (zlib releases the GIL) while the previous ones are parsed
        contents = prefetched(((m, bundle.read(m, MAX_DAY_FILE_BYTES)) for m in days), 32)
        with contextlib.closing(contents):
            for member, content in contents:
                messages_seen += _day_file_events(member, content, conversations, bots, events)
                if len(events) >= BATCH_ROWS:
                    yield events.flush(context)
        if not (events.flushed or len(events) or events.rejects[0] or context.fetched):
            raise DataError(_nothing_to_count(path, len(days), messages_seen))
        if len(events):
            yield events.flush(context)
        yield Batch(
            rejects=canonical.rejects_table(*events.rejects) if events.rejects[0] else None,  # type: ignore[arg-type]
            notes=notes,
        )


def _day_file_events(
    member: str,
    content: bytes,
    conversations: dict[str, tuple[str, bool]],
    bots: set[str],
    events: _Events,
) -> int:
    """Add the events of one day file to `events` (its faults quarantined); return how many
    messages it holds."""
    folder = _parts(member)[0]
    channel_id, public = conversations.get(folder, (folder, True))
    try:
        messages = json.loads(content.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        events.reject(member, None, f"invalid JSON: {exc}", "")
        return 0
    if not isinstance(messages, list):
        events.reject(member, None, "not a JSON list of messages", "")
        return 0
    for position, message in enumerate(messages, start=1):
        if not isinstance(message, dict):
            events.reject(member, position, "not a JSON object", json.dumps(message))
            continue
        _message_events(
            message, channel_id, folder, public, bots, events.add, events.reject, member, position
        )
    return len(messages)


def _partial_export_notes(top: set[str], folders: set[str]) -> tuple[str, ...]:
    """One line for each listing a partial export lacks, saying how it was read instead."""
    notes = []
    if "users.json" not in top:
        notes.append(
            "no users.json: people are keyed by their Slack user id, so they cannot be "
            "joined to the directory (they show as unlisted)"
        )
    if not top & {"channels.json", "groups.json", "dms.json", "mpims.json"}:
        notes.append(
            f"no channels.json: its {len(folders)} conversation folder(s) are read as "
            "channels (public contribution)"
        )
    return tuple(notes)


def _nothing_to_count(path: Path, days: int, messages: int) -> str:
    """Why an export with day files gave nothing: empty days, or no message by a person."""
    if not messages:
        return (
            f"{path}: a Slack export without messages: its {days} day file(s) are empty "
            "(export again, choosing a date range with activity)"
        )
    return (
        f"{path}: none of the {messages} message(s) of its {days} day file(s) is by a person "
        "(only joins, bots and other system messages): nothing to count"
    )


def _message_events(
    message: dict[str, Any],
    channel_id: str,
    space: str,
    public: bool,
    bots: set[str],
    add: Any,
    reject: Any,
    member: str,
    position: int,
) -> None:
    """The events of one message: its own (if it counts) and its people's reactions
    (reactions by people count even on a bot's message, without a target)."""
    if message.get("type", "message") != "message":
        return
    subtype = message.get("subtype") or ""
    user = message.get("user")
    target = message.get("parent_user_id")
    if subtype == "file_comment":  # legacy: the commenter is in `comment`, the file's owner
        comment = message.get("comment") if isinstance(message.get("comment"), dict) else {}
        shared = message.get("file") if isinstance(message.get("file"), dict) else {}
        user = user or comment.get("user")  # type: ignore[union-attr]
        target = shared.get("user")  # type: ignore[union-attr]
    human = isinstance(user, str) and user not in bots and subtype != "bot_message"
    counted = human and subtype in COUNTED_SUBTYPES
    listed = message.get("reactions")
    reactions = [r for r in listed if isinstance(r, dict)] if isinstance(listed, list) else []
    if not counted and not reactions:
        return
    ts = message.get("ts")
    when = _seconds(ts) if isinstance(ts, str | int | float) else None
    if when is None:
        if counted:
            reject(
                member, position, f"bad or missing ts {json.dumps(ts)[:40]}", json.dumps(message)
            )
        return
    thread_ts = message.get("thread_ts")
    is_reply = (isinstance(thread_ts, str) and thread_ts != ts) or subtype == "file_comment"
    content = f"{channel_id}:{thread_ts if isinstance(thread_ts, str) else ts}"
    author = user if human else None
    if counted:
        target = target if is_reply else None
        add(
            f"{channel_id}:{ts}",
            when,
            user,
            ("comment" if is_reply else "post") if public else "login",
            space,
            content,
            target if isinstance(target, str) and target != user and target not in bots else None,
        )
    for reaction in reactions:
        reactors = reaction.get("users")
        for reactor in reactors if isinstance(reactors, list) else []:
            if not isinstance(reactor, str) or reactor in bots:
                continue
            add(
                f"{channel_id}:{ts}:{reaction.get('name')}:{reactor}",
                when,
                reactor,
                "reaction" if public else "login",
                space,
                content,
                author if author != reactor else None,
            )


# --- What of Slack's objects the reader uses (fetch/slack.py writes only that) ----------

#: The fields of a message `_message_events` reads; nothing else of it (its text above
#: all) need be kept to make the same events.
MESSAGE_FIELDS = ("type", "subtype", "user", "ts", "thread_ts", "parent_user_id")


def message_facts(message: dict[str, Any]) -> dict[str, Any]:
    """`message` reduced to who did what, when, where and in reply to whom — the fields the
    reader reads, so that it gives the same events from the reduction as from the whole
    message (tests check it): no text, no attachment, no file but its owner."""
    facts: dict[str, Any] = {k: message[k] for k in MESSAGE_FIELDS if k in message}
    reactions = message.get("reactions")
    if isinstance(reactions, list):
        facts["reactions"] = [
            {k: r[k] for k in ("name", "users", "count") if k in r}
            for r in reactions
            if isinstance(r, dict)
        ]
    for owner in ("comment", "file"):  # file_comment: the commenter and the file's owner
        value = message.get(owner)
        if isinstance(value, dict) and "user" in value:
            facts[owner] = {"user": value["user"]}
    return facts


def people_in(message: dict[str, Any]) -> set[str]:
    """The Slack user ids a message's events may name: its author, the thread's author,
    the reacting people, a file comment's commenter and the file's owner."""
    found = {message.get("user"), message.get("parent_user_id")}
    for owner in ("comment", "file"):
        value = message.get(owner)
        if isinstance(value, dict):
            found.add(value.get("user"))
    reactions = message.get("reactions")
    for reaction in reactions if isinstance(reactions, list) else []:
        users = reaction.get("users") if isinstance(reaction, dict) else None
        found.update(users if isinstance(users, list) else [])
    return {u for u in found if isinstance(u, str)}


def user_facts(user: dict[str, Any]) -> dict[str, Any]:
    """A users.json (or `users.list`) entry reduced to what `_people` reads: the id, the
    e-mail and whether it is a bot or an app."""
    facts: dict[str, Any] = {k: user[k] for k in ("id", "is_bot", "is_app_user") if k in user}
    profile = user.get("profile")
    if isinstance(profile, dict) and isinstance(profile.get("email"), str):
        facts["profile"] = {"email": profile["email"]}
    return facts
