"""Viva Engage threads through the Network Data Export API, unattended and incrementally
(`rse-adoption fetch viva-engage`, docs/m365.md).

Microsoft's daily usage reports (`fetch m365`) say how many messages each person read,
liked and posted, but not who answered whom. The network data export does: a zip of
Messages.csv (thread, replied-to message, sender, group, created and deleted times),
Users.csv and Groups.csv for a time range (`GET {api}/export?since=…&until=…&model=…&
include=csv`, Verified Administrators only, delegated token: fetch/viva_engage_auth.py).

A run asks, once, for the users and groups of the whole network (`model=User&model=
Group` since the network's start: Microsoft does not say whether a ranged export lists
every user or only those changed in its range, and a message's sender may not have), then
for the messages, RANGE_HOURS hours at a time (Microsoft recommends daily exports; a rest
of up to OVERLAP joins the last range), from the end of the last range stored less OVERLAP
(messages that reached the export late), or from `--since`, or the report window's start
on a first run, to now. Each download is written to the store's private scratch folder
(streamed: never whole in memory), read column by column into a slim copy that keeps only
what events need — never the message bodies, the attachments or the participants — and
deleted; the slim copy (Messages.csv, Users.csv,
Groups.csv) is ingested by the Yammer export reader (ingest/yammer_export.py) like an
export ingested by hand, then deleted. Event ids are the message ids: a message fetched
twice (overlap, a rerun, an export ingested by hand too) is stored once.

A reply's target is the author of the message it answers, which may sit in an earlier
range: the reader finds it in the range's own export, else among the events the store
holds (each message stored is an event: event id = message id, person = its author —
earlier ranges, earlier runs, exports ingested by hand, however old). The store cannot
answer for messages posted before its first range: so when the ranges held do not cover
the THREAD_LOOKBACK_DAYS days before a run's start (a first run, a `--since` before or
outside them), the run also reads those days' messages, once, as a look-up (`lookback`),
and adds a replied-to message found there to the range that answers it (then stored); a
nightly run, whose days before are held, asks no look-back. A dry run, which commits
nothing, keeps the rows of its earlier ranges for the later ones the same way. A reply
to a message found nowhere gets no target (a comment, not an interaction), counted in
its range's `replies_without_target`.

Each range is committed alone with its ledger entry (source `viva-engage-export`, the
range's bounds: where the next run starts); a run stopped by its time budget, throttling
or a failure keeps every range committed before and resumes after the last one. Exit
codes: 77 a token refused or an account that is not a Verified Administrator, 75 Viva
Engage or the sign-in unreachable or throttling past the budget, 65 an export that is not
a whole zip or lacks its columns (nothing of that range stored), 78 no sign-in configured.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from .. import store
from ..config import Settings
from ..errors import (
    EXIT_OK,
    EXIT_USAGE,
    AccessDeniedError,
    ConfigError,
    DataError,
    RseError,
    ServiceUnavailableError,
)
from . import graph as http
from .scratch import scratch_folder
from .viva_engage_api import ExportClient
from .viva_engage_auth import cache_path, credentials

#: The ledger's `source` of a fetched range.
SOURCE = "viva-engage-export"
#: The longest range asked in one export (Microsoft recommends daily exports).
RANGE_HOURS = 24
#: Each run starts this long before the end of the last range stored: a message can
#: reach the export a little after it was posted.
OVERLAP = timedelta(hours=1)
#: Days before a run's first range whose messages are read as replied-to messages only,
#: when the ranges held do not cover them (`lookback`).
THREAD_LOOKBACK_DAYS = 14
#: `status` warns (viva_engage_stale) when the last range ends more than this many days ago.
STALE_DAYS = 3
#: The default run budget, minutes (`--max-minutes`); and the sign-in's (`--login`).
MAX_MINUTES = 30
LOGIN_MINUTES = 20
#: The users' and groups' export starts here: before any Yammer network existed.
NETWORK_START = datetime(2008, 1, 1, tzinfo=UTC)
#: The columns kept of each member (ingest/yammer_export.py reads these and no other).
MESSAGE_COLUMNS = (
    "id",
    "thread_id",
    "replied_to_id",
    "group_id",
    "sender_id",
    "in_private_conversation",
    "created_at",
    "deleted_at",
)
REQUIRED_MESSAGE_COLUMNS = ("id", "sender_id", "created_at")
USER_COLUMNS = ("id", "email", "location")
GROUP_COLUMNS = ("id", "name")


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(text: object) -> datetime | None:
    try:
        found = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


# --- What the store holds ------------------------------------------------------------


def fetched_ranges(manifest: store.Manifest) -> list[tuple[datetime, datetime]]:
    """The ranges of the export the store holds (its ledger entries), oldest first."""
    found = []
    for entry in manifest.ledger:
        if entry.get("source") != SOURCE:
            continue
        since = _instant(entry.get("viva_engage_since"))
        until = _instant(entry.get("viva_engage_until"))
        if since is not None and until is not None and since < until:
            found.append((since, until))
    return sorted(found)


def _merged(ranges: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for since, until in sorted(ranges):
        if merged and since <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], until))
        else:
            merged.append((since, until))
    return merged


def coverage(manifest: store.Manifest, today: date) -> dict[str, Any] | None:
    """What `status` says of the export: the first and last instants held, the gaps
    between the ranges held (`fetch viva-engage --since` fills them) and whether nothing
    was fetched for more than STALE_DAYS days. None when nothing was fetched."""
    merged = _merged(fetched_ranges(manifest))
    if not merged:
        return None
    last = merged[-1][1]
    return {
        "first": _iso(merged[0][0]),
        "last": _iso(last),
        "gaps": [
            {"from": _iso(a[1]), "to": _iso(b[0])} for a, b in zip(merged, merged[1:], strict=False)
        ],
        "stale": (today - last.date()).days > STALE_DAYS,
    }


def start_of_run(
    manifest: store.Manifest, since: date | None, now: datetime, window_days: int
) -> datetime:
    """Where a run starts: `--since` (midnight UTC), else the end of the last range stored
    less OVERLAP, else the report window's first day."""
    if since is not None:
        return datetime(since.year, since.month, since.day, tzinfo=UTC)
    ranges = fetched_ranges(manifest)
    if ranges:
        return max(until for _, until in ranges) - OVERLAP
    first = (now - timedelta(days=window_days)).date()
    return datetime(first.year, first.month, first.day, tzinfo=UTC)


