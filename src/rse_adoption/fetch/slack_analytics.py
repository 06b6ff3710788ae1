"""Slack member analytics, fetched day by day (`rse-adoption fetch slack --analytics`,
docs/slack.md).

Slack's `admin.analytics.getFile` (`type=member`, `date=YYYY-MM-DD`, a user token with
`admin.analytics:read`) answers one UTC day per call with a gzip of newline-delimited JSON:
per member, whether they were active (read or posted), the messages they posted (in
channels, and in all), the reactions they added, files, huddles, calls... It keeps a rolling
13 months. The fetch asks every day of that horizon the store does not hold — bounded by
`--since` and `[slack] analytics_days` — newest first (the recent windows first when a run
is cut short), skips the days Slack has not computed yet (`file_not_yet_available`: the
next run asks again) and stops going back at the first day before Slack's data begins
(`data_not_available`). A day held is never asked again: Slack does not recompute past
days.

Each answer is decompressed as a stream into a CSV of the fields the reports use (the
API's own keys: ingest/slack_member_days.py), in the store's private scratch folder, and
ingested as the one-day activity period of that day by the pipeline's own steps
(ingest_paths with a DailyReport): people pseudonymised on the way, each day committed
whole with its ledger entry or not at all, a re-fetched day replacing that day's rows
whole. Nothing raw is kept.

HTTP goes through slack_api.SlackApi (slack_sdk with the retry handlers of `fetch slack`:
Retry-After and backoff within the run's budget, the token masked everywhere). Slack's
refusals: the token or the scope (77, naming `admin.analytics:read`), the workspace unable
to give the data at all — plan, member analytics turned off, the "Hide email addresses"
policy (69, with Slack's reason), Slack unreachable or throttling past the budget (75).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import zlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import store
from ..config import Settings
from ..errors import (
    EXIT_DATA,
    EXIT_OK,
    EXIT_USAGE,
    AccessDeniedError,
    ConfigError,
    DataError,
    FeatureUnavailableError,
    RseError,
    ServiceUnavailableError,
)
from . import slack

if TYPE_CHECKING:
    from .slack_api import Refused, SlackApi

TOKEN_ENV = "RSE_ADOPTION_SLACK_ADMIN_TOKEN"
#: The user token scope the method needs (docs/slack.md).
SCOPE = "admin.analytics:read"
METHOD = "admin.analytics.getFile"
#: The ledger's `source` of a fetched day, and the activity periods' format.
SOURCE = "slack-analytics"
FORMAT = "slack_member_days"  # ingest/slack_member_days.NAME
#: Slack keeps member analytics for a rolling 13 months.
HORIZON_MONTHS = 13
#: The default run budget, minutes (`--max-minutes`).
MAX_MINUTES = 30
#: `status` warns (slack_analytics_stale) when the last day held is older than this.
STALE_DAYS = 7
#: Slack's errors that refuse an admin's token, beside those refusing any token
#: (slack_api.ACCESS_ERRORS): exit 77.
ADMIN_ACCESS_ERRORS = frozenset(
    {"not_an_admin", "is_bot", "access_denied", "two_factor_setup_required"}
)
#: Slack's errors that say the workspace cannot give member analytics at all (exit 69),
#: with what each means.
UNAVAILABLE_ERRORS = {
    "feature_not_enabled": "member analytics are not enabled on this workspace",
    "feature_not_available": "the workspace's plan has no member analytics API "
    "(Business+ or Enterprise Grid needed)",
    "not_an_enterprise": "the token's workspace belongs to no Enterprise organisation",
    "enterprise_is_restricted": "the method cannot be called from this Enterprise",
    "member_analytics_disabled": "member analytics are turned off for the organisation "
    "(an Org Owner can turn them on in the admin dashboard's analytics settings)",
    "org_level_email_display_disabled": "the organisation's 'Hide email addresses' policy "
    "turns this API off (an Org Owner can change it; without e-mails nobody could be "
    "joined to the directory)",
}
#: The day is not computed yet: asked again by the next run.
NOT_YET = "file_not_yet_available"
#: Slack holds nothing for that day.
NO_FILE = "file_not_found"
#: The day is before Slack's data begins: no older day is asked.
BEFORE_DATA = frozenset({"data_not_available", "invalid_date"})

#: The clock and the sleep of every run; tests replace them so that no test waits.
monotonic: Callable[[], float] = slack.monotonic
sleep: Callable[[float], None] = slack.sleep


# --- What the store holds ------------------------------------------------------------


def horizon_start(today: date) -> date:
    """The first day of Slack's rolling 13 months on `today` (the same day of the month
    13 months earlier, the month's last day when that month is shorter), plus one day."""
    months = today.year * 12 + today.month - 1 - HORIZON_MONTHS
    year, month = divmod(months, 12)
    day = today.day
    while True:
        try:
            return date(year, month + 1, day) + timedelta(days=1)
        except ValueError:
            day -= 1


