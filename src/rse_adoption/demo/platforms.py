"""The example organisation's activity as each platform exports it (`rse-adoption demo`
writes them under `platforms/`), for users to try the readers and for the tests that prove
every format gives the same segments as the generic event files where it carries the same
information (docs/ingest.md, "What each format can tell").

Every file is derived from the same event table as `events/`:
- `viva_engage/`: Microsoft 365 activity user detail for 7, 30, 90 and 180 days ending on
  the last day (Graph CSV headers), the 90 days also as Graph JSON and as the admin
  center's export (display headers); posted = posts + comments, liked = reactions,
  read = reads; only directory people (the tenant's accounts), zeros included;
- `teams/`: Teams user activity user detail, 90 days: post and reply messages, logins as
  private chat messages;
- `slack/`: a workspace export zip (users.json with e-mails, channels.json, per-day files
  named in the workspace's UTC−8 time zone), and member analytics for 90 days;
- `yammer/`: a network data export zip (Messages.csv, Users.csv with locations, Groups.csv);
- `talkspirit/`: a French activity CSV and the mapping file that reads it (`--mapping`).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from .organisation import SPACES, Organisation

PERIODS = (7, 30, 90, 180)
SLACK_TZ = timedelta(hours=-8)
MAPPING_TOML = """\
# Reads the Talkspirit-style activity export of the demo (platforms/talkspirit/).
# rse-adoption ingest platforms/talkspirit/activite.csv --mapping platforms/talkspirit/map.toml

[columns]                    # canonical field = "column of the export"
timestamp = "Date de l'action"
user = "Adresse e-mail"
event_type = "Type d'action"
space = "Espace"
content_id = "Identifiant du contenu"
target_user = "Auteur du contenu"

[event_types]                # value of the export = login, read, reaction, post, comment or ignore
"S'est connecté" = "login"
"A consulté" = "read"
"A aimé" = "reaction"
"A publié" = "post"
"A commenté" = "comment"
"A modifié son profil" = "ignore"

[timestamps]
format = "%d/%m/%Y %H:%M:%S"
timezone = "Europe/Paris"     # the export's local times

