"""Microsoft Teams user activity user detail: per-person counts over 7, 30, 90 or 180 days
(Graph `getTeamsUserActivityUserDetail`, CSV or JSON; the column set varies by tenant and
date, so columns are selected by name).

Channel messages are contributions. Newer exports split them into `Post Messages` (`posts`)
and `Reply Messages` (`replies`); older ones (the v1.0 minimum set) only have `Team Chat
Message Count`, which Microsoft defines as the same thing — messages posted in team
channels, original posts and replies (admin-center docs, "Microsoft Teams user activity
report": "Channel messages") — so it becomes `posts` when the split columns are absent, and
is ignored when they are present (never summed with them). Private chat messages, calls,
meetings, urgent messages and "other actions" are activity, not public contribution: their
sum is `other_activity`, which makes a visitor. Teams has no reads or reactions per user. A
concealed tenant writes hashed user principal names and an all-zero `User Id`.
"""

from __future__ import annotations

from typing import Any

from . import periods

NAME = "teams"


def _channel_messages_are_posts(counts: dict[str, Any]) -> dict[str, Any]:
    """`Team Chat Message Count` (channel messages) stands for posts only in files without
    `Post Messages` and `Reply Messages`; with them it would count the same messages twice."""
    channel_messages = counts.pop("channel_messages", None)
    if "posts" not in counts and "replies" not in counts:
        counts["posts"] = channel_messages
    return counts


FORMAT = periods.PeriodFormat(
    name=NAME,
    columns={
        "user": ("User Principal Name", "userPrincipalName"),
        "refresh_date": ("Report Refresh Date", "reportRefreshDate"),
        "period": ("Report Period", "reportPeriod"),
        "posts": ("Post Messages", "postMessages"),
        "replies": ("Reply Messages", "replyMessages"),
        "channel_messages": ("Team Chat Message Count", "teamChatMessageCount"),
        "other:private_chat": ("Private Chat Message Count", "privateChatMessageCount"),
        "other:calls": ("Call Count", "callCount"),
        "other:meetings": ("Meeting Count", "meetingCount"),
        "other:other_action": ("Has Other Action", "hasOtherAction"),
        "other:urgent": ("Urgent Messages", "urgentMessages"),
    },
    required=("user", "other:private_chat", "other:calls", "other:meetings"),
    concealable=True,
    adjust=_channel_messages_are_posts,
    adjust_columns=_channel_messages_are_posts,  # it only looks at which columns there are
)


sniff, missing_columns, read = periods.plugin(FORMAT)
