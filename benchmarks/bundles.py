"""Exports that are not a single event CSV, for the ingest matrix (benchmarks/run.py): a
Slack workspace export zip and a Viva Engage "activity user detail" report, with the
baselines each is compared to.

- `write_slack_export(messages, people, path)`: the zip an admin downloads, laid out as the
  real one (slack-export-viewer's test archive is the model): channels.json, users.json and
  integration_logs.json at the top, one folder per channel named after it, one
  `YYYY-MM-DD.json` day file (UTC day) per day with messages, each a JSON list of message objects
  pretty-printed with 4 spaces and `\\/` as Slack writes them. 200 channels of very unequal
  activity, a year of messages (2025-11-01..2026-10-31, weekends and holidays quiet), a few
  people writing most of them (Zipf-like). Every message is one the project's reader counts
  (slack_export.py): plain messages, `file_share`, thread replies (some broadcast to the
  channel), reactions listed with their people; no bot, no join or other system message.
  Messages carry what the 2016 sample and today's exports share (client_msg_id, text,
  user, ts, team, threads, reactions, files); not the `blocks` and `user_profile` copies
  of newer exports, which would make the day files 2-3x larger.
- `write_viva_engage(rows, path)`: the Microsoft 365 admin export of Viva Engage activity
  over 30 days, one row per person, with Microsoft's column names (Graph's
  getYammerActivityUserDetail CSV), unconcealed user principal names.
- `SLACK_BASELINE`, `VIVA_BASELINE`: what a competent engineer would write to load each
  into one Parquet file with typed timestamps or dates, as Python source run with
  `python -c SRC INPUT OUT.parquet` (as run.py's INGEST_BASELINE).

Both generators are seeded (the same call writes the same bytes) and draw with numpy.
`python benchmarks/bundles.py` writes both at a small size, runs both baselines and ingests
both with the CLI, checking that everything is counted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import deque
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rse_adoption.demo.platforms import VIVA_ENGAGE_HEADER

#: The year of activity of the other shapes (shapes.py): 2025-11-01 to 2026-10-31, UTC.
FIRST_DAY = date(2025, 11, 1)
DAYS = 365
CHANNELS = 200
CHUNK_ROWS = 1_000_000
#: Date stamped on every zip member, so that the same call writes the same bytes.
ZIP_DATE_TIME = (2026, 11, 1, 6, 0, 0)
TEAM_ID = "T04CRPX7Q"
DOMAIN = "corp.example"

# Shares of messages, as seen in company workspaces.
REPLY_SHARE = 0.3  # thread replies among messages
BROADCAST_SHARE = 0.04  # replies also sent to the channel (subtype thread_broadcast)
FILE_SHARE = 0.03  # top-level messages sharing a file (subtype file_share)
REACTED_SHARE = 0.2  # messages with at least one reaction
#: A thread takes replies on the day it starts and the two days after.
THREAD_DAYS = 3
#: Messages of one channel drawn at once (bounds the generator's memory).
BLOCK_MESSAGES = 100_000

FIRST_NAMES = np.array(
    "Camille Léa Manon Chloé Inès Sarah Emma Jade Louise Alice Julie Marie Claire Anne "
    "Sophie Laura Lucas Hugo Louis Gabriel Arthur Jules Paul Thomas Nicolas Julien Antoine "
    "Maxime Pierre Alexandre Mehdi Karim Yanis Omar Sofia Elena Marco Hannah Jonas Priya".split()
)
LAST_NAMES = np.array(
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Mercier "
    "Dupont Lambert Bonnet François Martinez Legrand Garnier Faure Rousseau Blanc Guerin "
    "Muller Henry Roussel Nicolas Perrin Morin Mathieu Clement Gauthier Dumont Lopez".split()
)
_CHANNEL_PREFIXES = ("team", "proj", "site", "help", "ask", "guild", "ops", "news", "social")
_CHANNEL_TOPICS = (
    "paris lyon marseille lille nantes bordeaux toulouse strasbourg rennes grenoble nice "
    "montpellier data cloud security design sales marketing finance legal support mobile "
    "web api platform quality training onboarding wellbeing green innovation research "
    "procurement logistics hr payroll devops"
).split()
_WORDS = (
    "the a to and of for on in is it we this that with can be please thanks merci "
    "réunion équipe projet déploiement présentation café update release meeting review "
    "deadline draft slides customer ticket bug fix deploy build test staging prod "
    "dashboard report budget forecast q3 q4 plan roadmap demo workshop training "
    "onboarding office site lunch tomorrow today monday friday asap fyi question idea "
    "feedback doc wiki link shared looks good agreed done ok sure sounds great"
).split()
_EMOJI = (
    "+1 thumbsup heart joy tada eyes pray white_check_mark raised_hands fire 100 clap "
    "rocket muscle slightly_smiling_face ok_hand"
).split()
_EMOJI_WEIGHTS = np.array([30, 8, 12, 8, 8, 6, 4, 8, 4, 3, 2, 3, 2, 1, 2, 2], dtype=float)
_FILES = (
    ("report.pdf", "application/pdf", "pdf"),
    ("slides.pptx", "application/vnd.ms-powerpoint", "pptx"),
    ("capture.png", "image/png", "png"),
    ("budget.xlsx", "application/vnd.ms-excel", "xlsx"),
    ("notes.txt", "text/plain", "text"),
)

#: Graph's CSV headers of the report, as the demo writes them.
VIVA_COLUMNS = tuple(VIVA_ENGAGE_HEADER)
VIVA_PERIOD_DAYS = 30
VIVA_PRODUCTS = np.array(
    [
        "MICROSOFT 365 E3",
        "MICROSOFT 365 E5",
        "MICROSOFT 365 E3+MICROSOFT VIVA SUITE",
        "OFFICE 365 E1",
        "MICROSOFT 365 F3",
        "MICROSOFT 365 BUSINESS PREMIUM",
    ]
)
VIVA_PRODUCT_WEIGHTS = np.array([0.45, 0.15, 0.1, 0.1, 0.15, 0.05])


# --- Slack workspace export ----------------------------------------------------------------


def _zip_info(name: str) -> zipfile.ZipInfo:
    """A member stamped with ZIP_DATE_TIME, a file (0644) or, ending in `/`, a folder."""
    info = zipfile.ZipInfo(name, ZIP_DATE_TIME)
    info.create_system = 3  # Unix, as Slack's zips
    info.external_attr = (0o40755 << 16) | 0x10 if name.endswith("/") else 0o100644 << 16
    return info


def _slack_json(value: object) -> bytes:
    """`value` as Slack writes its export files: 4-space indentation, non-ASCII escaped,
    and `/` written `\\/` (a `/` only ever occurs inside JSON strings)."""
    return json.dumps(value, indent=4).replace("/", "\\/").encode()


def _person_ranks(rng: np.random.Generator, n: int, people: int) -> np.ndarray:
    """`n` activity ranks in [0, people): a few people do most of the activity (Zipf-like,
    the draw of shapes.py, folded back instead of piled on the last rank)."""
    return (rng.pareto(1.2, n) * people / 20).astype(np.int64) % people


def _channels(rng: np.random.Generator) -> tuple[list[str], list[str], np.ndarray]:
    """Names, ids and activity weights (summing to 1) of the CHANNELS channels: #general
    first, then team, project, site... channels; a few carry most messages."""
    combos = [f"{p}-{t}" for p in _CHANNEL_PREFIXES for t in _CHANNEL_TOPICS]
    picked = [combos[i] for i in rng.permutation(len(combos))[: CHANNELS - 3]]
    names = ["general", "random", "announcements", *picked]
    ids = [f"C{(0x5A17C0DE + i * 0x9E3779B1) % 2**32:08X}" for i in range(CHANNELS)]
    weights = 1.0 / (rng.permutation(CHANNELS) + 2.0) ** 1.1
    weights[0] = weights.max() * 1.2  # #general is the busiest
    return names, ids, weights / weights.sum()


def _day_weights() -> np.ndarray:
    """Relative activity of each day of the year (summing to 1): a weekend day weighs 8 % of
    a working day, days of August half as much, days from Christmas Eve to New Year's Day
    30 %."""
    weights = np.ones(DAYS)
    for i in range(DAYS):
        day = FIRST_DAY + timedelta(days=i)
        if day.weekday() >= 5:
            weights[i] = 0.08
        if day.month == 8:
            weights[i] *= 0.5
        if (day.month, day.day) >= (12, 24) or (day.month, day.day) <= (1, 1):
            weights[i] *= 0.3
    return weights / weights.sum()


def _texts(rng: np.random.Generator, people: int, count: int = 4096) -> list[str]:
    """`count` message texts of 1 to 120 words (median about 10), some with a mention of a
    person, a link or an emoji code, as chat messages are."""
    words = np.array(_WORDS)
    lengths = np.clip(rng.lognormal(2.3, 0.8, count).astype(int), 1, 120)
    texts = []
    for n in lengths:
        parts = list(words[rng.integers(0, len(words), n)])
        extra = rng.random()
        if extra < 0.15:
            parts.insert(0, f"<@U{rng.integers(0, people):07d}>")
        elif extra < 0.25:
            parts.append(f"<https://intranet.{DOMAIN}/wiki/page-{rng.integers(0, 10_000)}>")
        elif extra < 0.35:
            parts.append(f":{_EMOJI[rng.integers(0, len(_EMOJI))]}:")
        text = " ".join(parts)
        texts.append(text[:1].upper() + text[1:])
    return texts


def _users(rng: np.random.Generator, people: int) -> list[dict[str, object]]:
    """users.json: one active person per id U0000000.., keyed by person<i>@corp.example
    (the e-mail the directory join uses), none a bot."""
    first = FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), people)].tolist()
    last = LAST_NAMES[rng.integers(0, len(LAST_NAMES), people)].tolist()
    colours = rng.integers(0, 1 << 24, people).tolist()
    users = []
    for i in range(people):
        real = f"{first[i]} {last[i]}"
        users.append(
            {
                "id": f"U{i:07d}",
                "team_id": TEAM_ID,
                "name": f"person{i}",
                "deleted": False,
                "color": f"{colours[i]:06x}",
                "real_name": real,
                "tz": "Europe/Paris",
                "tz_label": "Central European Time",
                "tz_offset": 3600,
                "profile": {
                    "title": "",
                    "phone": "",
                    "real_name": real,
                    "real_name_normalized": real,
                    "display_name": f"person{i}",
                    "display_name_normalized": f"person{i}",
                    "email": f"person{i}@{DOMAIN}",
                    "first_name": first[i],
                    "last_name": last[i],
                    "team": TEAM_ID,
                },
                "is_admin": False,
                "is_owner": False,
                "is_primary_owner": False,
                "is_restricted": False,
                "is_ultra_restricted": False,
                "is_bot": False,
                "is_app_user": False,
                "updated": 1761955200,
            }
        )
    return users


def _channel_listing(
    rng: np.random.Generator, names: list[str], ids: list[str], weights: np.ndarray, people: int
) -> list[dict[str, object]]:
    """channels.json: every channel with its creator and members (everyone in #general, in
    the others twice the channel's share of messages as a share of people, at least 2)."""
    created = int(datetime(2024, 1, 8, 9, tzinfo=UTC).timestamp())
    listing = []
    for i, (name, channel_id) in enumerate(zip(names, ids, strict=True)):
        size = people if i == 0 else max(2, min(people, int(people * weights[i] * 2)))
        chosen = np.sort(rng.choice(people, size, replace=False)) if i else np.arange(people)
        members = chosen.tolist()
        listing.append(
            {
                "id": channel_id,
                "name": name,
                "created": str(created + i * 86_400),
                "creator": f"U{members[0]:07d}",
                "is_archived": False,
                "is_general": i == 0,
                "members": [f"U{m:07d}" for m in members],
                "topic": {"value": "", "creator": "", "last_set": "0"},
                "purpose": {"value": f"#{name}", "creator": "", "last_set": "0"},
            }
        )
    return listing


def _finish_day(
    messages: list[dict[str, object]], threads: dict[str, list[tuple[str, str]]]
) -> list[dict[str, object]]:
    """Give each thread's first message of `messages` Slack's summary of its replies
    (taken out of `threads`: parent ts -> (user, ts) of each reply), before its reactions,
    in the order Slack writes the fields."""
    for message in messages:
        thread = threads.pop(message["ts"], None)  # type: ignore[arg-type]
        if thread is None:
            continue
        reactions = message.pop("reactions", None)
        repliers = list(dict.fromkeys(user for user, _ in thread))
        message.update(
            thread_ts=message["ts"],
            reply_count=len(thread),
            reply_users_count=len(repliers),
            latest_reply=thread[-1][1],
            reply_users=repliers[:5],
            is_locked=False,
            subscribed=False,
        )
        if reactions is not None:
            message["reactions"] = reactions
    return messages


def _channel_days(
    rng: np.random.Generator,
    day_counts: np.ndarray,
    day_starts: np.ndarray,
    users_of: np.ndarray,
    texts: list[str],
) -> Iterator[tuple[int, list[dict[str, object]]]]:
    """One channel's day files in day order: (day number, its messages in time order) for
    each day d with `day_counts[d]` > 0.

    `day_starts`: each day's 00:00 UTC in epoch seconds; messages fall in office hours,
    UTC. `users_of`: activity rank -> person number (see _person_ranks). Each `ts` is the
    second and, as its 6 decimals, the channel's running message count (mod 10**6): unique
    within the channel. A top-level message takes replies on its day and the THREAD_DAYS - 1
    days after (Slack files a reply under its own day), so a day is yielded once no later
    reply can reach it. Random draws are made for blocks of days of up to BLOCK_MESSAGES
    messages: memory is O(BLOCK_MESSAGES + THREAD_DAYS days of the channel)."""
    people = len(users_of)
    emoji_p = _EMOJI_WEIGHTS / _EMOJI_WEIGHTS.sum()
    busy_days = np.flatnonzero(day_counts)
    pending: deque[tuple[int, list[dict[str, object]]]] = deque()
    threads: dict[str, list[tuple[str, str]]] = {}  # parent ts -> (user, ts) of its replies
    tops: list[tuple[int, str, str]] = []  # (day, ts, user) of the open threads' parents
    current, messages = -1, []
    suffix = 0
    start = 0
    while start < len(busy_days):
        cumulative = np.cumsum(day_counts[busy_days[start:]])
        stop = start + max(1, int(np.searchsorted(cumulative, BLOCK_MESSAGES, side="right")))
        block = busy_days[start:stop]
        start = stop
        n = int(day_counts[block].sum())
        day_of = np.repeat(block, day_counts[block])
        time_of_day = np.clip(rng.normal(12.5 * 3600, 2.7 * 3600, n), 0, 86_399).astype(np.int64)
        seconds = np.sort(day_starts[day_of] + time_of_day)  # days do not overlap: by day
        authors = users_of[_person_ranks(rng, n, people)]
        is_reply = rng.random(n) < REPLY_SHARE
        back = rng.geometric(0.45, n)  # which open thread a reply goes to: 1 = the latest
        kind = rng.random(n)
        text = rng.integers(0, len(texts), n)
        hex_ids = rng.bytes(16 * n).hex()
        emoji_counts = np.where(
            rng.random(n) < REACTED_SHARE, np.minimum(rng.geometric(0.65, n), 5), 0
        )
        emoji = rng.choice(len(_EMOJI), int(emoji_counts.sum()), p=emoji_p).tolist()
        reactor_counts = np.minimum(rng.zipf(2.3, len(emoji)), 30).tolist()
        reactors = users_of[_person_ranks(rng, sum(reactor_counts), people)].tolist()
        e = r = 0
        for i, (day, second, author, reply, going_back, draw, t, emojis) in enumerate(
            zip(
                day_of.tolist(),
                seconds.tolist(),
                authors.tolist(),
                is_reply.tolist(),
                back.tolist(),
                kind.tolist(),
                text.tolist(),
                emoji_counts.tolist(),
                strict=True,
            )
        ):
            if day != current:
                if messages:
                    pending.append((current, messages))
                current, messages = day, []
                while pending and pending[0][0] <= day - THREAD_DAYS:
                    done_day, done = pending.popleft()
                    yield done_day, _finish_day(done, threads)
                tops = [top for top in tops if top[0] > day - THREAD_DAYS]
            user = f"U{author:07d}"
            ts = f"{second}.{suffix % 1_000_000:06d}"
            suffix += 1
            uid = hex_ids[32 * i : 32 * i + 32]
            message: dict[str, object] = {
                "client_msg_id": f"{uid[:8]}-{uid[8:12]}-4{uid[13:16]}-a{uid[17:20]}-{uid[20:]}",
                "type": "message",
            }
            parent = tops[-min(going_back, len(tops))] if reply and tops else None
            if parent is not None and draw < BROADCAST_SHARE:
                message["subtype"] = "thread_broadcast"
            elif parent is None and draw < FILE_SHARE:
                message["subtype"] = "file_share"
            message.update(text=texts[t], user=user, ts=ts, team=TEAM_ID)
            if parent is None:
                tops.append((day, ts, user))
                if draw < FILE_SHARE:
                    message["files"] = [_shared_file(uid, second, user, draw)]
            else:
                message["thread_ts"] = parent[1]
                message["parent_user_id"] = parent[2]
                threads.setdefault(parent[1], []).append((user, ts))
            if emojis:
                reactions: dict[str, list[str]] = {}
                for _ in range(emojis):
                    listed = reactors[r : r + reactor_counts[e]]
                    r += reactor_counts[e]
                    name = _EMOJI[emoji[e]]
                    e += 1
                    if name not in reactions:  # one entry per emoji, each person once
                        reactions[name] = list(dict.fromkeys(f"U{p:07d}" for p in listed))
                message["reactions"] = [
                    {"name": name, "users": users, "count": len(users)}
                    for name, users in reactions.items()
                ]
            messages.append(message)
    if messages:
        pending.append((current, messages))
    for done_day, done in pending:
        yield done_day, _finish_day(done, threads)


def _shared_file(uid: str, second: int, user: str, draw: float) -> dict[str, object]:
    """The `files` entry of a file_share message (`draw` in [0, FILE_SHARE) picks the kind
    of file, `uid` its id)."""
    name, mimetype, filetype = _FILES[int(draw / FILE_SHARE * len(_FILES))]
    file_id = f"F{uid[:10].upper()}"
    return {
        "id": file_id,
        "created": second,
        "timestamp": second,
        "name": name,
        "title": name.split(".")[0].capitalize(),
        "mimetype": mimetype,
        "filetype": filetype,
        "user": user,
        "size": int(uid[10:16], 16),
        "mode": "hosted",
        "url_private": f"https://files.slack.com/files-pri/{TEAM_ID}-{file_id}/{name}",
    }


def write_slack_export(messages: int, people: int, path: Path, seed: int = 7) -> int:
    """Write a Slack workspace export zip of `messages` message objects by `people` people
    (>= 2) to `path`; return the number of messages written (= `messages`).

    Every message is counted by the project's reader: it yields one event per message (a
    post or, for thread replies, a comment) plus one `reaction` per person listed in its
    reactions. Memory: users.json and channels.json are built whole (O(people)); messages
    are drawn a channel's block of days at a time and written one day file at a time
    (O(BLOCK_MESSAGES), whatever `messages`). Members are deflated at level 1."""
    if people < 2:
        raise ValueError("people must be at least 2")
    rng = np.random.default_rng(seed)
    names, ids, channel_weights = _channels(rng)
    users_of = rng.permutation(people)  # activity rank -> person number
    texts = _texts(rng, people)
    first = datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=UTC).timestamp()
    day_starts = int(first) + 86_400 * np.arange(DAYS, dtype=np.int64)
    per_channel = rng.multinomial(messages, channel_weights)
    day_weights = _day_weights()
    written = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as out:

        def put(name: str, data: bytes) -> None:
            out.writestr(_zip_info(name), data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)

        put(
            "channels.json", _slack_json(_channel_listing(rng, names, ids, channel_weights, people))
        )
        put("users.json", _slack_json(_users(rng, people)))
        put(
            "integration_logs.json",
            _slack_json(
                [
                    {
                        "user_id": "U0000000",
                        "user_name": "person0",
                        "date": str(int(day_starts[0]) - 86_400 * k),
                        "change_type": "added",
                        "service_id": str(29_682_277_639 + k),
                        "service_type": service,
                        "scope": "incoming-webhook",
                        "channel": ids[k],
                    }
                    for k, service in enumerate(("Jira Cloud", "GitHub", "Google Drive"))
                ]
            ),
        )
        for channel, name in enumerate(names):
            if not per_channel[channel]:
                continue
            out.writestr(_zip_info(f"{name}/"), b"")
            day_counts = rng.multinomial(per_channel[channel], day_weights)
            for day, day_file in _channel_days(rng, day_counts, day_starts, users_of, texts):
                put(f"{name}/{FIRST_DAY + timedelta(days=day)}.json", _slack_json(day_file))
                written += len(day_file)
    return written


