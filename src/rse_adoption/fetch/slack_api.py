"""Slack's Web API as `fetch slack` uses it: slack_sdk's WebClient with retry handlers held
to the run's time budget, cursor pagination, and Slack's answers turned into the errors
(and exit codes) of the project.

slack_sdk retries only connection errors unless told otherwise, and its own rate-limit
handler sleeps with time.sleep whatever the run's budget. So the client gets two handlers
of ours, following the retry policy both fetchers share (fetch/retry.py): one waits what a
429's `Retry-After` says but at least the throttle backoff (so `Retry-After: 0` cannot make
a tight loop), at most retry.THROTTLED_TRIES 429s in a row; the other retries connection
errors, timeouts and 5xx after an exponential backoff with jitter; both wait through the
run's Budget, which refuses a wait that would end past the deadline (OutOfTime: `asked` is
set only when Slack asked for the wait, `why` says what the wait was for). Slack's errors come as
HTTP 200 with `{"ok": false, "error": ...}`: access refused is AccessDeniedError (77),
Slack unreachable or throttling ServiceUnavailableError (75), a channel the app may not
read ChannelRefused (the run goes on without it). The token is never part of a message.
This module imports slack_sdk, so it is imported only when a run starts.
"""

from __future__ import annotations

import http.client
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryHandler, RetryState

from .. import redact
from ..errors import AccessDeniedError, DataError, RseError, ServiceUnavailableError
from . import retry
from .retry import retry_after_seconds

#: Items per page: Slack recommends no more than 200.
PAGE_SIZE = 200
#: Seconds a request may take to connect and answer: a stalled connection never holds cron.
TIMEOUT_SECONDS = 30
#: Connection errors, timeouts and 5xx: tries (their waits: retry.backoff).
TRANSIENT_ATTEMPTS = 5
BACKOFF_FIRST_SECONDS = retry.BACKOFF_FIRST_SECONDS
BACKOFF_MAX_SECONDS = retry.BACKOFF_MAX_SECONDS
USER_AGENT = "rse-adoption-fetch-slack"
#: Slack's errors that refuse the token or the app (exit 77).
ACCESS_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "no_permission",
        "not_allowed_token_type",
        "ekm_access_denied",
        "team_access_not_granted",
    }
)
#: Slack's errors for one channel the app may not read: that channel is skipped.
CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found"})
#: How slack_sdk's error begins for a body that does not start like JSON.
NOT_JSON = "Received a response in a non-JSON format"
#: Slack's errors that say "later" (exit 75).
LATER_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class OutOfTime(Exception):
    """The run's time budget is spent (or a wait would spend it) before `what`. `asked`:
    the seconds Slack asked to wait (a 429's), None when Slack asked nothing (a backoff
    after connection errors); `why`: what the wait was for, and `seconds` its length."""

    def __init__(
        self,
        what: str,
        asked: float | None = None,
        why: str | None = None,
        seconds: float | None = None,
    ) -> None:
        super().__init__(what)
        self.what = what
        self.asked = asked
        self.why = why
        self.seconds = seconds


