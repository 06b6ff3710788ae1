"""What the store holds, and what a person should act on (`rse-adoption status`).

Everything comes from the manifest (no scan of events), except the "site without activity"
check, which counts the segments of the report window ending on the store's last day. Privacy: that check names only sites
at or above the privacy threshold, like every other output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from . import store
from .config import Settings
from .errors import DataError
from .fetch import slack, slack_analytics
from .fetch.m365 import HORIZON_DAYS, coverage
from .fetch.viva_engage import coverage as viva_engage_coverage
from .messages import CONCEALED_NAMES_FIX, Message, Param, plural_message
from .privacy import is_suppressed

#: Defaults of the warnings' thresholds, in days (flags of `status` change them).
STALE_DATA_DAYS = 7
STALE_DIRECTORY_DAYS = 90


@dataclass(frozen=True)
class Alert:
    """Something to act on: a stable `code` for scripts and a sentence for people."""

    code: str
    message: str


@dataclass
class Status:
    data_dir: str
    first_day: str | None
    last_day: str | None
    files: int
    event_files: int
    rows: int
    quarantined: int
    last_ingest: str | None
    directory: dict[str, Any] | None
    #: The logged actions (`interventions FILE`): {path, source_file, rows, loaded_at}.
    interventions: dict[str, Any] | None = None
    #: Activity periods held (per-person counts: Microsoft 365, Slack analytics), latest
    #: first: {source_format, period_days, refresh_date, rows, concealed_rows}.
    activity_periods: list[dict[str, Any]] = field(default_factory=list)
    #: Platforms' member lists held (the headcount without a directory): {source_format,
    #: listed_on, rows}.
    member_lists: list[dict[str, Any]] = field(default_factory=list)
    #: Per Microsoft 365 report fetched day by day (`fetch m365`): {report, last_day,
    #: missing_days (in Microsoft's 28-day range, up to the last day), stale}.
    m365: list[dict[str, Any]] = field(default_factory=list)
    #: Per Slack channel fetched (`fetch slack`): {channel, channel_id, last_message (UTC
    #: instant of the newest message stored), fetched_on (day of its last commit)}.
    slack: list[dict[str, Any]] = field(default_factory=list)
    #: Slack member analytics fetched day by day (`fetch slack --analytics`), one entry
    #: when any: {first_day, last_day, days, missing_days (between them, within Slack's 13
    #: months), stale}.
    slack_analytics: list[dict[str, Any]] = field(default_factory=list)
    #: The Viva Engage network data export fetched (`fetch viva-engage`): {first, last
    #: (UTC instants of the ranges held), gaps ([{from, to}] between them), stale}; None
    #: when never fetched.
    viva_engage: dict[str, Any] | None = None
    #: Files an ingest found in no known format, not ingested since: {path, reason,
    #: skipped_at}.
    skipped_files: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[Alert] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["warnings"] = [asdict(w) for w in self.warnings]
        return data


def _parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def store_status(
    settings: Settings,
    *,
    today: date | None = None,
    stale_data_days: int = STALE_DATA_DAYS,
    stale_directory_days: int = STALE_DIRECTORY_DAYS,
) -> Status:
    """The store's content and warnings as of `today` (UTC date; default: now)."""
    today = today or datetime.now(UTC).date()
    status = _content(settings, today)
    warn = status.warnings.append
    _data_alerts(status, today, stale_data_days, warn)
    _m365_alerts(status, warn)
    _slack_alerts(status, today, warn)
    _slack_analytics_alerts(status, warn)
    _viva_engage_alerts(status, warn)
    _directory_alerts(status, today, stale_directory_days, warn)
    if status.last_day is not None:
        status.warnings.extend(_quiet_sites(settings))
    skipped = [f for f in status.skipped_files if Path(f["path"]).exists()]
    if skipped:
        names: Param = ", ".join(Path(f["path"]).name for f in skipped[:3])
        if len(skipped) > 3:
            names = Message(
                "status.more_files",
                "%(names)s and %(more)s more",
                names=names,
                more=len(skipped) - 3,
            )
        warn(
            Alert(
                "skipped_files",
                plural_message(
                    "status.skipped_files",
                    "%(num)s file matched no known export format and was not read "
                    "(%(names)s): ingest it with --format or --mapping, or remove it from the "
                    "exports folder",
                    "%(num)s files matched no known export format and were not read "
                    "(%(names)s): ingest them with --format or --mapping, or remove them from "
                    "the exports folder",
                    len(skipped),
                    names=names,
                ),
            )
        )
    if status.quarantined:
        warn(
            Alert(
                "quarantine",
                plural_message(
                    "status.quarantine",
                    "%(num)s row could not be read and is in quarantine "
                    "(`rse-adoption quarantine`)",
                    "%(num)s rows could not be read and are in quarantine "
                    "(`rse-adoption quarantine`)",
                    status.quarantined,
                ),
            )
        )
    return status


