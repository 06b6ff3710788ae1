"""Slack member analytics CSV (workspace analytics, "Members" tab, exported for a chosen
date range): per-member counts over that period.

`Messages posted in channels` become `posts` (public contribution); messages posted
elsewhere (direct messages: `Messages posted` minus those in channels) are
`other_activity`. `Days active` are `reads`: Slack counts a member active on a day when
they read or sent a message in a channel or a direct message, so a member active with no
message and no reaction is a reader — as `is_active` in the daily member analytics
(`slack_member_days`). `Reactions added` become `reactions`. The file does not state its
period: `ingest --period-end YYYY-MM-DD --period-days N` gives it. People are keyed by
their e-mail when the file has one, else by their Slack `User ID` (which then joins the
events of a Slack export keyed the same way, but not the directory).
"""

from __future__ import annotations

from typing import Any

from . import periods

NAME = "slack_analytics"


def _direct_messages_are_activity(counts: dict[str, int | None]) -> dict[str, int | None]:
    in_channels = counts.pop("channel_posts", None)
    if in_channels is None:
        return counts
    total = counts.get("posts") or 0
    counts["posts"] = in_channels
    counts["other_activity"] = (counts.get("other_activity") or 0) + max(0, total - in_channels)
    return counts


def _direct_messages_are_activity_columns(counts: dict[str, Any]) -> dict[str, Any]:
    """`_direct_messages_are_activity` on whole columns (int64 arrays)."""
    import pyarrow.compute as pc

    in_channels = counts.pop("channel_posts", None)
    if in_channels is None:
        return counts
    total = counts.get("posts")
    counts["posts"] = in_channels
    if total is None:
        total = pc.multiply(in_channels, 0)
    direct = pc.max_element_wise(pc.subtract_checked(total, in_channels), 0)
    other = counts.get("other_activity")
    counts["other_activity"] = direct if other is None else pc.add_checked(other, direct)
    return counts


FORMAT = periods.PeriodFormat(
    name=NAME,
    columns={
        "user": ("Email", "Email address", "User ID"),
        "posts": ("Messages posted",),
        "channel_posts": ("Messages posted in channels",),
        "reactions": ("Reactions added",),
        "reads": ("Days active",),
    },
    required=("user", "posts", "reactions", "reads"),
    adjust=_direct_messages_are_activity,
    adjust_columns=_direct_messages_are_activity_columns,
)


sniff, missing_columns, read = periods.plugin(FORMAT)
