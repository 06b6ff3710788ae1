"""Slack workspaces read through the Web API, unattended and incrementally
(`rse-adoption fetch slack`, docs/slack.md).

A run lists the public channels (`conversations.list`) and the people with their e-mails
(`users.list`), then, channel by channel, reads the messages newer than the last one the
store holds (`conversations.history` with `oldest`), re-reading a look-back window
(`[slack] lookback_days`) to find old threads whose `latest_reply` moved, and the replies
of every thread with new replies (`conversations.replies`). The channel's messages, reduced
to the fields the Slack export reader uses (ingest/slack_export.py: no text), are written
in the export's own layout — users.json, channels.json, `<channel>/<YYYY-MM-DD>.json` — to
a private folder of the store and ingested with the export reader: one implementation of
what a message means, the same events and event ids (`channel:ts`) as the workspace's
export, so a store filled either way (or both) counts each message once.

Each channel is committed whole with its ledger entry, whose provenance (channel, newest
message `ts`, when) is where the next run starts: a run killed or out of time
(`--max-minutes`) leaves every committed channel whole, and the next goes on from each
channel's last stored `ts`. A channel is committed only when it has a message newer than
that (re-read messages are duplicates: the pipeline drops them); an edited message keeps
its event, and a message deleted after it was fetched keeps its event too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import store
from ..config import Settings
from ..errors import (
    EXIT_DATA,
    EXIT_OK,
    EXIT_USAGE,
    AccessDeniedError,
    ConfigError,
    RseError,
    ServiceUnavailableError,
)
from .scratch import scratch_folder

if TYPE_CHECKING:  # slack_sdk is imported when a run starts: `status` never needs it
    from .slack_api import Budget, SlackApi

TOKEN_ENV = "RSE_ADOPTION_SLACK_TOKEN"
#: The app's Bot Token Scopes (examples/slack-app-manifest.json asks for exactly these).
SCOPES = ("channels:read", "channels:history", "users:read", "users:read.email")
#: The ledger's `source` of a fetched channel.
SOURCE = "slack-api"
#: The default run budget, minutes (`--max-minutes`).
MAX_MINUTES = 30
#: `status` warns (slack_stale) when no channel has a message newer than this many days.
STALE_DAYS = 7

#: The clock and the sleep of every run; tests replace them so that no test waits.
monotonic: Callable[[], float] = time.monotonic
sleep: Callable[[float], None] = time.sleep


# --- What the store holds ------------------------------------------------------------


#: Slack's `ts` are epoch seconds: anything outside [0, 10^11) is not one (and could not
#: be turned into a date).
_TS_LIMIT = Decimal(10**11)


def _ts(value: object) -> Decimal | None:
    """A Slack `ts` ("1700000000.000100") as an exact number, None if it is not one."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() and 0 <= number < _TS_LIMIT else None


def _iso(ts: str) -> str:
    return datetime.fromtimestamp(float(ts), UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ChannelProgress:
    """Where a channel's fetch stands: its newest message stored (`latest_ts`) and the
    day of its last commit."""

    channel_id: str
    channel: str
    latest_ts: str
    fetched_on: str

    def to_status(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "channel_id": self.channel_id,
            "last_message": _iso(self.latest_ts),
            "fetched_on": self.fetched_on,
        }


def progress(manifest: store.Manifest) -> dict[str, ChannelProgress]:
    """Per channel id, its newest message stored by `fetch slack` (the ledger entries;
    the name and the day are those of the channel's last commit)."""
    found: dict[str, ChannelProgress] = {}
    for entry in manifest.ledger:  # in commit order
        latest = _ts(entry.get("slack_latest_ts"))
        if entry.get("source") != SOURCE or not entry.get("slack_channel") or latest is None:
            continue
        channel_id = str(entry["slack_channel"])
        known = found.get(channel_id)
        newest = str(entry["slack_latest_ts"])
        if known is not None and Decimal(known.latest_ts) > latest:
            newest = known.latest_ts
        found[channel_id] = ChannelProgress(
            channel_id,
            str(entry.get("slack_channel_name") or channel_id),
            newest,
            str(entry.get("fetched_on") or entry.get("ingested_at", ""))[:10],
        )
    return found


def coverage(manifest: store.Manifest) -> list[dict[str, Any]]:
    """What `status` says per fetched channel: name, id, last message time, last commit."""
    return [p.to_status() for p in sorted(progress(manifest).values(), key=lambda p: p.channel)]


def is_stale(channels: list[dict[str, Any]], today: date) -> str | None:
    """The newest message fetched from any channel when it is older than STALE_DAYS (the
    fetch stopped running, or is refused), else None."""
    newest = max((c["last_message"] for c in channels), default=None)
    if newest is None or (today - date.fromisoformat(newest[:10])).days <= STALE_DAYS:
        return None
    return str(newest[:10])


# --- The run -------------------------------------------------------------------------


@dataclass
class ChannelResult:
    """What happened to one channel: `status` is fetched (committed), unchanged (nothing
    newer than the store holds), skipped (the app may not read it: `message` says why) or
    error (Slack's answer could not be read; nothing of the channel stored)."""

    channel: str
    channel_id: str
    status: str
    messages: int = 0
    new_messages: int = 0
    events: int = 0
    duplicates: int = 0
    last_message: str | None = None
    message: str | None = None


@dataclass
class SlackFetchSummary:
    """One run of `fetch slack` (the `--json` output). `stopped` is the message of what
    ended the run early (time budget, throttling, access refused) and `exit_code` what the
    command exits with."""

    since: str | None = None
    dry_run: bool = False
    channels: list[ChannelResult] = field(default_factory=list)
    people: int = 0
    requests: int = 0
    stopped: str | None = None
    exit_code: int = EXIT_OK
    error: RseError | None = field(default=None, repr=False)

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.channels)

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "dry_run": self.dry_run,
            "people": self.people,
            "requests": self.requests,
            **{s: self.count(s) for s in ("fetched", "unchanged", "skipped")},
            "errors": self.count("error"),
            "events": sum(c.events for c in self.channels),
            "stopped": self.stopped,
            "exit_code": self.exit_code,
            "channels": [asdict(c) for c in self.channels],
        }


