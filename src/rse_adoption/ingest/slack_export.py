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
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa

from ..errors import DataError
from . import archive, canonical
from .canonical import Batch, ReadContext

NAME = "slack"
COUNTED_SUBTYPES = frozenset({"", "file_share", "thread_broadcast", "me_message", "file_comment"})
BATCH_ROWS = 100_000
#: A day of one channel is a few MiB at most; larger is a corrupt or hostile member.
MAX_DAY_FILE_BYTES = 256 << 20
_DAY_FILE = re.compile(r"\d{4}-\d{2}-\d{2}\.json")
_FIELDS = ("event_id", "timestamp", "user", "event_type", "space", "content_id", "target_user")


def _looks_like_export(names: list[str]) -> bool:
    lower = {n.lower() for n in names}
    return "users.json" in lower and "channels.json" in lower


def sniff(path: Path) -> bool:
    """A zip or folder with users.json and channels.json at its top."""
    if not (path.is_dir() or archive.is_zip(path)):
        return False
    try:
        with archive.Bundle(path) as bundle:
            return _looks_like_export(bundle.names())
    except DataError:
        return False


def missing_columns(path: Path) -> list[str]:
    """Members a Slack export needs that the archive lacks (DataError if not an archive:
    then it is not a candidate at all)."""
    if not (path.is_dir() or archive.is_zip(path)):
        raise DataError(f"{path}: not a zip archive or folder")
    with archive.Bundle(path) as bundle:
        lower = {n.lower() for n in bundle.names()}
    return [m for m in ("users.json", "channels.json") if m not in lower]


def _load_json(bundle: archive.Bundle, name: str) -> Any:
    try:
        return json.loads(bundle.read(name).decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{bundle.path}: {name} is not valid JSON: {exc}") from None


def _people(bundle: archive.Bundle) -> tuple[dict[str, str], set[str]]:
    """Slack user id -> identifier (e-mail, else the id), and the ids of bots."""
    users = _load_json(bundle, "users.json")
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


def _iso(ts: object) -> str | None:
    """ISO 8601 UTC text of a Slack `ts` (epoch seconds as text), None if unreadable."""
    try:
        seconds = float(ts)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds")
    except (OverflowError, OSError, ValueError):
        return None


def read(path: Path, context: ReadContext) -> Iterator[Batch]:
    """Events of every counted message and reaction; quarantined: day files that are not
    JSON lists, and messages without a readable `ts` (line = the message's position in its
    day file, from 1)."""
    with archive.Bundle(path) as bundle:
        people, bots = _people(bundle)
        conversations = _conversations(bundle)
        columns: dict[str, list[str | None]] = {f: [] for f in _FIELDS}
        rejects: tuple[list[str], list[int | None], list[str], list[str]] = ([], [], [], [])
        record = 0

        def reject(member: str, line: int | None, reason: str, raw: str) -> None:
            rejects[0].append(f"{path.name}:{member}")
            rejects[1].append(line)
            rejects[2].append(reason)
            rejects[3].append(raw[:2000])

        def add(
            event_id: str,
            when: str,
            user: str,
            kind: str,
            space: str,
            content: str,
            target: str | None,
        ) -> None:
            columns["event_id"].append(event_id)
            columns["timestamp"].append(when)
            columns["user"].append(people.get(user, user))
            columns["event_type"].append(kind)
            columns["space"].append(space)
            columns["content_id"].append(content)
            columns["target_user"].append(people.get(target, target) if target else None)

        def flush() -> Batch:
            nonlocal record
            n = len(columns["event_id"])
            arrays = {f: pa.array(v, pa.string()) for f, v in columns.items()}
            converted = canonical.to_events(arrays, n, record, context, NAME)
            for index, reason in converted.reject_records:
                reject(
                    "", None, reason, json.dumps({f: columns[f][index - record] for f in _FIELDS})
                )
            record += n
            for values in columns.values():
                values.clear()
            return Batch(events=converted.events)

        for member in bundle.names():
            parts = PurePosixPath(member).parts
            if len(parts) != 2 or not _DAY_FILE.fullmatch(parts[1]):
                continue  # only <conversation>/<YYYY-MM-DD>.json files hold messages
            folder = parts[0]
            channel_id, public = conversations.get(folder, (folder, True))
            try:
                messages = json.loads(bundle.read(member, MAX_DAY_FILE_BYTES).decode("utf-8-sig"))
            except (ValueError, UnicodeDecodeError) as exc:
                reject(member, None, f"invalid JSON: {exc}", "")
                continue
            if not isinstance(messages, list):
                reject(member, None, "not a JSON list of messages", "")
                continue
            for position, message in enumerate(messages, start=1):
                if not isinstance(message, dict):
                    reject(member, position, "not a JSON object", json.dumps(message)[:2000])
                    continue
                _message_events(
                    message, channel_id, folder, public, bots, add, reject, member, position
                )
            if len(columns["event_id"]) >= BATCH_ROWS:
                yield flush()
        if columns["event_id"]:
            yield flush()
        if rejects[0]:
            yield Batch(rejects=canonical.rejects_table(*rejects))  # type: ignore[arg-type]


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
    when = _iso(ts) if isinstance(ts, str | int | float) else None
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
