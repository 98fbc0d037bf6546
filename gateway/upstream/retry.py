"""When a failed upstream call may be tried again, and how long to wait before it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

# MetaStudio answers a passing fault of its own with 500 MSS.00000004 "Internal Error"; like the major
# cloud SDKs, a read meeting one is tried again. 501 and the rest will answer the same again.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# Reading is the only thing a repeat cannot do twice: a create, cancel, update, delete or command
# that reached the upstream before the failure would run again.
IDEMPOTENT_METHODS = frozenset({"GET"})
# Failures before an answer began. A read timeout is not among them: the upstream is up but slow,
# and asking again would only multiply the wait.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.NetworkError,
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """At most `max_retries` repeats of an idempotent call, with full-jitter exponential backoff."""

    max_retries: int
    backoff_base: float
    backoff_max: float

    def may_retry(self, method: str, retries_done: int) -> bool:
        return method.upper() in IDEMPOTENT_METHODS and retries_done < self.max_retries

    def retries_status(self, method: str, status: int, retries_done: int) -> bool:
        return status in RETRYABLE_STATUSES and self.may_retry(method, retries_done)

    def retries_error(self, method: str, error: Exception, retries_done: int) -> bool:
        return isinstance(error, RETRYABLE_ERRORS) and self.may_retry(method, retries_done)

    def delay(self, retries_done: int, retry_after: str | None = None, now: datetime | None = None) -> float:
        """Seconds to wait before repeat number `retries_done + 1`."""
        asked = parse_retry_after(retry_after, now) if retry_after is not None else None
        if asked is not None:
            return min(asked, self.backoff_max)
        ceiling = min(self.backoff_max, self.backoff_base * 2**retries_done)
        return random.uniform(0.0, ceiling)


def parse_retry_after(value: str, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After value (delay-seconds or an HTTP date); None when unreadable."""
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