class ChannelRefused(Exception):
    """Slack refuses to let the app read one channel (`error`: not_in_channel...)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class Refused(Exception):
    """Slack answered a download with `{"ok": false, "error": ...}` (`needed`: the scope
    a `missing_scope` names): the caller says what it means (SlackApi.download)."""

    def __init__(self, error: str, needed: object = None) -> None:
        super().__init__(error)
        self.error = error
        self.needed = needed if isinstance(needed, str) else None


class Budget:
    """The run's deadline, on the clock and the sleep it is given (tests give theirs)."""

    def __init__(
        self, minutes: float, monotonic: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        self.minutes = minutes
        self._monotonic = monotonic
        self._sleep = sleep
        self.deadline = monotonic() + minutes * 60

    def left(self) -> float:
        return max(0.0, self.deadline - self._monotonic())

    def check(self, what: str) -> None:
        if self._monotonic() >= self.deadline:
            raise OutOfTime(what)

    def wait(self, seconds: float, what: str, why: str | None = None, asked: bool = True) -> None:
        """Sleep `seconds` unless that ends past the deadline (OutOfTime). `asked`: Slack
        asked for this wait (a 429), else it is our backoff (`why` says after what)."""
        if self._monotonic() + seconds > self.deadline:
            raise OutOfTime(what, seconds if asked else None, why, seconds)
        self._sleep(seconds)


def retry_after_header(headers: dict[str, Any]) -> str | None:
    """A 429's `Retry-After` from slack_sdk's headers (names in any case, values as
    strings or lists of strings)."""
    raw: Any = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    return None if raw is None else str(raw)


def retry_after(headers: dict[str, Any]) -> float:
    """Seconds a 429 asks to wait, as it says it (retry.throttle_wait adds the floor)."""
    return retry_after_seconds(retry_after_header(headers))


class _RateLimited(RetryHandler):
    """A 429 is tried again after its Retry-After (at least the throttle backoff of its
    rank, retry.throttle_wait), as long as the budget allows and fewer than
    retry.THROTTLED_TRIES 429s came in a row; then slack_sdk raises it (exit 75)."""

    def __init__(self, budget: Budget) -> None:
        super().__init__(max_retry_count=0)
        self.budget = budget

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        throttled = (state.custom_values or {}).get("throttled", 0)
        return (
            response is not None
            and response.status_code == 429
            and throttled + 1 < retry.THROTTLED_TRIES
        )

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None
        values = state.custom_values = state.custom_values or {}
        values["throttled"] = throttled = values.get("throttled", 0) + 1
        header = retry_after_header(response.headers)
        self.budget.wait(
            retry.throttle_wait(header, throttled),
            _method_of(request),
            f"Slack asked to wait (HTTP 429, Retry-After: {header})",
        )
        state.next_attempt_requested = True
        state.increment_current_attempt()


class _Transient(RetryHandler):
    """Connection errors, timeouts and 5xx are tried again after a bounded backoff, at most
    TRANSIENT_ATTEMPTS times in all (counted apart from the 429s of the same request)."""

    def __init__(self, budget: Budget) -> None:
        super().__init__(max_retry_count=TRANSIENT_ATTEMPTS - 1)
        self.budget = budget

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None:
            transient = response.status_code >= 500
        else:
            transient = isinstance(
                error, URLError | ConnectionError | TimeoutError | http.client.HTTPException
            )
        failures = (state.custom_values or {}).get("transient", 0)
        return transient and failures < self.max_retry_count

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        values = state.custom_values = state.custom_values or {}
        values["transient"] = failures = values.get("transient", 0) + 1
        cause = (
            f"HTTP {response.status_code}"
            if response is not None
            else type(error).__name__
            if error is not None
            else "?"
        )
        self.budget.wait(
            backoff(failures),
            _method_of(request),
            f"Slack is unreachable or failing ({cause}, {failures} tries so far)",
            asked=False,
        )
        state.next_attempt_requested = True
        state.increment_current_attempt()


def backoff(failures: int) -> float:
    """The wait after the `failures`-th connection error or 5xx in a row (retry.backoff)."""
    return retry.backoff(failures)


def _method_of(request: HttpRequest) -> str:
    return request.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def _silent_logger() -> logging.Logger:
    """slack_sdk logs failed requests at ERROR level: without a handler Python prints them
    on standard error, which cron would mail on a run that then succeeded. Our own
    messages say what matters."""
    logger = logging.getLogger("rse_adoption.fetch.slack_sdk")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


class SlackApi:
    """The Web API methods `fetch slack` calls, each request within the run's budget."""

    def __init__(
        self,
        token: str,
        base_url: str,
        budget: Budget,
        kept: str = "every channel fetched before is committed",
    ) -> None:
        redact.remember(token)  # masked in every output of the process (redact.py)
        self.token = token
        self.base_url = base_url
        self.budget = budget
        #: What a run stopped early keeps, as its messages say it.
        self.kept = kept
        self.requests = 0
        self.client = WebClient(
            token=token,
            base_url=base_url,
            timeout=TIMEOUT_SECONDS,
            retry_handlers=[_RateLimited(budget), _Transient(budget)],
            user_agent_prefix=USER_AGENT,
            logger=_silent_logger(),
        )

    def scrub(self, text: str) -> str:
        """`text` without the token: nothing this module says may leak it."""
        return text.replace(self.token, "***") if self.token else text

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One method's answer (`ok` true), or the error its failure means."""
        try:
            data = self._send(method, params)
        except SlackApiError as exc:
            raise self._refused(method, exc.response) from None
        if not isinstance(data, dict):
            raise ServiceUnavailableError(f"Slack's {method} did not answer with JSON")
        return data

    def download(self, method: str, **params: Any) -> bytes:
        """The body of a method that answers with a file (admin.analytics.getFile: a gzip),
        or Refused for Slack's `{"ok": false, "error": ...}` — the caller knows what each
        error means for it; throttling, 5xx, Slack unreachable and garbled answers as
        `call`; a JSON answer where a file was expected is one to retry later (75)."""
        try:
            data = self._send(method, params)
        except SlackApiError as exc:
            response = exc.response
            status = int(getattr(response, "status_code", 0) or 0)
            body = response.data if isinstance(getattr(response, "data", None), dict) else {}
            error = str(body.get("error") or "")
            if (
                status == 200
                and error
                and error not in LATER_ERRORS
                and error != "ratelimited"
                and not error.startswith(NOT_JSON)
            ):
                raise Refused(error, body.get("needed")) from None
            raise self._refused(method, response) from None
        if isinstance(data, bytes):
            return data
        raise ServiceUnavailableError(
            f"Slack's {method} answered JSON where a file was expected; {self.kept}, run "
            "again later"
        )

    def _send(self, method: str, params: dict[str, Any]) -> dict[str, Any] | bytes:
        """One request within the budget: the answer's data (an object, or the bytes of
        a file); SlackApiError for Slack's refusals, the project's errors otherwise."""
        self.budget.check(method)
        self.requests += 1
        try:
            response = self.client.api_call(method, http_verb="GET", params=params)
        except SlackApiError:
            raise  # a SlackClientError too: Slack's refusal, not Slack unreachable
        except (ValueError, AttributeError, TypeError) as exc:
            # a body that starts like JSON but is not (json's ValueError), or JSON that is
            # not an object (slack_sdk's own checks fail on it)
            raise self._garbled(method, str(exc) or type(exc).__name__) from None
        except (URLError, OSError, http.client.HTTPException, SlackClientError) as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise ServiceUnavailableError(
                self.scrub(
                    f"Slack is unreachable at {self.base_url} ({method}: {reason}, "
                    f"{TRANSIENT_ATTEMPTS} tries); {self.kept}, run again later"
                )
            ) from None
        data: dict[str, Any] | bytes = response.data
        return data

    def pages(self, method: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        """The items under `key` of every page of a cursor-paginated method."""
        cursor = None
        while True:
            page = {**params, "cursor": cursor} if cursor else params
            data = self.call(method, **page)
            items = data.get(key)
            yield from (i for i in items if isinstance(i, dict)) if isinstance(items, list) else ()
            metadata = data.get("response_metadata")
            cursor = metadata.get("next_cursor") if isinstance(metadata, dict) else None
            if not cursor:
                return

    def _garbled(self, method: str, detail: str) -> ServiceUnavailableError:
        """A body Slack's API never answers with — not JSON, or JSON but no object — is a
        truncated or garbled answer: ServiceUnavailableError (75), the run stops there and
        the next one goes on."""
        return ServiceUnavailableError(
            self.scrub(
                f"Slack's answer to {method} at {self.base_url} is not valid JSON "
                f"({detail[:120]}): a truncated or garbled answer; {self.kept}, run again "
                "later"
            )
        )

    def _refused(self, method: str, response: Any) -> RseError | ChannelRefused:
        status = int(getattr(response, "status_code", 0) or 0)
        data = response.data if isinstance(getattr(response, "data", None), dict) else {}
        error = str(data.get("error") or f"HTTP {status}")
        if status == 429 or error == "ratelimited":
            return ServiceUnavailableError(
                f"Slack kept throttling {method}; {self.kept}, run again later"
            )
        if status >= 500 or error in LATER_ERRORS:
            return ServiceUnavailableError(
                self.scrub(
                    f"Slack keeps failing ({method}: {error}, {TRANSIENT_ATTEMPTS} tries); "
                    f"{self.kept}, run again later"
                )
            )
        if error.startswith(NOT_JSON):  # slack_sdk's word for a body that is not JSON
            return self._garbled(method, error.removeprefix(NOT_JSON).strip(" :") or "empty")
        if error == "missing_scope":
            needed = data.get("needed") or "?"
            return AccessDeniedError(
                self.scrub(
                    f"Slack refused {method}: missing_scope: add the scope {needed} to the "
                    "app's Bot Token Scopes, reinstall the app to the workspace and put its "
                    "new token in RSE_ADOPTION_SLACK_TOKEN (docs/slack.md)"
                )
            )
        if error in ACCESS_ERRORS:
            return AccessDeniedError(
                self.scrub(
                    f"Slack refused the token ({method}: {error}): check that "
                    "RSE_ADOPTION_SLACK_TOKEN holds the app's current Bot User OAuth Token "
                    "(docs/slack.md)"
                )
            )
        if error in CHANNEL_ERRORS:
            return ChannelRefused(error)
        return DataError(self.scrub(f"Slack answered {method} with the error {error}"))
