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

import csv
import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from .scratch import SCRATCH as SCRATCH  # where tests look for leftovers
from .scratch import scratch_folder

if TYPE_CHECKING:  # httpx and msal are imported when a run starts: `status` never needs them
    import httpx


@dataclass(frozen=True)
class GraphReport:
    """A Graph report function and the ingest format that reads its CSV."""

    name: str
    function: str


#: The reports `fetch m365` pulls, by the name of the format that reads them.
REPORTS: dict[str, GraphReport] = {
    "viva_engage": GraphReport("viva_engage", "getYammerActivityUserDetail"),
    "teams": GraphReport("teams", "getTeamsUserActivityUserDetail"),
}
#: Days of daily detail Microsoft keeps (its `date=` range): yesterday and the 27 before.
HORIZON_DAYS = 28
#: Microsoft's data usually arrives 24 to 48 hours late.
LAG_DAYS = 2
#: Microsoft re-validates the last three days of its data and fills gaps.
REVALIDATION_DAYS = 3
#: `status` warns (m365_stale) when nothing newer came for this many days past the lag.
STALE_DAYS = 3
PERMISSION = "Reports.Read.All"
SECRET_ENV = "RSE_ADOPTION_M365_CLIENT_SECRET"
TOKEN_ENV = "RSE_ADOPTION_M365_TOKEN"
#: The default run budget, minutes (`--max-minutes`).
MAX_MINUTES = 30
#: Connection errors and 5xx other than 503: tries, and the backoff's first and longest wait.
TRANSIENT_ATTEMPTS = 6
BACKOFF_FIRST_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 60.0
#: A 429/503 without a usable Retry-After waits this long (Graph's own guidance is to
#: honour the header; it nearly always sends one).
DEFAULT_RETRY_AFTER_SECONDS = 60.0
USER_AGENT = "rse-adoption (fetch m365)"
CONCEALED_SETTING = (
    'Microsoft 365 admin center > Settings > Org settings > Services > Reports: "Display '
    'concealed user, group, and site names in all reports"'
)

#: The clock and the sleep of every run; tests replace them so that no test waits.
monotonic: Callable[[], float] = time.monotonic
sleep: Callable[[float], None] = time.sleep


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
    """The days of `report` the store holds: fetched ones (their latest ledger entry) and
    one-day activity periods ingested by hand (settled: nothing says otherwise)."""
    held: dict[date, HeldDay] = {}
    for entry in manifest.activity_files:
        if entry["source_format"] == report and int(entry["period_days"]) == 1:
            day = date.fromisoformat(entry["refresh_date"])
            held[day] = HeldDay(day, None, None, None)
    for entry in manifest.ledger:  # in commit order: the last entry of a day wins
        if entry.get("m365_report") != report or not entry.get("day"):
            continue
        day = date.fromisoformat(entry["day"])
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


# --- Credentials ---------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """How to authenticate, from the settings and the environment. `secret` and `token`
    come from the environment only and are never shown (see `scrub`)."""

    graph_url: str
    authority_url: str
    tenant_id: str | None = None
    client_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    certificate: str | None = None
    thumbprint: str | None = None
    token: str | None = field(default=None, repr=False)

    def scrub(self, text: str) -> str:
        """`text` with every secret replaced: nothing this module says may leak one."""
        for value in (self.secret, self.token):
            if value:
                text = text.replace(value, "***")
        return text

    @property
    def scope(self) -> str:
        """Graph's resource for the client credentials flow: its origin plus /.default."""
        import httpx

        url = httpx.URL(self.graph_url)
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme}://{url.host}{port}/.default"


