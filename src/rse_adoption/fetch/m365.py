"""Microsoft Graph usage reports, fetched day by day (`rse-adoption fetch m365`).

For each report (Viva Engage activity user detail, Teams user activity user detail) and
each day of Microsoft's range (the last 28 days) that the store does not hold yet, this
module asks Graph for the one-day report (`getYammerActivityUserDetail(date=YYYY-MM-DD)`,
unquoted), follows the 302 to the short-lived download URL (without the bearer token),
writes the CSV to a private temporary file and hands it to the ingest pipeline as a
`DailyReport`: the rows become the activity period of one day ending on that day. Nothing
raw is kept unless `keep_raw` names a folder outside the store.

What is "held" comes from the manifest (the ledger entries this module writes, and one-day
activity periods ingested by hand). Microsoft re-validates the last three days of its data
and fills gaps, so a day stays *provisional* — fetched again on the next runs — until the
report that delivered it was refreshed at least REVALIDATION_DAYS days after it, or it was
first fetched that long ago; a newer version replaces the day's rows whole.

HTTP: httpx with bounded timeouts; 429 and 503 are retried after their `Retry-After` (the
reports API allows about 14 requests per 10 minutes per report), other 5xx and connection
errors after a bounded exponential backoff; nothing waits unless the server asked or
failed. A run stops at its time budget (time.monotonic) with what it committed
(ServiceUnavailableError, exit 75). Authentication is app-only: msal's client credentials
(secret from the environment, or a certificate), or a ready bearer token from the
environment. Secrets never reach a message: every text that leaves this module passes
through `Credentials.scrub`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from .. import store
from ..config import Settings
from ..errors import (
    EXIT_DATA,
    EXIT_OK,
    EXIT_USAGE,
    AccessDeniedError,
    ConcealedNamesError,
    ConfigError,
    RseError,
    ServiceUnavailableError,
)
from ..ingest.m365_reports import report_refresh_date as report_refresh_date
from . import graph as http
from .graph import REPORTS
from .scratch import SCRATCH as SCRATCH  # where tests look for leftovers
from .scratch import scratch_folder

#: Days of daily detail Microsoft keeps (its `date=` range): yesterday and the 27 before.
HORIZON_DAYS = 28
#: Microsoft's data usually arrives 24 to 48 hours late.
LAG_DAYS = 2
#: Microsoft re-validates the last three days of its data and fills gaps.
REVALIDATION_DAYS = 3
#: `status` warns (m365_stale) when nothing newer came for this many days past the lag.
STALE_DAYS = 3
#: The default run budget, minutes (`--max-minutes`).
MAX_MINUTES = 30
CONCEALED_SETTING = (
    'Microsoft 365 admin center > Settings > Org settings > Services > Reports: "Display '
    'concealed user, group, and site names in all reports"'
)


# --- What the store holds ------------------------------------------------------------


@dataclass(frozen=True)
class HeldDay:
    """A day of one report the store holds: the refresh date of the version kept (None
    when unknown), its SHA-256 and the UTC date it was first fetched (None for a day
    ingested by hand from an export)."""

    day: date
    refresh_date: date | None
    sha256: str | None
    first_fetched: date | None

    def settled(self, today: date) -> bool:
        """Not fetched again: ingested by hand; or Microsoft's data reached
        REVALIDATION_DAYS past the day when it was fetched (its revisions are in); or it
        was first fetched that many days ago (the docs do not promise what a `date=`
        report's refresh date holds: this bounds the fetching again whatever it is)."""
        if self.first_fetched is None:
            return True
        window = timedelta(days=REVALIDATION_DAYS)
        return (self.refresh_date is not None and self.refresh_date >= self.day + window) or (
            today >= self.first_fetched + window
        )


def held_days(manifest: store.Manifest, report: str) -> dict[date, HeldDay]:
    """The days of `report` the store holds: its one-day activity periods — the one
    record of a day held, which the reports read too (a day with nobody active is a period
    of zero rows) — each with what the ledger says of its version when it was fetched (its
    latest entry), or settled when ingested by hand (nothing says otherwise). A ledger
    entry without its period (a day with nobody active fetched by an earlier version) is
    not a day held: the next run fetches it again."""
    held: dict[date, HeldDay] = {}
    for entry in manifest.activity_files:
        if entry["source_format"] == report and int(entry["period_days"]) == 1:
            day = date.fromisoformat(entry["refresh_date"])
            held[day] = HeldDay(day, None, None, None)
    for entry in manifest.ledger:  # in commit order: the last entry of a day wins
        if entry.get("m365_report") != report or not entry.get("day"):
            continue
        day = date.fromisoformat(entry["day"])
        if day not in held:
            continue
        refresh = date.fromisoformat(entry["refresh_date"]) if entry.get("refresh_date") else None
        fetched = date.fromisoformat(str(entry.get("fetched_on") or entry["ingested_at"])[:10])
        earlier = held.get(day)
        if earlier is not None and earlier.first_fetched is not None:
            fetched = min(fetched, earlier.first_fetched)
        held[day] = HeldDay(day, refresh, entry.get("sha256"), fetched)
    return held


@dataclass(frozen=True)
class Coverage:
    """What `status` says of one report: the last day held and the days missing between
    the start of Microsoft's range and that day (fetch them before they leave it)."""

    report: str
    last_day: str
    missing_days: list[str]
    stale: bool


def coverage(manifest: store.Manifest, today: date) -> list[Coverage]:
    """Per report the store holds days of: last day, missing days in range, staleness."""
    found = []
    first = today - timedelta(days=HORIZON_DAYS)
    for report in REPORTS:
        held = held_days(manifest, report)
        if not held:
            continue
        last = max(held)
        missing = [
            (first + timedelta(days=n)).isoformat()
            for n in range((last - first).days + 1)
            if first + timedelta(days=n) not in held
        ]
        stale = (today - last).days > LAG_DAYS + STALE_DAYS
        found.append(Coverage(report, last.isoformat(), missing, stale))
    return found


def not_the_report(path: Path, report: str, function: str, day: date) -> str | None:
    """Why a downloaded file is not the CSV of `report` (its documented columns), or None.
    Checked before anything else is trusted of it: a body that is JSON or HTML, or cut
    short, must not read as "nobody active that day"."""
    from ..ingest.registry import FORMATS

    if FORMATS[report].sniff(path):
        return None
    try:
        with open(path, "rb") as f:
            start = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        start = b""
    kind = (
        "JSON"
        if start[:1] in (b"{", b"[")
        else "HTML"
        if start[:1] == b"<"
        else "empty"
        if not start
        else "not the documented header"
    )
    return (
        f"Microsoft's answer to {function}(date={day.isoformat()}) is not the report's CSV "
        f"({kind}): nothing of that day stored; the next run fetches it again"
    )


# --- The run -------------------------------------------------------------------------


@dataclass
class DayResult:
    """What happened to one report day: `status` is fetched (stored), unchanged (the store
    already holds these bytes), skipped (not available yet), refused (by Microsoft, with
    its reason) or error (the file could not be read; nothing of it stored)."""

    report: str
    day: str
    status: str
    rows: int = 0
    sha256: str | None = None
    refresh_date: str | None = None
    message: str | None = None


@dataclass
class FetchSummary:
    """One run of `fetch m365` (the `--json` output). `stopped` is the message of what
    ended the run early (time budget, throttling, credentials, concealed names), and
    `exit_code` what the command exits with."""

    reports: list[str]
    first_day: str
    last_day: str
    dry_run: bool = False
    days: list[DayResult] = field(default_factory=list)
    requests: int = 0
    stopped: str | None = None
    exit_code: int = EXIT_OK
    error: RseError | None = field(default=None, repr=False)

    def count(self, status: str) -> int:
        return sum(d.status == status for d in self.days)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reports": self.reports,
            "first_day": self.first_day,
            "last_day": self.last_day,
            "dry_run": self.dry_run,
            "requests": self.requests,
            **{s: self.count(s) for s in ("fetched", "unchanged", "skipped", "refused")},
            "errors": self.count("error"),
            "stopped": self.stopped,
            "exit_code": self.exit_code,
            "days": [asdict(d) for d in self.days],
        }