def lookback(manifest: store.Manifest, start: datetime) -> tuple[datetime, datetime] | None:
    """The look-back a run starting at `start` reads (replied-to messages only): the
    THREAD_LOOKBACK_DAYS days before it, less the part the ranges held cover up to `start`
    (those messages are in the store, which the reader asks); None when they cover it all,
    as they do for a nightly run."""
    since, until = start - timedelta(days=THREAD_LOOKBACK_DAYS), start
    for first, last in _merged(fetched_ranges(manifest)):
        if first <= start <= last:
            until = min(until, first)
    return (since, until) if since < until else None


def ranges_between(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into ranges of RANGE_HOURS hours, the last one shorter; a rest no
    longer than OVERLAP joins the range before it (a nightly run asks one export of a
    day and its overlap, not two)."""
    step = timedelta(hours=RANGE_HOURS)
    found = []
    while start < end:
        stop = start + step
        if end - stop <= OVERLAP:
            stop = end
        found.append((start, stop))
        start = stop
    return found


# --- Slim copies: what events need, nothing else --------------------------------------


def _member(path: Path, basename: str) -> str | None:
    from ..ingest import archive

    with archive.Bundle(path) as bundle:  # names, sizes and ratios checked (zip bombs)
        return bundle.find(basename)


def read_columns(
    path: Path, basename: str, keep: tuple[str, ...], required: tuple[str, ...] = ()
) -> list[list[str]] | None:
    """The `keep` columns of the CSV member `basename` of the zip at `path`, streamed (a
    row of the wrong width keeps its first field only, for the reader to quarantine
    without its text); None when the member is absent. UTF-8 (with or without BOM), else
    cp1252, like the reader. DataError for a zip cut short or a header without
    `required`."""
    try:
        member = _member(path, basename)
    except DataError as exc:
        raise DataError(
            f"{str(exc).replace(str(path), path.name)}; nothing of that range stored, the next "
            "run fetches it again"
        ) from None
    if member is None:
        return None
    try:
        try:
            return _read_columns(path, member, keep, required, "utf-8-sig")
        except UnicodeDecodeError:
            return _read_columns(path, member, keep, required, "cp1252")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, csv.Error) as exc:
        raise DataError(
            f"{path.name}: {member} cannot be read (a download cut short?): {exc}; nothing "
            "of that range stored, the next run fetches it again"
        ) from None


def _read_columns(
    path: Path, member: str, keep: tuple[str, ...], required: tuple[str, ...], encoding: str
) -> list[list[str]]:
    with zipfile.ZipFile(path) as archive_file, archive_file.open(member) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        reader = csv.reader(text)
        header = [h.replace("\ufeff", "").strip().lower() for h in next(reader, [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise DataError(
                f"{path.name}: {member} lacks column(s) {', '.join(missing)}: not the "
                "network data export's; nothing of that range stored"
            )
        at = [header.index(c) if c in header else None for c in keep]
        rows = [list(keep)]
        for fields in reader:
            if not fields:
                continue
            if len(fields) != len(header):
                first = at[0]
                rows.append([fields[first] if first is not None and first < len(fields) else ""])
                continue
            rows.append([fields[p] if p is not None else "" for p in at])
        return rows


def _write_csv(path: Path, rows: Iterable[list[str]]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


def _replied_to(row: list[str]) -> str | None:
    """The message a slim Messages.csv row answers (its replied-to, else its thread's
    first message), None for a thread's first message or a malformed row."""
    if len(row) != len(MESSAGE_COLUMNS):
        return None
    message, thread, replied = row[0].strip(), row[1].strip(), row[2].strip()
    if not thread or thread == message:
        return None
    return replied or thread


# --- The run -------------------------------------------------------------------------


@dataclass
class RangeResult:
    """One range of the export: `status` fetched (committed) or error (nothing of it
    stored: `message` says why); its messages read, events added and duplicates."""

    since: str
    until: str
    status: str
    messages: int = 0
    events: int = 0
    duplicates: int = 0
    quarantined: int = 0
    message: str | None = None
    #: Replies whose replied-to message is neither in the export nor in the store.
    replies_without_target: int = 0


@dataclass
class VivaEngageFetchSummary:
    """One run of `fetch viva-engage` (the `--json` output). `stopped` is the message of
    what ended the run early and `exit_code` what the command exits with."""

    since: str
    until: str
    dry_run: bool = False
    ranges: list[RangeResult] = field(default_factory=list)
    #: The look-back read ([since, until), UTC), None when the store held those days.
    lookback: tuple[str, str] | None = None
    requests: int = 0
    stopped: str | None = None
    exit_code: int = EXIT_OK
    error: RseError | None = field(default=None, repr=False)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.ranges)

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "dry_run": self.dry_run,
            "requests": self.requests,
            "fetched": self.count("fetched"),
            "errors": self.count("error"),
            "messages": sum(r.messages for r in self.ranges),
            "events": sum(r.events for r in self.ranges),
            "duplicates": sum(r.duplicates for r in self.ranges),
            "replies_without_target": sum(r.replies_without_target for r in self.ranges),
            "lookback": (
                {"since": self.lookback[0], "until": self.lookback[1]} if self.lookback else None
            ),
            "stopped": self.stopped,
            "exit_code": self.exit_code,
            "ranges": [asdict(r) for r in self.ranges],
        }