def credentials(settings: Settings, environ: Mapping[str, str]) -> Credentials:
    """The credentials of a run: a bearer token from RSE_ADOPTION_M365_TOKEN, else the
    app's tenant and client ids with a secret (RSE_ADOPTION_M365_CLIENT_SECRET) or a
    certificate. ConfigError (exit 78) names whatever is missing."""
    graph_url = settings.m365_graph_url.rstrip("/")
    authority_url = settings.m365_authority_url.rstrip("/")
    token = environ.get(TOKEN_ENV) or None
    if token:
        return Credentials(graph_url, authority_url, token=token.strip())
    missing = [
        f"[m365] {key} (or RSE_ADOPTION_M365_{key.upper()})"
        for key, value in (
            ("tenant_id", settings.m365_tenant_id),
            ("client_id", settings.m365_client_id),
        )
        if not value
    ]
    secret = environ.get(SECRET_ENV) or None
    certificate = settings.m365_client_certificate
    if not secret and not certificate:
        missing.append(f"a credential: {SECRET_ENV}, or [m365] client_certificate")
    if certificate and not secret and not settings.m365_client_certificate_thumbprint:
        missing.append("[m365] client_certificate_thumbprint (the certificate's SHA-1, hex)")
    if missing:
        raise ConfigError(
            "fetch m365 needs "
            + "; ".join(missing)
            + f" in rse-adoption.toml, or a ready bearer token in {TOKEN_ENV} (docs/m365.md)"
        )
    if certificate and not secret and not Path(certificate).is_file():
        raise ConfigError(f"m365.client_certificate: {certificate}: no such file")
    return Credentials(
        graph_url,
        authority_url,
        tenant_id=settings.m365_tenant_id,
        client_id=settings.m365_client_id,
        secret=secret,
        certificate=None if secret else certificate,
        thumbprint=None if secret else settings.m365_client_certificate_thumbprint,
    )


# --- HTTP ----------------------------------------------------------------------------


def _timeouts() -> httpx.Timeout:
    import httpx

    # Bounded everywhere: a stalled connection never holds a cron job.
    return httpx.Timeout(connect=15.0, read=60.0, write=30.0, pool=15.0)