def _content(settings: Settings, today: date) -> Status:
    """What the store holds, from its manifest alone (no scan of events)."""
    with store.reading(settings.data_dir) as manifest:
        events = manifest.event_files
        status = Status(
            data_dir=str(settings.data_dir),
            first_day=min((f["first_day"] for f in events if "first_day" in f), default=None),
            last_day=max((f["last_day"] for f in events if "last_day" in f), default=None),
            files=len(manifest.ledger),
            event_files=len(events),
            rows=sum(int(f["rows"]) for f in events),
            quarantined=sum(int(f["rows"]) for f in manifest.quarantine_files),
            last_ingest=max((e["ingested_at"] for e in manifest.ledger), default=None),
            directory=dict(manifest.directory) if manifest.directory else None,
            interventions=dict(manifest.interventions) if manifest.interventions else None,
            activity_periods=sorted(
                (
                    {k: f[k] for k in ("source_format", "period_days", "refresh_date", "rows")}
                    | {"concealed_rows": int(f.get("concealed_rows", 0))}
                    for f in manifest.activity_files
                ),
                key=lambda f: (f["refresh_date"], f["source_format"], -int(f["period_days"])),
                reverse=True,
            ),
            member_lists=[
                {k: f[k] for k in ("source_format", "listed_on", "rows")}
                for f in sorted(manifest.member_files, key=lambda f: f["source_format"])
            ],
            m365=[asdict(c) for c in coverage(manifest, today)],
            slack=slack.coverage(manifest),
            slack_analytics=slack_analytics.coverage(manifest, today),
            viva_engage=viva_engage_coverage(manifest, today),
            skipped_files=[dict(f) for f in manifest.skipped_files],
        )
    return status


def _data_alerts(
    status: Status, today: date, stale_data_days: int, warn: Callable[[Alert], None]
) -> None:
    """No data at all, no new data for `stale_data_days`, concealed Microsoft 365 names."""
    latest_period = max((f["refresh_date"] for f in status.activity_periods), default=None)
    newest = max(filter(None, (status.last_day, latest_period)), default=None)
    if newest is None:
        warn(
            Alert(
                "no_data",
                Message("status.no_data", "the store holds no events: run `rse-adoption ingest`"),
            )
        )
    else:
        age = (today - date.fromisoformat(newest)).days
        if age > stale_data_days:
            warn(
                Alert(
                    "stale_data",
                    plural_message(
                        "status.stale_data",
                        "no activity after %(day)s (%(num)s day ago; exports may have stopped "
                        "arriving)",
                        "no activity after %(day)s (%(num)s days ago; exports may have stopped "
                        "arriving)",
                        age,
                        day=date.fromisoformat(newest),
                    ),
                )
            )
    concealed = [f for f in status.activity_periods if f["concealed_rows"]]
    if concealed:
        latest = concealed[0]
        warn(
            Alert(
                "concealed_names",
                Message(
                    "status.concealed_names",
                    "%(format)s activity of %(day)s has %(people)s concealed user names: those "
                    "people cannot be joined to the directory or to sites. %(fix)s",
                    format=latest["source_format"],
                    day=date.fromisoformat(latest["refresh_date"]),
                    people=int(latest["concealed_rows"]),
                    fix=CONCEALED_NAMES_FIX,
                ),
            )
        )


