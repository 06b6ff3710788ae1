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

users.json also gives the workspace's member list (`members_of`: every user but bots,
apps, Slackbot and deleted accounts, keyed like the events), which the store keeps, the
latest per format: without a directory it is the report's headcount.

People publish excerpts — one channel's day files, without users.json or channels.json.
What is there is read (people keyed by Slack user id, unlisted folders as channels — keyed
by the id of the channel of that name `fetch slack` stored, if any, so that a message
fetched and exported is one event), and the file's result says so in a note. An export without any message is an error (exit 65):
it would otherwise look like a successful ingest that added nothing.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import EXIT_IO, DataError, RseError
from ..privacy import NO_KEY
from ..schema import MEMBER_SCHEMA
from . import archive, canonical, slack_days
from .canonical import Batch, Members, ReadContext
from .slack_days import DAY_FILE, FIELDS

NAME = "slack"
#: Subtypes of messages that count (fetch/slack.py and its tests ask here).
COUNTED_SUBTYPES = slack_days.COUNTED_SUBTYPES
BATCH_ROWS = 100_000


#: Files at the top of a Slack export listing its people and conversations.
LISTINGS = frozenset({"users.json", "channels.json", "groups.json", "dms.json", "mpims.json"})
#: What a Slack export holds its messages in, as said to users.
DAY_FILES = "<channel>/<YYYY-MM-DD>.json day files"
#: Bytes of a day file read to recognise it (its first message is well within).
HEAD_BYTES = 1 << 16
_FIRST_MESSAGE = re.compile(rb'^\s*\[\s*\{[^\]]*?"ts"\s*:', re.DOTALL)


is_day_file = slack_days.is_day_file
_parts = slack_days.member_parts


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
                if child.is_file() and DAY_FILE.fullmatch(child.name):
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
    if not (path.is_file() and DAY_FILE.fullmatch(path.name)):
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
    """A listing's JSON (users.json is tens of MiB in a large workspace: the cyclic garbage
    collector, which finds nothing in fresh JSON, is paused while it is parsed)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return slack_days.parse_json(bundle.read(name))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{bundle.path}: {name} is not valid JSON: {exc}") from None
    finally:
        if collecting:
            gc.enable()


def _people(bundle: archive.Bundle) -> tuple[dict[str, str], set[str], list[str] | None]:
    """Slack user id -> identifier (e-mail, else the id), the ids of bots, and the
    identifiers of the workspace's members (`members_of`). Without users.json: nobody is
    known, so everyone is keyed by their id, only USLACKBOT is known as a bot, and there
    is no member list (None)."""
    name = bundle.find("users.json")
    if name is None or "/" in name:
        return {}, {"USLACKBOT"}, None
    users = _load_json(bundle, name)
    if not isinstance(users, list):
        raise DataError(f"{bundle.path}: users.json is not a list of users")
    identifiers, bots = people_of(users)
    return identifiers, bots, members_of(users, identifiers, bots)


def members_of(users: Iterable[Any], identifiers: dict[str, str], bots: set[str]) -> list[str]:
    """The identifiers (as `people_of` keys the events) of the workspace's members: every
    user of the list but bots, apps, Slackbot and deleted (deactivated) accounts."""
    members = []
    for user in users:
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            continue
        if user["id"] in bots or user.get("deleted") or user.get("is_workflow_bot"):
            continue
        members.append(identifiers[user["id"]])
    return members


def _member_list(listed: list[str] | None, days: list[str], context: ReadContext) -> Members | None:
    """The member list's person keys (each once), dated by the export's last day. A
    fetcher's folder has none: its users.json lists only the people its messages name."""
    if listed is None or context.fetched:
        return None
    keys = sorted({k for k in context.person_key.many(listed) if k != NO_KEY})
    listed_on = max(date.fromisoformat(_parts(d)[1][:10]) for d in days)
    return Members(pa.table({"person_key": pa.array(keys, pa.int64())}, MEMBER_SCHEMA), listed_on)


