"""A local HTTPS server that speaks the part of Slack's Web API `fetch slack` uses, and the
workspace it serves, which can also write its own export zip (so that a test compares the
two ways into a store on one workspace). No test reaches the internet.

Methods (POST or GET, arguments in the query string or the form body, as slack_sdk sends
them): `conversations.list` (`types`, `limit`, `cursor`), `conversations.history`
(`channel`, `oldest`, `latest`, `inclusive`, `limit`, `cursor`; newest first; top-level
messages and thread broadcasts only), `conversations.replies` (`channel`, `ts`; the parent
first), `users.list` (e-mails only with the `users:read.email` scope). Like Slack: errors
are HTTP 200 with `{"ok": false, "error": ...}` (`not_authed`, `invalid_auth`,
`missing_scope` with `needed`, `not_in_channel` for a bot outside a channel), pages end
with an empty `response_metadata.next_cursor`, and pages are never longer than
`page_cap` whatever `limit` asks; `failures` queues 429s (with `Retry-After`), 5xx,
Slack errors and raw bodies (bytes: malformed JSON) to answer the next requests with;
`hooks` run a function of the workspace after a method answers (a message posted while
a run reads, as in a busy workspace).

`admin.analytics.getFile` (`type=member`, `date`; a user token, `admin_token`, with
`admin.analytics:read`) answers a gzip of newline-delimited JSON with Slack's documented
keys, one row per member, computed from the workspace's messages and reactions of that
UTC day plus what the messages cannot show: the days each member read
(`Workspace.readers`), posted direct messages (`direct_messages`) or joined a huddle
(`huddles`). Like Slack: days from `analytics_until` on are `file_not_yet_available`,
days before `analytics_from` `data_not_available`, a bot token is
`not_allowed_token_type`; `analytics_bodies` replaces a day's body (a corrupt gzip).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from werkzeug import Request, Response

TOKEN = "xoxb-000000000000-test-token-abcdef"
ADMIN_TOKEN = "xoxp-000000000000-admin-token-fedcba"
ANALYTICS_SCOPE = "admin.analytics:read"
SCOPES = {"channels:read", "channels:history", "users:read", "users:read.email"}
NEEDED = {
    "conversations.list": "channels:read",
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
    "users.list": "users:read",
    "admin.analytics.getFile": ANALYTICS_SCOPE,
}
SITES = ("Lyon", "Nantes", "Paris")
#: A word every message's text holds: no file of a store may contain it.
TEXT_MARK = "CONFIDENTIAL-TEXT-7f3a"


def ts_of(moment: dt.datetime, n: int) -> str:
    return f"{int(moment.timestamp())}.{n:06d}"


@dataclass
class Workspace:
    """Users, public channels and every message (replies too), as Slack keeps them."""

    now: dt.datetime
    users: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    serial: int = 0
    #: What only member analytics show, per UTC day (ISO) and user id: the members who
    #: read that day, the direct messages each posted, the members in a huddle.
    readers: dict[str, set[str]] = field(default_factory=dict)
    direct_messages: dict[str, dict[str, int]] = field(default_factory=dict)
    huddles: dict[str, set[str]] = field(default_factory=dict)

    def person(self, n: int) -> str:
        return f"U{n:06d}"

    def directory_csv(self) -> str:
        rows = ["email,site"]
        for user in self.users:
            email = (user.get("profile") or {}).get("email")
            if email and not user.get("is_bot"):
                rows.append(f"{email},{SITES[int(user['id'][1:]) % len(SITES)]}")
        return "\n".join(rows) + "\n"

    def post(
        self,
        channel: str,
        user: str | None,
        when: dt.datetime,
        *,
        thread: dict[str, Any] | None = None,
        subtype: str | None = None,
        reactions: dict[str, list[str]] | None = None,
    ) -> dict[str, Any]:
        """A message as Slack returns it; a reply updates its parent's thread fields."""
        self.serial += 1
        message: dict[str, Any] = {
            "type": "message",
            "ts": ts_of(when, self.serial),
            "text": f"{TEXT_MARK} message {self.serial}",
            "blocks": [{"type": "rich_text", "elements": [{"text": TEXT_MARK}]}],
        }
        if user is not None:
            message["user"] = user
        if subtype:
            message["subtype"] = subtype
        if subtype == "bot_message":
            message["bot_id"] = "B000001"
            message.pop("user", None)
        if reactions:
            message["reactions"] = [
                {"name": name, "users": users, "count": len(users)}
                for name, users in reactions.items()
            ]
        if thread is not None:
            message["thread_ts"] = thread["ts"]
            if "user" in thread:
                message["parent_user_id"] = thread["user"]
            thread["thread_ts"] = thread["ts"]
            thread["reply_count"] = int(thread.get("reply_count", 0)) + 1
            thread["latest_reply"] = message["ts"]
            thread["reply_users"] = sorted({*thread.get("reply_users", []), user or ""} - {""})
        self.messages.setdefault(channel, []).append(message)
        return message

    def member_analytics(self, day: dt.date) -> list[dict[str, Any]]:
        """Slack's member analytics rows of `day` (UTC), keys as Slack documents them: a
        member's messages of a counted subtype that day (in channels; direct messages
        added to `messages_posted_count` only), the reactions they added to that day's
        messages, `is_active` when they posted, reacted or read. Bots and Slackbot have
        no row."""
        from rse_adoption.ingest.slack_export import COUNTED_SUBTYPES

        iso = day.isoformat()
        posted: Counter[str] = Counter()
        reacted: Counter[str] = Counter()
        for messages in self.messages.values():
            for message in messages:
                when = dt.datetime.fromtimestamp(float(message["ts"]), dt.UTC).date()
                if when != day:
                    continue
                if "user" in message and message.get("subtype", "") in COUNTED_SUBTYPES:
                    posted[message["user"]] += 1
                for reaction in message.get("reactions", []):
                    for user in reaction["users"]:
                        reacted[user] += 1
        rows = []
        for user in self.users:
            if user.get("is_bot") or user["id"] == "USLACKBOT":
                continue
            uid = user["id"]
            direct = self.direct_messages.get(iso, {}).get(uid, 0)
            huddle = uid in self.huddles.get(iso, set())
            active = bool(posted[uid] or reacted[uid] or direct or uid in self.readers.get(iso, ()))
            rows.append(
                {
                    "enterprise_id": "E0000001",
                    "team_id": "T0000001",
                    "date": iso,
                    "user_id": uid,
                    "email_address": (user.get("profile") or {}).get("email", ""),
                    "is_guest": False,
                    "is_billable_seat": active,
                    "is_active": active,
                    "is_active_ios": False,
                    "is_active_android": False,
                    "is_active_desktop": active,
                    "reactions_added_count": reacted[uid],
                    "messages_posted_count": posted[uid] + direct,
                    "channel_messages_posted_count": posted[uid],
                    "files_added_count": 0,
                    "is_active_apps": False,
                    "is_active_workflows": False,
                    "is_active_slack_connect": False,
                    "total_calls_count": 0,
                    "slack_calls_count": 0,
                    "slack_huddles_count": int(huddle),
                    "search_count": 0,
                    "date_claimed": 1_600_000_000,
                }
            )
        return rows

    def channel_id(self, name: str) -> str:
        return next(c["id"] for c in self.channels if c["name"] == name)

    def export_zip(self, path: Path, *, channels_json: bool = True) -> Path:
        """The workspace's export: users.json, channels.json, `<name>/<day>.json` (replies
        in the day file of their own date, as Slack's export has them); without
        channels.json when told (a partial export, as people publish)."""
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("users.json", json.dumps(self.users))
            listed = [{k: c[k] for k in ("id", "name", "created")} for c in self.channels]
            if channels_json:
                archive.writestr("channels.json", json.dumps(listed))
            for channel in self.channels:
                days: dict[str, list[dict[str, Any]]] = {}
                for message in sorted(self.messages.get(channel["id"], []), key=_key):
                    day = dt.datetime.fromtimestamp(float(message["ts"]), dt.UTC).date()
                    days.setdefault(day.isoformat(), []).append(message)
                for day, messages in days.items():
                    archive.writestr(f"{channel['name']}/{day}.json", json.dumps(messages))
        return path