def held_days(manifest: store.Manifest) -> set[date]:
    """The days of member analytics the store holds: its one-day activity periods of the
    format (a day with nobody in it is a period of zero rows)."""
    return {
        date.fromisoformat(entry["refresh_date"])
        for entry in manifest.activity_files
        if entry["source_format"] == FORMAT and int(entry["period_days"]) == 1
    }


def coverage(manifest: store.Manifest, today: date) -> list[dict[str, Any]]:
    """What `status` says of the member analytics fetched (empty without any): the first
    and last day held within Slack's horizon, the days missing between them, and whether
    the last day is older than STALE_DAYS."""
    start = horizon_start(today)
    held = {d for d in held_days(manifest) if d >= start}
    if not held:
        return []
    first, last = min(held), max(held)
    missing = [
        (first + timedelta(days=n)).isoformat()
        for n in range((last - first).days + 1)
        if first + timedelta(days=n) not in held
    ]
    return [
        {
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
            "days": len(held),
            "missing_days": missing,
            "stale": (today - last).days > STALE_DAYS,
        }
    ]


# --- The run -------------------------------------------------------------------------


@dataclass
class AnalyticsDay:
    """What happened to one day: `status` is fetched (stored: `rows` members, and
    `quarantined` rows that were no member's), skipped (not computed yet, none held by
    Slack, or before Slack's data: `message` says which) or error (Slack's answer could
    not be read; nothing of it stored, the next run asks again)."""

    day: str
    status: str
    rows: int = 0
    quarantined: int = 0
    message: str | None = None


@dataclass
class AnalyticsSummary:
    """One run of `fetch slack --analytics` (the `--json` output): the days asked, newest
    first. `stopped` is the message of what ended the run early and `exit_code` what the
    command exits with."""

    first_day: str
    last_day: str
    since: str | None = None
    dry_run: bool = False
    days: list[AnalyticsDay] = field(default_factory=list)
    requests: int = 0
    stopped: str | None = None
    exit_code: int = EXIT_OK
    error: RseError | None = field(default=None, repr=False)

    def count(self, status: str) -> int:
        return sum(d.status == status for d in self.days)

    def to_dict(self) -> dict[str, Any]:
        return {
            "analytics": True,
            "first_day": self.first_day,
            "last_day": self.last_day,
            "since": self.since,
            "dry_run": self.dry_run,
            "requests": self.requests,
            **{s: self.count(s) for s in ("fetched", "skipped")},
            "errors": self.count("error"),
            "rows": sum(d.rows for d in self.days),
            "stopped": self.stopped,
            "exit_code": self.exit_code,
            "days": [asdict(d) for d in self.days],
        }


#: Called after each day with its result.
AnalyticsDayCallback = Callable[[AnalyticsDay], None]


def plan(manifest: store.Manifest, first: date, last: date) -> list[date]:
    """The days from `first` to `last` the store does not hold, newest first."""
    held = held_days(manifest)
    days = (last - timedelta(days=n) for n in range((last - first).days + 1))
    return [d for d in days if d not in held]