def people_of(users: Iterable[Any]) -> tuple[dict[str, str], set[str]]:
    """Slack user id -> identifier (e-mail, else the id), and the ids of bots, of a list
    of users (users.json's, or `users.list`'s)."""
    identifiers: dict[str, str] = {}
    bots = {"USLACKBOT"}
    for user in users:
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            continue
        profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
        email = profile.get("email") if isinstance(profile, dict) else None
        key = _fresh(user["id"])
        identifiers[key] = (
            _fresh(email.strip()) if isinstance(email, str) and email.strip() else key
        )
        if user.get("is_bot") or user.get("is_app_user"):
            bots.add(key)
    return identifiers, bots


def _fresh(text: str) -> str:
    """A copy of `text` in a new object. What is kept of users.json (a large workspace's is
    ~100 MiB, ~200 MiB parsed) is copied out of the parsed objects, so that the memory they
    held is given back when they go: strings kept from them would pin a little of every
    block of it (measured at 100,000 people: 350 MiB resident after reading it, 210 with the
    copies)."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")


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


class _Events:
    """The raw rows of the day files read so far, and the rows quarantined; `flush` turns
    the rows into canonical events."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.parts: list[pa.Table] = []
        self.rows = 0
        self.rejects: tuple[list[str], list[int | None], list[str], list[str]] = ([], [], [], [])
        self.record = 0
        self.flushed = 0

    def __len__(self) -> int:
        return self.rows

    def reject(self, member: str, line: int | None, reason: str, raw: str) -> None:
        self.rejects[0].append(f"{self.path.name}:{member}")
        self.rejects[1].append(line)
        self.rejects[2].append(reason)
        self.rejects[3].append(raw[:2000])

    def add(self, part: slack_days.DayEvents) -> None:
        if part.rows.num_rows:
            self.parts.append(part.rows)
            self.rows += part.rows.num_rows
        for fault in part.rejects:
            self.reject(fault.member, fault.line, fault.reason, fault.raw)

    def flush(self, context: ReadContext) -> Batch:
        """The rows gathered since the last flush, as a canonical batch."""
        rows = pa.concat_tables(self.parts)
        n = rows.num_rows
        arrays = {f: pa.concat_arrays(rows.column(f).chunks) for f in FIELDS}  # one copy
        converted = canonical.to_events(arrays, n, self.record, context, NAME)
        for index, reason in converted.reject_records:
            raw = {f: arrays[f][index - self.record].as_py() for f in FIELDS}
            raw["timestamp"] = slack_days.iso(raw["timestamp"])
            self.reject("", None, reason, json.dumps(raw))
        self.record += n
        self.flushed += n
        self.parts, self.rows = [], 0
        return Batch(events=converted.events)


def read(path: Path, context: ReadContext) -> Iterator[Batch]:
    """Events of every counted message and reaction; quarantined: day files that are not
    JSON lists, and messages without a readable `ts` (line = the message's position in its
    day file, from 1). A fetcher's folder (`context.fetched`) may hold nothing to count: a
    quiet channel, or one where only bots spoke, is no mistake there.

    Day files holding PARALLEL_BYTES or more are parsed in worker processes (`workers_for`,
    `_start_workers`), GROUP_BYTES at a time, the results taken in the export's order: the events, their
    order and what is quarantined are the same as when parsed in this process."""
    archive.require_bundle(path, "Slack export", explain(path))
    with archive.Bundle(path) as bundle:
        days = slack_days.day_files(bundle)
        if not days:
            raise DataError(
                f"{path}: a Slack export without messages: it has no {DAY_FILES} (export "
                "again, choosing a date range with activity)"
            )
        sizes = [bundle.size(day) for day in days]
        workers = workers_for(sum(sizes))
        # started before users.json is read: each worker opens the export meanwhile
        processes = _start_workers(path, workers) if workers > 1 else []
        try:
            people, bots, listed = _people(bundle)
            conversations = _conversations(bundle)
            top = {n.lower() for n in bundle.names() if "/" not in n}
            folders = {_parts(d)[0] for d in days}
            notes = _partial_export_notes(top, folders)
            if context.slack_channels:  # folders no listing names: as fetched before
                resolved = _fetched_ids(folders - set(conversations), context.slack_channels)
                conversations.update(resolved)
                notes += _resolved_note(resolved)
            events = _Events(path)
            ranges = _ranges(sizes)
            known_bots = frozenset(bots)
            parts = (
                _in_workers(processes, bundle, ranges, (conversations, known_bots, people))
                if processes
                else (
                    slack_days.day_events(
                        bundle, days[start:stop], conversations, known_bots, people
                    )
                    for start, stop in ranges
                )
            )
            messages_seen = 0
            for part in parts:
                messages_seen += part.messages
                events.add(part)
                if len(events) >= BATCH_ROWS:
                    yield events.flush(context)
        finally:
            _stop_workers(processes)
        if not (events.flushed or len(events) or events.rejects[0] or context.fetched):
            raise DataError(_nothing_to_count(path, len(days), messages_seen))
        if len(events):
            yield events.flush(context)
        yield Batch(
            rejects=canonical.rejects_table(*events.rejects) if events.rejects[0] else None,  # type: ignore[arg-type]
            notes=notes,
            members=_member_list(listed, days, context),
        )