[file]
delimiter = ";"
names = ["activite*.csv"]
"""
_FRENCH_ACTIONS = {
    "login": "S'est connecté",
    "read": "A consulté",
    "reaction": "A aimé",
    "post": "A publié",
    "comment": "A commenté",
}


def write_platform_exports(org: Organisation, table: pa.Table, out: Path) -> list[str]:
    """Write every platform export of `table` (the demo's events, text columns) under
    `out`; returns the paths written, relative to `out`."""
    rows = _rows(table)
    employed = employed_emails(org)
    written: list[str] = []
    written += _viva_engage(rows, employed, org.end, out)
    written += _teams(rows, employed, org.end, out)
    written += _slack(org, rows, out)
    written += _yammer(org, rows, out)
    written += _talkspirit(rows, out)
    return written


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    data = table.to_pydict()
    rows = []
    for i in range(table.num_rows):
        ts = datetime.fromisoformat(data["timestamp"][i]).replace(tzinfo=UTC)
        rows.append({k: data[k][i] for k in data} | {"ts": ts})
    rows.sort(key=lambda r: r["ts"])
    return rows


def employed_emails(org: Organisation) -> list[str]:
    """Directory people still employed on the last day: the tenant's accounts."""
    last = (org.end - org.start).days
    return [
        org.email(i)
        for i in range(org.size)
        if org.listed[i] and org.hire_day[i] <= last and org.leave_day[i] > last
    ]


def _counts(rows: list[dict[str, Any]], end: date, days: int) -> dict[str, dict[str, int]]:
    start = end - timedelta(days=days - 1)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        if start <= row["ts"].date() <= end:
            counts[row["user"]][row["event_type"]] += 1
    return counts


def csv_text(header: list[str], body: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue()


def write_text(path: Path, text: str, encoding: str = "utf-8-sig") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding, newline="")


#: Microsoft Graph's CSV headers of the Viva Engage activity user detail report.
VIVA_ENGAGE_HEADER = [
    "Report Refresh Date",
    "User Principal Name",
    "Display Name",
    "User State",
    "State Change Date",
    "Last Activity Date",
    "Posted Count",
    "Read Count",
    "Liked Count",
    "Assigned Products",
    "Report Period",
]
#: The same report as the admin center's "Export" writes it (display headers).
ADMIN_CENTER_HEADER = [
    "Report Refresh Date",
    "Username",
    "Display name",
    "User state",
    "State change date (UTC)",
    "Last activity date (UTC)",
    "Posted",
    "Read",
    "Liked",
    "Product assigned",
    "Report Period",
]
PRODUCT = "MICROSOFT 365 E3"


def _viva_engage_rows(
    counts: dict[str, dict[str, int]], employed: list[str], end: date, days: int
) -> list[list[Any]]:
    """One row per employed person (Graph's column order), counts over the period."""
    body = []
    for email in employed:
        c = counts.get(email, {})
        posted = c.get("post", 0) + c.get("comment", 0)
        last = "" if not c else end.isoformat()
        body.append(
            [
                end.isoformat(),
                email,
                "",
                "active",
                "",
                last,
                posted,
                c.get("read", 0),
                c.get("reaction", 0),
                PRODUCT,
                days,
            ]
        )
    return body


def _viva_engage(
    rows: list[dict[str, Any]], employed: list[str], end: date, out: Path
) -> list[str]:
    """The activity user detail report for each period, and for 90 days also as Graph JSON
    and as the admin center's export."""
    written = []
    for days in PERIODS:
        body = _viva_engage_rows(_counts(rows, end, days), employed, end, days)
        name = f"viva_engage/getYammerActivityUserDetail_D{days}.csv"
        write_text(out / name, csv_text(VIVA_ENGAGE_HEADER, body))
        written.append(name)
        if days != 90:
            continue
        values = [
            {
                "reportRefreshDate": r[0],
                "userPrincipalName": r[1],
                "displayName": "",
                "userState": "active",
                "stateChangeDate": None,
                "lastActivityDate": r[5] or None,
                "postedCount": r[6],
                "readCount": r[7],
                "likedCount": r[8],
                "assignedProducts": [PRODUCT],
                "reportPeriod": "90",
            }
            for r in body
        ]
        name = "viva_engage/yammerActivityUserDetail_D90.json"
        write_text(out / name, json.dumps({"value": values}, indent=1), "utf-8")
        written.append(name)
        name = "viva_engage/admin_center_export_D90.csv"
        write_text(out / name, csv_text(ADMIN_CENTER_HEADER, body))
        written.append(name)
    return written


def _teams(rows: list[dict[str, Any]], employed: list[str], end: date, out: Path) -> list[str]:
    counts = _counts(rows, end, 90)
    body = []
    for n, email in enumerate(employed, start=1):
        c = counts.get(email, {})
        body.append(
            [
                end.isoformat(),
                f"6f1c2a4e-0000-4000-8000-{n:012d}",
                email,
                end.isoformat() if c else "",
                "False",
                "",
                "MICROSOFT TEAMS",
                0,
                c.get("login", 0),
                0,
                0,
                "No",
                0,
                c.get("post", 0),
                "CONTOSO",
                "",
                c.get("comment", 0),
                "Yes",
                90,
            ]
        )
    name = "teams/getTeamsUserActivityUserDetail_D90.csv"
    write_text(
        out / name,
        csv_text(
            [
                "Report Refresh Date",
                "User Id",
                "User Principal Name",
                "Last Activity Date",
                "Is Deleted",
                "Deleted Date",
                "Assigned Products",
                "Team Chat Message Count",
                "Private Chat Message Count",
                "Call Count",
                "Meeting Count",
                "Has Other Action",
                "Urgent Messages",
                "Post Messages",
                "Tenant Display Name",
                "Shared Channel Tenant Display Names",
                "Reply Messages",
                "Is Licensed",
                "Report Period",
            ],
            body,
        ),
    )
    return [name]


def _slack_id(index: int) -> str:
    return f"U{index:08d}"


def _slack(org: Organisation, rows: list[dict[str, Any]], out: Path) -> list[str]:
    """A workspace export: one channel per space; posts and comments as messages (comments
    as thread replies), reactions on a bot's message at the reaction's time (Slack dates a
    reaction by its message), logins and reads not exportable."""
    ids = {org.email(i): _slack_id(i) for i in range(org.size)}
    users = [
        {
            "id": uid,
            "name": f"member{uid[1:]}",
            "deleted": False,
            "is_bot": False,
            "profile": {"email": email, "real_name": "", "display_name": ""},
        }
        for email, uid in ids.items()
    ]
    users.append({"id": "B00000001", "name": "newsbot", "is_bot": True, "profile": {}})
    channels = [
        {"id": f"C{k:08d}", "name": _slug(space), "created": 1700000000, "is_general": k == 0}
        for k, space in enumerate(SPACES)
    ]
    days: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for n, row in enumerate(rows):
        kind = row["event_type"]
        if kind not in ("post", "comment", "reaction"):
            continue
        ts = f"{row['ts'].timestamp():.0f}.{n % 1_000_000:06d}"
        channel = _slug(row["space"])
        day = (row["ts"] + SLACK_TZ).date().isoformat()
        user = ids[row["user"]]
        if kind == "post":
            message: dict[str, Any] = {"type": "message", "user": user, "text": "…", "ts": ts}
        elif kind == "comment":
            parent = ids.get(row["target_user"]) if row["target_user"] else None
            message = {
                "type": "message",
                "user": user,
                "text": "…",
                "ts": ts,
                "thread_ts": f"{row['ts'].timestamp() - 3600:.0f}.000000",
            }
            if parent:
                message["parent_user_id"] = parent
        else:
            message = {
                "type": "message",
                "subtype": "bot_message",
                "bot_id": "B00000001",
                "text": "…",
                "ts": ts,
                "reactions": [{"name": "+1", "users": [user], "count": 1}],
            }
        days[(channel, day)].append(message)
    name = "slack/slack-export.zip"
    target = out / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        _member(archive, "users.json", json.dumps(users, indent=1))
        _member(archive, "channels.json", json.dumps(channels, indent=1))
        for (channel, day), messages in sorted(days.items()):
            _member(archive, f"{channel}/{day}.json", json.dumps(messages, indent=1))
    return [name, *_slack_analytics(org, rows, ids, out)]


def _slack_analytics(
    org: Organisation, rows: list[dict[str, Any]], ids: dict[str, str], out: Path
) -> list[str]:
    """Member analytics for the 90 days ending on the last day (the 19 core columns; the
    period is chosen in Slack's UI, so `ingest --period-end --period-days` gives it)."""
    end = org.end
    start = end - timedelta(days=89)
    stats: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"days": set(), "posts": 0, "reactions": 0}
    )
    for row in rows:
        if not start <= row["ts"].date() <= end:
            continue
        s = stats[row["user"]]
        if row["event_type"] in ("post", "comment", "reaction"):
            s["days"].add(row["ts"].date())
        s["posts"] += row["event_type"] in ("post", "comment")
        s["reactions"] += row["event_type"] == "reaction"
    body = []
    for email, uid in ids.items():
        member = stats.get(email)
        if member is None:
            continue
        last = max(member["days"]).strftime("%b %d, %Y") if member["days"] else ""
        body.append(
            [
                "",
                "",
                uid,
                f"member{uid[1:]}",
                "Member",
                "Jan 01, 2024",
                "Jan 01, 2024",
                "",
                len(member["days"]),
                len(member["days"]),
                0,
                0,
                member["posts"],
                member["posts"],
                member["reactions"],
                last,
                last,
                "",
                "",
            ]
        )
    header = (
        "Name,What I Do,User ID,Username,Account type,Account created (UTC),Claimed Date (UTC),"
        "Deactivated date (UTC),Days active,Days active (Desktop),Days active (Android),"
        "Days active (iOS),Messages posted,Messages posted in channels,Reactions added,"
        "Last active (UTC),Last active (Desktop) (UTC),Last active (Android) (UTC),"
        "Last active (iOS) (UTC)"
    ).split(",")
    name = f"slack/member-analytics_{start.isoformat()}_{end.isoformat()}.csv"
    write_text(out / name, csv_text(header, body), "utf-8")
    return [name]


