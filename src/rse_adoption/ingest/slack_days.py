"""The messages of a Slack export's day files as raw event rows: the per-message work of
the Slack export reader (slack_export.py says what becomes an event), kept apart so that
worker processes can each run it on a share of a large export's day files.

People are keyed by the identifiers the reader took from users.json (their e-mails), or by
their Slack user id; bots are known before: a bot's messages and reactions make no row, and
a bot is nobody's target.

This module imports only what the work needs (no DuckDB, no pipeline), so that a worker —
`python -m rse_adoption.ingest.slack_days EXPORT`, see `worker` — starts quickly;
`day_events` runs the same in the reader's process and in a worker.
"""

from __future__ import annotations

import functools
import json
import pickle
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import numpy as np
import orjson
import pyarrow as pa

from .archive import Bundle

COUNTED_SUBTYPES = frozenset({"", "file_share", "thread_broadcast", "me_message", "file_comment"})
#: A day of one channel is a few MiB at most; larger is a corrupt or hostile member.
MAX_DAY_FILE_BYTES = 256 << 20
DAY_FILE = re.compile(r"\d{4}-\d{2}-\d{2}\.json")
#: The raw rows' columns; `timestamp` is a UTC instant (µs), the others text.
FIELDS = ("event_id", "timestamp", "user", "event_type", "space", "content_id", "target_user")
#: datetime's range (years 1 to 9999), in epoch seconds.
EARLIEST_SECONDS, LATEST_SECONDS = -62_135_596_800.0, 253_402_300_800.0


@dataclass
class Reject:
    """A day file or message set aside: member, position in the day file (from 1; None
    for the whole file), reason, and the message as JSON."""

    member: str
    line: int | None
    reason: str
    raw: str


@dataclass
class DayEvents:
    """The raw event rows of some day files (FIELDS), what was set aside, how many
    messages the files held and how many bytes were read."""

    rows: pa.Table
    rejects: list[Reject] = field(default_factory=list)
    messages: int = 0
    bytes_read: int = 0


