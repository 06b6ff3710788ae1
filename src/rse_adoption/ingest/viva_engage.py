"""Microsoft 365 Viva Engage (Yammer) activity user detail: per-person counts over 7, 30,
90 or 180 days (Graph `getYammerActivityUserDetail`, CSV or JSON, and the admin center's
"Export" with display headers).

`Posted Count` (messages posted: new threads and replies) becomes `posts`, `Liked Count`
`reactions`, `Read Count` `reads`; the export has no logins. Rows are stored at the
report's grain (ingest/periods.py); a user column of 32 uppercase hex characters is a
concealed name (the tenant's "conceal user, group and site names" setting).
"""

from __future__ import annotations

from . import periods

NAME = "viva_engage"
FORMAT = periods.PeriodFormat(
    name=NAME,
    columns={
        "user": ("User Principal Name", "Username", "userPrincipalName"),
        "refresh_date": ("Report Refresh Date", "reportRefreshDate"),
        "period": ("Report Period", "reportPeriod"),
        "posts": ("Posted Count", "Posted", "postedCount"),
        "reads": ("Read Count", "Read", "readCount"),
        "reactions": ("Liked Count", "Liked", "likedCount"),
    },
    required=("user", "posts", "reads", "reactions"),
    concealable=True,
)


sniff, missing_columns, read = periods.plugin(FORMAT)
