"""A local HTTPS server that speaks the part of Microsoft's protocol `fetch viva-engage`
uses, for its tests (no test reaches the internet):

- Entra ID, for a public client: `GET /{tenant}/v2.0/.well-known/openid-configuration`
  (with the device authorization endpoint), `POST /{tenant}/oauth2/v2.0/devicecode` and
  `POST /{tenant}/oauth2/v2.0/token` (the device code's grant, then refresh tokens),
  answering tokens with `client_info` (msal's account) or OAuth2 errors;
- the Yammer REST API's network data export: `GET /api/v1/export?since=…&until=…&model=…
  &include=csv` with the bearer token, answering the zip with Messages.csv, Users.csv and
  Groups.csv in the export's real columns (UTF-8 with a BOM), messages filtered by
  `created_at` in [since, until); 401 and 403 with a JSON error; 429 and 503 with
  `Retry-After`; a 500; a zip cut short; a Messages.csv without its columns.

It runs on fake_graph's TLS server (start_server), beside or instead of the fake Graph.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import threading
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from werkzeug import Request, Response

TENANT = "contoso-tenant-id"
CLIENT_ID = "99999999-8888-7777-6666-555555555555"
#: Messages.csv's columns in a network data export (Discourse's yammer.rb importer and
#: Microsoft's export documentation; shared/formats/README.md).
MESSAGE_HEADER = (
    "id",
    "replied_to_id",
    "thread_id",
    "conversation_id",
    "group_id",
    "group_name",
    "participants",
    "in_private_group",
    "in_private_conversation",
    "sender_id",
    "sender_type",
    "sender_name",
    "sender_email",
    "body",
    "api_url",
    "attachments",
    "created_at",
    "deleted_by_id",
    "deleted_by_type",
    "deleted_at",
)
USER_HEADER = (
    "id",
    "name",
    "email",
    "job_title",
    "location",
    "department",
    "api_url",
    "joined_at",
    "deleted_by_id",
    "deleted_at",
    "suspended_at",
    "guid",
    "state",
)
GROUP_HEADER = (
    "id",
    "name",
    "description",
    "private",
    "deleted",
    "api_url",
    "created_at",
    "creator_type",
    "creator_id",
    "updated_at",
)
BODY = "Confidential: the body of a message that must never reach the store"


@dataclass(frozen=True)
class Message:
    """One message of the fake network."""

    id: int
    sender: int
    created: dt.datetime
    thread: int
    replied_to: int | None = None
    group: int | None = None
    private: bool = False
    deleted: bool = False


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    location: str


def zip_for(
    messages: list[Message] | None,
    people: list[Person] | None,
    groups: dict[int, str] | None,
    *,
    message_header: tuple[str, ...] = MESSAGE_HEADER,
) -> bytes:
    """The export zip: the members asked for, in the export's columns."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if messages is not None:
            rows = []
            for m in messages:
                values = {
                    "id": m.id,
                    "replied_to_id": m.replied_to or "",
                    "thread_id": m.thread,
                    "conversation_id": "",
                    "group_id": m.group or "",
                    "group_name": (groups or {}).get(m.group or 0, ""),
                    "participants": f"user:{m.sender}" if m.private else "",
                    "in_private_group": "false",
                    "in_private_conversation": "true" if m.private else "false",
                    "sender_id": m.sender,
                    "sender_type": "user",
                    "sender_name": f"Person {m.sender}",
                    "sender_email": "",
                    "body": f'{BODY}, "quoted", with a comma\nand a new line',
                    "api_url": f"https://www.yammer.com/api/v1/messages/{m.id}",
                    "attachments": "",
                    # Both forms seen in exports: ISO 8601, and the older slashed one.
                    "created_at": m.created.strftime(
                        "%Y/%m/%d %H:%M:%S +0000" if m.id % 2 else "%Y-%m-%dT%H:%M:%SZ"
                    ),
                    "deleted_by_id": m.sender if m.deleted else "",
                    "deleted_by_type": "user" if m.deleted else "",
                    "deleted_at": (m.created + dt.timedelta(hours=1)).isoformat()
                    if m.deleted
                    else "",
                }
                rows.append([values.get(c, "") for c in message_header])
            archive.writestr("Messages.csv", _csv(message_header, rows))
        if people is not None:
            archive.writestr(
                "Users.csv",
                _csv(
                    USER_HEADER,
                    [
                        [p.id, f"Person {p.id}", p.email, "Engineer", p.location, "R&D", "",
                         "2020-01-01", "", "", "", f"guid-{p.id}", "active"]
                        for p in people
                    ],
                ),
            )  # fmt: skip
        if groups is not None:
            archive.writestr(
                "Groups.csv",
                _csv(
                    GROUP_HEADER,
                    [[g, name, "a group", "false", "false", "", "2020-01-01", "user", 1, ""]
                     for g, name in groups.items()],
                ),
            )  # fmt: skip
    return out.getvalue()