def _yammer(org: Organisation, rows: list[dict[str, Any]], out: Path) -> list[str]:
    """A network data export: posts start threads, comments reply in another thread (so
    the reply's author is known); the location of directory people is their site."""
    groups = {space: 500 + k for k, space in enumerate(SPACES)}
    users = _yammer_users(org)
    messages = _yammer_messages(org, rows, groups)
    group_rows: list[list[Any]] = [
        ["id", "name", "description", "private", "deleted", "created_at"]
    ]
    group_rows += [
        [gid, space, "", "false", "false", "2024-01-01T00:00:00Z"] for space, gid in groups.items()
    ]
    name = "yammer/yammer-network-export.zip"
    target = out / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, table in (
            ("Users.csv", users),
            ("Messages.csv", messages),
            ("Groups.csv", group_rows),
        ):
            _member(archive, member, "\ufeff" + csv_text(table[0], table[1:]))
        _member(archive, "Admins.csv", "\ufeffid,email\r\n")
    return [name]


def _yammer_users(org: Organisation) -> list[list[Any]]:
    """Users.csv: header, then one row per person (ids from 1,000)."""
    users: list[list[Any]] = [
        [
            "id",
            "email",
            "name",
            "job_title",
            "location",
            "department",
            "joined_at",
            "deleted_at",
            "suspended_at",
            "guid",
            "state",
        ]
    ]
    for i in range(org.size):
        location = org.sites[org.site_index[i]].name if org.listed[i] else ""
        users.append(
            [
                1_000 + i,
                org.email(i),
                f"Member {i}",
                "",
                location,
                "",
                "2024-01-01T00:00:00Z",
                "",
                "",
                "",
                "active",
            ]
        )
    return users