#: Uncompressed bytes of day files from which they are parsed in worker processes: below,
#: starting the workers (a few tenths of a second) costs more than they save.
PARALLEL_BYTES = 64 << 20
#: Uncompressed bytes of day files a worker parses at a time (tens of thousands of rows).
GROUP_BYTES = 8 << 20
#: Worker processes at most, whatever the cores; RSE_ADOPTION_WORKERS sets how many (1:
#: none). Each holds about 200 MiB (interpreter and pyarrow, the zip's listing, the people,
#: one range parsed) beside the ingesting process's 450-650 MiB: two keep one ingest's
#: processes under 1 GiB together (858 MiB measured at 1M messages), and the ingesting
#: process, which converts and stages all they give back, keeps up with two.
MAX_WORKERS = 2
WORKERS_VARIABLE = "RSE_ADOPTION_WORKERS"


def workers_for(day_bytes: int) -> int:
    """How many worker processes parse `day_bytes` of day files: none (1) below
    PARALLEL_BYTES; else RSE_ADOPTION_WORKERS when set (a whole number; 1 keeps all the work
    in the ingesting process), or one per core this process may use, up to MAX_WORKERS."""
    if day_bytes < PARALLEL_BYTES:
        return 1
    raw = os.environ.get(WORKERS_VARIABLE, "").strip()
    if raw.isdigit():
        return max(1, int(raw))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, MAX_WORKERS))


def _ranges(sizes: list[int]) -> list[tuple[int, int]]:
    """(start, stop) ranges of the day files, in order, of about GROUP_BYTES each."""
    ranges = []
    start = held = 0
    for index, size in enumerate(sizes):
        if held >= GROUP_BYTES:
            ranges.append((start, index))
            start, held = index, 0
        held += size
    return [*ranges, (start, len(sizes))]


def _start_workers(path: Path, workers: int) -> list[subprocess.Popen[bytes]]:
    """`workers` worker processes (`python -m rse_adoption.ingest.slack_days EXPORT`), each
    opening the export. Plain child processes, not multiprocessing's: nothing of the
    caller's `__main__` is imported again in them (a script without a main guard, a
    notebook) and nothing is forked from this process, whose threads may hold locks."""
    package_root = str(Path(slack_days.__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (package_root, env.get("PYTHONPATH"))))
    command = [sys.executable, "-m", slack_days.__name__, str(path.resolve())]
    return [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        for _ in range(workers)
    ]