def _key(message: dict[str, Any]) -> Decimal:
    return Decimal(message["ts"])


def make_workspace(now: dt.datetime, people: int = 45, seed: int = 21) -> Workspace:
    """Three sites of people (one of them deleted), a bot user and Slackbot;
    four channels over the last 60 days: posts, threads (replies, a thread broadcast),
    reactions (some by bots), joins, bot messages, file shares, `/me` messages."""
    rng = random.Random(seed)
    space = Workspace(now)
    for n in range(people):
        user: dict[str, Any] = {
            "id": space.person(n),
            "name": f"member{n}",
            "deleted": n == people - 1,
            "is_bot": False,
            "profile": {"email": f"person{n}@corp.example", "real_name": f"Person {n}"},
        }
        space.users.append(user)
    space.users.append(
        {"id": "UBOT00001", "name": "deploybot", "is_bot": True, "profile": {"bot_id": "B1"}}
    )
    space.users.append({"id": "USLACKBOT", "name": "slackbot", "is_bot": False, "profile": {}})
    for k, name in enumerate(("general", "help-it", "projects", "alerts")):
        space.channels.append(
            {"id": f"C{k:08d}", "name": name, "created": 1_700_000_000, "is_member": True}
        )
    humans = [u["id"] for u in space.users[:people]]
    start = now - dt.timedelta(days=60)
    for day in range(60):
        for _ in range(rng.randint(2, 7)):
            when = start + dt.timedelta(days=day, seconds=rng.randint(0, 80_000))
            channel = rng.choice(space.channels[:3])["id"]
            kind = rng.random()
            author = rng.choice(humans)
            reactions = (
                {"+1": rng.sample(humans, rng.randint(1, 4)), "tada": ["UBOT00001"]}
                if rng.random() < 0.3
                else None
            )
            if kind < 0.08:
                space.post(channel, author, when, subtype="channel_join")
            elif kind < 0.14:
                space.post(channel, None, when, subtype="bot_message", reactions=reactions)
            else:
                subtype = "file_share" if kind < 0.2 else ("me_message" if kind < 0.23 else None)
                parent = space.post(channel, author, when, subtype=subtype, reactions=reactions)
                for r in range(rng.choice((0, 0, 1, 2, 4))):
                    later = when + dt.timedelta(hours=r + 1, minutes=rng.randint(0, 50))
                    broadcast = "thread_broadcast" if rng.random() < 0.1 else None
                    space.post(channel, rng.choice(humans), later, thread=parent, subtype=broadcast)
        space.post("C00000003", None, start + dt.timedelta(days=day), subtype="bot_message")
    return space