# --- Viva Engage activity user detail ------------------------------------------------------


def _viva_chunk(
    rng: np.random.Generator, first: int, n: int, refresh: date, period: int
) -> pa.Table:
    """Rows for people first..first+n-1 of a report refreshed on `refresh` over `period`
    days. About half the people did something in the period; reads outnumber likes, likes
    posts, and a few people do most of each (Zipf-like). 2 % are deleted accounts."""
    ids = pa.array(np.arange(first, first + n)).cast(pa.string())
    upn = pc.binary_join_element_wise(pc.binary_join_element_wise("person", ids, ""), DOMAIN, "@")
    display = pc.binary_join_element_wise(
        pa.array(FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), n)]),
        pa.array(LAST_NAMES[rng.integers(0, len(LAST_NAMES), n)]),
        " ",
    )
    refresh_day = np.datetime64(refresh, "D")
    deleted = rng.random(n) < 0.02
    deleted_on = refresh_day - rng.integers(1, 365, n).astype("timedelta64[D]")
    engagement = np.minimum(rng.pareto(1.3, n) + 0.05, 200.0)
    active = rng.random(n) < 0.55
    reads = np.where(active, rng.poisson(engagement * 15), 0)
    likes = np.where(active, rng.poisson(engagement * 1.5), 0)
    posts = np.where(active, rng.poisson(engagement * 0.6), 0)
    did = (reads + likes + posts) > 0
    last_in_period = refresh_day - rng.integers(0, period, n).astype("timedelta64[D]")
    last_before = refresh_day - rng.integers(period, period + 700, n).astype("timedelta64[D]")
    seen_before = rng.random(n) < 0.5
    last = np.where(did, last_in_period, last_before)
    product = VIVA_PRODUCTS[rng.choice(len(VIVA_PRODUCTS), n, p=VIVA_PRODUCT_WEIGHTS)]
    columns = [
        pa.array(np.full(n, refresh_day)),
        upn,
        display,
        pc.if_else(pa.array(deleted), "Deleted", pa.scalar(None, pa.string())),
        pa.array(deleted_on, mask=~deleted),
        pa.array(last, mask=~(did | seen_before)),
        pa.array(posts, pa.int64()),
        pa.array(reads, pa.int64()),
        pa.array(likes, pa.int64()),
        pa.array(product),
        pa.array(np.full(n, period), pa.int64()),
    ]
    return pa.table(dict(zip(VIVA_COLUMNS, columns, strict=True)))