#: Called after each range with its result.
RangeCallback = Callable[[RangeResult], None]


def fetch_viva_engage(
    settings: Settings,
    *,
    since: date | None = None,
    dry_run: bool = False,
    max_minutes: float = MAX_MINUTES,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
    on_range: RangeCallback | None = None,
) -> VivaEngageFetchSummary:
    """Fetch the network data export from where the store's last range ends (less
    OVERLAP), or from `since`, to `now`, and ingest it range by range into the store at
    `settings.data_dir`.

    Raises ConfigError (78) for a missing sign-in or settings, (2) for a bad `since` or
    budget, before any request. What ends a run once started — a token refused or an
    account that is not a Verified Administrator (77), Viva Engage unreachable or throttling
    past `max_minutes` (75), an export that cannot be read (65) — is in the summary's
    `stopped`, `exit_code` and `error`: every range committed before stays."""
    env = os.environ if environ is None else environ
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    if since is not None and since > now.date():
        raise ConfigError(
            f"--since {since} is in the future: nothing to fetch", exit_code=EXIT_USAGE
        )
    if max_minutes <= 0:
        raise ConfigError("--max-minutes must be positive", exit_code=EXIT_USAGE)
    creds = credentials(settings, env)
    manifest = store.read_manifest(settings.data_dir)
    start = start_of_run(manifest, since, now, settings.window_days)
    summary = VivaEngageFetchSummary(_iso(start), _iso(now), dry_run)
    ranges = ranges_between(start, now)
    if not ranges:
        return summary
    look = lookback(manifest, start)
    if look is not None:
        summary.lookback = (_iso(look[0]), _iso(look[1]))
    client = ExportClient(
        creds, http.monotonic() + max_minutes * 60, max_minutes, cache_path(settings)
    )
    try:
        with scratch_folder(settings.data_dir, dry_run) as scratch:
            _run(client, settings, ranges, look, summary, scratch, now, on_range)
    except (AccessDeniedError, ServiceUnavailableError, DataError) as exc:
        summary.stopped = creds.scrub(str(exc))
        summary.exit_code = exc.exit_code
        summary.error = type(exc)(summary.stopped)
    except RseError as exc:  # the store busy past the budget, disk full...
        summary.stopped = creds.scrub(str(exc))
        summary.exit_code = exc.exit_code
        summary.error = exc
    finally:
        summary.requests = client.requests
        client.close()
    return summary


