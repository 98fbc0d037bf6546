"""MetaStudio's 429s, remembered per principal so that its next calls wait or fail fast."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time

from gateway.upstream.config import Credentials
from gateway.upstream.errors import UpstreamHTTPError
from gateway.upstream.retry import parse_retry_after

# A 429 without Retry-After still holds the principal back this long.
DEFAULT_SECONDS = 1.0
# A Retry-After longer than this is not believed: one bad header must not lock a caller out for hours.
MAX_SECONDS = 60.0
# Waits this short are slept through, as the caller would otherwise only retry at once.
SHORT_WAIT_SECONDS = 1.0
CAPACITY = 10_000


class UpstreamBackoff(UpstreamHTTPError):
    """Not sent: MetaStudio answered this principal 429 moments ago and asked it to wait longer still."""

    request_sent = False

    def __init__(self, wait: float, operation: str) -> None:
        seconds = max(1, math.ceil(wait))
        super().__init__(
            429,
            None,
            f"MetaStudio is limiting this caller's rate; the call was not sent, retry in {seconds} s",
            operation=operation,
        )
        self.retry_after = seconds


def principal(credentials: Credentials) -> str:
    """Who MetaStudio counts a call against: its token (token mode) and app user id, hashed."""
    digest = hashlib.sha256()
    for part in (credentials.token or "", credentials.app_user_id or ""):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


class Backoffs:
    """A "not before" time per principal; expired ones are forgotten when the table fills."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._not_before: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._not_before)

    def slow_down(self, credentials: Credentials, retry_after: str | None) -> None:
        asked = parse_retry_after(retry_after) if retry_after is not None else None
        seconds = min(MAX_SECONDS, DEFAULT_SECONDS if asked is None else asked)
        now = time.monotonic()
        key = principal(credentials)
        if key not in self._not_before and len(self._not_before) >= self.capacity:
            self._forget_expired(now)
        self._not_before[key] = max(self._not_before.get(key, 0.0), now + seconds)

    async def wait(self, credentials: Credentials, operation: str) -> None:
        """Return once the principal may call again: at once, after a short sleep, or never (raises)."""
        key = principal(credentials)
        not_before = self._not_before.get(key)
        if not_before is None:
            return
        wait = not_before - time.monotonic()
        if wait <= 0:
            self._not_before.pop(key, None)
            return
        if wait > SHORT_WAIT_SECONDS:
            raise UpstreamBackoff(wait, operation)
        await asyncio.sleep(wait)

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, until in self._not_before.items() if until <= now]:
            del self._not_before[key]
        while len(self._not_before) >= self.capacity:
            del self._not_before[next(iter(self._not_before))]