def write_viva_engage(rows: int, path: Path, seed: int = 7) -> int:
    """Write a Viva Engage activity user detail report (30 days ending 2026-10-31) of `rows`
    people, person0@corp.example onwards, to `path` as Microsoft's CSV; return `rows`.

    Columns and header names are Graph's getYammerActivityUserDetail ones (VIVA_COLUMNS),
    unquoted, dates YYYY-MM-DD, empty cells for no state or no activity. Written a
    million rows at a time by pyarrow's CSV writer; memory O(CHUNK_ROWS)."""
    rng = np.random.default_rng(seed)
    refresh = FIRST_DAY + timedelta(days=DAYS - 1)
    options = pacsv.WriteOptions(quoting_style="none", quoting_header="none")
    schema = _viva_chunk(np.random.default_rng(0), 0, 1, refresh, VIVA_PERIOD_DAYS).schema
    written = 0
    with pacsv.CSVWriter(path, schema, write_options=options) as out:
        while written < rows:
            n = min(CHUNK_ROWS, rows - written)
            out.write_table(_viva_chunk(rng, written, n, refresh, VIVA_PERIOD_DAYS))
            written += n
    return written


# --- Teams user activity user detail ------------------------------------------------------

#: Graph's getTeamsUserActivityUserDetail CSV columns (tests/fixtures has the same file).
TEAMS_COLUMNS = (
    "Report Refresh Date", "Tenant Display Name", "User Id", "User Principal Name",
    "Last Activity Date", "Is Deleted", "Deleted Date", "Assigned Products",
    "Team Chat Message Count", "Private Chat Message Count", "Call Count", "Meeting Count",
    "Post Messages", "Reply Messages", "Urgent Messages", "Audio Duration", "Has Other Action",
    "Is Licensed", "Report Period",
)  # fmt: skip
TEAMS_PERIOD_DAYS = 7