def login_viva_engage(
    settings: Settings, prompt: Callable[[str], None], *, environ: Mapping[str, str] | None = None
) -> str:
    """`fetch viva-engage --login`: the device-code sign-in of a Verified Administrator;
    `prompt` shows Microsoft's instruction. Writes the token cache (owner-only) and returns
    the account's name."""
    env = os.environ if environ is None else environ
    creds = credentials(settings, env, login=True)
    client = ExportClient(
        creds, http.monotonic() + LOGIN_MINUTES * 60, LOGIN_MINUTES, cache_path(settings)
    )
    try:
        return client.sign_in().login(prompt)
    finally:
        client.close()


def _run(
    client: ExportClient,
    settings: Settings,
    ranges: list[tuple[datetime, datetime]],
    look: tuple[datetime, datetime] | None,
    summary: VivaEngageFetchSummary,
    scratch: Path,
    now: datetime,
    on_range: RangeCallback | None,
) -> None:
    from ..ingest.pipeline import ingest_paths

    def done(result: RangeResult) -> None:
        if result.message:
            result.message = client.creds.scrub(result.message)
        summary.ranges.append(result)
        if on_range is not None:
            on_range(result)

    users, groups = _people(client, scratch, now)
    #: Slim rows, by id, of the replied-to messages the store cannot give: the look-back's,
    #: and in a dry run (nothing committed) the earlier ranges'.
    seen: dict[str, list[str]] = {}
    if look is not None:
        for row in _messages(client, scratch, look[0], look[1], "the look-back")[1:]:
            seen.setdefault(row[0].strip(), row)
    for since, until in ranges:
        rows = _messages(client, scratch, since, until, "the messages")
        ids = {row[0].strip() for row in rows[1:]}
        parents: dict[str, list[str]] = {}
        for row in rows[1:]:
            parent = _replied_to(row)
            if parent and parent not in ids and parent in seen:
                parents[parent] = seen[parent]
        if summary.dry_run:
            for row in rows[1:]:
                if len(row) == len(MESSAGE_COLUMNS):
                    seen.setdefault(row[0].strip(), row)
        folder = scratch / f"viva-engage-export-{since:%Y%m%dT%H%M%S}"
        folder.mkdir(mode=0o700)
        _write_csv(folder / "Messages.csv", [*rows, *parents.values()])
        _write_csv(folder / "Users.csv", users)
        _write_csv(folder / "Groups.csv", groups)
        # A range's own mark (hashed with the folder): an empty range is not "unchanged"
        # beside another empty one, so its ledger entry, where the next run starts, lands.
        (folder / ".range").write_text(f"{_iso(since)}/{_iso(until)}\n", encoding="utf-8")
        provenance = {
            "source": SOURCE,
            "viva_engage_since": _iso(since),
            "viva_engage_until": _iso(until),
            "fetched_on": now.date().isoformat(),
        }
        remaining = max(0.0, client.deadline - http.monotonic())
        result = ingest_paths(
            [folder],
            settings,
            format_name="yammer",
            wait_seconds=remaining,
            dry_run=summary.dry_run,
            fetched=provenance,
        ).details[0]
        shutil.rmtree(folder, ignore_errors=True)
        if result.status == "error":
            done(RangeResult(_iso(since), _iso(until), "error", message=result.message))
            raise DataError(
                f"the export of {_iso(since)} to {_iso(until)} cannot be read: {result.message}; "
                "nothing of it stored, the next run fetches it again"
            )
        done(
            RangeResult(
                _iso(since),
                _iso(until),
                "fetched",
                messages=len(rows) - 1,
                events=result.rows_ingested,
                duplicates=result.duplicates,
                quarantined=result.quarantined,
                message=result.message,
                replies_without_target=result.replies_without_target,
            )
        )