class _MsalHttp:
    """msal's HTTP interface (msal.oauth2cli.http.HttpClient) over our httpx client, so
    that sign-in gets the same timeouts, proxy and CA settings as the reports."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def post(
        self,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        **_: Any,
    ) -> httpx.Response:
        if isinstance(data, str | bytes):
            return self._client.post(url, params=params, content=data, headers=headers)
        return self._client.post(url, params=params, data=data, headers=headers)

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> httpx.Response:
        return self._client.get(url, params=params, headers=headers)

    def close(self) -> None:  # the client is closed by its owner
        pass


@dataclass
class Download:
    """One report day downloaded to `path`, or refused by Microsoft (`refused` says why)."""

    path: Path
    sha256: str | None = None
    refused: str | None = None


class Graph:
    """A Microsoft Graph client for the usage reports: token, retries, downloads."""

    def __init__(self, creds: Credentials, deadline: float, budget_minutes: float) -> None:
        import httpx

        self.creds = creds
        self.deadline = deadline
        self.budget_minutes = budget_minutes
        self.http = httpx.Client(
            timeout=_timeouts(), headers={"User-Agent": USER_AGENT}, follow_redirects=False
        )
        self._token: str | None = creds.token
        self._msal: Any = None
        self.requests = 0

    def close(self) -> None:
        self.http.close()

    # Sign-in

    def token(self) -> str:
        if self._token is None or self._msal is not None:
            self._token = self._acquire()
        return self._token

    def _acquire(self) -> str:
        """An app-only token from msal (cached by msal until it nears expiry)."""
        import httpx
        import msal

        creds = self.creds
        if self._msal is None:
            credential: Any = creds.secret
            if credential is None:
                assert creds.certificate is not None
                try:
                    pem = Path(creds.certificate).read_text(encoding="utf-8")
                except (OSError, UnicodeError) as exc:
                    raise ConfigError(
                        f"m365.client_certificate: {creds.certificate}: cannot be read: {exc}"
                    ) from None
                credential = {"private_key": pem, "thumbprint": creds.thumbprint}
            try:
                self._msal = msal.ConfidentialClientApplication(
                    creds.client_id,
                    client_credential=credential,
                    authority=f"{creds.authority_url}/{creds.tenant_id}",
                    http_client=_MsalHttp(self.http),
                    # The authority is the configured one (national cloud, proxy): no call to
                    # login.microsoftonline.com to "discover" it.
                    instance_discovery=False,
                )
            except httpx.TransportError as exc:
                raise ServiceUnavailableError(
                    f"Microsoft's sign-in service at {creds.authority_url} is unreachable: "
                    f"{type(exc).__name__}"
                ) from None
            except msal.exceptions.MsalServiceError as exc:  # a 5xx of its discovery
                raise ServiceUnavailableError(
                    creds.scrub(f"Microsoft's sign-in service failed: {_first_line(str(exc))}")
                ) from None
            except ValueError as exc:  # unknown tenant, or a malformed key
                raise AccessDeniedError(
                    creds.scrub(
                        f"Microsoft's sign-in refused the app (tenant {creds.tenant_id}): "
                        f"{_first_line(str(exc))}"
                    )
                ) from None
        try:
            result = self._msal.acquire_token_for_client(scopes=[creds.scope])
        except httpx.TransportError as exc:
            raise ServiceUnavailableError(
                f"Microsoft's sign-in service at {creds.authority_url} is unreachable: "
                f"{type(exc).__name__}"
            ) from None
        except msal.exceptions.MsalServiceError as exc:  # a 5xx of the token endpoint
            raise ServiceUnavailableError(
                creds.scrub(f"Microsoft's sign-in service failed: {_first_line(str(exc))}")
            ) from None
        except ValueError as exc:
            raise AccessDeniedError(
                creds.scrub(f"Microsoft's sign-in refused the app: {_first_line(str(exc))}")
            ) from None
        if "access_token" not in result:
            raise AccessDeniedError(
                creds.scrub(
                    "Microsoft's sign-in refused the app's credentials (tenant "
                    f"{creds.tenant_id}, client {creds.client_id}): {result.get('error')}: "
                    f"{_first_line(str(result.get('error_description', '')))}"
                )
            )
        return str(result["access_token"])

    # Requests

    def _send(self, attempt: Callable[[], httpx.Response], what: str) -> httpx.Response:
        """One request with Graph's retry rules: 429/503 after Retry-After, other 5xx and
        connection errors after a bounded backoff; never past the run's deadline."""
        import httpx

        failures = 0
        while True:
            if monotonic() >= self.deadline:
                raise self._out_of_time(what)
            try:
                self.requests += 1
                response = attempt()
            except httpx.TransportError as exc:
                failures += 1
                problem = f"{type(exc).__name__}"
                if failures >= TRANSIENT_ATTEMPTS:
                    raise ServiceUnavailableError(
                        f"Microsoft Graph is unreachable ({what}: {problem}, {failures} "
                        "tries); what was fetched before is committed, run again later"
                    ) from None
                self._wait(self._backoff(failures), what)
                continue
            status = response.status_code
            if status in (429, 503):
                self._wait(_retry_after(response), what)
                continue
            if status >= 500:
                failures += 1
                if failures >= TRANSIENT_ATTEMPTS:
                    raise ServiceUnavailableError(
                        f"Microsoft Graph keeps failing ({what}: HTTP {status}, {failures} "
                        "tries); what was fetched before is committed, run again later"
                    )
                self._wait(self._backoff(failures), what)
                continue
            return response

    @staticmethod
    def _backoff(failures: int) -> float:
        return float(min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (failures - 1)))

    def _wait(self, seconds: float, what: str) -> None:
        if monotonic() + seconds > self.deadline:
            raise self._out_of_time(what, seconds)
        sleep(seconds)

    def _out_of_time(self, what: str, asked: float | None = None) -> ServiceUnavailableError:
        waiting = f" (Microsoft asked to wait {asked:.0f} s more)" if asked else ""
        return ServiceUnavailableError(
            f"stopped at the run's time budget of {self.budget_minutes:g} minutes{waiting}, "
            f"before {what}; every day fetched so far is committed, the next run fetches "
            "the rest (Microsoft throttles the reports API to about 14 requests per 10 "
            "minutes per report)"
        )

    def download(self, report: GraphReport, day: date, target: Path) -> Download:
        """The CSV of `report` for `day` written to `target`, or why Microsoft refused."""
        import httpx

        what = f"{report.function}(date={day.isoformat()})"
        # Unquoted date: the quoted form has been reported to be refused.
        url = f"{self.creds.graph_url}/reports/{what}"
        response = self._send(
            lambda: self.http.get(url, headers={"Authorization": f"Bearer {self.token()}"}),
            what,
        )
        status = response.status_code
        if status == 401:
            raise AccessDeniedError(
                "Microsoft Graph refused the token (HTTP 401"
                + _graph_error(response, self.creds)
                + "): "
                + (
                    f"the token in {TOKEN_ENV} is invalid or expired"
                    if self.creds.token
                    else "check the app's tenant id, client id and credential"
                )
            )
        if status == 403:
            raise AccessDeniedError(
                "Microsoft Graph refused to read the usage reports (HTTP 403"
                + _graph_error(response, self.creds)
                + f"): the app needs the application permission {PERMISSION}, granted with "
                "admin consent (docs/m365.md)"
            )
        if status in (301, 302, 303, 307, 308):
            location = response.headers.get("location")
            if not location:
                return Download(target, refused=f"HTTP {status} without a download location")
            # The download URL is pre-authenticated and may be on another host: the bearer
            # token is not sent there, and the URL itself is never printed.
            download_url = str(httpx.URL(url).join(location))
            sha = self._stream_to(download_url, target, what)
            if sha is None:
                return Download(target, refused="the download URL did not answer with the CSV")
            return Download(target, sha)
        if status == 200:  # served directly (some proxies follow redirects themselves)
            target.write_bytes(response.content)
            return Download(target, hashlib.sha256(response.content).hexdigest())
        return Download(
            target, refused=f"HTTP {status}{_graph_error(response, self.creds, parenthesis=False)}"
        )

    def _stream_to(self, url: str, target: Path, what: str) -> str | None:
        """Stream the CSV at `url` into `target`; its SHA-256, or None if not a 200."""
        digest = hashlib.sha256()

        def attempt() -> httpx.Response:
            nonlocal digest
            digest = hashlib.sha256()
            with self.http.stream("GET", url, follow_redirects=True) as response:
                if response.status_code != 200:
                    response.read()
                    return response
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as f:
                    for chunk in response.iter_bytes():
                        f.write(chunk)
                        digest.update(chunk)
                return response

        response = self._send(attempt, f"the download of {what}")
        return digest.hexdigest() if response.status_code == 200 else None


