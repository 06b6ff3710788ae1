"""Microsoft Graph's usage-reports protocol: the app's credentials (msal client
credentials, or a ready bearer token), and an HTTP client (httpx) that follows the 302 to
the CSV download, honours 429/503 `Retry-After`, backs off on other 5xx and connection
errors, and stops at the run's deadline. Nothing it says may carry a secret
(`Credentials.scrub`). Used by fetch/m365.py, which decides what to fetch.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import AccessDeniedError, ConfigError, ServiceUnavailableError
from .retry import retry_after_seconds

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

PERMISSION = "Reports.Read.All"
SECRET_ENV = "RSE_ADOPTION_M365_CLIENT_SECRET"
TOKEN_ENV = "RSE_ADOPTION_M365_TOKEN"
#: Connection errors and 5xx other than 503: tries, and the backoff's first and longest wait.
TRANSIENT_ATTEMPTS = 6
BACKOFF_FIRST_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 60.0
USER_AGENT = "rse-adoption (fetch m365)"
#: The clock and the sleep of every run; tests replace them so that no test waits.
monotonic: Callable[[], float] = time.monotonic
sleep: Callable[[float], None] = time.sleep


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
                self._wait(retry_after_seconds(response.headers.get("retry-after")), what)
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