def _people(
    client: ExportClient, scratch: Path, now: datetime
) -> tuple[list[list[str]], list[list[str]]]:
    """The slim Users.csv and Groups.csv rows (headers first) of the whole network."""
    people = scratch / "people.zip"
    client.export(
        [("since", _iso(NETWORK_START)), ("until", _iso(now)), ("model", "User"),
         ("model", "Group"), ("include", "csv")],
        people,
        "the export of users and groups",
    )  # fmt: skip
    try:
        users = read_columns(people, "Users.csv", USER_COLUMNS, ("id", "email"))
        groups = read_columns(people, "Groups.csv", GROUP_COLUMNS, ("id",))
    finally:
        people.unlink(missing_ok=True)  # it names everyone: gone before anything else
    if users is None:  # senders would be Yammer ids, joined to no one: refuse, not guess
        raise DataError(
            "the export of users and groups holds no Users.csv: not the network data export; "
            "nothing of this run stored"
        )
    return users, groups or [list(GROUP_COLUMNS)]


def _messages(
    client: ExportClient, scratch: Path, since: datetime, until: datetime, what: str
) -> list[list[str]]:
    """The slim Messages.csv rows (header first) of the export of [since, until); the
    download is deleted before this returns, whatever happens."""
    target = scratch / f"messages-{since:%Y%m%dT%H%M%S}.zip"
    label = f"{what} export of {_iso(since)} to {_iso(until)}"
    try:
        client.export(
            [("since", _iso(since)), ("until", _iso(until)), ("model", "Message"),
             ("include", "csv")],
            target,
            label,
        )  # fmt: skip
        rows = read_columns(target, "Messages.csv", MESSAGE_COLUMNS, REQUIRED_MESSAGE_COLUMNS)
    finally:
        target.unlink(missing_ok=True)
    if rows is None:
        raise DataError(
            f"the {label} holds no Messages.csv: not the network data export; nothing of it stored"
        )
    return rows
