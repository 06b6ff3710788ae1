"""Slack member analytics of one day, as Slack's `admin.analytics.getFile` (`type=member`)
gives them: one row per member with the API's own keys (`date`, `email_address`,
`is_active`, `messages_posted_count`, `channel_messages_posted_count`,
`reactions_added_count`, `files_added_count`, `slack_huddles_count`, `total_calls_count`).
`fetch slack --analytics` writes each day's rows to a CSV with these headers (the fields it
keeps, nothing else) and ingests it as the one-day period of that day.

The counts are read as the member analytics CSV's are (ingest/slack_analytics.py):
messages posted in channels become `posts`, the rest of the messages posted (direct
messages) `other_activity`, reactions added `reactions`. `is_active` — Slack's "posted a
message or read at least one channel or direct message that day" — becomes `reads` (1):
an active member who neither posted in a channel nor reacted is a reader. Files added,
huddles and calls are `other_activity`: a member doing only these is a visitor. People are
keyed by `email_address`, which is how the Slack export reader and `fetch slack` key the
same person (a member without one is keyed by the Slack user id the fetcher writes there
instead, as the Slack reader keys them). A file ingested by hand needs its period:
`--period-end DAY --period-days 1`, or its `date` column and `--period-days 1`.
"""

from __future__ import annotations

from . import periods
from .slack_analytics import _direct_messages_are_activity, _direct_messages_are_activity_columns

NAME = "slack_member_days"
#: The API's keys this format reads, in the order the fetcher writes them.
KEYS = (
    "date",
    "email_address",
    "is_active",
    "messages_posted_count",
    "channel_messages_posted_count",
    "reactions_added_count",
    "files_added_count",
    "slack_huddles_count",
    "total_calls_count",
)

FORMAT = periods.PeriodFormat(
    name=NAME,
    columns={
        "user": ("email_address",),
        "refresh_date": ("date",),
        "posts": ("messages_posted_count",),
        "channel_posts": ("channel_messages_posted_count",),
        "reactions": ("reactions_added_count",),
        "reads": ("is_active",),
        "other:files": ("files_added_count",),
        "other:huddles": ("slack_huddles_count",),
        "other:calls": ("total_calls_count",),
    },
    required=("user", "posts", "channel_posts", "reactions", "reads"),
    adjust=_direct_messages_are_activity,
    adjust_columns=_direct_messages_are_activity_columns,
)


sniff, missing_columns, read = periods.plugin(FORMAT)