#: Called after each channel with its result.
ChannelCallback = Callable[[ChannelResult], None]


@dataclass(frozen=True)
class _Run:
    """What every channel of a run shares."""

    settings: Settings
    api: SlackApi
    budget: Budget
    people: dict[str, dict[str, Any]]
    held: dict[str, ChannelProgress]
    since: Decimal | None
    now: datetime
    scratch: Path
    dry_run: bool
    bot_token: bool


def fetch_slack(
    settings: Settings,
    *,
    channels: Iterable[str] | None = None,
    since: date | None = None,
    dry_run: bool = False,
    max_minutes: float = MAX_MINUTES,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
    on_channel: ChannelCallback | None = None,
) -> SlackFetchSummary:
    """Fetch the new messages of every public channel the app can read (or of `channels`,
    by name) and ingest them into the store at `settings.data_dir`; `since` bounds how far
    back anything is read.

    Raises ConfigError (78) without a token, (2) for a bad argument, before any request.
    What ends a run once started — access refused (77), Slack unreachable, throttling or
    the run's budget spent (75), an unknown `--channel` (2) — is in the summary's
    `stopped`, `exit_code` and `error`: every channel committed before stays.
    """
    from .slack_api import Budget, OutOfTime, SlackApi

    env = os.environ if environ is None else environ
    token = (env.get(TOKEN_ENV) or "").strip()
    if not token:
        raise ConfigError(
            f"fetch slack needs the app's Bot User OAuth Token in {TOKEN_ENV} (never in a "
            "file; docs/slack.md)"
        )
    if max_minutes <= 0:
        raise ConfigError("--max-minutes must be positive", exit_code=EXIT_USAGE)
    names = [n.strip().lstrip("#") for n in channels or () if n.strip().lstrip("#")]
    now = now or datetime.now(UTC)
    summary = SlackFetchSummary(since.isoformat() if since else None, dry_run)
    budget = Budget(max_minutes, monotonic, sleep)
    api = SlackApi(token, settings.slack_api_url, budget)
    try:
        listed = _choose(_public_channels(api), names)
        people = _people(api)
        summary.people = len(people)
        with scratch_folder(settings.data_dir, dry_run) as scratch:
            run = _Run(
                settings,
                api,
                budget,
                people,
                progress(store.read_manifest(settings.data_dir)),
                _ts(datetime(since.year, since.month, since.day, tzinfo=UTC).timestamp())
                if since
                else None,
                now,
                scratch,
                dry_run,
                token.startswith("xoxb-"),
            )
            for channel in listed:
                result = _fetch_channel(run, channel)
                summary.channels.append(result)
                if on_channel is not None:
                    on_channel(result)
    except OutOfTime as exc:
        waiting = f" (Slack asked to wait {exc.asked:.0f} s more)" if exc.asked else ""
        summary.error = ServiceUnavailableError(
            f"stopped at the run's time budget of {max_minutes:g} minutes{waiting}, before "
            f"{exc.what}; every channel fetched so far is committed, the next run goes on "
            "from each channel's last stored message"
        )
    except RseError as exc:  # access refused, Slack unreachable, the store busy...
        summary.error = type(exc)(api.scrub(str(exc)))
        summary.error.exit_code = exc.exit_code
    finally:
        summary.requests = api.requests
    if summary.error is not None:
        summary.stopped = str(summary.error)
        summary.exit_code = summary.error.exit_code
    elif summary.count("error"):
        summary.exit_code = EXIT_DATA
    return summary