def _csv(header: tuple[str, ...], rows: list[list[Any]]) -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def _b64(data: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _id_token(username: str) -> str:
    header = _b64({"alg": "none", "typ": "JWT"})
    claims = _b64(
        {
            "iss": f"https://login.example/{TENANT}/v2.0",
            "sub": "admin-sub",
            "aud": CLIENT_ID,
            "oid": "admin-oid",
            "tid": TENANT,
            "preferred_username": username,
            "exp": 4102444800,
            "iat": 1700000000,
        }
    )
    return f"{header}.{claims}."


@dataclass
class FakeVivaEngage:
    """The fake's state and behaviour: the network it serves and how it misbehaves."""

    url: str
    messages: list[Message] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    groups: dict[int, str] = field(default_factory=dict)
    #: The bearer token the export accepts (a ready token, or what the sign-in issued).
    token: str = "yammer-delegated-access-token-0"
    admin: str = "admin@contoso.example"
    #: Sign-in: "ok", "refuse" (the refresh token was revoked: invalid_grant), "500".
    token_mode: str = "ok"
    #: Seconds an issued access token lives (short: the next run refreshes it).
    expires_in: int = 3600
    #: Export: "ok", "401", "403" (not a Verified Administrator), "truncated" (a zip cut
    #: short), "nocolumns" (a Messages.csv without id and sender_id), "echo401" (a 401
    #: whose body echoes the Authorization header), "redirect" (a 302 to a download URL on
    #: this server, which must get no token), "redirect_http" (the same URL in clear text), "nousers" (no Users.csv).
    export_mode: str = "ok"
    #: Export requests to answer first with these statuses, in order (429, 503, 500...).
    failures: list[int] = field(default_factory=list)
    retry_after: str = "5"
    requests: Counter[str] = field(default_factory=Counter)
    exports: list[dict[str, list[str]]] = field(default_factory=list)
    assertions: list[str] = field(default_factory=list)
    _issued: int = 0
    _pending: bytes = b""
    _refresh_tokens: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: Request) -> Response:
        path = request.path
        if path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            self.requests["discovery"] += 1
            base = f"{self.url}/{TENANT}"
            return _json(
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "issuer": f"{self.url}/{TENANT}/v2.0",
                }
            )
        if path == f"/{TENANT}/oauth2/v2.0/devicecode" and request.method == "POST":
            self.requests["devicecode"] += 1
            return _json(
                {
                    "device_code": "device-code-secret-1234567890",
                    "user_code": "ABCD-EFGH",
                    "verification_uri": "https://microsoft.com/devicelogin",
                    "expires_in": 900,
                    "interval": 1,
                    "message": "To sign in, open https://microsoft.com/devicelogin and enter "
                    "the code ABCD-EFGH.",
                }
            )
        if path == f"/{TENANT}/oauth2/v2.0/token" and request.method == "POST":
            return self._token(request)
        if path == "/api/v1/export":
            return self._export(request)
        if path == "/download/export":
            if "Authorization" in request.headers:
                self.assertions.append("the bearer token was sent to the download URL")
            return Response(self._pending, status=200, content_type="application/zip")
        return Response("not found", status=404)

    def _issue(self) -> Response:
        with self._lock:
            self._issued += 1
            self.token = f"yammer-delegated-access-token-{self._issued}"
            refresh = f"yammer-refresh-token-{self._issued}-abcdefgh"
            self._refresh_tokens = {refresh}
        return _json(
            {
                "token_type": "Bearer",
                "scope": "https://www.yammer.com/.default",
                "expires_in": self.expires_in,
                "access_token": self.token,
                "refresh_token": refresh,
                "id_token": _id_token(self.admin),
                "client_info": _b64({"uid": "admin-oid", "utid": TENANT}),
            }
        )

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}
        if self.token_mode == "500":
            return Response("sign-in is down", status=500)
        grant = form.get("grant_type", "")
        self.requests[f"token:{grant.rsplit(':', 1)[-1]}"] += 1
        if form.get("client_id") != CLIENT_ID:
            self.assertions.append(f"token request from client {form.get('client_id')}")
        if "client_secret" in form:
            self.assertions.append("a public client sent a secret")
        if grant.endswith("device_code"):
            if form.get("device_code") != "device-code-secret-1234567890":
                return _json({"error": "invalid_grant"}, status=400)
            return self._issue()
        if grant == "refresh_token":
            if self.token_mode == "refuse" or form.get("refresh_token") not in self._refresh_tokens:
                return _json(
                    {
                        "error": "invalid_grant",
                        "error_description": "AADSTS700082: The refresh token has expired "
                        f"due to inactivity. {form.get('refresh_token')}",
                    },
                    status=400,
                )
            return self._issue()
        return _json({"error": "unsupported_grant_type"}, status=400)

    def _export(self, request: Request) -> Response:
        self.requests["export"] += 1
        args = {k: request.args.getlist(k) for k in request.args}
        self.exports.append(args)
        if self.export_mode == "echo401":
            echoed = request.headers.get("Authorization", "")
            return _json({"response": {"message": f"Token rejected: {echoed}"}}, status=401)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json({"error": {"code": "Unauthorized", "message": "Token invalid"}}, 401)
        if self.export_mode == "401":
            return _json({"error": {"code": "Unauthorized", "message": "Token expired"}}, 401)
        if self.export_mode == "403":
            return _json(
                {"error": {"code": "Forbidden", "message": "Verified admin required"}}, 403
            )
        with self._lock:
            failure = self.failures.pop(0) if self.failures else None
        if failure in (429, 503):
            return Response("", status=failure, headers={"Retry-After": self.retry_after})
        if failure:
            return Response("upstream failed", status=failure)
        if args.get("include") != ["csv"] or not args.get("model") or not args.get("since"):
            self.assertions.append(f"export asked with {args}")
        since = _instant(args["since"][0])
        until = _instant(args["until"][0]) if args.get("until") else None
        models = set(args.get("model", []))
        messages = None
        if "Message" in models:
            messages = [
                m
                for m in self.messages
                if since <= m.created and (until is None or m.created < until)
            ]
        header = MESSAGE_HEADER
        if self.export_mode == "nocolumns":
            header = tuple(c for c in MESSAGE_HEADER if c not in ("id", "sender_id"))
        body = zip_for(
            messages,
            self.people if "User" in models else None,
            self.groups if "Group" in models else None,
            message_header=header,
        )
        if self.export_mode == "nousers" and "User" in models:
            body = zip_for(None, None, self.groups)
        if self.export_mode == "truncated" and "Message" in models:
            body = body[: len(body) // 2]
        if self.export_mode in ("redirect", "redirect_http"):
            self._pending = body
            scheme = "http" if self.export_mode == "redirect_http" else "https"
            base = self.url.replace("https://", f"{scheme}://", 1)
            return Response("", status=302, headers={"Location": f"{base}/download/export"})
        return Response(body, status=200, content_type="application/zip")


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _json(data: object, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")
