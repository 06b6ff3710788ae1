"""The example organisation's last 28 days as daily Viva Engage reports: what `fetch m365`
downloads (Graph's `getYammerActivityUserDetail(date=...)`), or an admin saves each day.

One CSV per day under `platforms/viva_engage/daily/`, with Graph's columns: only the
tenant's accounts (directory people employed on the last day) who did something that day
(a login alone gives a row of zeros, as Graph lists a user active in another way), posted
= posts + comments, liked = reactions, read = reads; `Report Refresh Date` the day and
`Report Period` 1, so that `ingest` reads each file as the one-day period of its day.
Together they tile the 28-day window ending on the last day (docs/metrics.md, "Grain").
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

from .platforms import PRODUCT, VIVA_ENGAGE_HEADER, csv_text, write_text

#: Microsoft keeps the daily detail for 28 days.
DAILY_DAYS = 28
DAILY_FOLDER = "viva_engage/daily"


def daily_name(day: date) -> str:
    return f"{DAILY_FOLDER}/getYammerActivityUserDetail_{day.isoformat()}.csv"


def write_viva_engage_days(
    table: pa.Table, employed: list[str], end: date, out: Path, days: int = DAILY_DAYS
) -> list[str]:
    """Write the daily reports of the `days` days ending `end` from `table` (the demo's
    events, text columns) under `out`; return the paths written, relative to `out`."""
    first = end - timedelta(days=days - 1)
    accounts = set(employed)
    counts: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    columns = table.select(["timestamp", "user", "event_type"]).to_pydict()
    for timestamp, user, event_type in zip(
        columns["timestamp"], columns["user"], columns["event_type"], strict=True
    ):
        day = timestamp[:10]
        if first.isoformat() <= day <= end.isoformat() and user in accounts:
            counts[day][user][event_type] += 1
    written = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        active = counts.get(day.isoformat(), {})
        body = [
            [
                day.isoformat(),
                email,
                "",
                "active",
                "",
                day.isoformat(),
                c.get("post", 0) + c.get("comment", 0),
                c.get("read", 0),
                c.get("reaction", 0),
                PRODUCT,
                1,
            ]
            for email, c in sorted(active.items())
        ]
        write_text(out / daily_name(day), csv_text(VIVA_ENGAGE_HEADER, body))
        written.append(daily_name(day))
    return written
