"""Microsoft Graph's usage-reports protocol: the app's credentials (m365_credentials.py:
msal client credentials, or a ready bearer token), and an HTTP client (httpx) that follows the 302 to
the CSV download (https only, at most MAX_REPORT_BYTES once inflated), honours 429/503
`Retry-After` with the shared retry policy (fetch/retry.py), backs off on other 5xx and
connection errors (sign-in included), and stops at the run's deadline. Every credential it
sends or receives is remembered by redact.py, and nothing it says may carry one
(`Credentials.scrub`). Used by fetch/m365.py, which decides what to fetch.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import redact
from ..errors import AccessDeniedError, ConfigError, ServiceUnavailableError
from . import retry
from .m365_credentials import SECRET_ENV as SECRET_ENV  # the credentials' names, as before
from .m365_credentials import TOKEN_ENV as TOKEN_ENV
from .m365_credentials import Credentials as Credentials
from .m365_credentials import credentials as credentials

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
#: Connection errors and 5xx other than 503: tries (their waits: retry.backoff).
TRANSIENT_ATTEMPTS = 6
BACKOFF_FIRST_SECONDS = retry.BACKOFF_FIRST_SECONDS
#: The largest report accepted, in bytes once inflated (Graph may send it gzip-encoded):
#: 512 MiB, more than a million people's rows of either report in one day. A download
#: past it is refused (exit 65) and nothing of that day is stored.
MAX_REPORT_BYTES = 512 * 1024 * 1024
#: The largest sign-in answer read (msal's discovery and token answers are a few kB).
MAX_SIGN_IN_BYTES = 1024 * 1024
#: Redirects followed from Graph's 302 to the file (each to an https:// URL).
MAX_REDIRECTS = 5
#: The most of an error body read (the rest is not needed for its first line).
MAX_ERROR_BODY_BYTES = 64 * 1024
USER_AGENT = "rse-adoption (fetch m365)"
#: The clock and the sleep of every run; tests replace them so that no test waits.
monotonic: Callable[[], float] = time.monotonic
sleep: Callable[[float], None] = time.sleep


# --- HTTP ----------------------------------------------------------------------------


def _timeouts() -> httpx.Timeout:
    import httpx

    # Bounded everywhere: a stalled connection never holds a cron job.
    return httpx.Timeout(connect=15.0, read=60.0, write=30.0, pool=15.0)


def _silence_msal() -> None:
    """msal logs a token response it cannot parse, with a traceback and the body, at
    ERROR level: without a handler Python prints it on standard error. Our own message
    says what happened (one line, scrubbed)."""
    import logging

    logger = logging.getLogger("msal")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False


class _MsalHttp:
    """msal's HTTP interface (msal.oauth2cli.http.HttpClient) over our httpx client, so
    that sign-in gets the same timeouts, proxy and CA settings as the reports, and the
    same retries (connection errors, 5xx, throttling) within the run's deadline. Every
    credential msal sends (the secret, a signed client assertion) is remembered by
    redact.py before it leaves: a server echoing it cannot make it leak."""

    def __init__(self, graph: Graph) -> None:
        self._graph = graph

    def post(
        self,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        **_: Any,
    ) -> httpx.Response:
        if isinstance(data, Mapping):
            for key in ("client_secret", "client_assertion"):
                redact.remember(data.get(key))
        if isinstance(headers, Mapping):
            redact.remember(headers.get("Authorization"))
        client = self._graph.http
        body = {"content": data} if isinstance(data, str | bytes) else {"data": data}
        request = client.build_request("POST", url, params=params, headers=headers, **body)
        return self._capped(request, "the token request")

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> httpx.Response:
        request = self._graph.http.build_request("GET", url, params=params, headers=headers)
        return self._capped(request, "the sign-in discovery")

    def _capped(self, request: httpx.Request, what: str) -> httpx.Response:
        """The answer to `request`, read whole but no further than MAX_SIGN_IN_BYTES once
        inflated (a sign-in answer is a few kB: a larger one is no answer to trust)."""
        import httpx

        graph = self._graph
        response = graph.send(
            lambda: graph.http.send(request, stream=True), what, graph.sign_in_service
        )
        try:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_SIGN_IN_BYTES:
                    raise ServiceUnavailableError(
                        f"{graph.sign_in_service} answered {what} with more than "
                        f"{MAX_SIGN_IN_BYTES // 1024} kB: not a sign-in answer; run again later"
                    )
        except httpx.HTTPError as exc:
            raise ServiceUnavailableError(
                f"{graph.sign_in_service}: {what} broke off ({_cause(exc)}); run again later"
            ) from None
        finally:
            response.close()
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    def close(self) -> None:  # the client is closed by its owner
        pass


@dataclass
class Download:
    """One report day downloaded to `path`; or refused by Microsoft (`refused` says why);
    or not usable (`error`: a non-https download URL, a file past MAX_REPORT_BYTES, a
    corrupt encoding), nothing of it kept."""

    path: Path
    sha256: str | None = None
    refused: str | None = None
    error: str | None = None


class _BadDownload(Exception):
    """A download that must not be stored (why, in one line without its URL)."""


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

    @property
    def graph_service(self) -> str:
        return f"Microsoft Graph at {self.creds.graph_host}"

    @property
    def sign_in_service(self) -> str:
        return f"Microsoft's sign-in service at {self.creds.authority_host}"

    def close(self) -> None:
        self.http.close()

    # Sign-in

    def token(self) -> str:
        if self._token is None or self._msal is not None:
            self._token = self._acquire()
        return self._token

    def _acquire(self) -> str:
        """An app-only token from msal (cached by msal until it nears expiry)."""
        import msal

        creds = self.creds
        service = self.sign_in_service
        _silence_msal()
        try:
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
                self._msal = msal.ConfidentialClientApplication(
                    creds.client_id,
                    client_credential=credential,
                    authority=f"{creds.authority_url}/{creds.tenant_id}",
                    http_client=_MsalHttp(self),
                    # The authority is the configured one (national cloud, proxy): no call
                    # to login.microsoftonline.com to "discover" it.
                    instance_discovery=False,
                )
            result = self._msal.acquire_token_for_client(scopes=[creds.scope])
        except (ServiceUnavailableError, ConfigError):
            raise
        except json.JSONDecodeError as exc:  # a proxy's page, a truncated answer
            raise ServiceUnavailableError(
                creds.scrub(
                    f"{service} answered with a malformed body (not JSON: {exc.msg} at "
                    f"character {exc.pos}); run again later"
                )
            ) from None
        except msal.exceptions.MsalServiceError as exc:
            raise ServiceUnavailableError(
                creds.scrub(f"{service} failed: {_first_line(str(exc))}")
            ) from None
        except ValueError as exc:  # unknown tenant, or a malformed key
            raise AccessDeniedError(
                creds.scrub(
                    f"{service} refused the app (tenant {creds.tenant_id}): {_first_line(str(exc))}"
                )
            ) from None
        except Exception as exc:  # msal's own surprises: one line, never a traceback
            raise ServiceUnavailableError(
                creds.scrub(f"{service} failed: {type(exc).__name__}: {_first_line(str(exc))}")
            ) from None
        if not isinstance(result, dict) or "access_token" not in result:
            result = result if isinstance(result, dict) else {}
            raise AccessDeniedError(
                creds.scrub(
                    f"{service} refused the app's credentials (tenant "
                    f"{creds.tenant_id}, client {creds.client_id}): {result.get('error')}: "
                    f"{_first_line(str(result.get('error_description', '')))}"
                )
            )
        token = str(result["access_token"])
        redact.remember(token)
        return token

    # Requests

    def send(
        self, attempt: Callable[[], httpx.Response], what: str, service: str | None = None
    ) -> httpx.Response:
        """One request with the retry rules (fetch/retry.py): 429/503 after Retry-After
        (at least the throttle backoff, at most retry.THROTTLED_TRIES in a row), other 5xx
        and connection errors after the backoff, TRANSIENT_ATTEMPTS tries; never past the
        run's deadline. `service` names who is asked (Graph, or the sign-in service)."""
        import httpx

        service = service or self.graph_service
        failures = throttled = 0
        while True:
            if monotonic() >= self.deadline:
                raise self._out_of_time(what)
            try:
                self.requests += 1
                response = attempt()
            except httpx.TransportError as exc:
                failures += 1
                cause = self.creds.scrub(_cause(exc))
                if failures >= TRANSIENT_ATTEMPTS:
                    raise ServiceUnavailableError(
                        f"{service} is unreachable ({what}: {cause}, {failures} tries); "
                        "what was fetched before is committed, run again later"
                    ) from None
                self._wait(
                    retry.backoff(failures),
                    what,
                    f"{service} is unreachable ({cause}, {failures} tries so far)",
                )
                continue
            status = response.status_code
            if status in (429, 503):
                response.close()
                throttled += 1
                if throttled >= retry.THROTTLED_TRIES:
                    raise ServiceUnavailableError(
                        f"{service} kept throttling ({what}: HTTP {status}, {throttled} "
                        "tries); what was fetched before is committed, run again later"
                    )
                header = response.headers.get("retry-after")
                self._wait(
                    retry.throttle_wait(header, throttled),
                    what,
                    f"{service} asked to wait (HTTP {status}, Retry-After: "
                    f"{_first_line(header or 'none')[:40]})",
                )
                continue
            if status >= 500:
                response.close()
                failures += 1
                if failures >= TRANSIENT_ATTEMPTS:
                    raise ServiceUnavailableError(
                        f"{service} keeps failing ({what}: HTTP {status}, {failures} "
                        "tries); what was fetched before is committed, run again later"
                    )
                self._wait(
                    retry.backoff(failures),
                    what,
                    f"{service} keeps failing (HTTP {status}, {failures} tries so far)",
                )
                continue
            return response

    def _wait(self, seconds: float, what: str, why: str) -> None:
        if monotonic() + seconds > self.deadline:
            raise self._out_of_time(what, seconds, why)
        sleep(seconds)

    def _out_of_time(
        self, what: str, seconds: float | None = None, why: str | None = None
    ) -> ServiceUnavailableError:
        waiting = f" ({why}; the next try was due in {seconds:.0f} s)" if why else ""
        return ServiceUnavailableError(
            f"stopped at the run's time budget of {self.budget_minutes:g} minutes{waiting}, "
            f"before {what}; every day fetched so far is committed, the next run fetches "
            "the rest (Microsoft throttles the reports API to about 14 requests per 10 "
            "minutes per report)"
        )

    def download(self, report: GraphReport, day: date, target: Path) -> Download:
        """The CSV of `report` for `day` written to `target`, or why Microsoft refused, or
        why it cannot be stored."""
        import httpx

        what = f"{report.function}(date={day.isoformat()})"
        # Unquoted date: the quoted form has been reported to be refused.
        url = f"{self.creds.graph_url}/reports/{what}"

        def ask() -> httpx.Response:
            request = self.http.build_request(
                "GET", url, headers={"Authorization": f"Bearer {self.token()}"}
            )
            return self.http.send(request, stream=True)

        response = self.send(ask, what)
        try:
            status = response.status_code
            if status in (301, 302, 303, 307, 308):
                location = response.headers.get("location")
                response.close()
                if not location:
                    return Download(target, refused=f"HTTP {status} without a download location")
                # The download URL is pre-authenticated and may be on another host: the
                # bearer token is not sent there, and the URL itself is never printed.
                try:
                    sha = self._fetch_file(str(httpx.URL(url).join(location)), target, what)
                except _BadDownload as exc:
                    target.unlink(missing_ok=True)
                    return Download(target, error=self.creds.scrub(str(exc)))
                if sha is None:
                    return Download(target, refused="the download URL did not answer with the CSV")
                return Download(target, sha)
            if status == 200:  # served directly (some proxies follow redirects themselves)
                try:
                    return Download(target, self._write(response, target, what))
                except _BadDownload as exc:
                    target.unlink(missing_ok=True)
                    return Download(target, error=self.creds.scrub(str(exc)))
            body = _read_capped(response)
        finally:
            response.close()
        if status == 401:
            raise AccessDeniedError(
                f"{self.graph_service} refused the token (HTTP 401"
                + _graph_error(body, self.creds)
                + "): "
                + (
                    f"the token in {TOKEN_ENV} is invalid or expired"
                    if self.creds.token
                    else "check the app's tenant id, client id and credential"
                )
            )
        if status == 403:
            raise AccessDeniedError(
                f"{self.graph_service} refused to read the usage reports (HTTP 403"
                + _graph_error(body, self.creds)
                + f"): the app needs the application permission {PERMISSION}, granted with "
                "admin consent (docs/m365.md)"
            )
        return Download(
            target, refused=f"HTTP {status}{_graph_error(body, self.creds, parenthesis=False)}"
        )

    def _fetch_file(self, url: str, target: Path, what: str) -> str | None:
        """Follow `url` (https redirects only, at most MAX_REDIRECTS) to the CSV and write
        it to `target`; its SHA-256, or None when the last answer is not a 200."""
        import httpx

        for _ in range(MAX_REDIRECTS + 1):
            _require_https(url)
            current = url
            response = self.send(
                lambda u=current: self.http.send(self.http.build_request("GET", u), stream=True),  # type: ignore[misc]
                f"the download of {what}",
            )
            try:
                if response.status_code in (301, 302, 303, 307, 308):
                    location = response.headers.get("location")
                    if not location:
                        return None
                    url = str(httpx.URL(current).join(location))
                    continue
                if response.status_code != 200:
                    return None
                return self._write(response, target, what)
            finally:
                response.close()
        raise _BadDownload(f"the download of {what} redirected more than {MAX_REDIRECTS} times")

    def _write(self, response: httpx.Response, target: Path, what: str) -> str:
        """Stream a 200's body, inflated, into `target` (owner-only); its SHA-256. A body
        past MAX_REPORT_BYTES, or one that does not inflate, is a _BadDownload."""
        import httpx

        digest = hashlib.sha256()
        size = 0
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            try:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_REPORT_BYTES:
                        raise _BadDownload(
                            f"the download of {what} is larger than "
                            f"{MAX_REPORT_BYTES // (1024 * 1024)} MiB once inflated (sent "
                            f"{response.num_bytes_downloaded} bytes): refused, nothing of that "
                            "day stored (docs/m365.md)"
                        )
                    if monotonic() >= self.deadline:
                        raise self._out_of_time(f"the end of the download of {what}")
                    f.write(chunk)
                    digest.update(chunk)
            except httpx.DecodingError as exc:
                raise _BadDownload(
                    f"the download of {what} is corrupt ({_first_line(str(exc))[:120]}): "
                    "nothing of that day stored; the next run fetches it again"
                ) from None
            except httpx.TransportError as exc:
                raise ServiceUnavailableError(
                    f"{self.graph_service}: the download of {what} broke off ({_cause(exc)}); "
                    "what was fetched before is committed, run again later"
                ) from None
        return digest.hexdigest()