def _retry_after(response: httpx.Response) -> float:
    """Seconds a 429/503 asks to wait: `Retry-After` in seconds or as an HTTP date."""
    raw = response.headers.get("retry-after", "").strip()
    if not raw:
        return DEFAULT_RETRY_AFTER_SECONDS
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _graph_error(response: httpx.Response, creds: Credentials, parenthesis: bool = True) -> str:
    """Graph's own words for an error (`{"error": {"code", "message"}}`), scrubbed."""
    try:
        error = response.json().get("error", {})
        text = f"{error.get('code', '')}: {_first_line(str(error.get('message', '')))}"
    except (ValueError, AttributeError):
        text = _first_line(response.text)[:200]
    text = creds.scrub(text.strip(": "))
    if not text:
        return ""
    return f", {text}" if parenthesis else f": {text}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def report_refresh_date(path: Path) -> date | None:
    """The `Report Refresh Date` of a downloaded report's first row (the latest date of
    Microsoft's data), or None when the file has no row or no such column."""
    from ..ingest.periods import header_key, parse_date

    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = csv.reader(f)
            header = next(rows, None)
            first = next(rows, None)
    except (OSError, UnicodeError, csv.Error):
        return None
    if not header or not first:
        return None
    keys = [header_key(h) for h in header]
    if "reportrefreshdate" not in keys or len(first) <= keys.index("reportrefreshdate"):
        return None
    try:
        return parse_date(first[keys.index("reportrefreshdate")])
    except ValueError:
        return None


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
    creds = credentials(settings, env)
    summary = FetchSummary(names, first.isoformat(), last.isoformat(), dry_run)
    manifest = store.read_manifest(data_dir)
    todo = plan(manifest, names, first, last, today)
    if not todo:
        return summary
    deadline = monotonic() + max_minutes * 60
    graph = Graph(creds, deadline, max_minutes)
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
    graph: Graph,
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
        summary.days.append(result)
        if on_day is not None:
            on_day(result)

    for day, name in todo:
        report = REPORTS[name]
        target = scratch / f"{report.function}_{day.isoformat()}.csv"
        got = graph.download(report, day, target)
        if got.refused is not None:
            done(DayResult(name, day.isoformat(), "refused", message=got.refused))
            continue
        assert got.sha256 is not None
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
        if known is not None and (known.sha256, known.refresh_date) == (got.sha256, refresh):
            target.unlink(missing_ok=True)
            done(
                DayResult(
                    name, day.isoformat(), "unchanged", sha256=got.sha256,
                    refresh_date=refresh.isoformat(), message="the store holds this version",
                )
            )  # fmt: skip
            continue
        path = target
        if keep_raw is not None and not summary.dry_run:
            path = _keep(target, keep_raw, got.sha256)
        provenance = {
            "source": "microsoft-graph",
            "m365_report": name,
            "day": day.isoformat(),
            "refresh_date": refresh.isoformat(),
            "fetched_on": today.isoformat(),
        }
        remaining = max(0.0, graph.deadline - monotonic())
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
                    name, day.isoformat(), "error", sha256=got.sha256,
                    refresh_date=refresh.isoformat(), message=result.message,
                )
            )  # fmt: skip
            continue
        done(
            DayResult(
                name,
                day.isoformat(),
                "fetched",
                rows=result.rows_read,
                sha256=got.sha256,
                refresh_date=refresh.isoformat(),
                message=result.message,
            )
        )


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