def _teams_chunk(
    rng: np.random.Generator, first: int, n: int, refresh: date, period: int
) -> pa.Table:
    """Rows for people first..first+n-1 of a Teams report refreshed on `refresh` over
    `period` days: most people chat and meet, fewer post in channels (Zipf-like)."""
    ids = pa.array(np.arange(first, first + n)).cast(pa.string())
    upn = pc.binary_join_element_wise(pc.binary_join_element_wise("person", ids, ""), DOMAIN, "@")
    user_id = pc.binary_join_element_wise(
        "00000000-0000-4000-8000", pc.utf8_lpad(ids, 12, "0"), "-"
    )
    refresh_day = np.datetime64(refresh, "D")
    engagement = np.minimum(rng.pareto(1.3, n) + 0.05, 200.0)
    active = rng.random(n) < 0.8
    chat = np.where(active, rng.poisson(engagement * 20), 0)
    calls = np.where(active, rng.poisson(engagement * 2), 0)
    meetings = np.where(active, rng.poisson(engagement * 4), 0)
    posts = np.where(active, rng.poisson(engagement * 0.3), 0)
    replies = np.where(active, rng.poisson(engagement * 0.6), 0)
    deleted = rng.random(n) < 0.02
    did = (chat + calls + meetings + posts + replies) > 0
    last = refresh_day - rng.integers(0, period, n).astype("timedelta64[D]")
    yes_no = np.array(["No", "Yes"])
    false_true = np.array(["False", "True"])
    columns = [
        pa.array(np.full(n, refresh_day)),
        pa.array(np.full(n, "CONTOSO")),
        user_id,
        upn,
        pa.array(last, mask=~did),
        pa.array(false_true[deleted.astype(int)]),
        pa.array(refresh_day - rng.integers(1, 365, n).astype("timedelta64[D]"), mask=~deleted),
        pa.array(np.full(n, "MICROSOFT TEAMS")),
        pa.array(posts + replies, pa.int64()),
        pa.array(chat, pa.int64()),
        pa.array(calls, pa.int64()),
        pa.array(meetings, pa.int64()),
        pa.array(posts, pa.int64()),
        pa.array(replies, pa.int64()),
        pa.array(np.zeros(n, np.int64)),
        pa.array(np.full(n, "PT0S")),
        pa.array(yes_no[(rng.random(n) < 0.3).astype(int)]),
        pa.array(np.full(n, "Yes")),
        pa.array(np.full(n, period), pa.int64()),
    ]
    return pa.table(dict(zip(TEAMS_COLUMNS, columns, strict=True)))