def fetch_slack_analytics(
    settings: Settings,
    *,
    since: date | None = None,
    dry_run: bool = False,
    max_minutes: float = MAX_MINUTES,
    environ: Mapping[str, str] | None = None,
    today: date | None = None,
    on_day: AnalyticsDayCallback | None = None,
) -> AnalyticsSummary:
    """Fetch every day of member analytics the store lacks, from the later of Slack's
    horizon (13 months), `[slack] analytics_days` and `since`, to yesterday (UTC), and
    ingest each into the store at `settings.data_dir`.

    Raises ConfigError (78) without a token, (2) for a bad argument, before any request.
    What ends a run once started — the token or its scope refused (77), the workspace
    unable to give the data (69), Slack unreachable, throttling or the budget spent (75),
    an error Slack does not document (65) — is in the summary's `stopped`, `exit_code` and
    `error`: every day committed before stays. A day whose answer cannot be read is an
    error of that day (65 at the end); the other days go on.
    """
    from .scratch import scratch_folder
    from .slack_api import Budget, OutOfTime, SlackApi

    env = os.environ if environ is None else environ
    token = (env.get(TOKEN_ENV) or "").strip()
    if not token:
        raise ConfigError(
            f"fetch slack --analytics needs a user token with the scope {SCOPE} (an Org "
            f"Owner's or Admin's) in {TOKEN_ENV} (never in a file; docs/slack.md)"
        )
    if max_minutes <= 0:
        raise ConfigError("--max-minutes must be positive", exit_code=EXIT_USAGE)
    today = today or datetime.now(UTC).date()
    last = today - timedelta(days=1)
    first = max(horizon_start(today), today - timedelta(days=settings.slack_analytics_days))
    if since is not None:
        if since > last:
            raise ConfigError(
                f"--since {since} is after yesterday ({last}): no day of member analytics to fetch",
                exit_code=EXIT_USAGE,
            )
        first = max(first, since)
    summary = AnalyticsSummary(
        first.isoformat(), last.isoformat(), since.isoformat() if since else None, dry_run
    )
    todo = plan(store.read_manifest(settings.data_dir), first, last)
    if not todo:
        return summary
    budget = Budget(max_minutes, monotonic, sleep)
    api = SlackApi(
        token, settings.slack_api_url, budget, kept="every day fetched before is committed"
    )
    try:
        with scratch_folder(settings.data_dir, dry_run) as scratch:
            _run(api, settings, todo, summary, scratch, today, on_day)
    except OutOfTime as exc:
        waiting = f" (Slack asked to wait {exc.asked:.0f} s more)" if exc.asked else ""
        summary.error = ServiceUnavailableError(
            f"stopped at the run's time budget of {max_minutes:g} minutes{waiting}, before "
            f"{exc.what}; every day fetched so far is committed, the next run goes on with "
            "the days still missing"
        )
    except RseError as exc:  # refused, unavailable, Slack unreachable, the store busy...
        summary.error = type(exc)(api.scrub(str(exc)))
        summary.error.exit_code = exc.exit_code
    finally:
        summary.requests = api.requests
    if summary.error is not None:
        summary.stopped = str(summary.error)
        summary.exit_code = summary.error.exit_code
    elif summary.count("error"):
        summary.exit_code = EXIT_DATA
    return summary


def _run(
    api: SlackApi,
    settings: Settings,
    todo: list[date],
    summary: AnalyticsSummary,
    scratch: Path,
    today: date,
    on_day: AnalyticsDayCallback | None,
) -> None:
    """Ask each day, newest first, and ingest what Slack gives."""
    from .slack_api import Refused

    def done(result: AnalyticsDay) -> None:
        if result.message:
            result.message = api.scrub(result.message)
        summary.days.append(result)
        if on_day is not None:
            on_day(result)

    for day in todo:
        try:
            body = api.download(METHOD, type="member", date=day.isoformat())
        except Refused as refused:
            result = _refused_day(refused, day)
            done(result)
            if refused.error in BEFORE_DATA:
                return  # every older day is before Slack's data too
            continue
        done(_ingest_day(api, settings, body, day, scratch, today, summary.dry_run))


def _refused_day(refused: Refused, day: date) -> AnalyticsDay:
    """The day Slack would not give, when it says something of that day only; raises the
    error of the run for the token, the scope, the workspace, or an unknown answer."""
    from .slack_api import ACCESS_ERRORS

    error = refused.error
    if error == NOT_YET:
        return AnalyticsDay(day.isoformat(), "skipped", message=f"not available yet ({NOT_YET})")
    if error == NO_FILE:
        return AnalyticsDay(
            day.isoformat(), "skipped", message=f"Slack holds no member analytics ({NO_FILE})"
        )
    if error in BEFORE_DATA:
        return AnalyticsDay(
            day.isoformat(),
            "skipped",
            message=f"before Slack's member analytics begin ({error}): no older day is asked",
        )
    if error == "missing_scope":
        raise AccessDeniedError(
            f"Slack refused {METHOD}: missing_scope: the token lacks {refused.needed or SCOPE}; "
            f"add the User Token Scope {SCOPE} to the app, reinstall it (an Org Owner or Admin "
            f"approves it) and put the new user token in {TOKEN_ENV} (docs/slack.md)"
        )
    if error in ACCESS_ERRORS or error in ADMIN_ACCESS_ERRORS:
        raise AccessDeniedError(
            f"Slack refused the token ({METHOD}: {error}): {TOKEN_ENV} must hold the user "
            f"token (xoxp-) of an Org Owner or Admin, with the scope {SCOPE} (docs/slack.md)"
        )
    if error in UNAVAILABLE_ERRORS:
        raise FeatureUnavailableError(
            f"Slack cannot give member analytics ({METHOD}: {error}): "
            f"{UNAVAILABLE_ERRORS[error]}; nothing to fetch until that changes (docs/slack.md)"
        )
    raise DataError(f"Slack answered {METHOD} for {day} with the error {error}")


