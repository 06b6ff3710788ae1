"""What every fetcher's HTTP client shares about waiting: how long a throttled answer
(429, or Graph's 503) asks to wait."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: A throttled answer without a usable Retry-After waits this long (Graph and Slack nearly
#: always send one).
DEFAULT_RETRY_AFTER_SECONDS = 60.0


def retry_after_seconds(value: str | None) -> float:
    """Seconds a `Retry-After` header value asks to wait (RFC 9110: seconds, or an HTTP
    date); DEFAULT_RETRY_AFTER_SECONDS when absent or unreadable, never negative."""
    text = (value or "").strip()
    if not text:
        return DEFAULT_RETRY_AFTER_SECONDS
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