def write_teams(rows: int, path: Path, seed: int = 7) -> int:
    """Write a Teams user activity user detail report (7 days ending 2026-10-31) of `rows`
    people to `path` as Graph's CSV (unquoted, dates YYYY-MM-DD); return `rows`."""
    rng = np.random.default_rng(seed)
    refresh = FIRST_DAY + timedelta(days=DAYS - 1)
    options = pacsv.WriteOptions(quoting_style="none", quoting_header="none")
    schema = _teams_chunk(np.random.default_rng(0), 0, 1, refresh, TEAMS_PERIOD_DAYS).schema
    written = 0
    with pacsv.CSVWriter(path, schema, write_options=options) as out:
        while written < rows:
            n = min(CHUNK_ROWS, rows - written)
            out.write_table(_teams_chunk(rng, written, n, refresh, TEAMS_PERIOD_DAYS))
            written += n
    return written


# --- Baselines -------------------------------------------------------------------------------

#: Load a Slack export zip (argv[1]) into one Parquet file (argv[2]), one row per message:
#: its instant, channel, author, subtype, thread and the number of people reacting to it,
#: as directly as Python and pyarrow allow (json.loads each day file, column lists flushed
#: every 200,000 rows).
SLACK_BASELINE = """
import json, sys, zipfile
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
SCHEMA = pa.schema([
    ("ts", pa.timestamp("us", tz="UTC")), ("channel", pa.string()), ("user", pa.string()),
    ("subtype", pa.string()), ("thread_ts", pa.string()), ("parent_user_id", pa.string()),
    ("reactions", pa.int64()),
])
FLUSH_ROWS = 200_000

def flush(writer, columns):
    seconds = pa.array(columns["ts"], pa.string()).cast(pa.float64())
    micros = pc.round(pc.multiply(seconds, 1_000_000)).cast(pa.int64())
    arrays = [micros.cast(SCHEMA.field("ts").type)]
    arrays += [pa.array(columns[f.name], f.type) for f in SCHEMA if f.name != "ts"]
    writer.write_table(pa.Table.from_arrays(arrays, schema=SCHEMA))
    for values in columns.values():
        values.clear()

columns = {name: [] for name in SCHEMA.names}
with zipfile.ZipFile(sys.argv[1]) as archive, pq.ParquetWriter(sys.argv[2], SCHEMA) as writer:
    for name in archive.namelist():
        channel, _, day = name.partition("/")
        if not day.endswith(".json"):
            continue
        for message in json.loads(archive.read(name)):
            columns["ts"].append(message["ts"])
            columns["channel"].append(channel)
            columns["user"].append(message.get("user"))
            columns["subtype"].append(message.get("subtype"))
            columns["thread_ts"].append(message.get("thread_ts"))
            columns["parent_user_id"].append(message.get("parent_user_id"))
            columns["reactions"].append(
                sum(len(r.get("users", ())) for r in message.get("reactions", ())))
        if len(columns["ts"]) >= FLUSH_ROWS:
            flush(writer, columns)
    if columns["ts"]:
        flush(writer, columns)
"""