def _page(items: list[Any], cursor: str | None, limit: int) -> tuple[list[Any], str]:
    offset = int(cursor.removeprefix("next:")) if cursor else 0
    chunk = items[offset : offset + limit]
    following = offset + limit
    return chunk, (f"next:{following}" if following < len(items) else "")


@dataclass
class FakeSlack:
    """The server's behaviour; `handle` answers every request."""

    workspace: Workspace
    token: str = TOKEN
    scopes: set[str] = field(default_factory=lambda: set(SCOPES))
    page_cap: int = 25
    failures: list[int | str | bytes] = field(default_factory=list)
    retry_after: str = "30"
    requests: Counter[str] = field(default_factory=Counter)
    log: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    echo_token: bool = False
    #: Seconds each answer takes (to kill a run halfway).
    delay: float = 0.0
    #: Per method, called with the request's arguments once its answer is made.
    hooks: dict[str, Callable[[dict[str, str]], None]] = field(default_factory=dict)
    #: Member analytics: the admin's user token and its scopes; the first day Slack
    #: computed (None: every day) and the first it has not yet (None: today).
    admin_token: str = ADMIN_TOKEN
    admin_scopes: set[str] = field(default_factory=lambda: {ANALYTICS_SCOPE})
    analytics_from: dt.date | None = None
    analytics_until: dt.date | None = None
    #: A day's answer replaced by these bytes, served as a gzip (corrupt, truncated...).
    analytics_bodies: dict[str, bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: Request) -> Response:
        method = request.path.rstrip("/").rsplit("/", 1)[-1]
        if self.delay:
            time.sleep(self.delay)
        args = {**request.args.to_dict(), **request.form.to_dict()}
        self.requests[method] += 1
        self.log.append((method, args))
        with self._lock:
            failure = self.failures.pop(0) if self.failures else None
        if isinstance(failure, bytes):  # a body as is (malformed JSON...)
            return Response(failure, content_type="application/json")
        if failure == 429:
            return Response(
                json.dumps({"ok": False, "error": "ratelimited"}),
                status=429,
                headers={"Retry-After": self.retry_after},
                content_type="application/json",
            )
        if isinstance(failure, int):
            return Response("upstream failed", status=failure)
        if isinstance(failure, str):
            return _error(
                failure, **({"needed": "channels:history"} if failure == "missing_scope" else {})
            )
        given = request.headers.get("Authorization", "")
        if not given:
            return _error("not_authed")
        admin = method.startswith("admin.")
        token, scopes = (
            (self.admin_token, self.admin_scopes) if admin else (self.token, self.scopes)
        )
        if admin and given == f"Bearer {self.token}":
            return _error("not_allowed_token_type")
        if given != f"Bearer {token}":
            return _error("invalid_auth", **({"detail": given} if self.echo_token else {}))
        needed = NEEDED.get(method)
        if needed is None:
            return _error("unknown_method")
        if needed not in scopes:
            return _error("missing_scope", needed=needed, provided=",".join(sorted(scopes)))
        answer: Response = getattr(self, "_" + method.replace(".", "_"))(args)
        hook = self.hooks.get(method)
        if hook is not None:
            hook(args)
        return answer

    def _limit(self, args: dict[str, str]) -> int:
        return min(int(args.get("limit", "100")), self.page_cap)

    def _conversations_list(self, args: dict[str, str]) -> Response:
        if args.get("types") != "public_channel":
            return _error("invalid_types")
        listed = [dict(c, is_channel=True, is_private=False) for c in self.workspace.channels]
        chunk, cursor = _page(listed, args.get("cursor"), self._limit(args))
        return _ok(channels=chunk, response_metadata={"next_cursor": cursor})

    def _users_list(self, args: dict[str, str]) -> Response:
        users = json.loads(json.dumps(self.workspace.users))
        if "users:read.email" not in self.scopes:
            for user in users:
                (user.get("profile") or {}).pop("email", None)
        chunk, cursor = _page(users, args.get("cursor"), self._limit(args))
        return _ok(members=chunk, response_metadata={"next_cursor": cursor})

    def _channel(self, args: dict[str, str]) -> dict[str, Any] | None:
        return next((c for c in self.workspace.channels if c["id"] == args.get("channel")), None)

    def _conversations_history(self, args: dict[str, str]) -> Response:
        channel = self._channel(args)
        if channel is None:
            return _error("channel_not_found")
        if not channel.get("is_member", True):
            return _error("not_in_channel")
        oldest = Decimal(args.get("oldest") or "0")
        latest = Decimal(args["latest"]) if args.get("latest") else None
        inclusive = args.get("inclusive") in ("1", "true")
        shown = [
            m
            for m in self.workspace.messages.get(channel["id"], [])
            if (m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast")
            and (Decimal(m["ts"]) > oldest or (inclusive and Decimal(m["ts"]) == oldest))
            and (
                latest is None
                or Decimal(m["ts"]) < latest
                or (inclusive and Decimal(m["ts"]) == latest)
            )
        ]
        shown.sort(key=_key, reverse=True)
        chunk, cursor = _page(shown, args.get("cursor"), self._limit(args))
        return _ok(messages=chunk, has_more=bool(cursor), response_metadata={"next_cursor": cursor})

    def _conversations_replies(self, args: dict[str, str]) -> Response:
        channel = self._channel(args)
        if channel is None:
            return _error("channel_not_found")
        messages = self.workspace.messages.get(channel["id"], [])
        parent = next((m for m in messages if m["ts"] == args.get("ts")), None)
        if parent is None:
            return _error("thread_not_found")
        thread = [parent] + sorted(
            (m for m in messages if m.get("thread_ts") == parent["ts"] and m is not parent),
            key=_key,
        )
        chunk, cursor = _page(thread, args.get("cursor"), self._limit(args))
        return _ok(messages=chunk, has_more=bool(cursor), response_metadata={"next_cursor": cursor})

    def _admin_analytics_getFile(self, args: dict[str, str]) -> Response:  # noqa: N802
        if args.get("type") != "member":
            return _error("invalid_type")
        try:
            day = dt.date.fromisoformat(args.get("date", ""))
        except ValueError:
            return _error("invalid_date")
        until = self.analytics_until or self.workspace.now.date()
        if day >= until:
            return _error("file_not_yet_available")
        if self.analytics_from is not None and day < self.analytics_from:
            return _error("data_not_available")
        body = self.analytics_bodies.get(day.isoformat())
        if body is None:
            lines = "".join(json.dumps(r) + "\n" for r in self.workspace.member_analytics(day))
            body = gzip.compress(lines.encode())
        return Response(
            body,
            content_type="application/gzip",
            headers={
                "Content-Disposition": f'attachment; filename="Corp Member Analytics {day}.json.gz"'
            },
        )


def _ok(**body: Any) -> Response:
    return Response(json.dumps({"ok": True, **body}), content_type="application/json")


def _error(error: str, **extra: Any) -> Response:
    return Response(
        json.dumps({"ok": False, "error": error, **extra}), content_type="application/json"
    )


def serve(server: tuple[Any, Any], monkeypatch: Any, now: dt.datetime) -> FakeSlack:
    """A fresh workspace as of `now` on the shared local TLS server (`server`: the
    pytest-httpserver and its CA file, trusted through SSL_CERT_FILE; no proxy)."""
    import re

    httpserver, ca = server
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    served = FakeSlack(make_workspace(now))
    httpserver.clear()
    httpserver.expect_request(re.compile(".*")).respond_with_handler(served.handle)
    served.url = httpserver.url_for("/api/")  # type: ignore[attr-defined]
    return served