#: Called after each report day with its result.
DayCallback = Callable[[DayResult], None]


def plan(
    manifest: store.Manifest, reports: Iterable[str], first: date, last: date, today: date
) -> list[tuple[date, str]]:
    """The (day, report) pairs to fetch: days not held, or held but provisional; oldest
    day first, the reports alternating (each has its own throttling quota)."""
    held = {report: held_days(manifest, report) for report in reports}
    pairs = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        for report, days in held.items():
            known = days.get(day)
            if known is None or not known.settled(today):
                pairs.append((day, report))
    return pairs


def fetch_m365(
    settings: Settings,
    *,
    reports: Iterable[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    dry_run: bool = False,
    keep_raw: Path | None = None,
    max_minutes: float = MAX_MINUTES,
    environ: Mapping[str, str] | None = None,
    today: date | None = None,
    on_day: DayCallback | None = None,
) -> FetchSummary:
    """Fetch every missing or provisional day of `reports` (default: both) from `since`
    to `until` (default: Microsoft's range, the HORIZON_DAYS days before `today`, UTC) and
    ingest each into the store at `settings.data_dir`.

    Raises ConfigError (78) for missing settings and bad dates or folders (2), before any
    request. What ends a run once started — credentials or permission refused (77),
    Microsoft unreachable or throttling past `max_minutes` (75), concealed names (65) — is
    in the summary's `stopped`, `exit_code` and `error`: every day committed before stays.
    """
    env = os.environ if environ is None else environ
    today = today or datetime.now(UTC).date()
    names = list(dict.fromkeys(reports or REPORTS))
    unknown = [r for r in names if r not in REPORTS]
    if unknown:
        raise ConfigError(
            f"unknown report {unknown[0]!r}; known: {', '.join(REPORTS)}", exit_code=EXIT_USAGE
        )
    first = since or today - timedelta(days=HORIZON_DAYS)
    last = until or today - timedelta(days=1)
    if first > last:
        raise ConfigError(
            f"--since {first} is after --until {last}: no day to fetch", exit_code=EXIT_USAGE
        )
    if max_minutes <= 0:
        raise ConfigError("--max-minutes must be positive", exit_code=EXIT_USAGE)
    data_dir = settings.data_dir
    if keep_raw is not None:
        _check_keep_raw(keep_raw, data_dir)
    creds = http.credentials(settings, env)
    summary = FetchSummary(names, first.isoformat(), last.isoformat(), dry_run)
    manifest = store.read_manifest(data_dir)
    todo = plan(manifest, names, first, last, today)
    if not todo:
        return summary
    deadline = http.monotonic() + max_minutes * 60
    graph = http.Graph(creds, deadline, max_minutes)
    try:
        with scratch_folder(data_dir, dry_run) as scratch:
            _run(graph, settings, manifest, todo, summary, scratch, keep_raw, today, on_day)
    except (AccessDeniedError, ServiceUnavailableError, ConcealedNamesError) as exc:
        summary.stopped = creds.scrub(str(exc))
        summary.exit_code = exc.exit_code
        summary.error = type(exc)(summary.stopped)
    except RseError as exc:  # the store is busy past the budget, disk full...
        summary.stopped = creds.scrub(str(exc))
        summary.exit_code = exc.exit_code
        summary.error = exc
    finally:
        summary.requests = graph.requests
        graph.close()
    if summary.exit_code == EXIT_OK and summary.count("error"):
        summary.exit_code = EXIT_DATA
    return summary


def _run(
    graph: http.Graph,
    settings: Settings,
    manifest: store.Manifest,
    todo: list[tuple[date, str]],
    summary: FetchSummary,
    scratch: Path,
    keep_raw: Path | None,
    today: date,
    on_day: DayCallback | None,
) -> None:
    from ..ingest.pipeline import ingest_paths
    from ..ingest.registry import DailyReport

    held = {report: held_days(manifest, report) for report in summary.reports}
    #: The latest date of Microsoft's data per report, as this run's downloads show it.
    data_until: dict[str, date] = {}

    def done(result: DayResult) -> None:
        if result.message:  # a server's or a file's words: never a credential
            result.message = graph.creds.scrub(result.message)
        summary.days.append(result)
        if on_day is not None:
            on_day(result)

    for day, name in todo:
        target = scratch / f"{REPORTS[name].function}_{day.isoformat()}.csv"
        sha, failed = _usable_download(graph, name, day, target)
        if failed is not None:
            done(failed)
            continue
        assert sha is not None
        refresh = report_refresh_date(target)
        if refresh is not None:
            data_until[name] = max(refresh, data_until.get(name, refresh))
        else:
            # No row: nobody was active that day, or the day is not in yet. Trust it as far
            # as Microsoft's data reaches (this run's other downloads, else the usual lag).
            refresh = data_until.get(name, today - timedelta(days=LAG_DAYS))
        if refresh < day:
            target.unlink(missing_ok=True)
            done(_not_yet(name, day, refresh))
            continue
        known = held[name].get(day)
        if known is not None and (known.sha256, known.refresh_date) == (sha, refresh):
            target.unlink(missing_ok=True)
            done(
                DayResult(
                    name, day.isoformat(), "unchanged", sha256=sha,
                    refresh_date=refresh.isoformat(), message="the store holds this version",
                )
            )  # fmt: skip
            continue
        path = target
        if keep_raw is not None and not summary.dry_run:
            path = _keep(target, keep_raw, sha)
        provenance = {
            "source": "microsoft-graph",
            "m365_report": name,
            "day": day.isoformat(),
            "refresh_date": refresh.isoformat(),
            "fetched_on": today.isoformat(),
        }
        remaining = max(0.0, graph.deadline - http.monotonic())
        result = ingest_paths(
            [path],
            settings,
            format_name=name,
            wait_seconds=remaining,
            dry_run=summary.dry_run,
            daily=DailyReport(day, provenance),
        ).details[0]
        target.unlink(missing_ok=True)
        if result.status == "error":
            done(
                DayResult(
                    name, day.isoformat(), "error", sha256=sha,
                    refresh_date=refresh.isoformat(), message=result.message,
                )
            )  # fmt: skip
            continue
        done(
            DayResult(
                name, day.isoformat(), "fetched", rows=result.rows_read, sha256=sha,
                refresh_date=refresh.isoformat(), message=result.message,
            )
        )  # fmt: skip


def _usable_download(
    graph: http.Graph, name: str, day: date, target: Path
) -> tuple[str | None, DayResult | None]:
    """The day's report downloaded to `target`: its SHA-256, or the day's result when
    Microsoft refused it or it cannot be stored (a clear-text redirect, a file past the
    size bound, a corrupt encoding, a body that is not the report's CSV: removed)."""
    report = REPORTS[name]
    got = graph.download(report, day, target)
    if got.refused is not None:
        return None, DayResult(name, day.isoformat(), "refused", message=got.refused)
    problem = got.error or not_the_report(target, name, report.function, day)
    if problem is not None:
        target.unlink(missing_ok=True)
        return None, DayResult(name, day.isoformat(), "error", sha256=got.sha256, message=problem)
    return got.sha256, None


def _not_yet(report: str, day: date, data_until: date) -> DayResult:
    return DayResult(
        report,
        day.isoformat(),
        "skipped",
        refresh_date=data_until.isoformat(),
        message=f"not available yet: Microsoft's data ends on {data_until}",
    )


def _check_keep_raw(folder: Path, data_dir: Path) -> None:
    """`--keep-raw` must be outside the store: raw reports are personal data that the store,
    which holds only pseudonymised rows, must not carry (and nothing reads them back)."""
    inside = folder.resolve()
    root = data_dir.resolve()
    if inside == root or root in inside.parents:
        raise ConfigError(
            f"--keep-raw {folder}: inside the store {data_dir}; choose a folder outside it "
            "(the raw reports name people)",
            exit_code=EXIT_USAGE,
        )


def _keep(path: Path, folder: Path, sha256: str) -> Path:
    """Save a downloaded report in `folder` (owner-only), named by report, day and content."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        kept = folder / f"{path.stem}_{sha256[:12]}.csv"
        tmp = folder / f".{kept.name}.{uuid.uuid4().hex}.tmp"
        shutil.copyfile(path, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, kept)
    except OSError as exc:
        from ..errors import OutputError

        raise OutputError(f"--keep-raw {folder}: cannot write: {exc.strerror}") from None
    return kept