#: Load a Viva Engage activity user detail CSV (argv[1]) into one Parquet file (argv[2]):
#: pyarrow's streaming CSV reader, dates as date32 and counts as int64, batch by batch.
VIVA_BASELINE = """
import sys
import pyarrow as pa, pyarrow.csv as pacsv, pyarrow.parquet as pq
types = {c: pa.date32() for c in ("Report Refresh Date", "State Change Date", "Last Activity Date")}
types |= {c: pa.int64() for c in ("Posted Count", "Read Count", "Liked Count", "Report Period")}
reader = pacsv.open_csv(sys.argv[1], convert_options=pacsv.ConvertOptions(column_types=types))
with pq.ParquetWriter(sys.argv[2], reader.schema) as writer:
    for batch in reader:
        writer.write_batch(batch)
"""


#: Load a Teams user activity user detail CSV (argv[1]) into one Parquet file (argv[2]): the
#: same, the dates as date32 and the counts as int64.
TEAMS_BASELINE = """
import sys
import pyarrow as pa, pyarrow.csv as pacsv, pyarrow.parquet as pq
types = {c: pa.date32() for c in ("Report Refresh Date", "Last Activity Date", "Deleted Date")}
types |= {c: pa.int64() for c in ("Team Chat Message Count", "Private Chat Message Count",
    "Call Count", "Meeting Count", "Post Messages", "Reply Messages", "Urgent Messages",
    "Report Period")}
reader = pacsv.open_csv(sys.argv[1], convert_options=pacsv.ConvertOptions(column_types=types))
with pq.ParquetWriter(sys.argv[2], reader.schema) as writer:
    for batch in reader:
        writer.write_batch(batch)
"""

