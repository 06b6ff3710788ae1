"""Microsoft Teams user activity user detail: per-person counts over 7, 30, 90 or 180 days
(Graph `getTeamsUserActivityUserDetail`, CSV or JSON; the column set varies by tenant and
date, so columns are selected by name).

Channel `Post Messages` become `posts` and `Reply Messages` `replies` — contributions, when
those columns exist (older exports lack them: then no one is a contributor from Teams).
Chat messages, calls, meetings and "other actions" are activity, not public contribution:
their sum is `other_activity`, which makes a visitor. Teams has no reads or reactions per
user. A concealed tenant writes hashed user principal names and an all-zero `User Id`.
"""

from __future__ import annotations

from . import periods

NAME = "teams"
FORMAT = periods.PeriodFormat(
    name=NAME,
    columns={
        "user": ("User Principal Name", "userPrincipalName"),
        "refresh_date": ("Report Refresh Date", "reportRefreshDate"),
        "period": ("Report Period", "reportPeriod"),
        "posts": ("Post Messages", "postMessages"),
        "replies": ("Reply Messages", "replyMessages"),
        "other:team_chat": ("Team Chat Message Count", "teamChatMessageCount"),
        "other:private_chat": ("Private Chat Message Count", "privateChatMessageCount"),
        "other:calls": ("Call Count", "callCount"),
        "other:meetings": ("Meeting Count", "meetingCount"),
        "other:other_action": ("Has Other Action", "hasOtherAction"),
        "other:urgent": ("Urgent Messages", "urgentMessages"),
    },
    required=("user", "other:private_chat", "other:calls", "other:meetings"),
    concealable=True,
)


sniff, missing_columns, read = periods.plugin(FORMAT)
