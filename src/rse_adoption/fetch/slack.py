"""Slack workspaces read through the Web API, unattended and incrementally
(`rse-adoption fetch slack`, docs/slack.md).

A run lists the public channels (`conversations.list`) and the people with their e-mails
(`users.list`), then, channel by channel, reads the history (`conversations.history`
with `oldest`) from the earlier of the last run's mark and the look-back window (the
longest report window, 90 days at least: `lookback_days`), and the replies of every
thread whose `latest_reply` is newer than that mark (`conversations.replies`): unchanged
threads cost no request. The channel's messages go in memory to the Slack export
reader's message-to-events function (ingest/slack_fetched.fetched_reader, over
slack_days.message_events) and are committed by the pipeline's own steps
(ingest/fetched.py): one definition of an event, the same event ids (`channel:ts`) as the
workspace's export, so a store filled either way (or both) counts each message once.
Nothing Slack returns becomes a path: a channel whose id is not a Slack id, or whose name
no Slack channel can have, is refused alone (exit 65).

Each channel is committed whole with its ledger entry, whose provenance holds the run's
mark — when the run began reading, less CLOCK_MARGIN_SECONDS for Slack's clock — where
the next run starts: a message or reply posted while a run reads is newer than that mark
and read by the next run. The entry also keeps the channel's `--since` floor, the newest
message stored (`status`) and when. A run killed or out of time (`--max-minutes`) leaves
every committed channel whole, and the next goes on from each channel's mark. A channel
is committed only when it has a message newer than its mark (re-read messages are
duplicates: the pipeline drops them) or a new floor; an edited message keeps its event,
and a message deleted after it was fetched keeps its event too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
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

if TYPE_CHECKING:  # slack_sdk is imported when a run starts: `status` never needs it
    from .slack_api import Budget, SlackApi

TOKEN_ENV = "RSE_ADOPTION_SLACK_TOKEN"
#: The app's Bot Token Scopes (examples/slack-app-manifest.json asks for exactly these).
SCOPES = ("channels:read", "channels:history", "users:read", "users:read.email")
#: The ledger's `source` of a fetched channel.
SOURCE = "slack-api"  # ingest/slack_fetched.FETCHED_SOURCE
#: The default run budget, minutes (`--max-minutes`).
MAX_MINUTES = 30
#: `status` warns (slack_stale) when no channel has a message newer than this many days.
STALE_DAYS = 7
#: The next run reads again from the moment this one began, less this many seconds:
#: Slack's clock, which stamps every `ts`, may be behind this machine's by that much.
CLOCK_MARGIN_SECONDS = 600
#: Days of history read again at each run, at the least (`lookback_days`): the longest
#: report window of the project's reports.
MIN_LOOKBACK_DAYS = 90

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
    """Where a channel's fetch stands: its newest message stored (`latest_ts`, None if
    none), the day of its last commit, where the next run reads from (`mark`: the moment
    the last committed run began reading, less CLOCK_MARGIN_SECONDS) and the `--since`
    floor the store keeps for it (`floor`, None without one)."""

    channel_id: str
    channel: str
    latest_ts: str | None
    fetched_on: str
    mark: str | None = None
    floor: str | None = None

    def to_status(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "channel_id": self.channel_id,
            "last_message": _iso(self.latest_ts) if self.latest_ts else None,
            "fetched_on": self.fetched_on,
        }


def progress(manifest: store.Manifest) -> dict[str, ChannelProgress]:
    """Per channel id, what `fetch slack` stored of it (the ledger entries; the name, the
    day, the mark and the floor are those of the channel's last commit, the newest message
    the newest of all). An entry written before marks existed starts the next run at its
    newest message, as then."""
    found: dict[str, ChannelProgress] = {}
    for entry in manifest.ledger:  # in commit order
        if entry.get("source") != SOURCE or not entry.get("slack_channel"):
            continue
        channel_id = str(entry["slack_channel"])
        known = found.get(channel_id)
        newest = _newest(known.latest_ts if known else None, entry.get("slack_latest_ts"))
        mark = entry.get("slack_mark", entry.get("slack_latest_ts"))
        found[channel_id] = ChannelProgress(
            channel_id,
            str(entry.get("slack_channel_name") or channel_id),
            newest,
            str(entry.get("fetched_on") or entry.get("ingested_at", ""))[:10],
            str(mark) if _ts(mark) is not None else None,
            str(entry["slack_since"]) if _ts(entry.get("slack_since")) is not None else None,
        )
    return found


def _newest(a: str | None, b: object) -> str | None:
    """The later of two `ts` (either may be missing or unreadable)."""
    held = [t for t in (a, b) if isinstance(t, str) and _ts(t) is not None]
    return max(held, key=lambda t: _ts(t) or Decimal(0)) if held else None


def coverage(manifest: store.Manifest) -> list[dict[str, Any]]:
    """What `status` says per fetched channel: name, id, last message time, last commit."""
    held = sorted(progress(manifest).values(), key=lambda p: p.channel)
    return [p.to_status() for p in held if p.latest_ts]


def is_stale(channels: list[dict[str, Any]], today: date) -> str | None:
    """The newest message fetched from any channel when it is older than STALE_DAYS (the
    fetch stopped running, or is refused), else None."""
    newest = max((c["last_message"] for c in channels if c["last_message"]), default=None)
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
    """What every channel of a run shares. `mark` is where the next run will start: the
    moment this run began reading, less CLOCK_MARGIN_SECONDS; `window` the start of the
    look-back window (threads whose parent is newer have their new replies read)."""

    settings: Settings
    api: SlackApi
    budget: Budget
    people: dict[str, dict[str, Any]]
    held: dict[str, ChannelProgress]
    since: Decimal | None
    now: datetime
    dry_run: bool
    bot_token: bool
    mark: Decimal
    window: Decimal
    #: Channel names the store keys Slack events by (a partial export's folders).
    named: frozenset[str]


def lookback_days(settings: Settings) -> int:
    """Days of history read again at each run: the longest of `[slack] lookback_days`,
    the report window (`[report] window_days`) and MIN_LOOKBACK_DAYS, so that every
    thread whose parent a report counts has its late replies found."""
    return max(settings.slack_lookback_days, settings.window_days, MIN_LOOKBACK_DAYS)


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
    back anything is read, for this run and the next ones (the channel's floor).

    Raises ConfigError (78) without a token, (2) for a bad argument, before any request.
    What ends a run once started — access refused (77), Slack unreachable, throttling, an
    unreadable answer or the run's budget spent (75), an unknown `--channel` (2) — is in
    the summary's `stopped`, `exit_code` and `error`: every channel committed before stays.
    A channel whose id or name Slack gives malformed is refused alone (65).
    """
    from ..ingest.slack_fetched import named_channels
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
        manifest = store.read_manifest(settings.data_dir)
        run = _Run(
            settings,
            api,
            budget,
            people,
            progress(manifest),
            _ts(datetime(since.year, since.month, since.day, tzinfo=UTC).timestamp())
            if since
            else None,
            now,
            dry_run,
            token.startswith("xoxb-"),
            _epoch(now - timedelta(seconds=CLOCK_MARGIN_SECONDS)),
            _epoch(now - timedelta(days=lookback_days(settings))),
            named_channels(settings.data_dir, manifest),
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
            "from where each channel stopped"
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


def _epoch(moment: datetime) -> Decimal:
    return Decimal(int(moment.timestamp()))


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


#: A Slack conversation id (C…, G…): upper-case letters and digits.
CHANNEL_ID = re.compile(r"[A-Z0-9]{1,40}")
#: Names no Slack channel has and an export could not hold as a folder: the export's
#: listings, path separators, control characters, `.` and `..`.
_BAD_NAME = re.compile(r"[/\\\x00-\x1f\x7f]|^\.{1,2}$")


def _malformed(channel: dict[str, Any]) -> str | None:
    """Why Slack's description of a channel cannot be used (None when it can): an id that
    is not a Slack id, or a name no Slack channel can have."""
    from ..ingest.slack_export import LISTINGS

    channel_id, name = channel.get("id"), channel.get("name")
    if not isinstance(channel_id, str) or not CHANNEL_ID.fullmatch(channel_id):
        shown = json.dumps(channel_id)[:60]
        return f"Slack gave the channel #{name} the id {shown}, which is no Slack id: refused"
    if not isinstance(name, str) or not name or len(name) > 255 or _BAD_NAME.search(name):
        return f"Slack gave the channel {channel_id} the name {json.dumps(name)[:60]}: refused"
    if name.lower() in LISTINGS:
        return (
            f"Slack gave the channel {channel_id} the name {name!r}, a file of Slack's "
            "export, which no channel can be named: refused"
        )
    return None


def _fetch_channel(run: _Run, channel: dict[str, Any]) -> ChannelResult:
    """Read one channel's new messages and commit them whole (or say why not)."""
    from .slack_api import ChannelRefused

    problem = _malformed(channel)
    if problem is not None:
        shown = str(channel.get("name") or "?")[:80]
        return ChannelResult(shown, str(channel.get("id"))[:80], "error", message=problem)
    name, channel_id = str(channel["name"]), str(channel["id"])
    held = run.held.get(channel_id)
    last = held.latest_ts if held is not None else None
    result = ChannelResult(name, channel_id, "unchanged", last_message=last and _iso(last))
    if run.bot_token and channel.get("is_member") is False:
        result.status = "skipped"
        result.message = f"the app is not a member of #{name}: invite it there (/invite @app)"
        return result
    plan = _plan(run, held)
    try:
        messages = _read_channel(run.api, channel_id, plan)
    except ChannelRefused as exc:
        result.status, result.message = "skipped", f"Slack refused to read #{name}: {exc.error}"
        return result
    newer = [ts for ts in messages if plan.mark is None or _later(ts, f"{plan.mark:f}")]
    result.messages, result.new_messages = len(messages), len(newer)
    if not newer and not plan.new_floor:
        return result
    provenance = {
        "source": SOURCE,
        "slack_channel": channel_id,
        "slack_channel_name": name,
        "slack_latest_ts": _newest(last, max(messages, key=_ts_key, default=None)),
        "slack_mark": f"{run.mark:f}",
        "slack_since": f"{plan.floor:f}" if plan.floor is not None else None,
        "slack_messages": len(messages),
        "fetched_on": run.now.date().isoformat(),
    }
    return _ingest(run, (channel_id, name), messages, provenance, result)


def _ts_key(ts: str) -> Decimal:
    return _ts(ts) or Decimal(0)


@dataclass(frozen=True)
class _Plan:
    """How one channel is read: history from `oldest` (None: all of it), the replies of
    every thread whose latest reply is newer than `mark` (all with None: a first read),
    nothing older than `floor`; `new_floor` when this run sets the floor the store keeps."""

    oldest: Decimal | None
    mark: Decimal | None
    floor: Decimal | None
    new_floor: bool


def _plan(run: _Run, held: ChannelProgress | None) -> _Plan:
    """A channel read for the first time, or with a `--since` lower than its floor, is read
    whole from its floor (history never read before). Otherwise history is read from the
    earlier of the last run's mark and the look-back window, and a thread's replies when
    its latest reply is newer than that mark. The floor is the last `--since` given."""
    held_floor = _ts(held.floor) if held is not None and held.floor else None
    floor = run.since if run.since is not None else held_floor
    new_floor = run.since is not None and (held is None or run.since != held_floor)
    lowered = run.since is not None and held_floor is not None and run.since < held_floor
    mark = _ts(held.mark) if held is not None and held.mark and not lowered else None
    if mark is None:
        return _Plan(floor, None, floor, new_floor)
    oldest = min(mark, run.window)
    return _Plan(oldest if floor is None else max(oldest, floor), mark, floor, new_floor)


def _replied(count: object) -> bool:
    """A thread's `reply_count` says it has replies (a count Slack never gives is none)."""
    try:
        return int(count) > 0  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return False


def _later(ts: str, than: str) -> bool:
    a, b = _ts(ts), _ts(than)
    return a is not None and b is not None and a > b


def _read_channel(api: SlackApi, channel_id: str, plan: _Plan) -> dict[str, dict[str, Any]]:
    """The channel's messages from `plan.oldest` on (newest first, as Slack pages them) and
    the replies of every thread whose latest reply is newer than `plan.mark` (all of them
    on a first read), by `ts`, none older than the floor. A reply lacking `parent_user_id`
    gets its thread's author, as the export has it."""
    from .slack_api import PAGE_SIZE

    params: dict[str, Any] = {"channel": channel_id, "limit": PAGE_SIZE}
    if plan.oldest is not None:
        params["oldest"] = f"{plan.oldest:f}"
    found: dict[str, dict[str, Any]] = {}
    threads = []
    mark = None if plan.mark is None else f"{plan.mark:f}"
    for message in api.pages("conversations.history", "messages", **params):
        ts = message.get("ts")
        if not isinstance(ts, str) or _ts(ts) is None:
            continue  # Slack's messages all have one; a message without is not counted
        found.setdefault(ts, message)
        latest_reply = message.get("latest_reply")
        if (
            message.get("thread_ts") == ts
            and _replied(message.get("reply_count"))
            and (mark is None or (isinstance(latest_reply, str) and _later(latest_reply, mark)))
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
    if plan.floor is not None:
        floor = plan.floor
        found = {ts: m for ts, m in found.items() if _ts_key(ts) >= floor}
    return found


def _ingest(
    run: _Run,
    channel: tuple[str, str],
    messages: dict[str, dict[str, Any]],
    provenance: dict[str, Any],
    result: ChannelResult,
) -> ChannelResult:
    """Hand the channel's messages to the Slack reader's message-to-events function and
    commit its events (one commit), in memory: nothing Slack returned reaches a path."""
    from ..ingest.fetched import ingest_fetched
    from ..ingest.slack_export import message_facts, people_in, user_facts
    from ..ingest.slack_fetched import fetched_reader, stored_by_name

    ordered = [message_facts(messages[ts]) for ts in sorted(messages, key=_ts_key)]
    named = set().union(*map(people_in, ordered)) if ordered else set()
    users = [user_facts(run.people[u]) for u in sorted(named & set(run.people))]
    channel_id, _ = channel
    content = json.dumps([channel, ordered, users], sort_keys=True).encode()
    origin = {
        "file": f"{SOURCE}:{channel_id}",
        "name": f"{SOURCE}-{channel_id}",
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
    }
    by_name = (
        stored_by_name(run.settings.data_dir, channel[1], messages, run.budget.left())
        if channel[1] in run.named
        else frozenset()
    )
    detail = ingest_fetched(
        origin,
        fetched_reader(ordered, channel, users, by_name),
        run.settings,
        format_name="slack",
        wait_seconds=run.budget.left(),
        dry_run=run.dry_run,
        fetched=provenance,
    )
    result.events, result.duplicates = detail.rows_ingested, detail.duplicates
    result.message = detail.message
    if detail.status == "error":
        result.status = "error"
        return result
    result.status = "fetched"
    latest = provenance["slack_latest_ts"]
    result.last_message = _iso(latest) if latest else None
    return result