def _ingest_day(
    api: SlackApi,
    settings: Settings,
    body: bytes,
    day: date,
    scratch: Path,
    today: date,
    dry_run: bool,
) -> AnalyticsDay:
    """One day's answer written to a CSV of the fields kept, then ingested as the one-day
    period of `day` (the file removed either way)."""
    from ..ingest.pipeline import ingest_paths
    from ..ingest.registry import DailyReport

    target = scratch / f"slack-member-analytics_{day.isoformat()}.csv"
    try:
        problem = write_day(body, day, target)
        if problem is not None:
            return AnalyticsDay(day.isoformat(), "error", message=problem)
        provenance = {
            "source": SOURCE,
            "slack_analytics_day": day.isoformat(),
            "gzip_sha256": hashlib.sha256(body).hexdigest(),
            "fetched_on": today.isoformat(),
        }
        result = ingest_paths(
            [target],
            settings,
            format_name=FORMAT,
            wait_seconds=api.budget.left(),
            dry_run=dry_run,
            daily=DailyReport(day, provenance),
        ).details[0]
    finally:
        target.unlink(missing_ok=True)
    if result.status == "error":
        return AnalyticsDay(day.isoformat(), "error", message=result.message)
    return AnalyticsDay(
        day.isoformat(),
        "fetched",
        rows=result.rows_read - result.quarantined,
        quarantined=result.quarantined,
        message=result.message,
    )


def write_day(body: bytes, day: date, target: Path) -> str | None:
    """Decompress Slack's answer for `day` as a stream into `target`, a CSV of the API's
    keys this tool reads (ingest/slack_member_days.KEYS), one row per member: the reason it
    cannot be read, or None. A member's e-mail, else their Slack user id, keys them; a line
    that is no JSON object becomes a row without one (the reader quarantines it with its
    line)."""
    from ..ingest.slack_member_days import KEYS

    try:
        with (
            gzip.GzipFile(fileobj=io.BytesIO(body)) as raw,
            io.TextIOWrapper(raw, encoding="utf-8") as lines,
            open(target, "w", newline="", encoding="utf-8") as out,
        ):
            writer = csv.writer(out)
            writer.writerow(KEYS)
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                record = json.loads(line)
                if not isinstance(record, dict):
                    writer.writerow(["", "", *([""] * (len(KEYS) - 2))])
                    continue
                other_day = record.get("date")
                if other_day is not None and other_day != day.isoformat():
                    return (
                        f"Slack's member analytics for {day} hold a row of another day "
                        f"({str(other_day)[:20]!r}, line {number}): nothing of that day "
                        "stored; the next run asks again"
                    )
                writer.writerow(_row(record, day, KEYS))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as exc:
        kind = type(exc).__name__
        return (
            f"Slack's answer for {day} is not a gzip of JSON lines ({kind}: "
            f"{str(exc)[:80]}): nothing of that day stored; the next run asks again"
        )
    return None


def _row(record: dict[str, Any], day: date, keys: tuple[str, ...]) -> list[str]:
    email = record.get("email_address")
    user = email.strip() if isinstance(email, str) and email.strip() else None
    if user is None:
        ids = (record.get(k) for k in ("user_id", "enterprise_user_id"))
        user = next((i for i in ids if isinstance(i, str) and i.strip()), "")
    values = {"date": day.isoformat(), "email_address": user}
    return [values[k] if k in values else _cell(record.get(k)) for k in keys]


def _cell(value: object) -> str:
    """A count or a flag as the period reader reads it: booleans 1/0, a missing key 0
    (empty), anything else as it is (a value that is no count is quarantined)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