def _m365_alerts(status: Status, warn: Callable[[Alert], None]) -> None:
    """Days missing in Microsoft's range, or nothing fetched lately (`fetch m365`)."""
    for fetched in status.m365:
        if fetched["missing_days"]:
            missing = fetched["missing_days"]
            days = tuple(date.fromisoformat(d) for d in missing[:5])
            warn(
                Alert(
                    "m365_gap",
                    plural_message(
                        "status.m365_gap",
                        "%(report)s: %(num)s day missing up to %(day)s (%(days)s%(more)s): run "
                        "`rse-adoption fetch m365` before it leaves Microsoft's "
                        "%(horizon)s-day range",
                        "%(report)s: %(num)s days missing up to %(day)s (%(days)s%(more)s): run "
                        "`rse-adoption fetch m365` before they leave Microsoft's "
                        "%(horizon)s-day range",
                        len(missing),
                        report=fetched["report"],
                        day=date.fromisoformat(fetched["last_day"]),
                        days=days,
                        more=", …" if len(missing) > 5 else "",
                        horizon=HORIZON_DAYS,
                    ),
                )
            )
        if fetched["stale"]:
            warn(
                Alert(
                    "m365_stale",
                    Message(
                        "status.m365_stale",
                        "%(report)s: nothing fetched after %(day)s: is `rse-adoption fetch "
                        "m365` still running (and allowed, exit 77)? Days older than "
                        "%(horizon)s are lost for good",
                        report=fetched["report"],
                        day=date.fromisoformat(fetched["last_day"]),
                        horizon=HORIZON_DAYS,
                    ),
                )
            )


def _slack_alerts(status: Status, today: date, warn: Callable[[Alert], None]) -> None:
    """No message fetched lately from any channel (`fetch slack`)."""
    quiet_since = slack.is_stale(status.slack, today)
    if quiet_since is not None:
        warn(
            Alert(
                "slack_stale",
                plural_message(
                    "status.slack_stale",
                    "Slack: no message fetched after %(day)s in its one channel: is "
                    "`rse-adoption fetch slack` still running (and allowed, exit 77)?",
                    "Slack: no message fetched after %(day)s in any of %(num)s channels: is "
                    "`rse-adoption fetch slack` still running (and allowed, exit 77)?",
                    len(status.slack),
                    day=date.fromisoformat(quiet_since),
                ),
            )
        )


def _slack_analytics_alerts(status: Status, warn: Callable[[Alert], None]) -> None:
    """Days missing between the first and last day of member analytics held, or none
    fetched lately (`fetch slack --analytics`)."""
    for fetched in status.slack_analytics:
        missing = fetched["missing_days"]
        if missing:
            warn(
                Alert(
                    "slack_analytics_gap",
                    plural_message(
                        "status.slack_analytics_gap",
                        "Slack member analytics: %(num)s day missing between %(first)s and "
                        "%(last)s (%(days)s%(more)s): run `rse-adoption fetch slack "
                        "--analytics` before it leaves Slack's 13 months",
                        "Slack member analytics: %(num)s days missing between %(first)s and "
                        "%(last)s (%(days)s%(more)s): run `rse-adoption fetch slack "
                        "--analytics` before they leave Slack's 13 months",
                        len(missing),
                        first=date.fromisoformat(fetched["first_day"]),
                        last=date.fromisoformat(fetched["last_day"]),
                        days=tuple(date.fromisoformat(d) for d in missing[:5]),
                        more=", …" if len(missing) > 5 else "",
                    ),
                )
            )
        if fetched["stale"]:
            warn(
                Alert(
                    "slack_analytics_stale",
                    Message(
                        "status.slack_analytics_stale",
                        "Slack member analytics: nothing fetched after %(day)s: is "
                        "`rse-adoption fetch slack --analytics` still running (and allowed, "
                        "exit 77 or 69)?",
                        day=date.fromisoformat(fetched["last_day"]),
                    ),
                )
            )


