"""The HTTP client of `fetch viva-engage`: Graph's client (fetch/graph.py: retries,
Retry-After, the run's deadline, https-only redirects, streamed and capped downloads,
scrubbed messages) pointed at the Yammer REST API's network data export, with the
delegated token of a Verified Administrator (fetch/viva_engage_auth.py). Used by
fetch/viva_engage.py, which decides what to fetch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AccessDeniedError, DataError, ServiceUnavailableError
from . import graph as http
from .m365_credentials import Credentials
from .viva_engage_auth import ADMIN_ROLE, TOKEN_ENV, SignIn

if TYPE_CHECKING:  # httpx is imported when a run starts: `status` never needs it
    import httpx

USER_AGENT = "rse-adoption (fetch viva-engage)"


class ExportClient(http.Graph):
    """Graph's client (retries, Retry-After, deadline, https-only redirects, streamed and
    capped downloads, scrubbed messages) pointed at the Yammer REST API, with the
    administrator's delegated token."""

    def __init__(
        self, creds: Credentials, deadline: float, budget_minutes: float, cache: Path
    ) -> None:
        super().__init__(creds, deadline, budget_minutes)
        self.http.headers["User-Agent"] = USER_AGENT
        self.cache = cache
        self._sign_in: SignIn | None = None

    @property
    def graph_service(self) -> str:
        return f"Viva Engage at {self.creds.graph_host}"

    def sign_in(self) -> SignIn:
        if self._sign_in is None:
            self._sign_in = SignIn(self, self.cache)
        return self._sign_in

    def token(self) -> str:
        if self.creds.token:
            return self.creds.token
        return self.sign_in().token()

    def _out_of_time(
        self, what: str, seconds: float | None = None, why: str | None = None
    ) -> ServiceUnavailableError:
        waiting = f" ({why}; the next try was due in {seconds:.0f} s)" if why else ""
        return ServiceUnavailableError(
            f"stopped at the run's time budget of {self.budget_minutes:g} minutes{waiting}, "
            f"before {what}; every range fetched so far is committed, the next run goes on "
            "from there"
        )

    def export(self, params: list[tuple[str, str]], target: Path, what: str) -> None:
        """The export zip for `params` written to `target` (owner-only, streamed), or
        AccessDeniedError (401, 403), DataError (another refusal, a bad download)."""
        import httpx

        url = f"{self.creds.graph_url}/export"

        def ask() -> httpx.Response:
            request = self.http.build_request(
                "GET",
                url,
                params=tuple(params),
                headers={"Authorization": f"Bearer {self.token()}"},
            )
            return self.http.send(request, stream=True)

        response = self.send(ask, what)
        try:
            status = response.status_code
            if status in (301, 302, 303, 307, 308):
                location = response.headers.get("location")
                response.close()
                if not location:
                    raise DataError(
                        f"{self.graph_service}: HTTP {status} without a location ({what})"
                    )
                try:
                    # Pre-authenticated and maybe on another host: no bearer token there.
                    sha = self._fetch_file(str(httpx.URL(url).join(location)), target, what)
                except http._BadDownload as exc:
                    raise DataError(self.creds.scrub(str(exc))) from None
                if sha is None:
                    raise DataError(f"{self.graph_service}: the download of {what} did not answer")
                return
            if status == 200:
                try:
                    self._write(response, target, what)
                except http._BadDownload as exc:
                    raise DataError(self.creds.scrub(str(exc))) from None
                return
            body = http._read_capped(response)
        finally:
            response.close()
        words = http._graph_error(body, self.creds)
        if status == 401:
            raise AccessDeniedError(
                f"{self.graph_service} refused the token (HTTP 401{words}): "
                + (
                    f"the token in {TOKEN_ENV} is invalid or expired (it must be a "
                    f"delegated token of a Viva Engage {ADMIN_ROLE})"
                    if self.creds.token
                    else f"the saved sign-in was refused; the {ADMIN_ROLE} signs in again "
                    "with `rse-adoption fetch viva-engage --login`"
                )
            )
        if status == 403:
            raise AccessDeniedError(
                f"{self.graph_service} refused the network data export (HTTP 403{words}): "
                f"the signed-in account must be a Viva Engage {ADMIN_ROLE}, and the app "
                "registration needs the delegated Yammer permission access_as_user with admin "
                "consent (docs/m365.md)"
            )
        raise DataError(
            f"{self.graph_service} refused {what} (HTTP {status}{words}): nothing of it stored"
        )