def _require_https(url: str) -> None:
    import httpx

    parsed = httpx.URL(url)
    if parsed.scheme != "https":
        raise _BadDownload(
            f"the download URL is not https ({parsed.scheme}://{parsed.host}/…): refused, "
            "nothing of that day stored"
        )


def _read_capped(response: httpx.Response) -> bytes:
    """At most MAX_ERROR_BODY_BYTES of a streamed body; whatever could be read."""
    import httpx

    body = b""
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= MAX_ERROR_BODY_BYTES:
                break
    except httpx.HTTPError:
        pass
    return body[:MAX_ERROR_BODY_BYTES]


def _cause(exc: BaseException) -> str:
    """What a connection failure was: its kind and its own words (first line)."""
    words = _first_line(str(exc))
    return f"{type(exc).__name__}: {words[:160]}" if words else type(exc).__name__


def _graph_error(body: bytes, creds: Credentials, parenthesis: bool = True) -> str:
    """Graph's own words for an error (`{"error": {"code", "message"}}`), scrubbed."""
    try:
        error = json.loads(body.decode("utf-8")).get("error", {})
        text = f"{error.get('code', '')}: {_first_line(str(error.get('message', '')))}"
    except (ValueError, AttributeError):
        text = _first_line(body.decode("utf-8", "replace"))[:200]
    text = creds.scrub(text.strip(": "))
    if not text:
        return ""
    return f", {text}" if parenthesis else f": {text}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