def _public_channels(api: SlackApi) -> list[dict[str, Any]]:
    """Every public channel of the workspace (archived ones too: their history counts),
    by name."""
    from .slack_api import PAGE_SIZE

    found = [
        c
        for c in api.pages(
            "conversations.list",
            "channels",
            types="public_channel",
            exclude_archived="false",
            limit=PAGE_SIZE,
        )
        if isinstance(c.get("id"), str)
    ]
    return sorted(found, key=lambda c: (str(c.get("name") or c["id"]), c["id"]))


def _choose(listed: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    """The channels named (all without names); an unknown name is a usage error."""
    if not names:
        return listed
    by_name = {str(c.get("name")): c for c in listed}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(sorted(by_name)[:10]) + (", …" if len(by_name) > 10 else "")
        raise ConfigError(
            f"--channel {unknown[0]}: no public channel of that name in the workspace "
            f"(known: {known or 'none'})",
            exit_code=EXIT_USAGE,
        )
    return [by_name[n] for n in dict.fromkeys(names)]


def _people(api: SlackApi) -> dict[str, dict[str, Any]]:
    """Every member of the workspace by id. Without the users:read.email scope Slack
    leaves out every e-mail: then nobody could be joined to the directory, and the events
    stored would stay keyed by Slack ids for good (a re-fetched message is a duplicate),
    so the run stops (77) rather than store them."""
    from .slack_api import PAGE_SIZE

    people = {
        u["id"]: u
        for u in api.pages("users.list", "members", limit=PAGE_SIZE)
        if isinstance(u.get("id"), str)
    }
    humans = [
        u
        for u in people.values()
        if not (u.get("is_bot") or u.get("is_app_user") or u.get("deleted"))
        and u["id"] != "USLACKBOT"
    ]
    if humans and not any((u.get("profile") or {}).get("email") for u in humans):
        raise AccessDeniedError(
            f"Slack's users.list gave none of the {len(humans)} people's e-mail: add the "
            "scope users:read.email to the app's Bot Token Scopes and reinstall it "
            "(docs/slack.md); without e-mails nobody could be joined to the directory"
        )
    return people


def _oldest(run: _Run, held: ChannelProgress | None) -> Decimal | None:
    """Where reading a channel's history starts: its last stored message, or the start of
    the look-back window if earlier (threads with new replies); `since` if later."""
    start: Decimal | None = None
    if held is not None:
        window = run.now - timedelta(days=run.settings.slack_lookback_days)
        start = min(Decimal(held.latest_ts), Decimal(str(window.timestamp())))
    if run.since is not None:
        start = run.since if start is None else max(start, run.since)
    return start


def _fetch_channel(run: _Run, channel: dict[str, Any]) -> ChannelResult:
    """Read one channel's new messages and commit them whole (or say why not)."""
    from .slack_api import ChannelRefused

    name, channel_id = str(channel.get("name") or channel["id"]), channel["id"]
    held = run.held.get(channel_id)
    last = held.latest_ts if held is not None else None
    result = ChannelResult(name, channel_id, "unchanged", last_message=last and _iso(last))
    if run.bot_token and channel.get("is_member") is False:
        result.status = "skipped"
        result.message = f"the app is not a member of #{name}: invite it there (/invite @app)"
        return result
    try:
        messages = _read_channel(run.api, channel_id, _oldest(run, held), last)
    except ChannelRefused as exc:
        result.status, result.message = "skipped", f"Slack refused to read #{name}: {exc.error}"
        return result
    newer = [ts for ts in messages if last is None or _later(ts, last)]
    result.messages, result.new_messages = len(messages), len(newer)
    if not newer:
        return result
    latest = max(newer, key=lambda ts: _ts(ts) or Decimal(0))
    provenance = {
        "source": SOURCE,
        "slack_channel": channel_id,
        "slack_channel_name": name,
        "slack_latest_ts": latest,
        "slack_messages": len(messages),
        "fetched_on": run.now.date().isoformat(),
    }
    return _ingest(run, channel, messages, provenance, result)


def _later(ts: str, than: str) -> bool:
    a, b = _ts(ts), _ts(than)
    return a is not None and b is not None and a > b


def _read_channel(
    api: SlackApi, channel_id: str, oldest: Decimal | None, last: str | None
) -> dict[str, dict[str, Any]]:
    """The channel's messages from `oldest` on (newest first, as Slack pages them) and the
    replies of every thread whose latest reply is newer than `last` (all of them on a
    first read), by `ts`. A reply lacking `parent_user_id` gets its thread's author, as the
    export has it."""
    from .slack_api import PAGE_SIZE

    params: dict[str, Any] = {"channel": channel_id, "limit": PAGE_SIZE}
    if oldest is not None:
        params["oldest"] = f"{oldest:f}"
    found: dict[str, dict[str, Any]] = {}
    threads = []
    for message in api.pages("conversations.history", "messages", **params):
        ts = message.get("ts")
        if not isinstance(ts, str) or _ts(ts) is None:
            continue  # Slack's messages all have one; a message without is not counted
        found.setdefault(ts, message)
        latest_reply = message.get("latest_reply")
        if (
            message.get("thread_ts") == ts
            and int(message.get("reply_count") or 0) > 0
            and (last is None or (isinstance(latest_reply, str) and _later(latest_reply, last)))
        ):
            threads.append(ts)
    for parent in threads:
        author = found[parent].get("user")
        for reply in api.pages(
            "conversations.replies", "messages", channel=channel_id, ts=parent, limit=PAGE_SIZE
        ):
            ts = reply.get("ts")
            if not isinstance(ts, str) or ts == parent or _ts(ts) is None:
                continue
            if "parent_user_id" not in reply and isinstance(author, str):
                reply = {**reply, "parent_user_id": author}
            found.setdefault(ts, reply)
    return found


def _ingest(
    run: _Run,
    channel: dict[str, Any],
    messages: dict[str, dict[str, Any]],
    provenance: dict[str, Any],
    result: ChannelResult,
) -> ChannelResult:
    """Write the channel as an export and ingest it with the export reader (one commit)."""
    from ..ingest.pipeline import ingest_paths

    bundle = _write_export(run.scratch, channel, messages, run.people)
    try:
        detail = ingest_paths(
            [bundle],
            run.settings,
            format_name="slack",
            wait_seconds=run.budget.left(),
            dry_run=run.dry_run,
            fetched=provenance,
        ).details[0]
    finally:
        shutil.rmtree(bundle, ignore_errors=True)
    result.events, result.duplicates = detail.rows_ingested, detail.duplicates
    result.message = detail.message
    if detail.status == "error":
        result.status = "error"
        return result
    result.status = "fetched" if detail.status == "ingested" else "unchanged"
    result.last_message = _iso(provenance["slack_latest_ts"])
    return result


#: A channel name usable as a folder name (Slack's names are lower-case letters, digits,
#: `-` and `_`); any other is written under the channel's id.
_SAFE_FOLDER = re.compile(r"[^./\\\x00][^/\\\x00]{0,254}")


def _write_export(
    scratch: Path,
    channel: dict[str, Any],
    messages: dict[str, dict[str, Any]],
    people: dict[str, dict[str, Any]],
) -> Path:
    """The channel's messages in the layout of Slack's export, reduced to what the reader
    reads (slack_export.message_facts: no text) with only the people they name."""
    from ..ingest.slack_export import message_facts, people_in, user_facts

    name = str(channel.get("name") or "")
    folder = name if _SAFE_FOLDER.fullmatch(name) else str(channel["id"])
    root = scratch / f"slack-{channel['id']}"
    (root / folder).mkdir(parents=True)
    days: dict[str, list[dict[str, Any]]] = {}
    named: set[str] = set()
    for ts in sorted(messages, key=lambda t: _ts(t) or Decimal(0)):
        named |= people_in(messages[ts])
        day = datetime.fromtimestamp(float(ts), UTC).date().isoformat()
        days.setdefault(day, []).append(message_facts(messages[ts]))
    for day, facts in days.items():
        _write_json(root / folder / f"{day}.json", facts)
    _write_json(root / "channels.json", [{"id": channel["id"], "name": folder}])
    _write_json(root / "users.json", [user_facts(people[u]) for u in sorted(named & set(people))])
    return root


def _write_json(path: Path, value: object) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False)
