"""What every fetcher's HTTP client shares about waiting: how long a throttled answer
(429, or Graph's 503) asks to wait, and the waits of the retry policy both vendors follow.

The policy (docs/m365.md and docs/slack.md, "Retries"):

- a throttled answer waits what its `Retry-After` says, but never less than the throttle
  backoff of its rank: MIN_WAIT_SECONDS, doubling at each throttled answer in a row up to
  BACKOFF_MAX_SECONDS, plus up to JITTER of it at random. So `Retry-After: 0` or an HTTP
  date in the past (clock skew) waits 1, 2, 4... seconds instead of looping;
- after THROTTLED_TRIES throttled answers in a row to the same request the fetcher stops
  (exit 75): a server that keeps saying "later" is not waited on forever;
- connection errors and 5xx wait `backoff` (BACKOFF_FIRST_SECONDS, doubling up to
  BACKOFF_MAX_SECONDS, plus jitter), a few tries in all (each fetcher's TRANSIENT_ATTEMPTS).

The jitter spreads the retries of runs that failed together; it only ever lengthens a wait.
`jitter` is the random source (tests replace it, as they replace the fetchers' sleep).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: A throttled answer without a usable Retry-After waits this long (Graph and Slack nearly
#: always send one).
DEFAULT_RETRY_AFTER_SECONDS = 60.0
#: The shortest wait after a throttled answer, whatever its Retry-After says.
MIN_WAIT_SECONDS = 1.0
#: Throttled answers in a row to one request before the fetcher gives up (exit 75).
THROTTLED_TRIES = 8
#: Connection errors and 5xx: the backoff's first and longest wait.
BACKOFF_FIRST_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 60.0
#: The largest random share added to a backoff (0.25: up to a quarter more).
JITTER = 0.25
#: A number in [0, 1): the random part of each backoff (tests make it 0).
jitter: Callable[[], float] = random.random


def retry_after_seconds(value: str | None) -> float:
    """Seconds a `Retry-After` header value asks to wait (RFC 9110: seconds, or an HTTP
    date); DEFAULT_RETRY_AFTER_SECONDS when absent or unreadable, never negative."""
    text = (value or "").strip()
    if not text:
        return DEFAULT_RETRY_AFTER_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else DEFAULT_RETRY_AFTER_SECONDS  # NaN
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return DEFAULT_RETRY_AFTER_SECONDS
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _grown(first: float, rank: int) -> float:
    base = min(BACKOFF_MAX_SECONDS, first * 2 ** max(0, min(rank - 1, 30)))
    return base * (1 + JITTER * jitter())


def backoff(failures: int) -> float:
    """The wait after the `failures`-th connection error or 5xx in a row (1-based)."""
    return _grown(BACKOFF_FIRST_SECONDS, failures)


def throttle_wait(retry_after: str | None, throttled: int) -> float:
    """The wait after the `throttled`-th throttled answer in a row (1-based) whose
    `Retry-After` header is `retry_after`: what it asks, but at least the throttle backoff
    of that rank (MIN_WAIT_SECONDS, doubling)."""
    return max(retry_after_seconds(retry_after), _grown(MIN_WAIT_SECONDS, throttled))