def parse_json(content: bytes) -> Any:
    """JSON bytes (UTF-8, a BOM allowed) as Python values, as `json.loads` reads them:
    orjson, twice as fast, and the standard library where orjson is stricter (NaN,
    Infinity, lone surrogates, numbers out of a double's range), with the standard
    library's error when both refuse. One difference is left: orjson reads an integer past
    64 bits as a float; no field the reader uses holds one (Slack's ids and `ts` are text),
    so only the quarantined text of such a message would show it as a float."""
    try:
        return orjson.loads(content.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError:
        return json.loads(content.decode("utf-8-sig"))


def _seconds(ts: object) -> float | None:
    """Epoch seconds of a Slack `ts` (text like "1762000000.000100"), None if unreadable
    or outside the dates a timestamp can hold."""
    try:
        seconds = float(ts)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if EARLIEST_SECONDS <= seconds < LATEST_SECONDS else None


def iso(instant: datetime | float) -> str:
    """An instant (or epoch seconds) as ISO 8601 text: quarantined rows show it so."""
    if not isinstance(instant, datetime):
        instant = datetime.fromtimestamp(instant, UTC)
    return instant.isoformat(timespec="microseconds")


def instants(seconds: list[float]) -> pa.Array:
    """UTC timestamps (µs) of epoch seconds, rounded to the microsecond: exact for Slack's
    six decimals (a float's error there is under 0.3 µs)."""
    micros = np.round(np.array(seconds, dtype=np.float64) * 1e6).astype(np.int64)
    return pa.array(micros, pa.timestamp("us", tz="UTC"))


def day_events(
    bundle: Bundle,
    members: list[str],
    conversations: dict[str, tuple[str, bool]],
    bots: frozenset[str],
    people: dict[str, str],
) -> DayEvents:
    """The raw event rows of `members` (day files of `bundle`, in this order); a day file
    that is not a JSON list of messages, and each message that counts but has no readable
    `ts`, are set aside. `conversations` maps a folder to (conversation id, public); an
    unlisted folder is a public channel named by its folder. `people` maps a Slack user id
    to the person's identifier (an id it lacks is its own identifier)."""
    columns: list[list[Any]] = [[] for _ in FIELDS]
    rejects: list[Reject] = []
    messages = read = 0
    for member in members:
        content = bundle.read(member, MAX_DAY_FILE_BYTES)
        read += len(content)
        folder = member_parts(member)[0]
        channel_id, public = conversations.get(folder, (folder, True))
        try:
            listed = parse_json(content)
        except (ValueError, UnicodeDecodeError) as exc:
            rejects.append(Reject(member, None, f"invalid JSON: {exc}", ""))
            continue
        if not isinstance(listed, list):
            rejects.append(Reject(member, None, "not a JSON list of messages", ""))
            continue
        messages += len(listed)
        add_messages(listed, member, (channel_id, folder, public), bots, people, columns, rejects)
    return DayEvents(_table(columns), rejects, messages, read)


def message_events(
    listed: list[Any],
    where: str,
    conversation: tuple[str, str, bool],
    bots: frozenset[str],
    people: dict[str, str],
) -> DayEvents:
    """The raw event rows of messages held in memory (fetch/slack.py hands over what it
    read): the same rows, by the same function, as from a day file holding them;
    `conversation` is (conversation id, space, public) and `where` names them in what is
    set aside."""
    columns: list[list[Any]] = [[] for _ in FIELDS]
    rejects: list[Reject] = []
    add_messages(listed, where, conversation, bots, people, columns, rejects)
    return DayEvents(_table(columns), rejects, len(listed))


def add_messages(
    listed: list[Any],
    member: str,
    conversation: tuple[str, str, bool],
    bots: frozenset[str],
    people: dict[str, str],
    columns: list[list[Any]],
    rejects: list[Reject],
) -> None:
    """Append the rows of a list of messages (a day file's, or fetched ones) to `columns`,
    and what is set aside to `rejects`."""
    channel_id, space, public = conversation
    for position, message in enumerate(listed, start=1):
        if not isinstance(message, dict):
            rejects.append(Reject(member, position, "not a JSON object", json.dumps(message)))
            continue
        fault = _message_rows(message, channel_id, space, public, bots, people, columns)
        if fault:
            rejects.append(Reject(member, position, fault, json.dumps(message)))


def _table(columns: list[list[Any]]) -> pa.Table:
    arrays = [
        instants(values) if name == "timestamp" else pa.array(values, pa.string())
        for name, values in zip(FIELDS, columns, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=list(FIELDS))


def _message_rows(
    message: dict[str, Any],
    channel_id: str,
    space: str,
    public: bool,
    bots: frozenset[str],
    people: dict[str, str],
    columns: list[list[Any]],
) -> str | None:
    """Append the rows of one message to `columns`: its own (if it counts) and its people's
    reactions (reactions by people count even on a bot's message, without a target).
    Return why it is set aside (a counted message without a readable `ts`), else None."""
    if message.get("type", "message") != "message":
        return None
    subtype = message.get("subtype") or ""
    user = message.get("user")
    target = message.get("parent_user_id")
    if subtype == "file_comment":  # legacy: the commenter is in `comment`, the file's owner
        comment = message.get("comment")
        shared = message.get("file")
        user = user or (comment.get("user") if isinstance(comment, dict) else None)
        target = shared.get("user") if isinstance(shared, dict) else None
    human = isinstance(user, str) and user not in bots and subtype != "bot_message"
    counted = human and isinstance(subtype, str) and subtype in COUNTED_SUBTYPES
    listed = message.get("reactions")
    reactions = [r for r in listed if isinstance(r, dict)] if isinstance(listed, list) else ()
    if not counted and not reactions:
        return None
    ts = message.get("ts")
    when = _seconds(ts) if isinstance(ts, str | int | float) else None
    if when is None:
        return f"bad or missing ts {json.dumps(ts)[:40]}" if counted else None
    thread_ts = message.get("thread_ts")
    is_reply = (isinstance(thread_ts, str) and thread_ts != ts) or subtype == "file_comment"
    content = f"{channel_id}:{thread_ts if isinstance(thread_ts, str) else ts}"
    event_id, timestamp, users, kinds, spaces, contents, targets = columns
    if counted:
        if not (is_reply and isinstance(target, str) and target and target != user):
            target = None
        elif target in bots:
            target = None
        event_id.append(f"{channel_id}:{ts}")
        timestamp.append(when)
        users.append(people.get(user, user))  # type: ignore[arg-type]
        kinds.append(("comment" if is_reply else "post") if public else "login")
        spaces.append(space)
        contents.append(content)
        targets.append(target and people.get(target, target))
    author = user if human and user else None
    author_identifier = people.get(author, author) if author else None
    kind = "reaction" if public else "login"
    for reaction in reactions:
        reactors = reaction.get("users")
        if not isinstance(reactors, list):
            continue
        name = reaction.get("name")
        for reactor in reactors:
            if not isinstance(reactor, str) or reactor in bots:
                continue
            event_id.append(f"{channel_id}:{ts}:{name}:{reactor}")
            timestamp.append(when)
            users.append(people.get(reactor, reactor))
            kinds.append(kind)
            spaces.append(space)
            contents.append(content)
            targets.append(author_identifier if author != reactor else None)
    return None


# --- The worker program -------------------------------------------------------------


def day_files(bundle: Bundle) -> list[str]:
    """The export's `<conversation>/<YYYY-MM-DD>.json` members, in name order: where it
    keeps messages."""
    return [member for member in bundle.names() if is_day_file(member)]


@functools.lru_cache(maxsize=1 << 17)
def member_parts(member: str) -> tuple[str, ...]:
    """A member name's parts (`./` and doubled slashes ignored); each name is split once,
    however often detection and reading ask."""
    return PurePosixPath(member).parts


def is_day_file(member: str) -> bool:
    """A `<conversation>/<YYYY-MM-DD>.json` member, where an export keeps messages."""
    parts = member_parts(member)
    return len(parts) == 2 and bool(DAY_FILE.fullmatch(parts[1]))


def worker(export: Path, requests: BinaryIO, replies: BinaryIO) -> None:
    """Serve the Slack export reader (slack_export._in_workers) over two pipes, in pickles:
    first (conversations, bots, people), then (start, stop) ranges of `day_files`, each answered
    with its DayEvents, or with the exception that stopped it. Ends with `requests`."""
    bundle = Bundle(export)  # opened while the reader reads users.json
    days = day_files(bundle)
    conversations, bots, people = pickle.load(requests)
    while True:
        try:
            start, stop = pickle.load(requests)
        except EOFError:
            return
        result: DayEvents | Exception
        try:
            result = day_events(bundle, days[start:stop], conversations, bots, people)
        except Exception as exc:  # noqa: BLE001 - handed to the reader, which raises it
            result = exc
        pickle.dump(result, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


if __name__ == "__main__":  # python -m rse_adoption.ingest.slack_days EXPORT
    # the module's own import, so that its replies pickle as its classes, not __main__'s
    from rse_adoption.ingest import slack_days

    try:
        slack_days.worker(Path(sys.argv[1]), sys.stdin.buffer, sys.stdout.buffer)
    except (BrokenPipeError, KeyboardInterrupt):  # the reader stopped first: it says why
        sys.exit(1)