# --- Self-check ------------------------------------------------------------------------------


def _cli() -> list[str]:
    """The `rse-adoption` command of the running interpreter's environment."""
    script = Path(sys.executable).with_name("rse-adoption")
    return [str(script)] if script.exists() else [sys.executable, "-m", "rse_adoption.cli"]


def _ingest(path: Path, data_dir: Path) -> dict[str, object]:
    """The per-file result of `rse-adoption ingest path --data-dir data_dir --json`."""
    done = subprocess.run(
        [*_cli(), "ingest", str(path), "--data-dir", str(data_dir), "--json"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 and not done.stdout.strip():
        raise SystemExit(f"ingest {path.name} failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = json.loads(done.stdout)
    return summary["details"][0]


def _baseline(source: str, path: Path, out: Path) -> int:
    """Run a baseline on `path`; the rows of the Parquet file it wrote."""
    subprocess.run([sys.executable, "-c", source, str(path), str(out)], check=True)
    return pq.read_metadata(out).num_rows


def _require(condition: bool, problem: object) -> None:
    """Stop the self-check with `problem` unless `condition` holds."""
    if not condition:
        raise SystemExit(f"self-check failed: {problem}")


def main() -> None:
    """Write both shapes at a small size (20,000 messages and rows by default) into a
    temporary folder, run both baselines, and ingest both into one store with the CLI:
    every message and listed reaction of the export must become an event, every row of the
    report must be read, nothing quarantined."""
    parser = argparse.ArgumentParser(description="Write both bundle shapes small and check them.")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--people", type=int, help="Slack workspace people (messages / 40)")
    parser.add_argument("--keep", type=Path, help="write into this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bundles-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        people = args.people or max(50, args.messages // 40)
        export = work / "slack-export.zip"
        started = time.perf_counter()
        write_slack_export(args.messages, people, export)
        print(
            f"slack: {args.messages:,} messages, {people:,} people, "
            f"{export.stat().st_size / 2**20:.1f} MiB in {time.perf_counter() - started:.1f} s"
        )
        rows = _baseline(SLACK_BASELINE, export, work / "slack-baseline.parquet")
        _require(rows == args.messages, f"baseline read {rows} messages of {args.messages}")
        reacting = pc.sum(pq.read_table(work / "slack-baseline.parquet")["reactions"]).as_py()
        result = _ingest(export, work / "store")
        print(f"  baseline rows {rows:,}; ingest {result}")
        _require(result["status"] == "ingested" and not result["quarantined"], result)
        _require(
            result["rows_ingested"] == args.messages + reacting,
            f"{result['rows_ingested']} events, expected {args.messages} messages + "
            f"{reacting} reactions",
        )

        report = work / "viva-engage-activity-user-detail-D30.csv"
        started = time.perf_counter()
        write_viva_engage(args.rows, report)
        print(
            f"viva: {args.rows:,} rows, {report.stat().st_size / 2**20:.1f} MiB in "
            f"{time.perf_counter() - started:.1f} s"
        )
        rows = _baseline(VIVA_BASELINE, report, work / "viva-baseline.parquet")
        _require(rows == args.rows, f"baseline read {rows} rows of {args.rows}")
        result = _ingest(report, work / "store")
        print(f"  baseline rows {rows:,}; ingest {result}")
        _require(result["status"] == "ingested" and not result["quarantined"], result)
        _require(result["rows_read"] == args.rows and result["rows_ingested"], result)
        print("ok")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