def _viva_engage_alerts(status: Status, warn: Callable[[Alert], None]) -> None:
    """Ranges of the network data export missing between those held, or nothing fetched
    lately (`fetch viva-engage`)."""
    fetched = status.viva_engage
    if fetched is None:
        return
    gaps = fetched["gaps"]
    if gaps:
        warn(
            Alert(
                "viva_engage_gap",
                plural_message(
                    "status.viva_engage_gap",
                    "Viva Engage export: %(num)s gap between the ranges fetched (the first "
                    "from %(start)s to %(end)s): run `rse-adoption fetch viva-engage --since "
                    "%(day)s`",
                    "Viva Engage export: %(num)s gaps between the ranges fetched (the first "
                    "from %(start)s to %(end)s): run `rse-adoption fetch viva-engage --since "
                    "%(day)s`",
                    len(gaps),
                    start=gaps[0]["from"],
                    end=gaps[0]["to"],
                    day=date.fromisoformat(gaps[0]["from"][:10]),
                ),
            )
        )
    if fetched["stale"]:
        warn(
            Alert(
                "viva_engage_stale",
                Message(
                    "status.viva_engage_stale",
                    "Viva Engage export: nothing fetched after %(day)s: is `rse-adoption "
                    "fetch viva-engage` still running (and signed in, exit 77)?",
                    day=date.fromisoformat(fetched["last"][:10]),
                ),
            )
        )


def _directory_alerts(
    status: Status, today: date, stale_directory_days: int, warn: Callable[[Alert], None]
) -> None:
    """No directory, or one loaded too long ago."""
    if status.directory is None:
        warn(
            Alert(
                "no_directory",
                Message(
                    "status.no_directory",
                    "no employee directory is loaded: headcounts come from activity and "
                    "overstate every share (`rse-adoption directory FILE`)",
                ),
            )
        )
    else:
        loaded = _parse_instant(status.directory["loaded_at"]).date()
        age = (today - loaded).days
        if age > stale_directory_days:
            warn(
                Alert(
                    "stale_directory",
                    plural_message(
                        "status.stale_directory",
                        "the directory was loaded on %(day)s (%(num)s day ago): hires, leavers "
                        "and moves since then are not counted",
                        "the directory was loaded on %(day)s (%(num)s days ago): hires, leavers "
                        "and moves since then are not counted",
                        age,
                        day=loaded,
                    ),
                )
            )


def _quiet_sites(settings: Settings) -> list[Alert]:
    """Sites shown in reports (at or above the privacy threshold) where nobody did anything
    in the report window ending on the store's last day with events. Segments only, on
    DuckDB: status never needs the configured engine (Spark) nor a whole report."""
    from .metrics import site_activity
    from .metrics.segments import SEGMENTS

    try:
        found = site_activity(settings)
    except DataError:
        return []
    if found is None:
        return []
    window, counts = found
    alerts = []
    for site, segment_counts in sorted(counts.items()):
        people = sum(segment_counts[s] for s in SEGMENTS)
        if is_suppressed(people, settings.min_group_size) or segment_counts["inactive"] < people:
            continue
        alerts.append(
            Alert(
                "site_without_activity",
                Message(
                    "status.site_without_activity",
                    "%(site)s: no activity from %(start)s to %(end)s among its %(people)s people",
                    site=site,
                    start=window.start,
                    end=window.as_of,
                    people=people,
                ),
            )
        )
    return alerts
