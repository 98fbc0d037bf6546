"""Wall-clock time and the upstream's time strings ("2024-05-10T09:02:37Z")."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.emulator.errors import invalid

Clock = Callable[[], float]

system_clock: Clock = time.time


def format_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str, field: str) -> float:
    """Reads a query parameter time; a naive time is taken as UTC, like the upstream does."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise invalid(f"Invalid parameter: {field} must be a time like 2024-05-10T09:02:37Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