def _stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    """End the workers: at the end of their requests they exit; one still writing (the
    reader stopped early) finds its reply pipe closed; one that lingers is killed."""
    for process in processes:
        for pipe in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()  # type: ignore[union-attr]
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _in_workers(
    processes: list[subprocess.Popen[bytes]],
    bundle: archive.Bundle,
    ranges: list[tuple[int, int]],
    listings: tuple[dict[str, tuple[str, bool]], frozenset[str], dict[str, str]],
) -> Iterator[slack_days.DayEvents]:
    """`day_events` of each range, parsed by the workers in turn (range i by worker i mod
    n, two ranges per worker in flight: requests are a few bytes, so no pipe fills both
    ways), taken in the ranges' order; what the workers read counts towards the archive's
    limit, and a worker's error is raised here."""
    n = len(processes)

    def stopped(process: subprocess.Popen[bytes], why: object) -> RseError:
        return RseError(
            f"{bundle.path}: a worker reading the export stopped (exit status "
            f"{process.poll()}: {why}); run again, or with {WORKERS_VARIABLE}=1 to read it "
            "in one process",
            EXIT_IO,
        )

    def send(index: int, message: bytes) -> None:
        process = processes[index % n]
        try:
            process.stdin.write(message)  # type: ignore[union-attr]
            process.stdin.flush()  # type: ignore[union-attr]
        except OSError as exc:  # its end of the pipe is closed
            raise stopped(process, exc) from None

    def pickled(message: object) -> bytes:
        return pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)

    inputs = pickled(listings)  # conversations, bots, people: the rest of day_events' inputs
    for index in range(n):
        send(index, inputs)
    for index in range(min(2 * n, len(ranges))):
        send(index, pickled(ranges[index]))
    for index in range(len(ranges)):
        process = processes[index % n]
        try:
            part = pickle.load(process.stdout)  # type: ignore[arg-type]
        except (EOFError, pickle.UnpicklingError, OSError) as exc:
            raise stopped(process, exc or "no reply") from None
        if isinstance(part, Exception):
            raise part
        if index + 2 * n < len(ranges):
            send(index + 2 * n, pickled(ranges[index + 2 * n]))
        bundle.count_read(part.bytes_read)
        yield part


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


def _fetched_ids(folders: set[str], fetched: dict[str, str]) -> dict[str, tuple[str, bool]]:
    """The folders of an export that its listings do not name (it lacks channels.json)
    named like a channel `fetch slack` stored, keyed by that channel's id: the same messages get the same event ids
    (`channel:ts`) whichever way they arrive."""
    return {folder: (fetched[folder], True) for folder in sorted(folders) if folder in fetched}


def _resolved_note(resolved: dict[str, tuple[str, bool]]) -> tuple[str, ...]:
    if not resolved:
        return ()
    named = ", ".join(f"#{folder} = {cid}" for folder, (cid, _) in sorted(resolved.items()))
    return (
        f"{len(resolved)} folder(s) no channels.json lists keyed by the id of the channel "
        f"of the same name fetched before ({named}), so their messages count once",
    )


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


# --- What of Slack's objects the reader uses (fetch/slack.py keeps only that) -----------

#: The fields of a message `slack_days._message_rows` reads; nothing else of it (its text above
#: all) need be kept to make the same events.
MESSAGEFIELDS = ("type", "subtype", "user", "ts", "thread_ts", "parent_user_id")


def message_facts(message: dict[str, Any]) -> dict[str, Any]:
    """`message` reduced to who did what, when, where and in reply to whom — the fields the
    reader reads, so that it gives the same events from the reduction as from the whole
    message (tests check it): no text, no attachment, no file but its owner."""
    facts: dict[str, Any] = {k: message[k] for k in MESSAGEFIELDS if k in message}
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
    found = [message.get("user"), message.get("parent_user_id")]  # any JSON value
    for owner in ("comment", "file"):
        value = message.get(owner)
        if isinstance(value, dict):
            found.append(value.get("user"))
    reactions = message.get("reactions")
    for reaction in reactions if isinstance(reactions, list) else []:
        users = reaction.get("users") if isinstance(reaction, dict) else None
        found.extend(users if isinstance(users, list) else [])
    return {u for u in found if isinstance(u, str)}


def user_facts(user: dict[str, Any]) -> dict[str, Any]:
    """A users.json (or `users.list`) entry reduced to what `_people` reads: the id, the
    e-mail and whether it is a bot or an app."""
    facts: dict[str, Any] = {k: user[k] for k in ("id", "is_bot", "is_app_user") if k in user}
    profile = user.get("profile")
    if isinstance(profile, dict) and isinstance(profile.get("email"), str):
        facts["profile"] = {"email": profile["email"]}
    return facts