def _yammer_messages(
    org: Organisation, rows: list[dict[str, Any]], groups: dict[str, int]
) -> list[list[Any]]:
    """Messages.csv: header, then one row per post or comment of the activity."""
    ids = {org.email(i): 1_000 + i for i in range(org.size)}
    messages: list[list[Any]] = [
        [
            "id",
            "replied_to_id",
            "thread_id",
            "conversation_id",
            "group_id",
            "group_name",
            "participants",
            "in_private_conversation",
            "in_private_group",
            "sender_id",
            "sender_type",
            "sender_name",
            "sender_email",
            "body",
            "api_url",
            "attachments",
            "deleted_by_id",
            "deleted_by_type",
            "created_at",
            "deleted_at",
        ]
    ]
    last_post_by: dict[str, int] = {}
    next_id = 10_000_000
    for row in rows:
        kind = row["event_type"]
        if kind not in ("post", "comment"):
            continue
        next_id += 1
        sender = ids[row["user"]]
        created = row["ts"].strftime("%Y-%m-%dT%H:%M:%SZ")
        group = groups[row["space"]]
        if kind == "post":
            last_post_by[row["user"]] = next_id
            thread, replied = next_id, ""  # type: Any, Any
        else:
            parent = last_post_by.get(row["target_user"]) if row["target_user"] else None
            thread = parent or 1
            replied = parent or ""
        messages.append(
            [
                next_id,
                replied,
                thread,
                "",
                group,
                row["space"],
                "",
                "false",
                "false",
                sender,
                "user",
                "",
                "",
                "…",
                "",
                "",
                "",
                "",
                created,
                "",
            ]
        )
    return messages


def _talkspirit(rows: list[dict[str, Any]], out: Path) -> list[str]:
    """A French platform's activity export (`;`, local Paris time, French action names,
    one action the mapping ignores), with the mapping that reads it."""
    paris = ZoneInfo("Europe/Paris")
    body = []
    for n, row in enumerate(rows):
        local = row["ts"].astimezone(paris).strftime("%d/%m/%Y %H:%M:%S")
        body.append(
            [
                local,
                row["user"],
                _FRENCH_ACTIONS[row["event_type"]],
                row["space"],
                row["content_id"],
                row["target_user"],
            ]
        )
        if n % 97 == 0:
            body.append([local, row["user"], "A modifié son profil", "", "", ""])
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            "Date de l'action",
            "Adresse e-mail",
            "Type d'action",
            "Espace",
            "Identifiant du contenu",
            "Auteur du contenu",
        ]
    )
    writer.writerows(body)
    write_text(out / "talkspirit/activite.csv", buffer.getvalue())
    write_text(out / "talkspirit/map.toml", MAPPING_TOML, "utf-8")
    return ["talkspirit/activite.csv", "talkspirit/map.toml"]


def _member(archive: zipfile.ZipFile, name: str, text: str) -> None:
    """Add a member with a fixed date, so that the same seed gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=(2026, 11, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text)


def _slug(name: str) -> str:
    import unicodedata

    folded = unicodedata.normalize("NFKD", name.lower())
    ascii_name = "".join(c for c in folded if not unicodedata.combining(c))
    return "-".join(part for part in "".join(c if c.isalnum() else " " for c in ascii_name).split())
